"""PostgreSQL under load: a scaffolded CRUD on PostgreSQL served by `gunicorn -w 4`, eight
writers creating rows through its forms (CSRF tokens and all) for 10 s: every successful create
is a row and no answer is a 5xx. Then PostgreSQL is stopped: requests get a 503 within 3 s; and
once it is started again the site answers 200 without being restarted.

Needs KOKOROPY_E2E=1, KOKOROPY_TEST_POSTGRESQL (a server URL whose user may create databases),
a Python with a PostgreSQL driver and gunicorn (KOKOROPY_TEST_VENV, else this Python), and, for
the outage, KOKOROPY_TEST_POSTGRES_BIN and KOKOROPY_TEST_POSTGRES_DATA (the server's pg_ctl
folder and data folder, as .ci/run exports them).
"""
import http.cookiejar
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.environ.get('KOKOROPY_E2E') == '1'
SERVER_URL = os.environ.get('KOKOROPY_TEST_POSTGRESQL')
VENV = os.environ.get('KOKOROPY_TEST_VENV')
PYTHON = os.path.join(VENV, 'bin', 'python') if VENV else sys.executable
GUNICORN = os.path.join(VENV, 'bin', 'gunicorn') if VENV else shutil.which('gunicorn')
PG_BIN = os.environ.get('KOKOROPY_TEST_POSTGRES_BIN')
PG_DATA = os.environ.get('KOKOROPY_TEST_POSTGRES_DATA')
WRITERS = 8
WRITE_SECONDS = 10
OUTAGE_ANSWER_SECONDS = 3


def why_not():
    """Why these tests cannot run here, or None."""
    if not E2E:
        return 'set KOKOROPY_E2E=1 to run the end-to-end tests'
    if not SERVER_URL:
        return 'KOKOROPY_TEST_POSTGRESQL is not set: no PostgreSQL server to test on'
    if not GUNICORN or not os.path.exists(GUNICORN):
        return 'gunicorn is not installed (pip install gunicorn, or set KOKOROPY_TEST_VENV)'
    if subprocess.call([PYTHON, '-c', 'import kokoropy; kokoropy._postgres_driver()'],
                       cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
        return 'no PostgreSQL driver for %s' % PYTHON
    return None


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def run_sql(url, *statements):
    """Run statements on `url` with the driver's Python (this one may have none)."""
    code = ('import sys, kokoropy\ndatabase = kokoropy.Database(sys.argv[1])\n'
            'for sql in sys.argv[2:]:\n    database.execute(sql)\n')
    subprocess.check_call([PYTHON, '-c', code, url] + list(statements), cwd=ROOT)


def as_postgres_user(arguments):
    """pg_ctl refuses to run as root: run it as the postgres user then."""
    return (['runuser', '-u', 'postgres', '--'] if os.geteuid() == 0 else []) + arguments


class Visitor(object):
    """A cookie-keeping client that fills the CRUD's forms as a browser would."""

    def __init__(self, site):
        self.site = site
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
            NoRedirect())

    def request(self, path, fields=None, timeout=15, accept='text/html'):
        """(status, body text) of a GET, or of a POST of `fields`."""
        data = urllib.parse.urlencode(fields).encode() if fields is not None else None
        request = urllib.request.Request(self.site + path, data, {'Accept': accept})
        try:
            with self.opener.open(request, timeout=timeout) as answer:
                return answer.status, answer.read().decode('utf-8', 'replace')
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode('utf-8', 'replace')
        except (urllib.error.URLError, OSError) as error:  # refused, reset, timed out
            return None, str(error)

    def create(self, name):
        """Post the create form; the status of the answer (303 when the row was made)."""
        status, page = self.request('/shop/product/new')
        if status != 200:
            return status or 0
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        return self.request('/shop/product/new', {'name': name, 'stock': '1',
                                                  'csrf_token': token})[0] or 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *arguments):
        return None  # a 303 is the answer we count


@unittest.skipIf(why_not(), why_not())
class CrudOnPostgresqlUnderGunicorn(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix='kokoropy-e2e-pg-')
        for name in ('kokoropy.py', 'rossian.py', 'wsgi.py'):
            shutil.copy2(os.path.join(ROOT, name), cls.folder)
        shutil.copytree(os.path.join(ROOT, 'applications'),
                        os.path.join(cls.folder, 'applications'),
                        ignore=shutil.ignore_patterns('__pycache__', '*.pyc', 'uploads'))
        name = 'kokoropy_e2e_%d' % os.getpid()
        run_sql(SERVER_URL, 'DROP DATABASE IF EXISTS %s' % name, 'CREATE DATABASE %s' % name)
        cls.database_name = name
        url = re.sub(r'/[^/?]*(\?|$)', r'/%s\1' % name, SERVER_URL.split('://', 1)[1], count=1)
        cls.environment = dict(os.environ, KOKOROPY_DATABASE_URL=SERVER_URL.split('://')[0] +
                               '://' + url, KOKOROPY_SECRET='e2e-shared-secret')
        for arguments in (['scaffold-crud', 'shop', 'product', 'name:string:required',
                           'stock:integer'], ['migration-upgrade']):
            subprocess.check_call([PYTHON, 'rossian.py'] + arguments, cwd=cls.folder,
                                  env=cls.environment, stdout=subprocess.DEVNULL)
        cls.port = free_port()
        cls.log = open(os.path.join(cls.folder, 'gunicorn.log'), 'wb')
        cls.server = subprocess.Popen(
            [GUNICORN, '-w', '4', '-b', '127.0.0.1:%d' % cls.port, '--timeout', '30',
             'wsgi:application'], cwd=cls.folder, env=cls.environment, stdout=cls.log,
            stderr=subprocess.STDOUT)
        cls.site = 'http://127.0.0.1:%d' % cls.port
        deadline = time.monotonic() + 30
        while Visitor(cls.site).request('/shop/product', timeout=2)[0] != 200:
            if cls.server.poll() is not None or time.monotonic() > deadline:
                cls.tearDownClass()
                raise AssertionError('gunicorn did not start')
            time.sleep(0.2)

    @classmethod
    def tearDownClass(cls):
        cls.server.terminate()
        cls.server.wait(30)
        cls.log.close()
        shutil.rmtree(cls.folder, ignore_errors=True)
        run_sql(SERVER_URL, 'DROP DATABASE IF EXISTS %s WITH (FORCE)' % cls.database_name)

    def total(self, query):
        """The row count the CRUD's JSON list gives for a search."""
        status, text = Visitor(self.site).request('/shop/product?q=%s' % query,
                                                  accept='application/json')
        return json.loads(text)['total'] if status == 200 else None

    def test_eight_writers_for_ten_seconds_lose_no_row_and_see_no_5xx(self):
        statuses, created = [], []
        stop_at = time.monotonic() + WRITE_SECONDS

        def writer(number):
            visitor, count = Visitor(self.site), 0
            while time.monotonic() < stop_at:
                count += 1
                status = visitor.create('w%d-%05d' % (number, count))
                statuses.append(status)
                if status == 303:
                    created.append(number)

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(WRITERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(WRITE_SECONDS + 60)
        sys.stderr.write('\n%d rows created by %d writers in %d s (%d requests)\n'
                         % (len(created), WRITERS, WRITE_SECONDS, 2 * len(statuses)))
        server_errors = [status for status in statuses if status >= 500]
        self.assertEqual(server_errors, [])
        self.assertGreater(len(created), WRITERS)
        self.assertEqual(self.total('w'), len(created))

    @unittest.skipUnless(PG_BIN and PG_DATA, 'KOKOROPY_TEST_POSTGRES_BIN/_DATA are not set: '
                         'the server cannot be stopped and started here')
    def test_while_postgresql_is_down_503_within_3_s_then_recovery_without_restart(self):
        visitor = Visitor(self.site)
        self.assertEqual(visitor.create('before'), 303)
        options = self.server_options()
        subprocess.check_call(as_postgres_user([os.path.join(PG_BIN, 'pg_ctl'), '-D', PG_DATA,
                                                '-m', 'fast', '-w', 'stop']),
                              stdout=subprocess.DEVNULL)
        try:
            slowest = 0
            for _ in range(8):  # more than the workers: each one's connection is found gone
                started = time.monotonic()
                status, page = visitor.request('/shop/product', timeout=10)
                elapsed = time.monotonic() - started
                slowest = max(slowest, elapsed)
                self.assertEqual(status, 503, page)
                self.assertLess(elapsed, OUTAGE_ANSWER_SECONDS)
                self.assertIn('The database is unavailable right now', page)
                self.assertNotIn('Traceback', page)
            sys.stderr.write('\nPostgreSQL down: 503 in at most %.0f ms\n' % (slowest * 1000))
        finally:
            subprocess.check_call(as_postgres_user(
                [os.path.join(PG_BIN, 'pg_ctl'), '-D', PG_DATA, '-w', '-l',
                 os.path.join(os.path.dirname(PG_DATA), 'server.log'), '-o', options,
                 'start']), stdout=subprocess.DEVNULL)
        # A worker still holding a connection from before the outage answers one 503 as it
        # finds it gone; then every worker has connected again by itself.
        deadline, in_a_row = time.monotonic() + 15, 0
        while in_a_row < 8:
            self.assertLess(time.monotonic(), deadline, 'the site did not recover')
            in_a_row = in_a_row + 1 if visitor.request('/shop/product')[0] == 200 else 0
        self.assertEqual(visitor.create('after'), 303)
        self.assertEqual(self.total('after'), 1)

    @staticmethod
    def server_options():
        """The options the server was started with (postmaster.opts), but the data folder."""
        with open(os.path.join(PG_DATA, 'postmaster.opts')) as opts:
            words = shlex.split(opts.read())[1:]
        kept, skip = [], False
        for word in words:
            if skip or word == '-D':
                skip = not skip
                continue
            kept.append(word)
        return ' '.join(shlex.quote(word) for word in kept)
