"""Helpers shared by the test modules (test modules import from here, never from each other).

The oldest supported Python's grammar; free ports and a raw HTTP response reader; rossian.py
driven in a temporary project copy (Project, Server, Browser, ProjectTestCase) and a live copy
of the site for the end-to-end tests (LiveSite, fetch); and the database suites on sqlite and
PostgreSQL: they run on sqlite always and, when KOKOROPY_TEST_POSTGRESQL holds a URL such as
postgresql://postgres@127.0.0.1:5432/postgres, each of their test cases runs a second time on
PostgreSQL, in a database of this process that is emptied before every test;
KOKOROPY_TEST_POSTGRESQL_DRIVER (psycopg or pg8000) picks the driver, as the URL's +driver
does. Without the variable those copies are skipped.
"""
import ast
import atexit
import compileall
import functools
import http.client
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402

SERVER_START_SECONDS = 15
SITE_START_SECONDS = 30

POSTGRESQL_VARIABLE = 'KOKOROPY_TEST_POSTGRESQL'
_created = []


def postgresql_server_url():
    """The configured PostgreSQL URL with the driver of KOKOROPY_TEST_POSTGRESQL_DRIVER, or
    None when no server is configured."""
    url = os.environ.get(POSTGRESQL_VARIABLE)
    if not url:
        return None
    driver = os.environ.get(POSTGRESQL_VARIABLE + '_DRIVER')
    if driver:
        url = re.sub(r'^[A-Za-z0-9+]+://', 'postgresql+%s://' % driver, url)
    return url


def fresh_postgresql_url():
    """The URL of this process's test database, emptied now (its public schema recreated)."""
    server = postgresql_server_url()
    name = 'kokoropy_test_%d' % os.getpid()
    url = re.sub(r'/[^/?]*(\?|$)', r'/%s\1' % name, server.split('://', 1)[1], count=1)
    url = server.split('://', 1)[0] + '://' + url
    if not _created:
        admin = kokoropy.Database(server)
        admin.execute('DROP DATABASE IF EXISTS %s' % name)
        admin.execute('CREATE DATABASE %s' % name)
        admin.close()
        _created.append(name)
        atexit.register(_drop_database, server, name)
    database = kokoropy.Database(url)
    database.execute('DROP SCHEMA IF EXISTS public CASCADE')
    database.execute('CREATE SCHEMA public')
    database.close()
    return url


def backend_database_url(backend, sqlite_url=None):
    """`sqlite_url` for backend 'sqlite'; for 'postgresql' an emptied database's URL."""
    return fresh_postgresql_url() if backend == 'postgresql' else sqlite_url


def _drop_database(server, name):
    admin = kokoropy.Database(server)
    try:
        admin.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
    finally:
        admin.close()


class OnBothBackends(object):
    """Mixin of a TestCase whose tests run on sqlite and (see with_postgresql()) PostgreSQL.

    `backend` is 'sqlite' or 'postgresql'; database_url(sqlite_url) gives the URL a test
    should use: the sqlite one, or a freshly emptied PostgreSQL database.
    """

    backend = 'sqlite'
    sqlite_only = False  # True in a case's class body: no PostgreSQL copy of that case

    def database_url(self, sqlite_url=':memory:'):
        """`sqlite_url` on sqlite; on PostgreSQL an empty database's URL."""
        return backend_database_url(self.backend, sqlite_url)

    @property
    def on_postgresql(self):
        """True in the PostgreSQL copy of a test case."""
        return self.backend == 'postgresql'


def sqlite_only(test):
    """Mark a test that checks sqlite itself (files, PRAGMAs): skipped on PostgreSQL."""
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        if getattr(self, 'backend', 'sqlite') != 'sqlite':
            self.skipTest('checks sqlite itself')
        return test(self, *args, **kwargs)
    return wrapper


def with_postgresql(namespace):
    """Add to a test module's namespace (globals()) a PostgreSQL copy of each of its
    OnBothBackends test cases, named <Case>OnPostgreSQL and skipped when
    KOKOROPY_TEST_POSTGRESQL is not set. Call it at the end of the module."""
    reason = '%s is not set: no PostgreSQL server to test on' % POSTGRESQL_VARIABLE
    for name, case in list(namespace.items()):
        if not (isinstance(case, type) and issubclass(case, OnBothBackends) and
                issubclass(case, unittest.TestCase) and case.backend == 'sqlite') or \
                case.__dict__.get('sqlite_only'):
            continue
        if not any(attribute.startswith('test') for attribute in dir(case)):
            continue
        copy = type(name + 'OnPostgreSQL', (case,), {'backend': 'postgresql',
                                                     '__module__': case.__module__})
        namespace[copy.__name__] = unittest.skipUnless(postgresql_server_url(), reason)(copy)


def oldest_python():
    """(3, X) from setup.cfg's `python_requires = >=3.X`: the oldest Python Kokoropy supports."""
    with open(os.path.join(ROOT, 'setup.cfg'), encoding='utf-8') as f:
        match = re.search(r'python_requires\s*=\s*>=\s*3\.(\d+)', f.read())
    return (3, int(match.group(1)))


def parse_as_oldest_python(source, path='<source>'):
    """Parse `source` with the grammar of the oldest supported Python; raise SyntaxError.

    From 3.8 on, ast.parse() takes `feature_version`; on an older Python the running parser
    is itself at most that old, so a plain parse is the same check.
    """
    if sys.version_info >= (3, 8):
        return ast.parse(source, path, feature_version=oldest_python())
    return ast.parse(source, path)


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def read_http_response(reader, method='GET'):
    """Read one HTTP/1.1 response from a binary file `reader` (sock.makefile('rb')): (status,
    headers with lowercase names, body bytes). The statuses of interim 1xx responses are listed
    in headers['interim']; the body is framed by Content-Length, chunked coding or the end of
    the connection (RFC 9112 section 6.3)."""
    interim = []
    while True:
        status_line = reader.readline()
        if not status_line:
            raise ConnectionError('connection closed before a response')
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = reader.readline()
            if line in (b'\r\n', b''):
                break
            name, _, value = line.decode('latin-1').partition(':')
            headers[name.strip().lower()] = value.strip()
        if status >= 200:
            break
        interim.append(status)
    headers['interim'] = interim
    if method == 'HEAD' or status in (204, 304):
        body = b''
    elif 'content-length' in headers:
        body = reader.read(int(headers['content-length']))
    elif headers.get('transfer-encoding') == 'chunked':
        body = b''
        while True:
            size = int(reader.readline().split(b';')[0], 16)
            if not size:
                reader.readline()
                break
            body += reader.read(size)
            reader.readline()
    else:
        body = reader.read()
    return status, headers, body




# --- rossian.py in a temporary project copy (test_rossian*.py) -------------------------------

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


# --- a live copy of the site (tests/e2e) -------------------------------------------------------

class LiveSite(object):
    """A temporary copy of the project, its rossian commands, and its server (the end-to-end
    tests)."""

    def __init__(self):
        self.folder = tempfile.mkdtemp(prefix='kokoropy-e2e-')
        for name in ('kokoropy.py', 'rossian.py', 'wsgi.py'):
            shutil.copy2(os.path.join(ROOT, name), self.folder)
        shutil.copytree(os.path.join(ROOT, 'applications'),
                        os.path.join(self.folder, 'applications'),
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc', 'uploads'))
        self.environment = {key: value for key, value in os.environ.items()
                            if not key.startswith('KOKOROPY_')}
        self.server = self.url = None

    def rossian(self, *arguments):
        """Run `python rossian.py ARGUMENTS` in the project and return its output;
        AssertionError when it fails."""
        done = subprocess.run([sys.executable, 'rossian.py'] + list(arguments), cwd=self.folder,
                              env=self.environment, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=120)
        output = done.stdout.decode('utf-8', 'replace')
        if done.returncode != 0:
            raise AssertionError('rossian.py %s exited %d:\n%s'
                                 % (' '.join(arguments), done.returncode, output))
        return output

    def start(self, *options):
        """`python rossian.py start [OPTIONS]` on a free port; returns once the site answers."""
        port = free_port()
        self.log = open(os.path.join(self.folder, 'server.log'), 'wb')
        self.server = subprocess.Popen(
            [sys.executable, 'rossian.py', 'start', '--port', str(port)] + list(options),
            cwd=self.folder,
            env=self.environment, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = 'http://127.0.0.1:%d' % port
        deadline = time.monotonic() + SITE_START_SECONDS
        while fetch(self.url + '/')[0] is None:
            if self.server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError('the server did not start:\n' + self.server_log())
            time.sleep(0.1)
        return self.url

    def server_log(self):
        with open(os.path.join(self.folder, 'server.log'), 'rb') as file:
            return file.read().decode('utf-8', 'replace')

    def stop(self):
        """Stop the server (SIGTERM) and return its log."""
        if self.server is not None:
            self.server.terminate()
            try:
                self.server.wait(15)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait()
            self.log.close()
            self.server = None
        return self.server_log() if os.path.exists(os.path.join(self.folder, 'server.log')) \
            else ''

    def remove(self):
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def fetch(url):
    """GET url with http.client: (status, headers, body), or (None, None, None) when refused."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=15)
    try:
        connection.request('GET', (parts.path or '/') + ('?' + parts.query if parts.query else ''))
        answer = connection.getresponse()
        return answer.status, answer.headers, answer.read()
    except (ConnectionError, socket.timeout):
        return None, None, None
    finally:
        connection.close()


def scaffold_shop(folder):
    """Copy the project (kokoropy.py, rossian.py, applications/) into `folder` and run the
    scaffold commands of the shop the list-page tests and bench/bench_page.py use: a category
    and a product CRUD (name, price, stock, category), migrations applied."""
    import shutil
    import subprocess
    for name in ('kokoropy.py', 'rossian.py'):
        shutil.copy(os.path.join(ROOT, name), folder)
    shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                    ignore=shutil.ignore_patterns('__pycache__', 'uploads', '*.db'))
    environment = dict(os.environ)
    environment.pop('KOKOROPY_RELOADER_CHILD', None)
    for arguments in (['scaffold-application', 'shop'],
                      ['scaffold-crud', 'shop', 'category', 'name:string:required:unique'],
                      ['scaffold-crud', 'shop', 'product', 'name:string:required',
                       'price:float', 'stock:integer', 'category:ref:category'],
                      ['migration-upgrade']):
        subprocess.check_call([sys.executable, 'rossian.py'] + arguments, cwd=folder,
                              env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, timeout=60)
