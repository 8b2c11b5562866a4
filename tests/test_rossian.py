"""rossian.py, the command line: help, errors, start, migrations and the scaffold commands.

Every test drives `python rossian.py ...` in a subprocess, in a temporary copy of the project
(kokoropy.py, rossian.py and applications/), and looks at the real files, database and pages.
The generated CRUD and CMS are driven over HTTP in test_rossian_crud.py and test_rossian_cms.py.
"""
import atexit
import compileall
import http.cookiejar
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import parse_as_oldest_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER_START_SECONDS = 15


# --- support shared by the rossian test modules ---------------------------------------------

_pristine = []


def pristine_project():
    """A folder holding kokoropy.py, rossian.py and applications/ compiled once, so that each
    test's copy (made with copy2, keeping the mtimes the .pyc files check) starts fast."""
    if not _pristine:
        folder = tempfile.mkdtemp(prefix='rossian-pristine-')
        atexit.register(shutil.rmtree, folder, True)
        for name in ('kokoropy.py', 'rossian.py'):
            shutil.copy2(os.path.join(ROOT, name), folder)
        shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                        ignore=shutil.ignore_patterns('__pycache__', 'uploads', '*.db'))
        compileall.compile_dir(folder, quiet=1)
        _pristine.append(folder)
    return _pristine[0]


class Project(object):
    """A temporary copy of the project, and `python rossian.py` run inside it."""

    def __init__(self):
        self.folder = os.path.join(tempfile.mkdtemp(prefix='rossian-test-'), 'project')
        shutil.copytree(pristine_project(), self.folder)
        self.servers = []
        self.database_url = None  # None: the project's own db/kokoropy.db
        self.environment = {}     # added to the environment of rossian.py runs

    def use_database(self, url):
        """Make rossian.py runs (and the servers they start) use the database at `url`."""
        self.database_url = url
        self.environment['KOKOROPY_DATABASE_URL'] = url

    def remove(self):
        for server in self.servers:
            server.stop()
        shutil.rmtree(os.path.dirname(self.folder), ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.folder, *parts)

    def rossian(self, *arguments, **options):
        """Run rossian.py with arguments; return the CompletedProcess (text stdout/stderr)."""
        environment = dict(os.environ, **self.environment)
        environment.pop('KOKOROPY_RELOADER_CHILD', None)
        return subprocess.run([sys.executable, self.path('rossian.py')] + list(arguments),
                              cwd=options.get('cwd', self.folder), env=environment,
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60)

    def read(self, *parts):
        with open(self.path(*parts), encoding='utf-8') as f:
            return f.read()

    def write(self, relative, text):
        with open(self.path(*relative.split('/')), 'w', encoding='utf-8') as f:
            f.write(text)

    def snapshot(self):
        """{relative path: content} of every file, to prove a command changed nothing."""
        files = {}
        for folder, subfolders, names in os.walk(self.folder):
            subfolders[:] = [name for name in subfolders if name != '__pycache__']
            for name in names:
                path = os.path.join(folder, name)
                with open(path, 'rb') as f:
                    files[os.path.relpath(path, self.folder)] = f.read()
        return files

    def columns(self, table):
        if self.database_url:
            import kokoropy  # (the project's copy is what rossian.py runs; the API is the same)
            database = kokoropy.Database(self.database_url)
            try:
                return database.columns(table)
            finally:
                database.close()
        connection = sqlite3.connect(self.path('db', 'kokoropy.db'))
        try:
            return [row[1] for row in connection.execute('PRAGMA table_info(%s)' % table)]
        finally:
            connection.close()

    def python_files(self):
        for folder, subfolders, names in os.walk(self.path('applications')):
            subfolders[:] = [name for name in subfolders if name != '__pycache__']
            for name in names:
                if name.endswith('.py'):
                    yield os.path.join(folder, name)

    def start(self, *arguments):
        """Start `rossian.py start` on a free port; return the running Server."""
        server = Server(self, *arguments)
        self.servers.append(server)
        return server


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Server(object):
    """`python rossian.py start --port N --quiet` in the background, stopped with SIGTERM."""

    def __init__(self, project, *arguments):
        self.port = free_port()
        self.log = tempfile.TemporaryFile(mode='w+')
        environment = dict(os.environ, **project.environment)
        environment.pop('KOKOROPY_RELOADER_CHILD', None)
        self.process = subprocess.Popen(
            [sys.executable, project.path('rossian.py'), 'start', '--port', str(self.port),
             '--quiet'] + list(arguments), cwd=project.folder, env=environment,
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT)
        self._wait_until_listening()

    def _wait_until_listening(self):
        deadline = time.time() + SERVER_START_SECONDS
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError('the server exited:\n' + self.output())
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise AssertionError('the server did not listen in time:\n' + self.output())

    def output(self):
        if self.log.closed:
            return self._output
        self.log.seek(0)
        return self.log.read()

    def url(self, path):
        return 'http://127.0.0.1:%d%s' % (self.port, path)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.log.closed:
            self._output = self.output()
            self.log.close()


class Answer(object):
    """One HTTP answer: status, headers, text, and the redirect target if any."""

    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body
        self.text = body.decode('utf-8', 'replace')

    @property
    def location(self):
        return urllib.parse.urlsplit(self.headers.get('Location', '')).path


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser(object):
    """A cookie-keeping HTTP client for a Server: get(), post() forms (multipart for files),
    follow(), and csrf() reading the token from a page's form."""

    def __init__(self, server):
        self.server = server
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirects())

    def get(self, path, headers=None):
        return self._send(urllib.request.Request(self.server.url(path), headers=headers or {}))

    def post(self, path, fields, files=None):
        if files:
            body, content_type = _multipart(fields, files)
        else:
            body = urllib.parse.urlencode(fields).encode('ascii')
            content_type = 'application/x-www-form-urlencoded'
        request = urllib.request.Request(self.server.url(path), data=body, method='POST',
                                         headers={'Content-Type': content_type})
        return self._send(request)

    def follow(self, answer):
        """GET the page a 303 answer points to."""
        assert answer.status in (302, 303), (answer.status, answer.text[:500])
        return self.get(answer.location)

    def csrf(self, path):
        """The CSRF token of the form on page `path`."""
        page = self.get(path)
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match, 'no CSRF token on %s (%d)' % (path, page.status)
        return match.group(1)

    def _send(self, request):
        try:
            with self.opener.open(request, timeout=20) as reply:
                return Answer(reply.status, reply.headers, reply.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, error.headers, error.read())


def _multipart(fields, files):
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
                      % (boundary, name, value)).encode('utf-8'))
    for name, (filename, content, content_type) in files.items():
        parts.append(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                      'Content-Type: %s\r\n\r\n' % (boundary, name, filename, content_type))
                     .encode('utf-8') + content + b'\r\n')
    parts.append(('--%s--\r\n' % boundary).encode('ascii'))
    return b''.join(parts), 'multipart/form-data; boundary=' + boundary


class ProjectTestCase(unittest.TestCase):
    """A test with its own temporary project copy in self.project."""

    def setUp(self):
        self.project = Project()
        self.addCleanup(self.project.remove)

    def rossian(self, *arguments):
        return self.project.rossian(*arguments)

    def assertSucceeds(self, *arguments):
        result = self.rossian(*arguments)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        return result

    def assertUsageError(self, arguments, message_part):
        """The command fails with exit status 2, one error line naming `message_part`, the
        usage, and no file written or changed."""
        before = self.project.snapshot()
        result = self.rossian(*arguments)
        self.assertEqual(result.returncode, 2, result.stdout + result.stderr)
        lines = result.stderr.splitlines()
        self.assertTrue(lines[0].startswith('rossian: error: '), result.stderr)
        self.assertIn(message_part, lines[0])
        self.assertTrue(lines[1].startswith('usage: python rossian.py'), result.stderr)
        self.assertEqual(self.project.snapshot(), before)
        return result

    def assertParsesAsOldestPython(self):
        for path in self.project.python_files():
            with open(path, encoding='utf-8') as f:
                parse_as_oldest_python(f.read(), path)


# --- the tests --------------------------------------------------------------------------------

COMMANDS = ['help', 'start', 'scaffold-application', 'scaffold-migration', 'scaffold-model',
            'scaffold-crud', 'scaffold-view', 'scaffold-cms', 'migration-upgrade',
            'migration-downgrade', 'migration-log', 'shell', 'routes', 'check', 'test',
            'db-dump', 'db-load']


class HelpTest(ProjectTestCase):
    def test_no_arguments_lists_every_command_with_an_example(self):
        result = self.assertSucceeds()
        for name in COMMANDS:
            self.assertRegex(result.stdout, r'\n  %s\b' % name)
            self.assertIn('e.g. python rossian.py %s' % name, result.stdout)
        self.assertIn('category:ref:category', result.stdout)
        self.assertEqual(result.stdout, self.assertSucceeds('help').stdout)

    def test_help_command_shows_usage_details_and_example(self):
        for name in COMMANDS:
            with self.subTest(command=name):
                result = self.assertSucceeds('help', name)
                self.assertTrue(result.stdout.startswith('usage: python rossian.py ' + name),
                                result.stdout)
                self.assertIn('example:\n  python rossian.py ' + name, result.stdout)
        self.assertIn('--port PORT', self.assertSucceeds('help', 'start').stdout)
        self.assertEqual(self.assertSucceeds('start', '--help').stdout,
                         self.assertSucceeds('help', 'start').stdout)

    def test_help_of_an_unknown_command_is_a_usage_error(self):
        self.assertUsageError(['help', 'nope'], "unknown command 'nope'")


class ArgumentErrorTest(ProjectTestCase):
    def test_unknown_command_exits_2_and_changes_nothing(self):
        result = self.assertUsageError(['scaffold-everything', 'shop'],
                                       "unknown command 'scaffold-everything'")
        self.assertEqual(len(result.stderr.splitlines()), 2)

    def test_bad_option_values_exit_2_in_both_spellings(self):
        self.assertUsageError(['start', '--port', 'eighty'], "'eighty' is not a port number")
        self.assertUsageError(['start', '--port=eighty'], "'eighty' is not a port number")
        self.assertUsageError(['start', '--server', 'apache'], "invalid choice: 'apache'")
        self.assertUsageError(['migration-downgrade'], 'APP')
        self.assertUsageError(['scaffold-application', 'shop', 'extra'],
                              'unrecognized arguments: extra')

    def test_unknown_column_type_lists_the_valid_types_and_writes_nothing(self):
        self.assertSucceeds('scaffold-application', 'shop')
        result = self.assertUsageError(['scaffold-crud', 'shop', 'product', 'name:string',
                                        'price:money'], "unknown column type 'money'")
        self.assertIn('valid types: string, text, integer, float, boolean, date, datetime, '
                      'upload, password, email, or NAME:ref:TABLE', result.stderr)
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'price'],
                              "column 'price' must read NAME:TYPE")
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'id:integer'],
                              "column 'id' is added by Kokoropy itself")
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'save:string'],
                              "column 'save' would hide Model.save")

    def test_user_errors_are_one_line_and_debug_shows_the_traceback(self):
        result = self.assertUsageError(['scaffold-crud', 'nowhere', 'product'],
                                       "give the columns of the new table 'product'")
        self.assertNotIn('Traceback', result.stderr)
        result = self.rossian('scaffold-crud', 'nowhere', 'product', '--debug')
        self.assertEqual(result.returncode, 2)
        self.assertIn('Traceback (most recent call last)', result.stderr)


class ScaffoldApplicationTest(ProjectTestCase):
    def test_writes_the_whole_application_folder(self):
        result = self.assertSucceeds('scaffold-application', 'shop')
        expected = ['__init__.py', 'assets/.gitkeep', 'controllers/__init__.py',
                    'migrations/__init__.py', 'models/__init__.py', 'routes.py',
                    'views/index.tpl']
        for relative in expected:
            self.assertIn('created applications/shop/' + relative, result.stdout)
            self.assertTrue(os.path.isfile(self.project.path('applications', 'shop',
                                                             *relative.split('/'))))
        self.assertIn("% extends('index/base')", self.project.read('applications', 'shop',
                                                                 'views', 'index.tpl'))
        self.assertParsesAsOldestPython()

    def test_works_from_another_current_folder(self):
        result = self.project.rossian('scaffold-application', 'shop', cwd=tempfile.gettempdir())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(self.project.path('applications', 'shop', 'routes.py')))

    def test_hello_route_answers_inside_the_index_layout(self):
        self.assertSucceeds('scaffold-application', 'shop')
        server = self.project.start()
        browser = Browser(server)
        page = browser.get('/shop')
        self.assertEqual(page.status, 200)
        self.assertIn('<h1>Hello, world!</h1>', page.text)
        self.assertIn('class="site-header"', page.text)
        self.assertIn('<h1>Hello, Ann!</h1>', browser.get('/shop/hello/Ann').text)

    def test_refuses_invalid_reserved_and_existing_names(self):
        cases = [('Shop', 'not a lowercase Python identifier'),
                 ('1shop', 'not a lowercase Python identifier'),
                 ('my-shop', 'not a lowercase Python identifier'),
                 ('class', 'is a Python keyword'),
                 ('json', 'is a Python standard library module'),
                 ('os', 'is a Python standard library module'),
                 ('kokoropy', 'is reserved'), ('rossian', 'is reserved'),
                 ('applications', 'is reserved'), ('assets', 'is reserved'),
                 ('example', "application 'example' already exists")]
        for name, message in cases:
            with self.subTest(name=name):
                self.assertUsageError(['scaffold-application', name], message)


class ScaffoldModelAndMigrationTest(ProjectTestCase):
    def setUp(self):
        ProjectTestCase.setUp(self)
        self.assertSucceeds('scaffold-application', 'shop')

    def test_scaffold_model_writes_the_model_and_its_migration_only(self):
        before = set(self.project.snapshot())
        result = self.assertSucceeds('scaffold-model', 'shop', 'category',
                                     'name:string:required:unique', 'note:text')
        added = set(self.project.snapshot()) - before
        self.assertEqual(added, set([
            os.path.join('applications', 'shop', 'models', 'category.py'),
            os.path.join('applications', 'shop', 'migrations', '0001_create_category.py')]))
        self.assertIn('migration-upgrade shop', result.stdout)
        model = self.project.read('applications', 'shop', 'models', 'category.py')
        self.assertIn('class Category(Model):', model)
        self.assertIn('    name = String(required=True, unique=True)\n', model)
        self.assertIn('    note = Text()\n', model)
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertEqual(self.project.columns('category'),
                         ['id', 'name', 'note', 'created_at', 'updated_at'])

    def test_scaffold_migration_numbers_files_and_creates_or_adds_columns(self):
        self.assertSucceeds('scaffold-migration', 'shop', 'create_tag', 'tag', 'label:string')
        migration = self.project.read('applications', 'shop', 'migrations', '0001_create_tag.py')
        self.assertIn("db.create_table('tag', {\n        'label': String(),\n    })", migration)
        self.assertIn("db.drop_table('tag')", migration)
        self.assertSucceeds('migration-upgrade', 'shop')
        # The table exists now: the same command form adds columns instead.
        self.assertSucceeds('scaffold-migration', 'shop', 'add_colour', 'tag', 'colour:string',
                            'parent:ref:tag')
        migration = self.project.read('applications', 'shop', 'migrations', '0002_add_colour.py')
        self.assertIn("db.add_column('tag', 'colour', String())", migration)
        self.assertIn("db.add_column('tag', 'parent', ForeignKey('tag'))", migration)
        self.assertIn("db.drop_column('tag', 'parent_id')\n    db.drop_column('tag', 'colour')",
                      migration)
        self.assertSucceeds('scaffold-migration', 'shop', 'seed_tags')
        self.assertTrue(os.path.exists(self.project.path('applications', 'shop', 'migrations',
                                                         '0003_seed_tags.py')))
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertEqual(self.project.columns('tag'), ['id', 'label', 'created_at',
                                                       'updated_at', 'colour', 'parent_id'])
        self.assertParsesAsOldestPython()

    def test_scaffold_migration_adds_the_columns_a_model_gained(self):
        self.assertSucceeds('scaffold-model', 'shop', 'item', 'name:string')
        self.assertSucceeds('migration-upgrade', 'shop')
        model = self.project.read('applications', 'shop', 'models', 'item.py')
        model = model.replace('import Model, String', 'import Integer, Model, String')
        self.project.write('applications/shop/models/item.py',
                           model + '    stock = Integer(min_value=0)\n')
        self.assertSucceeds('scaffold-migration', 'shop', 'add_stock', 'item')
        migration = self.project.read('applications', 'shop', 'migrations', '0002_add_stock.py')
        self.assertIn("db.add_column('item', 'stock', Integer(min_value=0))", migration)
        self.assertIn("db.drop_column('item', 'stock')", migration)
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertIn('stock', self.project.columns('item'))
        result = self.rossian('scaffold-migration', 'shop', 'again', 'item')
        self.assertEqual(result.returncode, 1)
        self.assertIn('nothing to migrate', result.stderr)

    def test_reference_to_a_table_without_model_writes_nothing(self):
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'category:ref:category'],
                              "refers to table 'category', which has no model")

    def test_existing_model_is_refused(self):
        self.assertSucceeds('scaffold-model', 'shop', 'item', 'name:string')
        self.assertUsageError(['scaffold-model', 'shop', 'item', 'name:string'],
                              'models/item.py exists already')


class MigrationCommandTest(ProjectTestCase):
    def test_upgrade_log_and_downgrade_print_each_migration(self):
        result = self.assertSucceeds('migration-log')
        self.assertRegex(result.stdout, r'pending\s+example\s+0001_create_pokemon')
        self.assertFalse(os.path.exists(self.project.path('db')))  # looking creates nothing
        result = self.assertSucceeds('migration-upgrade')
        self.assertRegex(result.stdout,
                         r'^applied example/migrations/0001_create_pokemon.py \(\d+\.\d ms\)\n'
                         r'applied example/migrations/0002_rename_pokemon_table.py '
                         r'\(\d+\.\d ms\)\n$')
        self.assertIn('up to date', self.assertSucceeds('migration-upgrade').stdout)
        self.assertRegex(self.assertSucceeds('migration-log').stdout,
                         r'\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+example\s+0001_create_pokemon\n')
        result = self.assertSucceeds('migration-downgrade', 'example', '--steps', '2')
        self.assertRegex(result.stdout, r'^reverted example/migrations/0002_rename_pokemon_table'
                                        r'.py .*\nreverted example/migrations/0001_create_pokemon')
        self.assertEqual(self.project.columns('example_pokemon'), [])

    def test_a_site_made_before_bundled_tables_took_their_prefix_keeps_its_rows(self):
        self.assertSucceeds('migration-upgrade')
        database = sqlite3.connect(self.project.path('db', 'kokoropy.db'))
        database.execute("ALTER TABLE example_pokemon RENAME TO pokemon")
        database.execute("UPDATE pokemon SET name = 'Mew' WHERE id = 1")
        database.execute("DELETE FROM kokoropy_migrations WHERE version = 2")
        database.commit()
        database.close()
        self.assertIn('0002_rename_pokemon_table', self.assertSucceeds('migration-upgrade').stdout)
        self.assertEqual(self.project.columns('pokemon'), [])
        result = self.assertSucceeds('shell', '-c', 'print(Pokemon.get(1).name)')
        self.assertEqual(result.stdout, 'Mew\n')

    def test_failing_migration_exits_1_with_one_line(self):
        self.assertSucceeds('scaffold-application', 'shop')
        self.project.write('applications/shop/migrations/0001_broken.py',
                           'def upgrade(db):\n    db.execute("CREATE TABLE t (x)")\n'
                           '    raise ValueError("no luck")\n\n\ndef downgrade(db):\n    pass\n')
        result = self.rossian('migration-upgrade', 'shop')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.splitlines(), [
            'rossian: error: shop/migrations/0001_broken.py failed during upgrade and was '
            'rolled back: ValueError: no luck'])
        self.assertEqual(self.project.columns('t'), [])


class StartTest(ProjectTestCase):
    def test_fresh_checkout_creates_the_database_and_serves_the_demo(self):
        server = self.project.start('--baseurl', '/kokoropy/')
        page = Browser(server).get('/kokoropy/example/pokemon')
        self.assertEqual(page.status, 200)
        self.assertIn('Pikachu', page.text)
        output = server.output()
        self.assertIn('Creating the database db/kokoropy.db and applying the migrations:',
                      output)
        self.assertIn('applied example/migrations/0001_create_pokemon.py', output)
        self.assertIn('Open http://127.0.0.1:%d/kokoropy/ in a browser.' % server.port, output)

    def test_pending_migrations_give_a_warning(self):
        self.assertSucceeds('migration-upgrade')
        self.assertSucceeds('scaffold-application', 'shop')
        self.assertSucceeds('scaffold-migration', 'shop', 'nothing')
        server = self.project.start()
        server.stop()
        self.assertIn('rossian: warning: 1 migration(s) not applied yet '
                      '(shop/migrations/0001_nothing.py); run: python rossian.py '
                      'migration-upgrade', server.output())

    def test_reload_restarts_the_server_when_a_source_file_changes(self):
        self.assertSucceeds('scaffold-application', 'shop')
        server = self.project.start('--reload')
        browser = Browser(server)
        self.assertIn('Hello, world!', browser.get('/shop').text)
        routes = self.project.read('applications', 'shop', 'routes.py')
        self.project.write('applications/shop/routes.py',
                           routes.replace("name='world'", "name='reloaded world'"))
        deadline = time.time() + 20
        while 'Hello, reloaded world!' not in self.get_quietly(browser, '/shop'):
            self.assertLess(time.time(), deadline, server.output())
            time.sleep(0.2)
        server.stop()
        self.assertIn('routes.py changed; reloading', server.output())
        with self.assertRaises(OSError):  # the child stopped with its parent
            socket.create_connection(('127.0.0.1', server.port), timeout=1).close()

    @staticmethod
    def get_quietly(browser, path):
        try:
            return browser.get(path).text
        except OSError:  # between the old child's exit and the new one's start
            return ''

    def test_port_in_use_is_one_line_and_exit_1(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            result = self.rossian('start', '--port=%d' % taken.getsockname()[1])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn('rossian: error: cannot listen on 127.0.0.1 port', result.stderr)


if __name__ == '__main__':
    unittest.main()
