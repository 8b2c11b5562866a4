"""Tests for section 2, Routing: kokoropy.Router matching, errors and path building."""
import os
import sys
import unittest
from urllib.parse import unquote

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kokoropy import (MethodNotAllowed, Route, RouteBuildError, RouteError,  # noqa: E402
                      RouteNotFound, Router)


def router_with(*rules, method='GET'):
    """A Router whose targets are the rules themselves."""
    router = Router()
    for rule in rules:
        router.add(rule, method, rule)
    return router


def target_and_args(router, path, method='GET'):
    route, args = router.match(method, path)
    return route.target, args


class FilterTests(unittest.TestCase):

    def test_default_wildcard_matches_one_segment_as_text(self):
        router = router_with('/hello/<name>')
        self.assertEqual(target_and_args(router, '/hello/world'),
                         ('/hello/<name>', {'name': 'world'}))
        self.assertRaises(RouteNotFound, router.match, 'GET', '/hello/a/b')
        self.assertRaises(RouteNotFound, router.match, 'GET', '/hello/')

    def test_int_wildcard_converts_signed_digits(self):
        router = router_with('/user/<id:int>')
        self.assertEqual(router.match('GET', '/user/42')[1], {'id': 42})
        self.assertEqual(router.match('GET', '/user/-7')[1], {'id': -7})
        self.assertIs(type(router.match('GET', '/user/42')[1]['id']), int)

    def test_int_wildcard_refuses_other_text(self):
        router = router_with('/user/<id:int>')
        for path in ('/user/abc', '/user/1.5', '/user/', '/user/4a', '/user/--1'):
            self.assertRaises(RouteNotFound, router.match, 'GET', path)

    def test_float_wildcard_converts_with_optional_fraction(self):
        router = router_with('/price/<x:float>')
        self.assertEqual(router.match('GET', '/price/1.5')[1], {'x': 1.5})
        self.assertEqual(router.match('GET', '/price/-2')[1], {'x': -2.0})
        self.assertIs(type(router.match('GET', '/price/3')[1]['x']), float)
        for path in ('/price/abc', '/price/1.', '/price/.5', '/price/1e5'):
            self.assertRaises(RouteNotFound, router.match, 'GET', path)

    def test_path_wildcard_takes_the_rest_including_slashes(self):
        router = router_with('/files/<p:path>')
        self.assertEqual(router.match('GET', '/files/a/b/c.txt')[1], {'p': 'a/b/c.txt'})
        self.assertEqual(router.match('GET', '/files/x/')[1], {'p': 'x/'})
        self.assertRaises(RouteNotFound, router.match, 'GET', '/files/')

    def test_path_wildcard_in_the_middle_of_a_rule(self):
        router = router_with('/repo/<p:path>/edit')
        self.assertEqual(router.match('GET', '/repo/a/b/edit')[1], {'p': 'a/b'})

    def test_re_wildcard_keeps_text(self):
        router = router_with('/code/<c:re:[a-z]{3}>')
        self.assertEqual(router.match('GET', '/code/abc')[1], {'c': 'abc'})
        self.assertRaises(RouteNotFound, router.match, 'GET', '/code/abcd')
        self.assertRaises(RouteNotFound, router.match, 'GET', '/code/ABC')

    def test_re_wildcard_with_groups_does_not_shift_later_arguments(self):
        router = router_with('/a/<x:re:(ab)+>/<y:int>', '/b/<x:re:(?P<n>[0-9])(\\.[0-9])?>/<y>')
        self.assertEqual(router.match('GET', '/a/abab/5')[1], {'x': 'abab', 'y': 5})
        self.assertEqual(router.match('GET', '/b/1.5/z')[1], {'x': '1.5', 'y': 'z'})

    def test_re_wildcards_with_groups_in_one_combined_regex(self):
        rules = ['/<lang>/%d/<x:re:(a|b)(c)?>/<y:int>' % i for i in range(60)]
        router = router_with(*rules)
        self.assertEqual(target_and_args(router, '/en/59/ac/-3'),
                         (rules[59], {'lang': 'en', 'x': 'ac', 'y': -3}))
        self.assertEqual(target_and_args(router, '/fr/0/b/4'),
                         (rules[0], {'lang': 'fr', 'x': 'b', 'y': 4}))

    def test_re_alternation_stays_inside_its_wildcard(self):
        router = router_with('/x/<c:re:a|b>/end')
        self.assertEqual(router.match('GET', '/x/b/end')[1], {'c': 'b'})
        self.assertRaises(RouteNotFound, router.match, 'GET', '/x/a')

    def test_re_wildcard_may_contain_angle_brackets(self):
        router = router_with('/x/<c:re:[<>]+>', '/y/<d:re:(?<=/y/)\\w+>')
        self.assertEqual(router.match('GET', '/x/<>')[1], {'c': '<>'})
        self.assertEqual(router.match('GET', '/y/ok')[1], {'d': 'ok'})

    def test_custom_filter_converts_both_ways(self):
        router = Router()
        router.add_filter('csv', r'[a-z]+(?:,[a-z]+)*', lambda text: text.split(','), ','.join)
        router.add('/tags/<tags:csv>', 'GET', 'tags', name='tags')
        self.assertEqual(router.match('GET', '/tags/a,b')[1], {'tags': ['a', 'b']})
        self.assertEqual(router.build('tags', tags=['x', 'y']), '/tags/x%2Cy')

    def test_filter_added_later_applies_to_later_rules_only(self):
        router = router_with('/old/<n:int>')
        router.add_filter('int', '[0-9]+', int)
        router.add('/new/<n:int>', 'GET', 'new')
        self.assertEqual(router.match('GET', '/old/-1')[1], {'n': -1})
        self.assertRaises(RouteNotFound, router.match, 'GET', '/new/-1')

    def test_custom_filter_with_bad_regex_is_refused(self):
        self.assertRaises(RouteError, Router().add_filter, 'bad', '[a-')

    def test_unicode_segments_match_and_convert(self):
        router = router_with('/café/<name>', '/日本/<p:path>')
        self.assertEqual(router.match('GET', '/café/crème brûlée')[1], {'name': 'crème brûlée'})
        self.assertEqual(router.match('GET', '/日本/東京/駅')[1], {'p': '東京/駅'})
        self.assertEqual(target_and_args(router_with('/ü'), '/ü'), ('/ü', {}))
        self.assertEqual(router_with('/n/<名前>').match('GET', '/n/値')[1], {'名前': '値'})


class MatchingOrderTests(unittest.TestCase):

    def test_unknown_path_raises_route_not_found(self):
        router = router_with('/a', '/b/<x>')
        with self.assertRaises(RouteNotFound) as caught:
            router.match('GET', '/c')
        self.assertIsInstance(caught.exception, LookupError)
        self.assertEqual(router.allowed_methods('/c'), [])

    def test_wrong_method_raises_method_not_allowed_with_allowed_list(self):
        router = Router()
        router.add('/item/<id:int>', 'GET', 'show')
        router.add('/item/<id:int>', 'DELETE', 'delete')
        router.add('/item/<id:int>', 'PUT', 'replace')
        with self.assertRaises(MethodNotAllowed) as caught:
            router.match('POST', '/item/3')
        self.assertEqual(caught.exception.allowed, ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT'])
        self.assertIsInstance(caught.exception, LookupError)
        self.assertNotIsInstance(caught.exception, RouteNotFound)
        self.assertEqual(router.allowed_methods('/item/3'),
                         ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PUT'])
        self.assertRaises(RouteNotFound, router.match, 'POST', '/item/x')

    def test_method_not_allowed_for_static_route_without_get(self):
        router = Router()
        router.add('/login', 'POST', 'login')
        with self.assertRaises(MethodNotAllowed) as caught:
            router.match('HEAD', '/login')
        self.assertEqual(caught.exception.allowed, ['OPTIONS', 'POST'])

    def test_allowed_methods_combines_static_and_dynamic_rules(self):
        router = Router()
        router.add('/user/new', 'POST', 'create')
        router.add('/user/<name>', 'GET', 'show')
        self.assertEqual(router.allowed_methods('/user/new'), ['GET', 'HEAD', 'OPTIONS', 'POST'])

    def test_any_route_allows_the_standard_methods(self):
        router = router_with('/hook/<x>', method='ANY')
        self.assertEqual(router.allowed_methods('/hook/1'),
                         ['DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT'])

    def test_head_falls_back_to_get(self):
        router = Router()
        router.add('/page', 'GET', 'static')
        router.add('/page/<n:int>', 'GET', 'dynamic')
        route, args = router.match('HEAD', '/page')
        self.assertEqual((route.target, route.method, args), ('static', 'GET', {}))
        self.assertEqual(target_and_args(router, '/page/2', 'HEAD'), ('dynamic', {'n': 2}))

    def test_head_route_wins_over_get(self):
        router = Router()
        router.add('/page', 'GET', 'get')
        router.add('/page', 'HEAD', 'head')
        self.assertEqual(router.match('HEAD', '/page')[0].target, 'head')

    def test_any_route_matches_every_method(self):
        router = Router()
        router.add('/hook', 'ANY', 'static')
        router.add('/hook/<x>', 'ANY', 'dynamic')
        for method in ('GET', 'HEAD', 'POST', 'PATCH', 'OPTIONS', 'PROPFIND'):
            self.assertEqual(router.match(method, '/hook')[0].target, 'static')
            self.assertEqual(target_and_args(router, '/hook/1', method),
                             ('dynamic', {'x': '1'}))

    def test_exact_method_wins_over_any(self):
        router = Router()
        router.add('/s', 'ANY', 'any static')
        router.add('/s', 'POST', 'post static')
        router.add('/d/<x>', 'ANY', 'any dynamic')
        router.add('/d/<x>', 'POST', 'post dynamic')
        self.assertEqual(router.match('POST', '/s')[0].target, 'post static')
        self.assertEqual(router.match('GET', '/s')[0].target, 'any static')
        self.assertEqual(router.match('POST', '/d/1')[0].target, 'post dynamic')
        self.assertEqual(router.match('PUT', '/d/1')[0].target, 'any dynamic')

    def test_head_prefers_get_over_any(self):
        router = Router()
        router.add('/p/<x>', 'ANY', 'any')
        router.add('/p/<x>', 'GET', 'get')
        self.assertEqual(router.match('HEAD', '/p/1')[0].target, 'get')

    def test_static_any_route_beats_dynamic_route_for_the_exact_method(self):
        router = Router()
        router.add('/doc/<page>', 'GET', 'dynamic')
        router.add('/doc/index', 'ANY', 'static')
        self.assertEqual(router.match('GET', '/doc/index')[0].target, 'static')

    def test_static_rule_beats_dynamic_rule_added_before_it(self):
        router = Router()
        router.add('/user/<name>', 'GET', 'dynamic')
        router.add('/user/me', 'GET', 'static')
        router.add('/user/<name>', 'ANY', 'any dynamic')
        self.assertEqual(target_and_args(router, '/user/me'), ('static', {}))
        self.assertEqual(target_and_args(router, '/user/you'), ('dynamic', {'name': 'you'}))

    def test_dynamic_rule_answers_when_static_rule_has_another_method(self):
        router = Router()
        router.add('/user/new', 'POST', 'create')
        router.add('/user/<name>', 'GET', 'show')
        self.assertEqual(target_and_args(router, '/user/new'), ('show', {'name': 'new'}))

    def test_first_added_dynamic_rule_wins(self):
        first = router_with('/a/<x>', '/a/<n:int>')
        self.assertEqual(target_and_args(first, '/a/5'), ('/a/<x>', {'x': '5'}))
        second = router_with('/a/<n:int>', '/a/<x>')
        self.assertEqual(target_and_args(second, '/a/5'), ('/a/<n:int>', {'n': 5}))

    def test_first_added_wins_between_literal_and_wildcard_first_segments(self):
        router = router_with('/<lang>/about', '/en/<page>', '/fr/<page>', '/<lang>/<page>')
        self.assertEqual(target_and_args(router, '/en/about'),
                         ('/<lang>/about', {'lang': 'en'}))
        self.assertEqual(target_and_args(router, '/en/faq'), ('/en/<page>', {'page': 'faq'}))
        self.assertEqual(target_and_args(router, '/de/faq'),
                         ('/<lang>/<page>', {'lang': 'de', 'page': 'faq'}))

    def test_three_hundred_dynamic_routes_each_match(self):
        router = Router()
        for i in range(300):
            router.add('/r%d/<id:int>/<name>' % i, 'GET', i)
            router.add('/<lang>/w%d/<x:float>' % i, 'GET', -i)
        for i in range(300):
            self.assertEqual(target_and_args(router, '/r%d/%d/n%d' % (i, i * 7, i)),
                             (i, {'id': i * 7, 'name': 'n%d' % i}))
            self.assertEqual(target_and_args(router, '/de/w%d/%d.5' % (i, i)),
                             (-i, {'lang': 'de', 'x': i + 0.5}))
        self.assertRaises(RouteNotFound, router.match, 'GET', '/r300/1/x')
        self.assertRaises(RouteNotFound, router.match, 'GET', '/de/w300/1')

    def test_routes_added_after_a_match_are_found(self):
        router = router_with('/a/<x>')
        router.match('GET', '/a/1')
        router.add('/b/<x>', 'GET', 'late')
        self.assertEqual(target_and_args(router, '/b/2'), ('late', {'x': '2'}))

    def test_trailing_slash_is_matched_exactly(self):
        router = router_with('/a', '/b/', '/c/<x>')
        self.assertEqual(router.match('GET', '/a')[0].target, '/a')
        self.assertEqual(router.match('GET', '/b/')[0].target, '/b/')
        for path in ('/a/', '/b', '/c/1/'):
            self.assertRaises(RouteNotFound, router.match, 'GET', path)

    def test_trailing_newline_does_not_match(self):
        router = router_with('/a', '/n/<id:int>', '/s/<x:re:[a-z]+>')
        for path in ('/a\n', '/n/5\n', '/s/abc\n'):
            self.assertRaises(RouteNotFound, router.match, 'GET', path)


class AddTests(unittest.TestCase):

    def test_add_returns_route_with_its_fields(self):
        router = Router()
        route = router.add('/x/<y>', 'get', 'target', name='x')
        self.assertIsInstance(route, Route)
        self.assertEqual((route.rule, route.method, route.target, route.name, route.config),
                         ('/x/<y>', 'GET', 'target', 'x', {}))
        self.assertEqual(router.routes, [route])

    def test_config_given_to_add_is_copied_into_the_route(self):
        given = {'app_name': 'blog'}
        route = Router().add('/posts', 'GET', 'posts', config=given)
        route.config['extra'] = 1
        self.assertEqual((route.config, given), ({'app_name': 'blog', 'extra': 1},
                                                 {'app_name': 'blog'}))

    def test_list_of_methods_adds_one_route_each_sharing_config(self):
        router = Router()
        first = router.add('/form', ['GET', 'POST'], 'form')
        first.config['app_name'] = 'demo'
        self.assertEqual([(r.method, r.config) for r in router.routes],
                         [('GET', {'app_name': 'demo'}), ('POST', {'app_name': 'demo'})])
        self.assertEqual(router.match('POST', '/form')[0].target, 'form')

    def test_adding_same_rule_and_method_replaces_target_in_place(self):
        router = Router()
        router.add('/a/<x>', 'GET', 'old')
        router.add('/a/<n:int>', 'GET', 'second')
        router.add('/s', 'GET', 'old static')
        router.add('/a/<x>', 'GET', 'new')
        router.add('/s', 'GET', 'new static')
        self.assertEqual([r.target for r in router.routes], ['new', 'second', 'new static'])
        self.assertEqual(router.match('GET', '/a/1')[0].target, 'new')
        self.assertEqual(router.match('GET', '/s')[0].target, 'new static')

    def test_bad_rules_raise_route_error_naming_the_rule(self):
        bad_rules = ['/a/<id', '/a/<id:int', '/a/id>', '/a/<id:nope>', '/a/<x:re:a{2,1}>',
                     '/a/<x:re:(a)\\1>', '/a/<x:re:(?i)a>', '/a/<1x>', '/a/<>', '/a/<x>/<x>',
                     '/a/<x:int:5>', '/a/<x:re:(?P<n>a)(?P=n)>']
        for rule in bad_rules:
            with self.assertRaises(RouteError, msg=rule) as caught:
                Router().add(rule, 'GET', 'target')
            self.assertIsInstance(caught.exception, ValueError)
            self.assertIn(repr(rule), str(caught.exception))

    def test_bad_rule_leaves_router_unchanged(self):
        router = Router()
        self.assertRaises(RouteError, router.add, '/a/<x:bad>', 'GET', 'target')
        self.assertEqual(router.routes, [])


class BuildTests(unittest.TestCase):

    def setUp(self):
        self.router = Router()
        for name, rule in [('home', '/'), ('user', '/user/<id:int>'), ('hello', '/hello/<name>'),
                           ('price', '/price/<x:float>'), ('file', '/files/<p:path>'),
                           ('code', '/code/<c:re:[a-z]+(-[a-z]+)?>'), ('cafe', '/café/<name>')]:
            self.router.add(rule, 'GET', name, name=name)

    def test_build_fills_every_filter(self):
        build = self.router.build
        self.assertEqual(build('home'), '/')
        self.assertEqual(build('user', id=5), '/user/5')
        self.assertEqual(build('user', id=-5), '/user/-5')
        self.assertEqual(build('hello', name='ann'), '/hello/ann')
        self.assertEqual(build('price', x=1.5), '/price/1.5')
        self.assertEqual(build('price', x=1e20), '/price/100000000000000000000')
        self.assertEqual(build('file', p='a/b.txt'), '/files/a/b.txt')
        self.assertEqual(build('code', c='ab-cd'), '/code/ab-cd')

    def test_built_paths_match_again(self):
        for name, params in [('user', {'id': 7}), ('price', {'x': 0.25}),
                             ('hello', {'name': 'a b'}), ('file', {'p': 'x y/z'})]:
            path = self.router.build(name, **params)
            route, args = self.router.match('GET', unquote(path))
            self.assertEqual((route.name, args), (name, params))

    def test_build_percent_encodes_values_and_literals(self):
        build = self.router.build
        self.assertEqual(build('hello', name='a b?c#d%'), '/hello/a%20b%3Fc%23d%25')
        self.assertEqual(build('file', p='dir one/ü.txt'), '/files/dir%20one/%C3%BC.txt')
        self.assertEqual(build('cafe', name='crème'), '/caf%C3%A9/cr%C3%A8me')

    def test_build_appends_unused_params_as_sorted_query(self):
        self.assertEqual(self.router.build('user', id=5, tab='x'), '/user/5?tab=x')
        self.assertEqual(self.router.build('home', z='1', a='b c', tag=['p', 'q'], skip=None),
                         '/?a=b+c&tag=p&tag=q&z=1')

    def test_build_accepts_a_parameter_called_name(self):
        self.assertEqual(self.router.build('hello', name='bob'), '/hello/bob')

    def test_build_unknown_name_raises(self):
        with self.assertRaises(RouteBuildError) as caught:
            self.router.build('nope')
        self.assertIsInstance(caught.exception, LookupError)

    def test_build_missing_parameter_raises(self):
        self.assertRaises(RouteBuildError, self.router.build, 'user')
        self.assertRaises(RouteBuildError, self.router.build, 'user', id=None)
        self.assertRaises(RouteBuildError, self.router.build, 'user', tab='x')

    def test_build_refuses_values_the_rule_would_not_match(self):
        for name, params in [('user', {'id': 'abc'}), ('user', {'id': 1.5}),
                             ('hello', {'name': 'a/b'}), ('hello', {'name': ''}),
                             ('price', {'x': float('nan')}), ('code', {'c': 'AB'})]:
            self.assertRaises(RouteBuildError, self.router.build, name, **params)

    def test_int_wildcards_take_ints_and_their_text_alike(self):
        build = self.router.build
        self.assertEqual([build('user', id=value) for value in (12, '12', -3, '-3', 10 ** 30)],
                         ['/user/12', '/user/12', '/user/-3', '/user/-3', '/user/' + '1' + '0' * 30])
        for value in (True, 1.0, '1 ', '+1'):
            self.assertRaises(RouteBuildError, build, 'user', id=value)

    def test_an_int_filter_replaced_by_the_application_is_followed(self):
        self.router.add_filter('int', r'[0-9]+', int, str)
        self.router.add('/positive/<n:int>', 'GET', 'p', name='positive')
        self.assertEqual(self.router.build('positive', n=4), '/positive/4')
        self.assertRaises(RouteBuildError, self.router.build, 'positive', n=-4)

    def test_an_int_filter_with_its_own_url_text_is_followed(self):
        self.router.add_filter('int', r'-?[0-9]+', int, lambda value: '%03d' % value)
        self.router.add('/padded/<n:int>', 'GET', 'p', name='padded')
        self.assertEqual(self.router.build('padded', n=7), '/padded/007')

    def test_build_fills_several_wildcards_and_the_literals_after_each(self):
        self.router.add('/shop/<shop:int>/item/<name>/edit', 'GET', 'e', name='edit')
        self.assertEqual(self.router.build('edit', shop=3, name='a b', tab=2),
                         '/shop/3/item/a%20b/edit?tab=2')
        self.assertRaises(RouteBuildError, self.router.build, 'edit', shop=3)

    def test_build_uses_the_latest_route_with_a_name(self):
        self.router.add('/v2/user/<id:int>', 'GET', 'user2', name='user')
        self.assertEqual(self.router.build('user', id=1), '/v2/user/1')


if __name__ == '__main__':
    unittest.main()
