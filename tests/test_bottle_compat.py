"""Bottle compatibility (section 13 and Bottle's names elsewhere): a Bottle 0.13 application
runs unchanged through `import kokoropy as bottle`. The behaviours tested here are those Bottle's
documentation describes; Kokoropy's own secure defaults are checked to stay on for Kokoro."""
import base64
import datetime
import io
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy as bottle  # noqa: E402

SECRET = 'bottle-compat-test-secret'


# ---------------------------------------------------------------------------------------------
# A realistic Bottle application, written as Bottle's tutorial writes them.

class SQLitePlugin(object):
    """A plugin in the style of bottle-sqlite: handlers asking for `db` get the store."""

    name = 'db'
    api = 2

    def __init__(self, store):
        self.store = store
        self.closed = False

    def setup(self, app):
        for other in app.plugins:
            if isinstance(other, SQLitePlugin):
                raise bottle.PluginError('Found another db plugin.')

    def apply(self, callback, route):
        if 'db' not in route.get_callback_args():
            return callback

        def wrapper(*args, **kwargs):
            kwargs['db'] = self.store
            return callback(*args, **kwargs)
        return wrapper

    def close(self):
        self.closed = True


def powered_by(callback):
    """A plugin that is a plain decorator."""
    def wrapper(*args, **kwargs):
        bottle.response.set_header('X-Powered-By', 'bottle-style')
        return callback(*args, **kwargs)
    return wrapper


INDEX_TPL = """<h1>{{title}}</h1>
% if not books: empty = True; end
% for book in books:
% badge = ' <b>new</b>' if book.get('new') else ''
<li><a href="/books/{{book['id']}}">{{book['title']}}</a>{{!badge}}</li>
% end
% if defined('empty'):
<p>No books yet.</p>
% end
"""

EDIT_TPL = """<form method="post">
<input name="title" value="{{book['title']}}">
</form>
"""


def build_blog():
    """The sub-application mounted under /blog/."""
    blog = bottle.Bottle()

    @blog.route('/')
    def blog_index():
        return 'blog index at ' + bottle.request.script_name

    @blog.route('/<slug>', name='post')
    def blog_post(slug):
        return 'post %s (%s)' % (slug, blog.get_url('post', slug=slug))

    return blog


def build_app(static_root):
    app = bottle.Bottle()
    store = {1: {'id': 1, 'title': 'Dune', 'tags': ['scifi']},
             2: {'id': 2, 'title': 'Emma', 'tags': ['classic'], 'new': True}}
    db_plugin = app.install(SQLitePlugin(store))
    app.install(powered_by)

    @app.hook('after_request')
    def no_cache():
        bottle.response.headers['Cache-Control'] = 'no-store'

    @app.route('/')
    def index(db):
        return bottle.template(INDEX_TPL, title='Books', books=[db[k] for k in sorted(db)])

    @app.route('/books/<book_id:int>')
    def show(book_id, db):
        book = db.get(book_id) or bottle.abort(404, 'No book %d.' % book_id)
        return ['<h2>', book['title'], '</h2>']

    @app.route('/books/<book_id:int>/edit', method=['GET', 'POST'])
    def edit(book_id, db):
        book = db[book_id]
        if bottle.request.method == 'POST':
            book['title'] = bottle.request.forms.title
            bottle.redirect('/books/%d' % book_id)
        return bottle.template(EDIT_TPL, book=book)

    @app.route('/tag/<tag:re:[a-z]+>')
    def by_tag(tag, db):
        return {'tag': tag, 'books': [b['title'] for b in db.values() if tag in b['tags']]}

    @app.post('/api/books')
    def create(db):
        data = bottle.request.json
        if not data or 'title' not in data:
            raise bottle.HTTPError(400, 'A title is needed.')
        new_id = max(db) + 1
        db[new_id] = {'id': new_id, 'title': data['title'], 'tags': []}
        bottle.response.status = 201
        return db[new_id]

    @app.route('/search')
    def search(db):
        words = bottle.request.query.getall('q')
        page = bottle.request.query.get('page', 1, type=int)
        return 'search %s page %d' % ('+'.join(words), page)

    @app.post('/login')
    def login():
        name = bottle.request.forms.get('name')
        if bottle.request.forms.password != 'open sesame':
            return bottle.HTTPResponse('Wrong password.', status=403)
        bottle.response.set_cookie('account', name, secret=SECRET, path='/')
        return 'Welcome %s' % name

    @app.route('/me')
    def me():
        name = bottle.request.get_cookie('account', secret=SECRET)
        return 'You are %s' % name if name else 'You are nobody'

    @app.route('/logout')
    def logout():
        bottle.response.delete_cookie('account', path='/')
        return 'Bye'

    @app.route('/static/<filepath:path>', skip=[powered_by])
    def server_static(filepath):
        return bottle.static_file(filepath, root=static_root)

    @app.route('/download/<filename>', skip=['db'])
    def download(filename):
        return bottle.static_file(filename, root=static_root, download='report-%s' % filename)

    @app.route('/stream')
    def stream():
        yield ''
        yield None
        for word in ('one', 'two'):
            yield word + '\n'

    @app.route('/boom')
    def boom():
        raise RuntimeError('kaboom')

    @app.error(404)
    def not_found(error):
        return 'Sorry: ' + error.body

    @app.error(500)
    def server_error(error):
        return 'Our fault (%s)' % type(error.exception).__name__

    app.mount('/blog/', build_blog())
    app.db_plugin = db_plugin
    return app


class RealisticApplicationTest(unittest.TestCase):
    """The application above, driven as a browser would."""

    def setUp(self):
        self.static = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.static)
        with open(os.path.join(self.static, 'site.css'), 'w') as f:
            f.write('body { color: red }')
        with open(os.path.join(self.static, 'data.bin'), 'wb') as f:
            f.write(b'\x00\x01')
        self.app = build_app(self.static)
        self.client = bottle.TestClient(self.app, validate=True)

    def test_index_template_with_one_line_blocks(self):
        answer = self.client.get('/')
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.text, '<h1>Books</h1>\n<li><a href="/books/1">Dune</a></li>\n'
                                      '<li><a href="/books/2">Emma</a> <b>new</b></li>\n')
        self.assertEqual(answer.headers['X-Powered-By'], 'bottle-style')
        self.assertEqual(answer.headers['Cache-Control'], 'no-store')

    def test_wildcard_route_and_list_of_strings(self):
        self.assertEqual(self.client.get('/books/1').text, '<h2>Dune</h2>')

    def test_abort_reaches_the_404_handler(self):
        answer = self.client.get('/books/9')
        self.assertEqual((answer.status, answer.text), (404, 'Sorry: No book 9.'))

    def test_unknown_path_has_bottles_404_body(self):
        answer = self.client.get('/nope')
        self.assertEqual((answer.status, answer.text), (404, "Sorry: Not found: '/nope'"))

    def test_form_post_without_csrf_token_then_redirect(self):
        answer = self.client.post('/books/1/edit', data={'title': 'Dune Messiah'})
        self.assertEqual(answer.status, 303)
        self.assertEqual(answer.headers['Location'], 'http://localhost/books/1')
        self.assertEqual(self.client.get('/books/1').text, '<h2>Dune Messiah</h2>')
        self.assertIn('value="Dune Messiah"', self.client.get('/books/1/edit').text)

    def test_regex_wildcard_and_dict_as_json(self):
        answer = self.client.get('/tag/classic')
        self.assertEqual(answer.headers['Content-Type'], 'application/json')
        self.assertEqual(answer.text, '{"tag": "classic", "books": ["Emma"]}')
        self.assertEqual(self.client.get('/tag/Classic').status, 404)

    def test_json_body_and_status(self):
        answer = self.client.post('/api/books', json={'title': 'Ulysses'})
        self.assertEqual((answer.status, answer.json['id'], answer.json['title']),
                         (201, 3, 'Ulysses'))
        self.assertEqual(self.client.post('/api/books', json={}).status, 400)

    def test_query_parameters(self):
        self.assertEqual(self.client.get('/search?q=a&q=b&page=2').text, 'search a+b page 2')
        self.assertEqual(self.client.get('/search?page=x').text, 'search  page 1')

    def test_signed_cookie_login_and_logout(self):
        self.assertEqual(self.client.post('/login', data={'name': 'ann', 'password': 'no'}
                                          ).status, 403)
        answer = self.client.post('/login', data={'name': 'ann', 'password': 'open sesame'})
        self.assertEqual(answer.text, 'Welcome ann')
        self.assertEqual(self.client.get('/me').text, 'You are ann')
        self.client.get('/logout')
        self.assertEqual(self.client.get('/me').text, 'You are nobody')

    def test_tampered_signed_cookie_is_ignored(self):
        self.client.post('/login', data={'name': 'ann', 'password': 'open sesame'})
        cookie = self.client.cookie_jar[('account', '/')]
        cookie['value'] = cookie['value'][:-2] + 'xx'
        self.assertEqual(self.client.get('/me').text, 'You are nobody')

    def test_static_file_and_skipped_plugin(self):
        answer = self.client.get('/static/site.css')
        self.assertEqual((answer.status, answer.body), (200, b'body { color: red }'))
        self.assertEqual(answer.headers['Content-Type'], 'text/css; charset=UTF-8')
        self.assertNotIn('X-Powered-By', answer.headers)
        self.assertEqual(self.client.get('/static/../secret').status, 403)

    def test_download_takes_its_type_from_the_download_name(self):
        answer = self.client.get('/download/data.bin')
        self.assertEqual(answer.headers['Content-Disposition'],
                         'attachment; filename="report-data.bin"')
        self.assertEqual(answer.headers['Content-Type'], 'application/octet-stream')
        self.assertIn('Date', answer.headers)

    def test_generator_with_empty_items(self):
        self.assertEqual(self.client.get('/stream').text, 'one\ntwo\n')

    def test_error_handler_for_500(self):
        answer = self.client.get('/boom')
        self.assertEqual((answer.status, answer.text), (500, 'Our fault (RuntimeError)'))
        self.assertIn('kaboom', answer.errors)

    def test_mounted_sub_application(self):
        self.assertEqual(self.client.get('/blog/').text, 'blog index at /blog')
        self.assertEqual(self.client.get('/blog/hello').text, 'post hello (/blog/hello)')

    def test_plugin_setup_refuses_a_second_db_plugin_and_close_on_uninstall(self):
        with self.assertRaises(bottle.PluginError):
            self.app.install(SQLitePlugin({}))
        self.assertEqual(self.app.uninstall('db'), [self.app.db_plugin])
        self.assertTrue(self.app.db_plugin.closed)
        self.assertEqual(self.client.get('/').status, 500)   # index(db) has no db any more


# ---------------------------------------------------------------------------------------------
# One behaviour each, from Bottle's documentation.

def make_client(app):
    return bottle.TestClient(app)


class ApplicationTest(unittest.TestCase):

    def test_bottle_is_kokoro_without_csrf_and_kokoro_keeps_it(self):
        for cls, status in ((bottle.Bottle, 200), (bottle.Kokoro, 403)):
            app = cls()
            app.route('/f', 'POST', lambda: 'ok')
            self.assertEqual(make_client(app).post('/f', data={'a': '1'}).status, status)
        self.assertTrue(issubclass(bottle.Bottle, bottle.Kokoro))

    def test_bottle_can_turn_csrf_on(self):
        app = bottle.Bottle(csrf=True)
        app.route('/f', 'POST', lambda: 'ok')
        self.assertEqual(make_client(app).post('/f', data={'a': '1'}).status, 403)

    def test_route_without_path_takes_rules_from_the_signature(self):
        app = bottle.Bottle()

        @app.route
        def hello(name, greeting='hi'):
            return '%s %s' % (greeting, name)
        client = make_client(app)
        self.assertEqual(client.get('/hello/ann').text, 'hi ann')
        self.assertEqual(client.get('/hello/ann/yo').text, 'yo ann')
        self.assertEqual(list(bottle.yieldroutes(hello)), ['/hello/<name>',
                                                           '/hello/<name>/<greeting>'])

    def test_yieldroutes_double_underscore_is_a_slash(self):
        def api__items():
            pass
        self.assertEqual(list(bottle.yieldroutes(api__items)), ['/api/items'])

    def test_anonymous_wildcard_is_matched_but_not_passed(self):
        app = bottle.Bottle()
        app.route('/item/<:re:[0-9]+>/<name>', callback=lambda name: 'item ' + name)
        client = make_client(app)
        self.assertEqual(client.get('/item/12/pen').text, 'item pen')
        self.assertEqual(client.get('/item/x/pen').status, 404)

    def test_bottle_0_10_wildcards(self):
        app = bottle.Bottle()
        app.route('/user/:name/:uid#[0-9]+#', callback=lambda name, uid: name + uid)
        client = make_client(app)
        self.assertEqual(client.get('/user/ann/42').text, 'ann42')
        self.assertEqual(client.get('/user/ann/x').status, 404)

    def test_with_app_makes_it_the_default(self):
        outer = bottle.default_app()
        inner = bottle.Bottle()
        with inner:
            self.assertIs(bottle.default_app(), inner)
        self.assertIs(bottle.default_app(), outer)

    def test_module_shortcuts_document_what_they_call(self):
        for name in ('route', 'get', 'post', 'error', 'hook', 'install', 'mount'):
            self.assertEqual(getattr(bottle, name).__doc__, getattr(bottle.Bottle, name).__doc__
                             if name != 'route' else bottle.Kokoro.route.__doc__)
        self.assertEqual(bottle.url.__doc__, bottle.Kokoro.get_url.__doc__)

    def test_routes_lists_route_objects(self):
        app = bottle.Bottle()
        app.route('/a', ['GET', 'POST'], lambda: 'a', name='a')
        self.assertEqual([(r.rule, r.method, r.name) for r in app.routes],
                         [('/a', 'GET', 'a'), ('/a', 'POST', 'a')])
        self.assertEqual(app.routes[0].callback(), 'a')
        self.assertIs(app.routes[0].app, app)

    def test_get_url_builds_with_query_and_script_name(self):
        app = bottle.Bottle()
        app.route('/user/<uid:int>', callback=lambda uid: app.get_url('user', uid=uid + 1, x=1),
                  name='user')
        answer = make_client(app).get('/user/1', environ={'SCRIPT_NAME': '/site'})
        self.assertEqual(answer.text, '/site/user/2?x=1')

    def test_after_request_hooks_run_last_added_first(self):
        for cls, expected in ((bottle.Bottle, 'ba'), (bottle.Kokoro, 'ab')):
            app, order = cls(), []
            app.add_hook('after_request', lambda: order.append('a'))
            app.hook('after_request')(lambda: order.append('b'))
            app.route('/', callback=lambda: 'x')
            make_client(app).get('/')
            self.assertEqual(''.join(order), expected)

    def test_catchall_false_lets_exceptions_out(self):
        app = bottle.Bottle(catchall=False)
        app.route('/', callback=lambda: 1 / 0)
        with self.assertRaises(ZeroDivisionError):
            make_client(app).get('/')
        app.config['catchall'] = True
        self.assertEqual(make_client(app).get('/').status, 500)

    def test_merge_adds_another_apps_routes(self):
        first, second = bottle.Bottle(), bottle.Bottle()
        second.route('/two', callback=lambda: 'two')
        first.merge(second)
        self.assertEqual(make_client(first).get('/two').text, 'two')

    def test_mount_any_wsgi_application(self):
        def plain(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain')])
            return [('%s|%s' % (environ['SCRIPT_NAME'], environ['PATH_INFO'])).encode()]
        app = bottle.Bottle()
        app.mount('/legacy', plain)
        client = make_client(app)
        self.assertEqual(client.get('/legacy/a/b').text, '/legacy|/a/b')
        self.assertEqual(client.get('/legacy').text, '/legacy|/')
        self.assertEqual(client.get('/legacy/a/b').headers['Content-Type'], 'text/plain')

    def test_mounted_app_checks_its_own_csrf(self):
        for parent in (bottle.Bottle(csrf=True), bottle.Kokoro()):
            child = bottle.Bottle()
            child.route('/form', 'POST', lambda: 'child got it')
            parent.mount('/child/', child)
            answer = make_client(parent).post('/child/form', data={'a': '1'})
            self.assertEqual((answer.status, answer.text), (200, 'child got it'))

    def test_mount_records_its_prefix_and_target(self):
        app, child = bottle.Bottle(), bottle.Bottle()
        app.mount('/child/', child)
        self.assertEqual((app.routes[0].config['mountpoint.prefix'],
                          app.routes[0].config['mountpoint.target']), ('/child/', child))

    def test_mount_refuses_a_bad_prefix(self):
        with self.assertRaises(ValueError):
            bottle.Bottle().mount('legacy', bottle.Bottle())

    def test_app_stack_push_and_pop(self):
        pushed = bottle.app.push()
        try:
            self.assertIsInstance(pushed, bottle.Bottle)
            self.assertIs(bottle.app(), pushed)
            self.assertIs(bottle.default_app(), pushed)

            @bottle.route('/stacked')
            def stacked():
                return 'on the pushed app'
            self.assertEqual(make_client(pushed).get('/stacked').text, 'on the pushed app')
        finally:
            self.assertIs(bottle.app.pop(), pushed)
        self.assertIsNot(bottle.default_app(), pushed)

    def test_debug_turns_tracebacks_on_for_new_apps(self):
        bottle.debug(True)
        try:
            app = bottle.Bottle()
            app.route('/', callback=lambda: 1 / 0)
            self.assertIn('ZeroDivisionError', make_client(app).get('/').text)
        finally:
            bottle.debug(False)
        self.assertFalse(bottle.Bottle().config['debug'])

    def test_auth_basic(self):
        app = bottle.Bottle()

        @app.route('/secret')
        @bottle.auth_basic(lambda user, password: (user, password) == ('ann', 'pw'), realm='x')
        def secret():
            return 'in as %s' % bottle.request.auth[0]
        client = make_client(app)
        refused = client.get('/secret')
        self.assertEqual((refused.status, refused.headers['WWW-Authenticate']),
                         (401, 'Basic realm="x"'))
        token = base64.b64encode(b'ann:pw').decode()
        self.assertEqual(client.get('/secret', headers={'Authorization': 'Basic ' + token}
                                    ).text, 'in as ann')

    def test_parse_auth(self):
        token = base64.b64encode('ann:p:w\u00e9'.encode()).decode()
        self.assertEqual(bottle.parse_auth('Basic ' + token), ('ann', 'p:w\u00e9'))
        for header in ('', 'Bearer abc', 'Basic !!!', 'Basic ' + base64.b64encode(b'x').decode()):
            self.assertIsNone(bottle.parse_auth(header))

    def test_path_shift(self):
        self.assertEqual(bottle.path_shift('/a', '/b/c/', 1), ('/a/b', '/c/'))
        self.assertEqual(bottle.path_shift('/a/b', '/c', -1), ('/a', '/b/c'))
        self.assertEqual(bottle.path_shift('', '/b', 1), ('/b', '/'))
        self.assertEqual(bottle.path_shift('/a/b/c/d', '/', -4), ('/', '/a/b/c/d/'))
        with self.assertRaises(bottle.PathShiftError):
            bottle.path_shift('', '/b', 2)
        self.assertTrue(issubclass(bottle.PathShiftError, (ValueError, AssertionError)))

    def test_wsgi_header_dict(self):
        headers = bottle.WSGIHeaderDict({'HTTP_X_NAME': 'caf\u00c3\u00a9', 'CONTENT_TYPE': 'a/b',
                                         'PATH_INFO': '/'})
        self.assertEqual(headers['x-name'], 'caf\u00e9')
        self.assertEqual(headers.raw('X-Name'), 'caf\u00c3\u00a9')
        self.assertEqual(sorted(headers), ['Content-Type', 'X-Name'])
        self.assertIn('Content-Type', headers)
        with self.assertRaises(TypeError):
            headers['X-Name'] = 'no'


    def test_the_site_default_app_keeps_csrf(self):
        site = bottle.default_app()
        self.assertIs(type(site), bottle.Kokoro)
        self.assertTrue(site.config['csrf'])

    def test_load_and_load_app(self):
        self.assertIs(bottle.load('os.path:join'), os.path.join)
        self.assertIs(bottle.load('json'), json)
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, 'bottle_compat_loaded.py'), 'w') as f:
            f.write('import kokoropy as bottle\n@bottle.route("/")\ndef index():\n'
                    '    return "loaded"\n')
        sys.path.insert(0, folder)
        self.addCleanup(sys.path.remove, folder)
        self.addCleanup(sys.modules.pop, 'bottle_compat_loaded', None)
        before = bottle.default_app()
        loaded = bottle.load_app('bottle_compat_loaded')
        self.assertIsInstance(loaded, bottle.Bottle)
        self.assertIs(bottle.default_app(), before)
        self.assertEqual(make_client(loaded).get('/').text, 'loaded')


class PluginTest(unittest.TestCase):

    def setUp(self):
        self.calls = []

    def tagging(self, tag):
        calls = self.calls

        class Tag(object):
            name = tag

            def apply(self, callback, route):
                def wrapper(*args, **kwargs):
                    calls.append(tag)
                    return callback(*args, **kwargs)
                return wrapper
        return Tag()

    def test_first_installed_plugin_is_outermost(self):
        app = bottle.Bottle()
        app.install(self.tagging('outer'))
        app.install(self.tagging('inner'))
        app.route('/', callback=lambda: 'x')
        make_client(app).get('/')
        self.assertEqual(self.calls, ['outer', 'inner'])

    def test_plugin_installed_later_applies_to_existing_routes(self):
        app = bottle.Bottle()
        app.route('/', callback=lambda: 'x')
        app.install(self.tagging('late'))
        make_client(app).get('/')
        self.assertEqual(self.calls, ['late'])

    def test_apply_and_skip_per_route(self):
        app = bottle.Bottle()
        installed = app.install(self.tagging('everywhere'))
        app.route('/a', callback=lambda: 'a', apply=[self.tagging('only-a')])
        app.route('/b', callback=lambda: 'b', skip=['everywhere'])
        app.route('/c', callback=lambda: 'c', skip=[type(installed)])
        app.route('/d', callback=lambda: 'd', skip=True)
        client = make_client(app)
        for path in ('/a', '/b', '/c', '/d'):
            client.get(path)
        self.assertEqual(self.calls, ['everywhere', 'only-a'])

    def test_decorator_plugin_and_uninstall_by_object_and_class(self):
        app = bottle.Bottle()

        def shout(callback):
            return lambda *args, **kwargs: callback(*args, **kwargs).upper()
        app.install(shout)
        app.route('/', callback=lambda: 'quiet')
        client = make_client(app)
        self.assertEqual(client.get('/').text, 'QUIET')
        self.assertEqual(app.uninstall(shout), [shout])
        self.assertEqual(client.get('/').text, 'quiet')
        json_plugins = app.uninstall(bottle.JSONPlugin)
        self.assertEqual([plugin.name for plugin in json_plugins], ['json'])

    def test_not_a_plugin_is_refused(self):
        with self.assertRaises(TypeError):
            bottle.Bottle().install(42)

    def test_kokoro_routes_stay_unwrapped_without_plugins(self):
        app = bottle.Kokoro()

        def handler():
            return 'x'
        app.route('/', callback=handler)
        self.assertIs(app.routes[0].target, handler)

    def test_plugin_keeps_csrf_exempt_of_the_handler(self):
        app = bottle.Kokoro()
        app.install(lambda callback: lambda *a, **k: callback(*a, **k))
        app.route('/hook', 'POST', bottle.csrf_exempt(lambda: 'ok'))
        self.assertEqual(make_client(app).post('/hook', data={'a': '1'}).status, 200)

    def test_template_plugin_renders_route_template_option(self):
        app = bottle.Bottle()
        app.route('/', callback=lambda: {'who': 'ann'}, template='Hi {{who}}')
        app.route('/d', callback=lambda: {}, template=('Hi {{who}}', {'who': 'bob'}))
        client = make_client(app)
        self.assertEqual((client.get('/').text, client.get('/d').text), ('Hi ann', 'Hi bob'))

    def test_first_plugin_api_reads_the_route_as_a_dict(self):
        class OldPlugin(object):
            def apply(self, callback, context):
                limit = context['config']['limit']
                return lambda *args, **kwargs: '%s (%s %s)' % (callback(*args, **kwargs),
                                                              context['rule'], limit)
        app = bottle.Bottle()
        app.install(OldPlugin())
        app.route('/x', callback=lambda: 'x', limit=3)
        self.assertEqual(make_client(app).get('/x').text, 'x (/x 3)')

    def test_plugin_returning_a_bound_method(self):
        class Greeter(object):
            def apply(self, callback, route):
                return self.hello

            def hello(self):
                return 'Hello'
        app = bottle.Bottle()
        app.install(Greeter())
        app.route('/', callback=lambda: 'unused')
        self.assertEqual(make_client(app).get('/').text, 'Hello')

    def test_close_closes_installed_plugins(self):
        class Closing(object):
            closed = False

            def __call__(self, callback):
                return callback

            def close(self):
                self.closed = True
        app = bottle.Bottle()
        plugin = app.install(Closing())
        app.close()
        self.assertTrue(plugin.closed)

    def test_route_in_bottles_form_and_undecorated_callback(self):
        def handler(item_id, page=1):
            return 'x'

        def logged(function):          # a decorator without functools.wraps
            def wrapper(*args, **kwargs):
                return function(*args, **kwargs)
            return wrapper
        route = bottle.Route(bottle.Bottle(), '/i/<item_id>', 'GET', logged(handler), 'item',
                             limit=2)
        self.assertEqual((route.rule, route.method, route.name, route.config['limit']),
                         ('/i/<item_id>', 'GET', 'item', 2))
        self.assertIs(route.get_undecorated_callback(), handler)
        self.assertEqual(route.get_callback_args(), ['item_id', 'page'])

    def test_route_object_for_plugins(self):
        seen = {}

        class Inspect(object):
            def apply(self, callback, route):
                seen.update(args=route.get_callback_args(), config=route.get_config('limit'),
                            undecorated=route.get_undecorated_callback())
                return callback
        app = bottle.Bottle()
        app.install(Inspect())

        def handler(a, b=2):
            return 'x'
        app.route('/<a>', callback=handler, limit=5)
        self.assertEqual((seen['args'], seen['config'], seen['undecorated']),
                         (['a', 'b'], 5, handler))


class ConfigDictTest(unittest.TestCase):

    def test_load_dict_makes_namespaces(self):
        config = bottle.ConfigDict().load_dict({'db': {'host': 'h', 'port': 5}, 'debug': True})
        self.assertEqual(dict(config), {'db.host': 'h', 'db.port': 5, 'debug': True})

    def test_update_with_a_namespace(self):
        config = bottle.ConfigDict()
        config.update('mail', host='m', port=25)
        self.assertEqual(dict(config), {'mail.host': 'm', 'mail.port': 25})

    def test_load_config_reads_ini_sections(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, 'app.ini')
        with open(path, 'w') as f:
            f.write('[bottle]\nDebug = true\n[db]\nHost = h\nurl = ${Host}/x\n')
        config = bottle.ConfigDict().load_config(path)
        self.assertEqual(dict(config), {'debug': 'true', 'db.host': 'h', 'db.url': 'h/x'})

    def test_meta_filter_converts_values(self):
        config = bottle.ConfigDict()
        config.meta_set('port', 'filter', int)
        config['port'] = '8080'
        self.assertEqual((config['port'], config.meta_get('port', 'filter')), (8080, int))
        self.assertEqual(list(config.meta_list('port')), ['filter'])
        self.assertEqual(config.meta_get('port', 'help', 'none'), 'none')

    def test_keys_must_be_text(self):
        with self.assertRaises(TypeError):
            bottle.ConfigDict()[1] = 'x'

    def test_app_config_is_a_config_dict(self):
        app = bottle.Bottle()
        app.config.load_dict({'myapp': {'name': 'x'}})
        self.assertEqual(app.config['myapp.name'], 'x')
        self.assertIsInstance(app.config, bottle.ConfigDict)


class RequestTest(unittest.TestCase):

    def serve(self, handler, path='/', method='GET', **options):
        app = bottle.Bottle()
        app.route(path.split('?')[0], method, handler)
        return make_client(app).request(method, path, **options)

    def test_post_holds_forms_and_files_get_holds_the_query(self):
        def handler():
            post = bottle.request.POST
            return '%s %s %s %s' % (bottle.request.GET.q, post.name, post.up.filename,
                                    post.get('missing'))
        answer = self.serve(handler, '/?q=1', 'POST', data={'name': 'ann'},
                            files={'up': ('a.txt', b'data')})
        self.assertEqual(answer.text, '1 ann a.txt None')

    def test_missing_field_as_attribute_is_empty_text(self):
        self.assertEqual(self.serve(lambda: repr(bottle.request.forms.nothing), method='POST',
                                    data={'a': '1'}).text, "''")

    def test_forms_decode_and_getunicode(self):
        def handler():
            forms = bottle.request.forms.decode()
            return '%s|%s|%s' % (forms.name, forms.getunicode('name'),
                                 forms.getunicode('none', 'dflt'))
        self.assertEqual(self.serve(handler, method='POST', data={'name': 'caf\u00e9'}).text,
                         'caf\u00e9|caf\u00e9|dflt')

    def test_environ_by_key(self):
        def handler():
            bottle.request['my.key'] = 'v'
            return '%s %s %s' % (bottle.request['PATH_INFO'], bottle.request['my.key'],
                                 'REQUEST_METHOD' in bottle.request)
        self.assertEqual(self.serve(handler, '/x', ).text, '/x v True')

    def test_setting_an_environ_key_is_read_again(self):
        request = bottle.Request({'QUERY_STRING': 'a=1'})
        self.assertEqual(request.query.a, '1')
        request['QUERY_STRING'] = 'a=2'
        self.assertEqual(request.query.a, '2')

    def test_chunked_and_is_ajax(self):
        request = bottle.Request({'HTTP_TRANSFER_ENCODING': 'chunked',
                                  'HTTP_X_REQUESTED_WITH': 'XMLHttpRequest'})
        self.assertEqual((request.chunked, request.is_ajax), (True, True))
        self.assertEqual((bottle.Request().chunked, bottle.Request().is_ajax), (False, False))

    def test_auth_from_basic_header_or_remote_user(self):
        token = base64.b64encode(b'ann:pw').decode()
        self.assertEqual(bottle.Request({'HTTP_AUTHORIZATION': 'Basic ' + token}).auth,
                         ('ann', 'pw'))
        self.assertEqual(bottle.Request({'REMOTE_USER': 'bob'}).auth, ('bob', None))
        self.assertIsNone(bottle.Request({}).auth)

    def test_path_shift_moves_segments_to_script_name(self):
        request = bottle.Request({'SCRIPT_NAME': '/a', 'PATH_INFO': '/b/c'})
        self.assertEqual(request.path, '/b/c')
        request.path_shift(1)
        self.assertEqual((request.script_name, request.path), ('/a/b', '/c'))
        request.path_shift(-2)
        self.assertEqual((request['SCRIPT_NAME'], request.path), ('/', '/a/b/c'))

    def test_request_without_environ_and_bind(self):
        request = bottle.Request()
        self.assertEqual((request.method, request.path, 'PATH_INFO' in request),
                         ('GET', '/', False))
        request.bind({'PATH_INFO': '/bound'})
        self.assertEqual(request.path, '/bound')

    def test_thread_local_bind(self):
        bottle.request.bind({'PATH_INFO': '/local', 'REQUEST_METHOD': 'PUT'})
        bottle.response.bind()
        try:
            self.assertEqual((bottle.request.path, bottle.request['REQUEST_METHOD']),
                             ('/local', 'PUT'))
            bottle.response['X-A'] = '1'
            self.assertEqual(bottle.response.get_header('X-A'), '1')
        finally:
            bottle._local.request = bottle._local.response = None

    def test_chunked_body_passed_through_is_decoded(self):
        app = bottle.Bottle()
        app.route('/', 'POST', lambda: 'got %s' % bottle.request.forms.a)
        environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/', 'HTTP_TRANSFER_ENCODING': 'chunked',
                   'CONTENT_TYPE': 'application/x-www-form-urlencoded',
                   'wsgi.input': io.BytesIO(b'2\r\na=\r\n5;ext=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n')}
        self.assertEqual(call_wsgi(app, environ), ('200 OK', b'got hello'))

    def test_malformed_chunked_body_is_a_400(self):
        app = bottle.Bottle()
        app.route('/', 'POST', lambda: bottle.request.body.read())
        for body in (b'zz\r\nabc\r\n0\r\n\r\n', b'5\r\nab', b'2\r\nabcd\r\n0\r\n\r\n'):
            environ = {'REQUEST_METHOD': 'POST', 'PATH_INFO': '/',
                       'HTTP_TRANSFER_ENCODING': 'chunked', 'wsgi.input': io.BytesIO(body)}
            self.assertEqual(call_wsgi(app, environ)[0], '400 Bad Request')

    def test_repeated_cookie_last_wins_for_bottle_first_for_kokoro(self):
        for cls, expected in ((bottle.Bottle, '2'), (bottle.Kokoro, '1')):
            app = cls()
            app.route('/', callback=lambda: bottle.request.cookies.k)
            answer = make_client(app).get('/', headers={'Cookie': 'k=1; k=2'})
            self.assertEqual(answer.text, expected)

    def test_pickled_bottle_cookie_is_refused(self):
        # The shape of Bottle's signed cookie: '!' + signature + '?' + base64(pickle).
        pickled = '!c2lnbmF0dXJl?gASVBAAAAAAAAACMAXiULg=='
        app = bottle.Bottle()
        app.route('/', callback=lambda: repr(bottle.request.get_cookie('s', 'none',
                                                                        secret='key')))
        answer = make_client(app).get('/', headers={'Cookie': 's="%s"' % pickled})
        self.assertEqual(answer.text, "'none'")

    def test_x_forwarded_for_is_ignored_without_trusted_proxies(self):
        app = bottle.Bottle()
        app.route('/', callback=lambda: bottle.request.remote_addr)
        client = make_client(app)
        headers = {'X-Forwarded-For': '6.6.6.6'}
        self.assertEqual(client.get('/', headers=headers).text, '127.0.0.1')
        app.config['trusted_proxies'] = 1
        self.assertEqual(client.get('/', headers=headers).text, '6.6.6.6')


def call_wsgi(app, environ):
    """Call a WSGI app with a bare environ; return (status, body)."""
    environ.setdefault('wsgi.errors', io.StringIO())
    captured = []
    body = app(environ, lambda status, headers, exc_info=None: captured.append(status))
    try:
        return captured[0], b''.join(body)
    finally:
        bottle._local.request = bottle._local.response = None


class ResponseTest(unittest.TestCase):

    def serve(self, handler, app_class=bottle.Bottle, **options):
        app = app_class()
        app.route('/', callback=handler)
        return make_client(app).get('/', **options)

    def test_bare_bottle_objects_follow_bottle(self):
        response = bottle.BaseResponse()
        response.set_cookie('a', 'v', max_age=5)
        self.assertEqual((response.headers['Set-Cookie'], response.charset),
                         ('a=v; Max-Age=5', 'UTF-8'))
        self.assertEqual(bottle.BaseRequest({'HTTP_COOKIE': 'a=1; a=2'}).cookies['a'], '2')
        self.assertEqual(bottle.Request({'HTTP_COOKIE': 'a=1; a=2'}).cookies['a'], '1')
        bottle.request.bind({'SERVER_PROTOCOL': 'HTTP/1.1', 'PATH_INFO': '/a/b'})
        try:
            with self.assertRaises(bottle.HTTPResponse) as caught:
                bottle.redirect('./c')
            self.assertEqual(caught.exception.headers['Location'], 'http://127.0.0.1/a/c')
        finally:
            bottle._local.request = bottle._local.response = None

    def test_expires_header(self):
        response = bottle.Response()
        response.expires = datetime.datetime(2030, 1, 2, 3, 4, 5)
        self.assertEqual(response.headers['Expires'], 'Wed, 02 Jan 2030 03:04:05 GMT')
        self.assertEqual(response.expires, datetime.datetime(2030, 1, 2, 3, 4, 5))
        self.assertIsNone(bottle.Response().expires)

    def test_header_methods_and_item_access(self):
        def handler():
            bottle.response.set_header('X-One', 'a')
            bottle.response.add_header('X-Many', '1')
            bottle.response.add_header('X-Many', '2')
            bottle.response['X-Item'] = bottle.response.get_header('X-One') + 'b'
            del bottle.response['X-One']
            return str('X-Item' in bottle.response)
        answer = self.serve(handler)
        self.assertEqual(answer.text, 'True')
        self.assertEqual(answer.headers.getall('X-Many'), ['1', '2'])
        self.assertEqual((answer.headers['X-Item'], answer.headers.get('X-One')), ('ab', None))

    def test_headerlist_and_charset(self):
        response = bottle.Response()
        response.charset = 'latin-1'
        response.set_header('X-A', '1')
        self.assertIn(('Content-Type', 'text/html; charset=latin-1'), response.headerlist)
        self.assertIn(('X-A', '1'), response.headerlist)
        self.assertEqual(self.serve(lambda: setattr(bottle.response, 'charset', 'latin-1') or
                                    '\u00e9').body, b'\xe9')

    def test_same_site_and_flags_as_given_for_bottle(self):
        def handler():
            bottle.response.set_cookie('plain', 'v')
            bottle.response.set_cookie('strict', 'v', same_site='strict', httponly=True)
            return ''
        cookies = self.serve(handler).headers.getall('Set-Cookie')
        self.assertEqual(cookies, ['plain=v', 'strict=v; HttpOnly; SameSite=strict'])

    def test_default_content_type_is_spelled_as_bottle_does(self):
        self.assertEqual(self.serve(lambda: 'x').headers['Content-Type'],
                         'text/html; charset=UTF-8')
        self.assertEqual(self.serve(lambda: 'x', bottle.Kokoro).headers['Content-Type'],
                         'text/html; charset=utf-8')

    def test_kokoro_cookies_keep_secure_defaults(self):
        def handler():
            bottle.response.set_cookie('plain', 'v')
            return ''
        self.assertEqual(self.serve(handler, bottle.Kokoro).headers['Set-Cookie'],
                         'plain=v; HttpOnly; Path=/; SameSite=Lax')

    def test_list_of_strings_is_joined_for_bottle_and_json_for_kokoro(self):
        self.assertEqual(self.serve(lambda: ['a', 'b']).text, 'ab')
        self.assertEqual(self.serve(lambda: [b'a', b'b']).body, b'ab')
        self.assertEqual(self.serve(lambda: ['a', 'b'], bottle.Kokoro).text, '["a","b"]')

    def test_generator_may_start_with_an_http_response(self):
        def handler():
            yield None
            yield bottle.HTTPResponse('moved on', status=202)
            yield 'never'
        answer = self.serve(handler)
        self.assertEqual((answer.status, answer.text), (202, 'moved on'))

    def test_generator_raising_http_error_first(self):
        def handler():
            yield ''
            bottle.abort(410, 'gone')
        self.assertEqual(self.serve(handler).status, 410)

    def test_empty_generator_is_an_empty_body(self):
        def handler():
            yield None
        answer = self.serve(handler)
        self.assertEqual((answer.status, answer.body), (200, b''))

    def test_redirect_is_absolute_and_302_for_http_1_0(self):
        answer = self.serve(lambda: bottle.redirect('/next?a=1'))
        self.assertEqual((answer.status, answer.headers['Location']),
                         (303, 'http://localhost/next?a=1'))
        answer = self.serve(lambda: bottle.redirect('other'),
                            environ={'SERVER_PROTOCOL': 'HTTP/1.0'})
        self.assertEqual((answer.status, answer.headers['Location']),
                         (302, 'http://localhost/other'))
        answer = self.serve(lambda: bottle.redirect('/k', 301), bottle.Kokoro)
        self.assertEqual((answer.status, answer.headers['Location']), (301, '/k'))

    def test_static_file_etag_given_or_off(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, 'a.txt'), 'w') as f:
            f.write('a')
        given = self.serve(lambda: bottle.static_file('a.txt', folder, etag='"v1"'))
        self.assertEqual(given.headers['ETag'], '"v1"')
        again = self.serve(lambda: bottle.static_file('a.txt', folder, etag='"v1"'),
                           headers={'If-None-Match': '"v1"'})
        self.assertEqual(again.status, 304)
        off = self.serve(lambda: bottle.static_file('a.txt', folder, etag=False))
        self.assertEqual((off.status, off.headers.get('ETag')), (200, None))

    def test_default_error_page_is_bottles(self):
        def handler():
            yield None
            bottle.abort(404, 'no <such> thing')
        answer = self.serve(handler)
        self.assertEqual(answer.status, 404)
        self.assertIn('<h1>Error: 404 Not Found</h1>', answer.text)
        self.assertIn("<tt>&#x27;http://localhost/&#x27;</tt>", answer.text)
        self.assertIn('<pre>no &lt;such&gt; thing</pre>', answer.text)
        failed = self.serve(lambda: 1 / 0)
        self.assertIn('<pre>Internal Server Error</pre>', failed.text)
        self.assertNotIn('ZeroDivisionError', failed.text)

    def test_default_404_body_is_bottles(self):
        app = bottle.Bottle()
        app.route('/a', callback=lambda: 'a')
        app.error(404, lambda error: error.body)
        client = make_client(app)
        self.assertEqual(client.get('/nope').text, "Not found: '/nope'")
        self.assertEqual(client.get('/a/').status, 404)     # no trailing-slash redirect

    def test_response_copy_and_status(self):
        response = bottle.Response('x', 404)
        response['X-A'] = '1'
        copy = response.copy(cls=bottle.HTTPResponse)
        self.assertEqual((copy.status_code, copy.status_line, copy['X-A'], copy.body),
                         (404, '404 Not Found', '1', 'x'))


class NamesTest(unittest.TestCase):

    def test_bottle_public_names_are_exported(self):
        names = ['Bottle', 'route', 'get', 'post', 'put', 'delete', 'patch', 'error', 'hook',
                 'install', 'uninstall', 'mount', 'url', 'default_app', 'app', 'run', 'debug',
                 'request', 'response', 'abort', 'redirect', 'static_file', 'template', 'view',
                 'SimpleTemplate', 'BaseTemplate', 'jinja2_template', 'jinja2_view',
                 'mako_template', 'mako_view', 'TemplateError', 'HTTPResponse', 'HTTPError',
                 'FormsDict', 'MultiDict', 'HeaderDict', 'WSGIHeaderDict', 'ConfigDict',
                 'FileUpload', 'Route', 'Router', 'html_escape', 'html_quote', 'parse_auth',
                 'auth_basic', 'path_shift', 'yieldroutes', 'JSONPlugin', 'TemplatePlugin',
                 'TEMPLATE_PATH', 'TEMPLATES', 'HTTP_CODES', 'tob', 'touni', 'makelist',
                 'BaseRequest', 'BaseResponse', 'parse_date', 'http_date']
        self.assertEqual([name for name in names if name not in bottle.__all__], [])
        self.assertEqual([name for name in bottle.__all__ if not hasattr(bottle, name)], [])

    def test_small_helpers(self):
        self.assertEqual((bottle.tob('\u00e9'), bottle.tob(None)), (b'\xc3\xa9', b''))
        self.assertEqual((bottle.touni(b'\xc3\xa9'), bottle.touni(None)), ('\u00e9', ''))
        self.assertEqual((bottle.makelist('a'), bottle.makelist(('a', 'b')),
                          bottle.makelist(None)), (['a'], ['a', 'b'], []))
        self.assertEqual(bottle.HTTP_CODES[404], 'Not Found')
        self.assertEqual(json.loads(json.dumps(bottle.HTTP_CODES[418])), "I'm a teapot")

    def test_templates_clear_forgets_compiled_templates(self):
        bottle.template('cached {{x}}', x=1)
        self.assertTrue(bottle._SOURCE_TEMPLATES)
        bottle.TEMPLATES.clear()
        self.assertFalse(bottle._SOURCE_TEMPLATES)


if __name__ == '__main__':
    unittest.main()
