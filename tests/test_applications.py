"""Tests for section 11: configuration loading, application discovery, routes.py and
Autoroute_Controller."""
import io
import os
import shutil
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kokoropy  # noqa: E402
from kokoropy import Kokoro, TestClient, load_applications, load_config  # noqa: E402


def write_files(root, files):
    """Write {relative path: text} under root, creating folders."""
    for relative, text in files.items():
        path = os.path.join(root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(textwrap.dedent(text))


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.project)
        env = {k: v for k, v in os.environ.items() if not k.startswith('KOKOROPY_')}
        patcher = mock.patch.dict(os.environ, env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def write_config(self, text):
        write_files(self.project, {'applications/config.py': text})

    def test_defaults_without_config_file(self):
        config = load_config(self.project)
        self.assertEqual(config['debug'], False)
        self.assertEqual(config['base_url'], '/')
        self.assertEqual(config['database_url'], 'sqlite:///db/kokoropy.db')
        self.assertEqual(config['runtime_path'], '.runtime')
        self.assertEqual(config['max_body_bytes'], 10 * 1024 * 1024)
        self.assertEqual(config['session_max_age'], 14 * 24 * 3600)
        self.assertEqual(config['csrf'], True)
        self.assertEqual(config['secret'], None)
        self.assertEqual(config['project_path'], os.path.abspath(self.project))

    def test_file_is_overridden_by_environment_then_by_overrides(self):
        self.write_config('DEBUG = True\nMAX_BODY_BYTES = 2 * 1024\nBASE_URL = "/site"\n'
                          'SECRET = "from-file"\n')
        self.assertEqual(load_config(self.project)['max_body_bytes'], 2048)
        self.assertEqual(load_config(self.project)['base_url'], '/site/')
        os.environ['KOKOROPY_MAX_BODY_BYTES'] = '4096'
        os.environ['KOKOROPY_DEBUG'] = 'no'
        os.environ['KOKOROPY_SECRET'] = 'from-env'
        config = load_config(self.project)
        self.assertEqual((config['max_body_bytes'], config['debug'], config['secret']),
                         (4096, False, 'from-env'))
        config = load_config(self.project, {'max_body_bytes': '8192', 'debug': True,
                                            'base_url': None})
        self.assertEqual((config['max_body_bytes'], config['debug'], config['base_url']),
                         (8192, True, '/site/'))

    def test_several_secrets_rotate_from_the_file_or_the_environment(self):
        self.write_config('SECRET = ["new", "old"]\n')
        self.assertEqual(load_config(self.project)['secret'], ('new', 'old'))
        os.environ['KOKOROPY_SECRET'] = 'newer, new'
        self.assertEqual(load_config(self.project)['secret'], ('newer', 'new'))
        for bad in ('"a,,b"', '[]', '["ok", 3]'):
            self.write_config('SECRET = %s\n' % bad)
            os.environ.pop('KOKOROPY_SECRET', None)
            with self.subTest(bad=bad), self.assertRaises(ValueError) as caught:
                load_config(self.project)
            self.assertIn('SECRET', str(caught.exception))

    def test_boolean_words_from_environment(self):
        for word, expected in [('1', True), ('yes', True), ('TRUE', True), ('on', True),
                               ('0', False), ('no', False), ('false', False)]:
            os.environ['KOKOROPY_CSRF'] = word
            self.assertIs(load_config(self.project)['csrf'], expected, word)

    def test_bad_environment_value_names_setting_and_source(self):
        os.environ['KOKOROPY_DEBUG'] = 'maybe'
        with self.assertRaises(ValueError) as caught:
            load_config(self.project)
        self.assertEqual(str(caught.exception),
                         "bad setting DEBUG in environment variable KOKOROPY_DEBUG: expected "
                         "true or false (1/0/yes/no), got 'maybe'")

    def test_bad_file_value_names_setting_and_source(self):
        self.write_config('SESSION_MAX_AGE = "two weeks"\n')
        with self.assertRaises(ValueError) as caught:
            load_config(self.project)
        self.assertEqual(str(caught.exception),
                         "bad setting SESSION_MAX_AGE in applications/config.py: expected a "
                         "whole number >= 0, got 'two weeks'")

    def test_bad_override_names_the_command_line(self):
        with self.assertRaises(ValueError) as caught:
            load_config(self.project, {'trusted_proxies': '-1'})
        self.assertIn('TRUSTED_PROXIES in the command line', str(caught.exception))

    def test_broken_config_file_names_file_and_line(self):
        self.write_config('DEBUG = True\nBASE_URL = (\n')
        with self.assertRaises(ValueError) as caught:
            load_config(self.project)
        self.assertIn('config.py, line', str(caught.exception))
        self.assertIn('SyntaxError', str(caught.exception))

    def test_unknown_and_lowercase_names_in_file(self):
        self.write_config('SITE_TITLE = "Shop"\nhelper = 1\n')
        config = load_config(self.project)
        self.assertEqual(config['site_title'], 'Shop')
        self.assertNotIn('helper', config)

    def test_bundled_config_file_sets_only_defaults(self):
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        config = load_config(here)
        for name, default in kokoropy.CONFIG_DEFAULTS.items():
            self.assertEqual(config[name], default, name)
        with open(os.path.join(here, 'applications', 'config.py'), encoding='utf-8') as f:
            source = f.read()
        for name in kokoropy.CONFIG_DEFAULTS:
            self.assertIn('# %s = ' % name.upper(), source)


APPLICATION_TREE = {
    'applications/__init__.py': '',
    'applications/alpha/__init__.py': 'title = "Alpha Shop"\n',
    'applications/alpha/secret.txt': 'not an asset',
    'applications/alpha/assets/css/site.css': 'body { color: red; }\n',
    'applications/alpha/views/page.tpl': 'Page {{title}}\n',
    'applications/alpha/routes.py': '''
        from kokoropy import request, response


        def hello():
            return 'hello from alpha'


        def form():
            return 'form %s' % request.method


        def item(id):
            return 'item %r' % (id,)


        def teapot_page():
            from kokoropy import abort
            abort(418, 'short and stout')


        def add_header():
            response.headers['X-Alpha-Hook'] = 'ran'


        def teapot(error):
            return 'custom teapot page'


        urls = [
            ('/alpha/hello', hello),
            ('/alpha/form', form, ['GET', 'POST']),
            ('/alpha/item/<id:int>', item, 'GET', 'alpha_item'),
            ('/alpha/teapot', teapot_page),
        ]
        hooks = [('after_request', add_header)]
        errors = [(418, teapot)]
    ''',
    'applications/alpha/controllers/__init__.py': '',
    'applications/alpha/controllers/shop.py': '''
        from kokoropy import Autoroute_Controller, csrf_exempt


        class Shop(Autoroute_Controller):
            def get_index(self, category=None):
                return 'index %s' % (category,)

            def action_any(self):
                return 'any %s' % self.request.method

            def get_show(self, id: int, page: int = 1):
                return 'show %r page %r' % (id, page)

            def post_show(self, id: int):
                return 'posted %r' % (id,)

            def put_show(self, id: int):
                return 'put %r' % (id,)

            def patch_show(self, id: int):
                return 'patched %r' % (id,)

            def delete_show(self, id: int):
                return 'deleted %r' % (id,)

            def get_price(self, amount: float):
                return 'price %r' % (amount,)

            def get_tags(self, *tags):
                return 'tags %s' % ','.join(tags)

            def get_search(self, q='', limit: int = 10):
                return 'search %r %r' % (q, limit)

            def get_options(self, **options):
                return 'options %s' % sorted(options.items())

            def get_page(self):
                return self.render('page', title='Shop')

            def get_whoami(self):
                self.response.headers['X-Controller'] = type(self).__name__
                return self.app_name

            @csrf_exempt
            def post_webhook(self):
                return 'hooked'

            def helper(self):
                return 'not published'

            def _private(self):
                return 'not published'
    ''',
    'applications/alpha/controllers/home.py': '''
        from kokoropy import AutorouteController


        class AlphaHome(AutorouteController):
            name = 'start'
            default = True

            def __init__(self):
                self.greeting = 'welcome to ' + self.app_name

            def get_index(self):
                return self.greeting
    ''',
    'applications/beta/__init__.py': '',
    'applications/beta/routes.py': '''
        def beta_index():
            return 'manual beta'

        urls = (('/beta', beta_index),)
        menu = ['beta/menu']
    ''',
    'applications/beta/views/menu.tpl': '<li>beta menu item</li>\n',

    'applications/beta/controllers/beta.py': '''
        from kokoropy import Autoroute_Controller


        class Beta(Autoroute_Controller):
            def get_index(self):
                return 'autorouted beta'

            def get_other(self):
                return 'beta other'

            def helper(self):
                return 'not published'

            def _private(self):
                return 'not published'


        class Renamed(Autoroute_Controller):
            name = 'gamma'

            def get_index(self):
                return 'gamma index'
    ''',
    'applications/broken/__init__.py': 'import module_that_does_not_exist\n',
    'applications/badurls/__init__.py': '',
    'applications/badurls/routes.py': '''
        def ok():
            return 'ok'

        urls = [('/badurls/ok', ok), ('/badurls/x', 'not callable')]
    ''',
    'applications/syntax/__init__.py': '',
    'applications/syntax/controllers/oops.py': 'def broken(:\n',
    'applications/index/__init__.py': '',
    'applications/index/routes.py': '''
        def home():
            return 'home'

        urls = [('/', home)]
    ''',
    'applications/zmenu/__init__.py': '',
    'applications/zmenu/routes.py': 'menu = [42]\n',
    'applications/not_a_package/readme.txt': 'no __init__.py here',
}


class ApplicationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = tempfile.mkdtemp()
        write_files(cls.project, APPLICATION_TREE)
        cls.app = Kokoro(project_path=cls.project, secret='s', csrf=False)
        with mock.patch('sys.stderr', new_callable=io.StringIO) as stderr:
            cls.loaded = load_applications(cls.app, os.path.join(cls.project, 'applications'))
        cls.stderr = stderr.getvalue()
        cls.client = TestClient(cls.app)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.project)

    def get(self, path, **options):
        answer = self.client.get(path, **options)
        return answer.status, answer.text

    def test_discovery_order_puts_index_last(self):
        self.assertEqual([a.name for a in self.loaded],
                         ['alpha', 'badurls', 'beta', 'broken', 'syntax', 'zmenu', 'index'])
        self.assertEqual([a.ok for a in self.loaded],
                         [True, False, True, False, False, False, True])
        self.assertEqual(self.app.applications, self.loaded)

    def test_broken_applications_are_reported_with_name_and_error(self):
        self.assertIn("application 'broken' failed to load: ModuleNotFoundError", self.stderr)
        self.assertIn("application 'syntax' failed to load: SyntaxError", self.stderr)
        self.assertIn("application 'badurls' failed to load: ValueError: "
                      "applications/badurls/routes.py: urls[1] (/badurls/x): 'not callable' "
                      "is not callable", self.stderr)
        broken = self.loaded[3]
        self.assertIsInstance(broken.error, ImportError)
        self.assertIn('module_that_does_not_exist', broken.traceback)

    def test_broken_application_adds_none_of_its_routes(self):
        self.assertEqual(self.client.get('/badurls/ok').status, 500)

    def test_broken_application_pages_are_500_without_details(self):
        status, text = self.get('/broken/anything')
        self.assertEqual(status, 500)
        self.assertNotIn('Traceback', text)

    def test_broken_application_pages_show_traceback_in_debug(self):
        self.app.config['debug'] = True
        try:
            status, text = self.get('/broken')
        finally:
            self.app.config['debug'] = False
        self.assertEqual(status, 500)
        self.assertIn('Traceback', text)
        self.assertIn('module_that_does_not_exist', text)

    def test_working_applications_load_beside_broken_ones(self):
        self.assertEqual(self.get('/alpha/hello'), (200, 'hello from alpha'))
        self.assertEqual(self.get('/'), (200, 'home'))

    def test_titles_come_from_the_package_else_from_the_name(self):
        titles = {loaded.name: loaded.title for loaded in self.loaded}
        self.assertEqual(titles['alpha'], 'Alpha Shop')
        self.assertEqual(titles['badurls'], 'Badurls')
        self.assertEqual(kokoropy.application_title('alpha', self.app), 'Alpha Shop')
        self.assertEqual(kokoropy.application_title('not_loaded', self.app), 'Not loaded')

    def test_menu_views_come_from_routes_py(self):
        self.assertEqual(kokoropy.menu_views(self.app), ['beta/menu'])

    def test_bad_menu_entry_is_reported_with_its_place(self):
        self.assertIn("application 'zmenu' failed to load: ValueError: "
                      "applications/zmenu/routes.py: menu[0] must be a view name such as "
                      "\"cms/menu\", got 42", self.stderr)

    def test_manual_routes_methods_and_names(self):
        self.assertEqual(self.client.post('/alpha/form').text, 'form POST')
        self.assertEqual(self.client.post('/alpha/hello').status, 405)
        self.assertEqual(self.get('/alpha/item/7'), (200, 'item 7'))
        self.assertEqual(self.app.router.build('alpha_item', id=3), '/alpha/item/3')

    def test_routes_carry_the_application_name(self):
        alpha = self.loaded[0]
        self.assertTrue(alpha.routes)
        self.assertEqual({route.config['app_name'] for route in alpha.routes}, {'alpha'})
        self.assertEqual(self.get('/alpha/shop/whoami'), (200, 'alpha'))

    def test_hooks_and_error_handlers_from_routes_py(self):
        answer = self.client.get('/alpha/teapot')
        self.assertEqual((answer.status, answer.text), (418, 'custom teapot page'))
        self.assertEqual(answer.headers['X-Alpha-Hook'], 'ran')

    def test_assets_are_served(self):
        answer = self.client.get('/alpha/assets/css/site.css')
        self.assertEqual((answer.status, answer.text), (200, 'body { color: red; }\n'))
        self.assertTrue(answer.headers['Content-Type'].startswith('text/css'))

    def test_uploads_come_from_the_shared_upload_folder_when_one_is_set(self):
        shared = os.path.join(self.project, 'shared-volume')
        write_files(shared, {'alpha/photo.png': 'shared bytes', 'beta/other.png': 'not alpha'})
        write_files(self.project, {'applications/alpha/assets/uploads/photo.png': 'local'})
        self.addCleanup(shutil.rmtree, os.path.join(self.project, 'applications', 'alpha',
                                                    'assets', 'uploads'))
        self.assertEqual(self.get('/alpha/assets/uploads/photo.png'), (200, 'local'))
        self.app.config['upload_folder'] = 'shared-volume'
        self.addCleanup(self.app.config.__setitem__, 'upload_folder', None)
        self.assertEqual(self.get('/alpha/assets/uploads/photo.png'), (200, 'shared bytes'))
        self.assertEqual(self.get('/alpha/assets/css/site.css')[0], 200)
        for path in ['/alpha/assets/uploads/../beta/other.png',
                     '/alpha/assets/uploads/%2e%2e/beta/other.png',
                     '/alpha/assets/uploads/..%2fbeta%2fother.png',
                     '/alpha/assets/uploads/..%2f..%2fapplications/alpha/__init__.py']:
            self.assertIn(self.client.get(path).status, (403, 404), path)

    def test_assets_refuse_traversal(self):
        for path in ['/alpha/assets/../secret.txt', '/alpha/assets/%2e%2e/secret.txt',
                     '/alpha/assets/css/../../secret.txt', '/alpha/assets/..%2fsecret.txt',
                     '/alpha/assets/%2e%2e%2fsecret.txt', '/alpha/assets/missing.css']:
            answer = self.client.get(path)
            self.assertIn(answer.status, (403, 404), path)
            self.assertNotIn('not an asset', answer.text, path)

    def test_autoroute_every_prefix(self):
        self.assertEqual(self.client.get('/alpha/shop/show/5').text, 'show 5 page 1')
        self.assertEqual(self.client.post('/alpha/shop/show/5').text, 'posted 5')
        self.assertEqual(self.client.put('/alpha/shop/show/5').text, 'put 5')
        self.assertEqual(self.client.patch('/alpha/shop/show/5').text, 'patched 5')
        self.assertEqual(self.client.delete('/alpha/shop/show/5').text, 'deleted 5')
        for method in ('GET', 'POST', 'PUT', 'PATCH', 'DELETE'):
            self.assertEqual(self.client.request(method, '/alpha/shop/any').text,
                             'any ' + method)

    def test_method_specific_action_refuses_other_methods(self):
        answer = self.client.post('/alpha/shop/price/1')
        self.assertEqual(answer.status, 405)
        self.assertEqual(answer.headers['Allow'], 'GET, HEAD, OPTIONS')

    def test_autoroute_typed_arguments(self):
        self.assertEqual(self.get('/alpha/shop/show/-3'), (200, 'show -3 page 1'))
        self.assertEqual(self.get('/alpha/shop/price/2.5'), (200, 'price 2.5'))
        self.assertEqual(self.get('/alpha/shop/price/2'), (200, 'price 2.0'))
        self.assertEqual(self.client.get('/alpha/shop/show/five').status, 404)
        self.assertEqual(self.client.get('/alpha/shop/price/1e5').status, 404)

    def test_autoroute_argument_count(self):
        self.assertEqual(self.client.get('/alpha/shop/show').status, 404)
        self.assertEqual(self.get('/alpha/shop/show/1/2'), (200, 'show 1 page 2'))
        self.assertEqual(self.client.get('/alpha/shop/show/1/2/3').status, 404)
        self.assertEqual(self.get('/alpha/shop/show/1/'), (200, 'show 1 page 1'))
        self.assertEqual(self.get('/alpha/shop/tags/a/b/c'), (200, 'tags a,b,c'))
        self.assertEqual(self.get('/alpha/shop/tags'), (200, 'tags '))
        self.assertEqual(self.client.get('/alpha/shop/any/extra').status, 404)

    def test_query_parameters_fill_keyword_arguments(self):
        self.assertEqual(self.get('/alpha/shop/show/1?page=3'), (200, 'show 1 page 3'))
        self.assertEqual(self.get('/alpha/shop/search?q=red&limit=5&other=x'),
                         (200, "search 'red' 5"))
        self.assertEqual(self.client.get('/alpha/shop/search?limit=many').status, 400)
        self.assertEqual(self.get('/alpha/shop/options?b=2&a=1'),
                         (200, "options [('a', '1'), ('b', '2')]"))

    def test_index_answers_controller_url_with_and_without_slash(self):
        self.assertEqual(self.get('/alpha/shop'), (200, 'index None'))
        self.assertEqual(self.get('/alpha/shop/'), (200, 'index None'))
        self.assertEqual(self.get('/alpha/shop?category=toys'), (200, 'index toys'))

    def test_index_takes_extra_segments_that_are_not_actions(self):
        self.assertEqual(self.get('/alpha/shop/toys'), (200, 'index toys'))
        self.assertEqual(self.client.get('/alpha/shop/toys/more').status, 404)
        self.assertEqual(self.client.get('/alpha/shop/show').status, 404)

    def test_default_controller_answers_application_url(self):
        self.assertEqual(self.get('/alpha'), (200, 'welcome to alpha'))
        self.assertEqual(self.get('/alpha/'), (200, 'welcome to alpha'))
        self.assertEqual(self.get('/alpha/start'), (200, 'welcome to alpha'))

    def test_controller_named_like_the_application_is_its_default(self):
        self.assertEqual(self.get('/beta/beta'), (200, 'autorouted beta'))
        self.assertEqual(self.get('/beta/'), (200, 'autorouted beta'))
        self.assertEqual(self.get('/beta/beta/other'), (200, 'beta other'))

    def test_manual_url_wins_over_autoroute(self):
        self.assertEqual(self.get('/beta'), (200, 'manual beta'))

    def test_controller_name_attribute(self):
        self.assertEqual(self.get('/beta/gamma'), (200, 'gamma index'))
        self.assertEqual(self.client.get('/beta/renamed').status, 404)

    def test_only_prefixed_methods_are_published(self):
        self.assertEqual(self.client.get('/beta/beta/helper').status, 404)
        self.assertEqual(self.client.get('/beta/beta/_private').status, 404)
        self.assertEqual(self.client.get('/beta/beta/get_other').status, 404)

    def test_controller_render_uses_the_application_views(self):
        self.assertEqual(self.get('/alpha/shop/page'), (200, 'Page Shop\n'))

    def test_controller_response_and_route_names(self):
        answer = self.client.get('/alpha/shop/whoami')
        self.assertEqual(answer.headers['X-Controller'], 'Shop')
        self.assertEqual(self.app.router.build('alpha.shop.show'), '/alpha/shop/show')
        self.assertEqual(self.app.router.build('alpha.shop.index'), '/alpha/shop')
        self.assertEqual(self.app.router.build('alpha.assets', path='css/site.css'),
                         '/alpha/assets/css/site.css')

    def test_controllers_are_listed(self):
        self.assertEqual([c.__name__ for c in self.loaded[0].controllers], ['AlphaHome', 'Shop'])
        self.assertEqual([c.__name__ for c in self.loaded[2].controllers], ['Beta', 'Renamed'])


class ApplicationsFolderTest(unittest.TestCase):
    def test_missing_folder_is_a_clear_error(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        with self.assertRaises(FileNotFoundError) as caught:
            load_applications(Kokoro(project_path=project))
        self.assertIn('no applications folder at %s' % os.path.join(project, 'applications'),
                      str(caught.exception))

    def test_folder_name_must_be_a_package_name(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        os.mkdir(os.path.join(project, 'my-apps'))
        with self.assertRaises(ValueError):
            load_applications(Kokoro(), os.path.join(project, 'my-apps'))


class CsrfInApplicationsTest(unittest.TestCase):
    def test_autorouted_post_checks_csrf_unless_exempt(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        write_files(project, APPLICATION_TREE)
        app = Kokoro(project_path=project, secret='s')
        with mock.patch('sys.stderr'):
            load_applications(app)
        client = TestClient(app)
        self.assertEqual(client.post('/alpha/shop/show/1', data={'a': '1'}).status, 403)
        self.assertEqual(client.post('/alpha/shop/webhook', data={'a': '1'}).text, 'hooked')
