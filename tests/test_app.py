"""Kokoro: dispatch, 404/405/OPTIONS, trailing slashes, hooks, error pages, base URL, plug-ins."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy  # noqa: E402
from kokoropy import (Config, HTTPError, HTTPResponse, Kokoro, TestClient, abort,  # noqa
                      base_url, default_app, redirect, request, response, url)


def make_app(**config):
    app = Kokoro(**config)
    app.csrf_check = None
    app.session_interface = None
    return app


class DispatchTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

    def test_wildcards_arrive_as_keyword_arguments(self):
        self.app.get('/add/<a:int>/<b:int>', lambda a, b: str(a + b))
        self.assertEqual(self.client.get('/add/2/40').text, '42')

    def test_route_accepts_a_list_of_methods_and_paths_and_returns_the_callback(self):
        def both():
            return request.method
        returned = self.app.route(['/a', '/b'], ['GET', 'POST'], both)
        self.assertIs(returned, both)
        self.assertEqual(self.client.post('/b').text, 'POST')
        self.assertEqual(self.client.get('/a').text, 'GET')

    def test_decorator_shortcuts(self):
        for method in ('put', 'patch', 'delete'):
            getattr(self.app, method)('/thing')(lambda: request.method)
            self.assertEqual(getattr(self.client, method)('/thing').text, method.upper())

    def test_unknown_path_is_404(self):
        answer = self.client.get('/missing')
        self.assertEqual(answer.status, 404)
        self.assertIn('<h1>404 Not Found</h1>', answer.text)

    def test_wrong_method_is_405_with_allow(self):
        self.app.get('/only-get', lambda: 'x')
        answer = self.client.delete('/only-get')
        self.assertEqual(answer.status, 405)
        self.assertEqual(answer.headers['Allow'], 'GET, HEAD, OPTIONS')

    def test_options_answers_204_with_allow_unless_routed(self):
        self.app.route('/res', ['GET', 'POST'], lambda: 'x')
        answer = self.client.options('/res')
        self.assertEqual((answer.status, answer.body), (204, b''))
        self.assertEqual(answer.headers['Allow'], 'GET, HEAD, OPTIONS, POST')
        self.app.route('/cors', 'OPTIONS', lambda: 'custom')
        self.assertEqual(self.client.options('/cors').text, 'custom')

    def test_head_is_answered_by_get_routes(self):
        self.app.get('/page', lambda: 'content')
        answer = self.client.head('/page')
        self.assertEqual((answer.status, answer.body, answer.headers['Content-Length']),
                         (200, b'', '7'))


class TrailingSlashTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)
        self.app.get('/docs/', lambda: 'docs')
        self.app.get('/about', lambda: 'about')
        self.app.post('/form', lambda: 'posted')

    def test_other_form_of_a_get_route_redirects_with_308_keeping_the_query(self):
        answer = self.client.get('/docs?page=2')
        self.assertEqual(answer.status, 308)
        self.assertEqual(answer.headers['Location'], '/docs/?page=2')
        self.assertEqual(self.client.get('/about/').headers['Location'], '/about')
        self.assertEqual(self.client.get('/docs', follow_redirects=True).text, 'docs')

    def test_no_redirect_for_other_methods_or_non_get_routes(self):
        self.assertEqual(self.client.post('/docs').status, 404)
        self.assertEqual(self.client.get('/form/').status, 404)

    def test_double_slash_paths_cannot_become_external_redirects(self):
        answer = self.client.get('//evil.example/', environ={'PATH_INFO': '//about/'})
        self.assertEqual(answer.status, 308)
        self.assertEqual(answer.headers['Location'], '/about')

    def test_redirect_keeps_the_script_name(self):
        answer = self.client.get('/about/', environ={'SCRIPT_NAME': '/site'})
        self.assertEqual(answer.headers['Location'], '/site/about')


class HooksTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)
        self.calls = []

    def test_before_and_after_hooks_run_around_the_handler_in_order(self):
        self.app.add_hook('before_request', lambda: self.calls.append('before'))
        self.app.hook('after_request')(lambda: self.calls.append('after'))
        self.app.get('/', lambda: self.calls.append('handler') or 'ok')
        self.client.get('/')
        self.assertEqual(self.calls, ['before', 'handler', 'after'])

    def test_after_hook_runs_on_errors_and_can_alter_the_response(self):
        @self.app.hook('after_request')
        def stamp():
            response.headers['X-Status-Seen'] = str(response.status_code)
        self.app.get('/boom', lambda: 1 / 0)
        self.assertEqual(self.client.get('/missing').headers['X-Status-Seen'], '404')
        self.assertEqual(self.client.get('/boom').headers['X-Status-Seen'], '500')

    def test_before_hook_can_answer_by_raising(self):
        @self.app.hook('before_request')
        def guard():
            if request.path.startswith('/admin'):
                redirect('/login')
        self.app.get('/admin/panel', lambda: 'secret')
        answer = self.client.get('/admin/panel')
        self.assertEqual((answer.status, answer.headers['Location']), (303, '/login'))

    def test_before_hook_sees_the_route_and_runs_for_404(self):
        self.app.hook('before_request')(lambda: self.calls.append(request.route))
        self.app.get('/x', lambda: 'x', name='x')
        self.client.get('/x')
        self.client.get('/nothing')
        self.assertEqual([getattr(route, 'name', None) for route in self.calls], ['x', None])

    def test_after_hook_can_replace_the_answer_by_raising(self):
        @self.app.hook('after_request')
        def maintenance():
            if request.path == '/closed':
                abort(503, 'Back soon')
        self.app.get('/closed', lambda: 'open')
        answer = self.client.get('/closed')
        self.assertEqual(answer.status, 503)
        self.assertIn('<p>Back soon</p>', answer.text)

    def test_exception_in_after_hook_is_a_500(self):
        self.app.hook('after_request')(lambda: 1 / 0)
        self.app.get('/', lambda: 'ok')
        answer = self.client.get('/')
        self.assertEqual(answer.status, 500)
        self.assertIn('ZeroDivisionError', answer.errors)

    def test_unknown_hook_name_is_refused(self):
        with self.assertRaises(ValueError):
            self.app.add_hook('before_everything', print)

    def test_remove_hook(self):
        hook = self.app.add_hook('before_request', lambda: self.calls.append(1))
        self.assertTrue(self.app.remove_hook('before_request', hook))
        self.app.get('/', lambda: 'ok')
        self.client.get('/')
        self.assertEqual(self.calls, [])


class ErrorPagesTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

        @self.app.get('/boom')
        def boom():
            raise KeyError('secret detail')

    def test_handler_exception_is_a_500_without_traceback(self):
        answer = self.client.get('/boom')
        self.assertEqual(answer.status, 500)
        self.assertNotIn('secret detail', answer.text)
        self.assertNotIn('Traceback', answer.text)
        self.assertIn('Traceback', answer.errors)
        self.assertIn("KeyError: 'secret detail'", answer.errors)

    def test_debug_mode_shows_the_traceback(self):
        self.app.config['debug'] = True
        answer = self.client.get('/boom')
        self.assertEqual(answer.status, 500)
        self.assertIn('<pre>Traceback', answer.text)
        self.assertIn('KeyError: &#x27;secret detail&#x27;', answer.text)
        answer = self.client.get('/boom', headers={'Accept': 'application/json'})
        self.assertIn('secret detail', answer.json['error']['traceback'])

    def test_custom_error_handler_renders_the_page(self):
        @self.app.error(404)
        def not_found(error):
            response.headers['X-Handled'] = 'yes'
            return 'Nothing at %s (%d)' % (request.path, error.status_code)
        answer = self.client.get('/nowhere')
        self.assertEqual((answer.status, answer.text), (404, 'Nothing at /nowhere (404)'))
        self.assertEqual(answer.headers['X-Handled'], 'yes')

    def test_error_handler_may_return_json_and_gets_abort_text(self):
        self.app.error(403, lambda error: {'refused': error.body})
        self.app.get('/', lambda: abort(403, 'no way'))
        answer = self.client.get('/')
        self.assertEqual((answer.status, answer.json), (403, {'refused': 'no way'}))

    def test_failing_error_handler_gives_the_default_500_page(self):
        self.app.error(404, lambda error: 1 / 0)
        answer = self.client.get('/nowhere')
        self.assertEqual(answer.status, 500)
        self.assertIn('<p>The server could not complete the request.</p>', answer.text)
        self.assertIn('ZeroDivisionError', answer.errors)

    def test_error_view_renders_html_error_pages_but_not_json_ones(self):
        self.app.error_view = lambda error, message, text: 'layout: %d %s %r' % (
            error.status_code, message, text)
        answer = self.client.get('/nowhere')
        self.assertEqual((answer.status, answer.text),
                         (404, 'layout: 404 The page you asked for was not found. None'))
        answer = self.client.get('/nowhere', headers={'Accept': 'application/json'})
        self.assertEqual(answer.json, {'error': {'status': 404, 'message':
                                                 'The page you asked for was not found.'}})

    def test_failing_error_view_gives_the_plain_page_with_the_same_status(self):
        self.app.error_view = lambda error, message, text: 1 / 0
        answer = self.client.get('/boom')
        self.assertEqual(answer.status, 500)
        self.assertIn('<h1>500 Internal Server Error</h1><p>The server could not complete the '
                      'request.</p>', answer.text)
        self.assertIn('ZeroDivisionError', answer.errors)

    def test_module_level_abort_inside_error_handler_replaces_the_answer(self):
        self.app.error(404, lambda error: redirect('/home'))
        answer = self.client.get('/nowhere')
        self.assertEqual((answer.status, answer.headers['Location']), (303, '/home'))


class BaseUrlTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app(base_url='/kokoropy/')
        self.client = TestClient(self.app, validate=True)
        self.app.get('/', lambda: 'home')
        self.app.get('/demo/<name>', lambda name: {
            'url': url('demo', name=name), 'base': base_url('demo/hello'),
            'script': request.script_name, 'path': request.path}, name='demo')

    def test_routes_are_served_under_the_prefix(self):
        self.assertEqual(self.client.get('/kokoropy/').text, 'home')
        self.assertEqual(self.client.get('/kokoropy').text, 'home')
        self.assertEqual(self.client.get('/kokoropy/demo/x y').json, {
            'url': '/kokoropy/demo/x%20y', 'base': 'http://localhost/kokoropy/demo/hello',
            'script': '/kokoropy', 'path': '/demo/x y'})

    def test_in_a_request_url_of_an_unknown_route_raises_route_build_error(self):
        def unknown():
            try:
                return url('no-such-route', id=1)
            except kokoropy.RouteBuildError as error:
                return str(error)
        self.app.get('/unknown', unknown)
        self.assertEqual(self.client.get('/kokoropy/unknown').text,
                         "no route named 'no-such-route'")

    def test_root_redirects_to_the_prefix_and_other_paths_are_404(self):
        answer = self.client.get('/')
        self.assertEqual((answer.status, answer.headers['Location']), (307, '/kokoropy/'))
        self.assertEqual(self.client.get('/demo/x').status, 404)
        self.assertEqual(self.client.get('/kokoropyx/demo/x').status, 404)

    def test_server_given_script_name_plays_the_same_role(self):
        answer = self.client.get('/demo/x', environ={'SCRIPT_NAME': '/kokoropy'})
        self.assertEqual(answer.json['url'], '/kokoropy/demo/x')
        app = make_app()
        app.get('/where', lambda: base_url('img/a.png'))
        answer = TestClient(app, validate=True, host='example.com:8080').get(
            '/where', environ={'SCRIPT_NAME': '/mounted'})
        self.assertEqual(answer.text, 'http://example.com:8080/mounted/img/a.png')

    def test_outside_a_request_url_and_base_url_use_the_config(self):
        self.app.get('/user/<id:int>', lambda id: 'x', name='user')
        self.assertEqual(self.app.url('user', id=3, tab='info'), '/kokoropy/user/3?tab=info')
        self.assertEqual(base_url('demo/hello'), '/' + base_url('demo/hello').lstrip('/'))
        saved = default_app().config['base_url']
        try:
            default_app().config['base_url'] = '/site/'
            self.assertEqual(base_url('a/b'), '/site/a/b')
            default_app().config['base_url'] = '/'
            self.assertEqual(base_url(), '/')
        finally:
            default_app().config['base_url'] = saved


class DefaultAppAndConfigTest(unittest.TestCase):

    def test_module_level_decorators_register_on_the_default_app(self):
        @kokoropy.get('/module-level-test/<n:int>', name='module_level_test')
        def handler(n):
            return str(n * 2)
        kokoropy.error(418)(lambda error: 'teapot')
        client = TestClient(default_app())
        self.assertEqual(client.get('/module-level-test/21').text, '42')
        self.assertEqual(url('module_level_test', n=1), '/module-level-test/1')

    def test_config_has_every_documented_default(self):
        config = Config()
        self.assertEqual(config['debug'], False)
        self.assertEqual(config['base_url'], '/')
        self.assertEqual(config['project_path'], os.getcwd())
        self.assertEqual(config['max_body_bytes'], 10 * 1024 * 1024)
        self.assertEqual(config['max_memfile_bytes'], 1024 * 1024)
        self.assertEqual(config['trusted_proxies'], 0)
        self.assertEqual(config['database_url'], 'sqlite:///db/kokoropy.db')
        self.assertEqual(Kokoro({'debug': True}, secret='s').config['secret'], 's')
        self.assertTrue(Kokoro(debug=True).config['debug'])


class PluginHooksTest(unittest.TestCase):
    """The calling side of the session and CSRF plug-ins (implemented in section 6)."""

    def setUp(self):
        self.events = []
        events = self.events

        class FakeSessions(object):
            def open(self, req):
                events.append(('open', req.path))
                return {'n': 1}

            def save(self, req, answer):
                events.append(('save', answer.status_code))
                answer.headers['X-Saved'] = 'yes'

        self.app = make_app()
        self.app.session_interface = FakeSessions()
        self.client = TestClient(self.app, validate=True)

    def test_session_opens_lazily_and_saves_after_the_handler_even_on_errors(self):
        self.app.get('/plain', lambda: 'no session')
        self.app.get('/uses', lambda: str(request.session['n']))
        self.app.get('/fails', lambda: abort(403) if request.session else None)
        self.assertNotIn('X-Saved', self.client.get('/plain').headers)
        answer = self.client.get('/uses')
        self.assertEqual((answer.text, answer.headers['X-Saved']), ('1', 'yes'))
        self.assertEqual(self.client.get('/fails').headers['X-Saved'], 'yes')
        self.assertEqual(self.events, [('open', '/uses'), ('save', 200), ('open', '/fails'),
                                       ('save', 403)])

    def test_csrf_check_runs_after_before_hooks_unless_exempt(self):
        def check(req, route):
            self.events.append(('csrf', route.rule))
            if req.method == 'POST':
                raise HTTPError(403, 'bad token')
        self.app.csrf_check = check
        self.app.hook('before_request')(lambda: self.events.append(('before',)))

        def exempt():
            return 'exempt'
        exempt.csrf_exempt = True
        self.app.post('/form', lambda: 'accepted')
        self.app.post('/api', exempt)
        answer = self.client.post('/form', data={'a': '1'})
        self.assertEqual(answer.status, 403)
        self.assertEqual(self.client.post('/api').text, 'exempt')
        self.assertEqual(self.events, [('before',), ('csrf', '/form'), ('before',)])


if __name__ == '__main__':
    unittest.main()
