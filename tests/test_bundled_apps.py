"""Tests for the bundled applications (index and example), wsgi.py and kokoro.wsgi: every page
answers, and a crawler following every same-site link from / finds no 404 or 500."""
import http.client
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from html.parser import HTMLParser
from unittest import mock
from urllib.parse import urljoin, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import kokoropy  # noqa: E402
from kokoropy import Database, Kokoro, Migrator, TestClient, load_applications  # noqa: E402

APPLICATIONS = os.path.join(ROOT, 'applications')
PAGES = ['/', '/example', '/example/', '/example/hello', '/example/hello/Kokoro',
         '/example/pokemon', '/example/pokemon/', '/example/pokemon/char',
         '/example/pokemon?search=pi', '/example/session', '/example/plot', '/example/api',
         '/example/api/pokemon', '/example/api/pokemon/1', '/example/api/hello/Kokoro',
         '/index/assets/css/kokoropy.css', '/index/assets/images/kokoropy.svg',
         '/example/assets/images/pikachu.svg']


class _LinkParser(HTMLParser):
    """Collects href and src attribute values."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.links = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ('href', 'src') and value:
                self.links.append(value)


def links_of(html):
    parser = _LinkParser()
    parser.feed(html)
    return parser.links


def make_site(base_url='/', migrate=True):
    """A Kokoro app with the bundled applications and a migrated temporary database."""
    project = tempfile.mkdtemp()
    app = Kokoro(project_path=project, secret='test', base_url=base_url)
    database = Database(os.path.join(project, 'db', 'test.db'))
    kokoropy.set_default_database(database)
    if migrate:
        Migrator(database, APPLICATIONS).apply_pending()
    loaded = load_applications(app, APPLICATIONS)
    assert all(application.ok for application in loaded), loaded
    return app, database, project


class BundledApplicationsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.app, cls.database, cls.project = make_site()

    @classmethod
    def tearDownClass(cls):
        kokoropy.set_default_database(None)
        cls.database.close()
        shutil.rmtree(cls.project)

    def setUp(self):
        kokoropy.set_default_database(self.database)
        self.client = TestClient(self.app)

    def test_applications_are_found_with_index_last(self):
        self.assertEqual([a.name for a in self.app.applications], ['example', 'index'])
        self.assertEqual(kokoropy.installed_applications(self.app), ['example'])

    def test_every_page_answers_200(self):
        for path in PAGES:
            answer = self.client.get(path, follow_redirects=True)
            self.assertEqual(answer.status, 200, path)

    def test_crawl_from_home_finds_no_broken_link(self):
        seen = self.crawl('/')
        self.assertIn('/example/pokemon', seen)
        self.assertIn('/example/session', seen)
        self.assertIn('/example/plot', seen)
        self.assertIn('/example/api/pokemon', seen)
        self.assertIn('/index/assets/css/kokoropy.css', seen)
        self.assertIn('/example/assets/images/pikachu.svg', seen)

    def crawl(self, start, client=None, prefix=''):
        client = client or self.client
        queue, seen = [start], {}
        while queue:
            path = queue.pop(0)
            if path in seen:
                continue
            answer = client.get(path)
            seen[path] = answer.status
            self.assertNotIn(answer.status, (404, 500), 'broken link %s' % path)
            self.assertTrue(path.startswith(prefix), path)
            if answer.headers.get('Content-Type', '').startswith('text/html'):
                for link in links_of(answer.text):
                    target = urlsplit(urljoin('http://localhost' + path, link))
                    if target.netloc == 'localhost' and target.scheme == 'http':
                        queue.append(target.path + ('?' + target.query if target.query else ''))
        return seen

    def test_home_page_layout(self):
        text = self.client.get('/').text
        self.assertIn('<link rel="stylesheet" href="/index/assets/css/kokoropy.css">', text)
        self.assertIn('<li><a href="/example">Example</a></li>', text)
        self.assertIn('python rossian.py start', text)
        self.assertIn('python -m unittest discover -s tests', text)
        self.assertNotIn('<script', text)
        # The address the site answers at is shown as text (the link itself stays relative).
        self.assertIn('answers at <a href="/">http://localhost/</a>', text)
        self.assertNotIn('http://', text.replace('>http://localhost/<', ''))

    def test_css_documents_its_class_names(self):
        css = self.client.get('/index/assets/css/kokoropy.css').text
        for name in ['.alert-error', '.button-primary', '.button-danger', '.field',
                     '.error-message', '.help', '.pagination', '.table', '.card', '.site-nav']:
            self.assertIn(name, css.split('*/', 1)[0], name)
            self.assertIn(name, css.split('*/', 1)[1], name)

    def test_hello_escapes_the_name(self):
        text = self.client.get('/example/hello/%3Cscript%3E').text
        self.assertIn('Hello, &lt;script&gt;!', text)
        self.assertIn('Hello, world!', self.client.get('/example/hello').text)

    def test_hello_form_greets_the_name_it_sends(self):
        page = self.client.get('/example/hello').text
        self.assertIn('<form class="search" method="get" action="/example/hello">', page)
        self.assertIn('<input type="text" name="name"', page)
        self.assertIn('<h1>Hello, Ann!</h1>', self.client.get('/example/hello?name=Ann').text)
        self.assertIn('<h1>Hello, world!</h1>', self.client.get('/example/hello?name=+').text)

    def test_pokemon_list_and_search(self):
        text = self.client.get('/example/pokemon').text
        for name in ['Bulbasaur', 'Charmander', 'Squirtle', 'Pikachu', 'Jigglypuff', 'Eevee']:
            self.assertIn('<td>%s</td>' % name, text)
        self.assertIn('src="/example/assets/images/pikachu.svg"', text)
        text = self.client.get('/example/pokemon/char').text
        self.assertIn('<td>Charmander</td>', text)
        self.assertNotIn('<td>Pikachu</td>', text)
        text = self.client.get('/example/pokemon?search=PIKA').text
        self.assertIn('<td>Pikachu</td>', text)
        self.assertNotIn('<td>Eevee</td>', text)

    def test_pokemon_api(self):
        answer = self.client.get('/example/api/pokemon?search=squirt')
        self.assertEqual(answer.json, {'pokemon': [
            {'id': 3, 'name': 'Squirtle', 'type': 'water',
             'image': '/example/assets/images/squirtle.svg'}]})
        self.assertEqual(self.client.get('/example/api/pokemon/1').json['name'], 'Bulbasaur')
        missing = self.client.get('/example/api/pokemon/99')
        self.assertEqual((missing.status, missing.json),
                         (404, {'error': 'No pokemon with id 99.'}))
        self.assertEqual(self.client.get('/example/api/hello/Ann').json,
                         {'message': 'Hello, Ann!'})

    def test_json_post_needs_no_csrf_token(self):
        answer = self.client.post('/example/api/echo', json={'a': [1, 2]})
        self.assertEqual((answer.status, answer.json), (200, {'received': {'a': [1, 2]}}))

    def test_session_demo_counts_visits(self):
        self.assertIn('<strong>1</strong> time in\n',
                      self.client.get('/example/session').text)
        self.assertIn('<strong>2</strong> times', self.client.get('/example/session').text)

    def test_session_demo_post_sets_signed_cookie_and_flashes(self):
        page = self.client.get('/example/session').text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.client.post('/example/session', data={'name': 'Ann', 'csrf_token': token})
        self.assertEqual((answer.status, answer.headers['Location']), (303, '/example/session'))
        self.assertIn('example_visitor', answer.cookies)
        page = self.client.get('/example/session').text
        self.assertIn('<div class="alert alert-success">Hello, Ann! Your name is now kept in a '
                      'signed cookie.</div>', page)
        self.assertIn('says your name is <strong>Ann</strong>', page)
        self.assertNotIn('alert-success', self.client.get('/example/session').text)

    def test_session_demo_refuses_post_without_token(self):
        self.assertEqual(self.client.post('/example/session', data={'name': 'Ann'}).status, 403)

    def test_session_demo_ignores_a_forged_cookie(self):
        self.client.cookie_jar.clear()
        page = self.client.get('/example/session',
                               headers={'Cookie': 'example_visitor=Mallory'}).text
        self.assertIn('No name yet', page)

    def test_session_demo_empty_name_flashes_an_error(self):
        page = self.client.get('/example/session').text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.client.post('/example/session', data={'name': ' ', 'csrf_token': token},
                                  follow_redirects=True)
        self.assertIn('<div class="alert alert-error">Please type a name.</div>', answer.text)

    def test_session_demo_reset(self):
        page = self.client.get('/example/session').text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = self.client.post('/example/session/reset', data={'csrf_token': token},
                                  follow_redirects=True)
        self.assertIn('The counter and the cookie were reset.', answer.text)
        self.assertIn('<strong>1</strong> time in\n', answer.text)

    def test_plot_page_without_matplotlib_explains_how_to_install_it(self):
        with mock.patch.dict(sys.modules, {'matplotlib': None}):
            answer = self.client.get('/example/plot')
            png = self.client.get('/example/plot.png')
        self.assertEqual(answer.status, 200)
        self.assertIn('pip install matplotlib', answer.text)
        self.assertNotIn('plot.png', answer.text)
        self.assertEqual(png.status, 404)

    @unittest.skipUnless(importlib.util.find_spec('matplotlib'), 'matplotlib is not installed')
    def test_plot_png_with_matplotlib(self):
        answer = self.client.get('/example/plot.png')
        self.assertEqual(answer.headers['Content-Type'], 'image/png')
        self.assertTrue(answer.body.startswith(b'\x89PNG'))


class HealthCheckTest(unittest.TestCase):
    def test_healthz_is_ok_while_the_database_answers_and_503_when_it_does_not(self):
        app, database, project = make_site(migrate=False)
        self.addCleanup(shutil.rmtree, project)
        self.addCleanup(kokoropy.set_default_database, None)
        client = TestClient(app)
        answer = client.get('/healthz')
        self.assertEqual((answer.status, answer.json), (200, {'status': 'ok', 'database': 'ok'}))
        self.assertEqual(answer.headers['Cache-Control'], 'no-store')
        database.close()
        with open(os.path.join(project, 'a-file'), 'w'):
            pass                            # a database under a file can't be opened
        kokoropy.set_default_database(Database(os.path.join(project, 'a-file', 'x.db')))
        with self.assertLogs('kokoropy', 'WARNING') as logged:
            answer = client.get('/healthz')
        self.assertEqual((answer.status, answer.json),
                         (503, {'status': 'unavailable', 'database': 'unavailable'}))
        self.assertIn('the database does not answer', logged.output[0])


class WithoutMigrationsTest(unittest.TestCase):
    def test_pokemon_page_asks_to_run_the_migration(self):
        app, database, project = make_site(migrate=False)
        self.addCleanup(shutil.rmtree, project)
        self.addCleanup(database.close)
        self.addCleanup(kokoropy.set_default_database, None)
        client = TestClient(app)
        answer = client.get('/example/pokemon')
        self.assertEqual(answer.status, 200)
        self.assertIn('python rossian.py migration-upgrade', answer.text)
        api = client.get('/example/api/pokemon')
        self.assertEqual(api.status, 503)
        self.assertIn('migration-upgrade', api.json['error'])


class ErrorPagesInTheLayoutTest(unittest.TestCase):
    """Error pages of a site are pages of the site: its layout, a short message, JSON for JSON
    clients, the plain built-in page when the layout itself fails."""

    def setUp(self):
        self.app, database, project = make_site(migrate=False)
        self.addCleanup(shutil.rmtree, project)
        self.addCleanup(database.close)
        self.addCleanup(kokoropy.set_default_database, None)
        self.app.route('/broken', 'GET', lambda: database.query('SELECT * FROM example_pokemon'))
        self.client = TestClient(self.app)

    def assertInLayout(self, answer, status, title, message):
        self.assertEqual(answer.status, status)
        self.assertEqual(answer.headers['Content-Type'], 'text/html; charset=utf-8')
        self.assertIn('<nav class="site-nav" aria-label="Main">', answer.text)
        self.assertIn('<h1>%s</h1>\n  <p class="lead">%s</p>' % (title, message), answer.text)

    def test_not_found_forbidden_method_and_too_large_render_in_the_layout(self):
        self.assertInLayout(self.client.get('/nowhere'), 404, '404 Not Found',
                            'The page you asked for was not found.')
        self.assertInLayout(self.client.post('/example/session', data={'name': 'Ann'}), 403,
                            '403 Forbidden', 'The form has expired or was not sent from this '
                            'site. Reload the page and try again.')
        answer = self.client.request('DELETE', '/example/hello')
        self.assertInLayout(answer, 405, '405 Method Not Allowed',
                            'This page does not accept that method.')
        self.assertEqual(answer.headers['Allow'], 'GET, HEAD, OPTIONS')
        self.app.config['max_body_bytes'] = 100
        self.assertInLayout(self.client.post('/example/session', data={'name': 'x' * 200}),
                            413, '413 %s' % http.client.responses[413],  # 3.13 renamed it
                            'The request body is larger than 100 bytes.')

    def test_json_clients_get_json(self):
        answer = self.client.get('/nowhere', headers={'Accept': 'application/json'})
        self.assertEqual((answer.status, answer.json), (404, {'error': {
            'status': 404, 'message': 'The page you asked for was not found.'}}))

    def test_pending_migration_is_named_in_debug_mode_only(self):
        answer = self.client.get('/broken')
        self.assertInLayout(answer, 500, '500 Internal Server Error',
                            'The server could not complete the request.')
        self.assertNotIn('migration', answer.text.lower())
        self.assertNotIn('Traceback', answer.text)
        self.app.config['debug'] = True
        answer = self.client.get('/broken')
        self.assertInLayout(answer, 500, '500 Internal Server Error',
                            'The server could not complete the request.')
        self.assertIn('The migration <code>example/migrations/0001_create_pokemon.py</code> is '
                      'not applied yet: run\n  <code>python rossian.py migration-upgrade '
                      'example</code>.', answer.text)
        self.assertIn('<pre class="traceback">Traceback', answer.text)

    def test_a_failing_layout_gives_the_plain_page(self):
        with mock.patch.object(kokoropy, 'load_view', side_effect=RuntimeError('layout bug')):
            answer = self.client.get('/nowhere')
        self.assertEqual(answer.status, 404)
        self.assertIn('<h1>404 Not Found</h1><p>The page you asked for was not found.</p>',
                      answer.text)
        self.assertIn('RuntimeError: layout bug', answer.errors)

    def test_an_application_replaces_the_page_of_any_status(self):
        self.app.error(404, lambda error: kokoropy.template('Lost: {{path}}', path='/x'))
        self.assertEqual(self.client.get('/nowhere').text, 'Lost: /x')


class BaseUrlTest(unittest.TestCase):
    def setUp(self):
        self.app, database, project = make_site(base_url='/kokoropy/')
        self.addCleanup(shutil.rmtree, project)
        self.addCleanup(database.close)
        self.addCleanup(kokoropy.set_default_database, None)

    def test_home_page_shows_the_port_and_base_url_it_is_served_at(self):
        text = TestClient(self.app, host='127.0.0.1:8123').get('/kokoropy/').text
        self.assertIn('answers at <a href="/kokoropy/">http://127.0.0.1:8123/kokoropy/</a>', text)

    def test_visitor_cookie_is_set_and_deleted_under_the_base_url(self):
        client = TestClient(self.app)
        page = client.get('/kokoropy/example/session').text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = client.post('/kokoropy/example/session', data={'name': 'Ann',
                                                                'csrf_token': token})
        visitor = [header for header in answer.headers.getall('Set-Cookie')
                   if header.startswith('example_visitor=')]
        self.assertEqual(len(visitor), 1)
        self.assertIn('; Path=/kokoropy/', visitor[0])
        answer = client.post('/kokoropy/example/session/reset', data={'csrf_token': token})
        deleted = [header for header in answer.headers.getall('Set-Cookie')
                   if header.startswith('example_visitor=')]
        self.assertIn('; Path=/kokoropy/', deleted[0])

    def test_every_link_stays_under_the_base_url(self):
        app = self.app
        client = TestClient(app)
        self.assertEqual(client.get('/').headers['Location'], '/kokoropy/')
        seen = BundledApplicationsTest.crawl(self, '/kokoropy/', client, prefix='/kokoropy/')
        self.assertIn('/kokoropy/example/pokemon', seen)
        self.assertIn('/kokoropy/index/assets/css/kokoropy.css', seen)


class LayoutTest(unittest.TestCase):
    def test_layout_serves_bottle_style_rebase_with_a_title(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        folder = os.path.join(project, 'applications')
        shutil.copytree(os.path.join(APPLICATIONS, 'index'), os.path.join(folder, 'index'))
        files = {'__init__.py': '', 'demo/__init__.py': '',
                 'demo/views/page.tpl':
                     "% rebase('index/base', title='Demo')\n<h1>{{name}}</h1>\n",
                 'demo/routes.py': 'from kokoropy import template\n\n\ndef page():\n'
                                   '    return template("demo/page", name="<x>")\n\n\n'
                                   'urls = [("/demo", page)]\n'}
        for relative, text in files.items():
            os.makedirs(os.path.dirname(os.path.join(folder, relative)), exist_ok=True)
            with open(os.path.join(folder, relative), 'w', encoding='utf-8') as f:
                f.write(text)
        app = Kokoro(project_path=project, secret='s')
        load_applications(app, folder)
        text = TestClient(app).get('/demo').text
        self.assertIn('<title>Demo · Kokoropy</title>', text)
        self.assertIn('<h1>&lt;x&gt;</h1>', text)
        self.assertIn('<li><a href="/demo" class="active">Demo</a></li>', text)


class WsgiEntryPointsTest(unittest.TestCase):
    def test_wsgi_py_and_kokoro_wsgi_expose_the_site(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        shutil.copytree(APPLICATIONS, os.path.join(project, 'applications'))
        for name in ('kokoropy.py', 'wsgi.py', 'kokoro.wsgi'):
            shutil.copy(os.path.join(ROOT, name), project)
        script = ('import runpy, sys; sys.argv = ["x"]; '
                  'namespace = runpy.run_path("kokoro.wsgi"); '
                  'from kokoropy import TestClient; '
                  'client = TestClient(namespace["application"]); '
                  'print(client.get("/").status, client.get("/example/hello/x").status, '
                  'client.get("/example/pokemon").status, client.get("/example/session").status)')
        env = {k: v for k, v in os.environ.items() if not k.startswith('KOKOROPY_')}
        result = subprocess.run([sys.executable, '-c', script], cwd=project, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
        self.assertEqual(result.stdout.decode().strip(), '200 200 200 200', result.stderr.decode())
        self.assertTrue(os.path.isfile(os.path.join(project, '.runtime', 'secret')))


if __name__ == '__main__':
    unittest.main()
