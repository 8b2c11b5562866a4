"""Tests for section 12, run(): server choice, the banner, signals, errors users see, the
reloader. Servers run in subprocesses on free ports of 127.0.0.1."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import free_port  # noqa: E402

VENV_PYTHON = os.path.join(ROOT, 'bench', '.venv', 'bin', 'python')
HELLO = '''
import os, sys
sys.path.insert(0, %(root)r)
import kokoropy

def app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [('hello from %%d' %% os.getpid()).encode()]
'''


class ServedScript(object):
    """Runs Python code that calls run() and watches its stderr for the banner."""

    def __init__(self, code, python=sys.executable, cwd=None):
        self.lines = []
        self.banner = threading.Event()
        if cwd is None:
            command = [python, '-c', code]
        else:  # a script file in the project folder, as the reloader needs on Python < 3.10
            with open(os.path.join(cwd, 'serve.py'), 'w') as handle:
                handle.write(code)
            command = [python, 'serve.py']
        self.process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE)
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()

    def _read_stderr(self):
        for line in self.process.stderr:
            self.lines.append(line.decode('utf-8', 'replace'))
            if 'serving on http://' in self.lines[-1]:
                self.banner.set()

    def port(self, timeout=20):
        """The port the last banner announced (waits for a banner)."""
        if not self.banner.wait(timeout):
            self.process.kill()
            raise AssertionError('no banner; stderr:\n' + ''.join(self.lines))
        banners = [line for line in self.lines if 'serving on http://' in line]
        return int(re.search(r':(\d+)/', banners[-1]).group(1))

    def wait_for_line(self, line, timeout=20):
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            if time.monotonic() > deadline:
                raise AssertionError('%r never came; stderr:\n%s' % (line, ''.join(self.lines)))
            time.sleep(0.01)

    def stop(self, signum=signal.SIGTERM, timeout=20):
        self.process.send_signal(signum)
        self.process.wait(timeout)
        self.reader.join(timeout)
        self.process.stdout.close()
        self.process.stderr.close()
        return self.process.returncode


def get(port, path='/'):
    """GET on a new connection: (status, body)."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        sock.sendall(b'GET ' + path.encode() + b' HTTP/1.1\r\nHost: h\r\nConnection: close\r\n'
                     b'\r\n')
        data = b''
        while True:
            piece = sock.recv(65536)
            if not piece:
                break
            data += piece
    head, _, body = data.partition(b'\r\n\r\n')
    return int(head.split()[1]), body


def get_when_listening(port, path='/'):
    """GET as soon as the server listens (for quiet servers, which print no banner)."""
    deadline = time.monotonic() + 20
    while True:
        try:
            return get(port, path)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class RunArgumentTests(unittest.TestCase):

    def test_unknown_server_name_raises_value_error_naming_the_valid_ones(self):
        with self.assertRaises(ValueError) as caught:
            kokoropy.run(lambda environ, start_response: [], server='tornado')
        self.assertEqual(str(caught.exception), "unknown server 'tornado': choose one of "
                         "'kokoro', 'wsgiref', 'gunicorn', 'waitress'")

    def test_server_not_installed_gives_one_line_and_status_1(self):
        code = (HELLO % {'root': ROOT}) + textwrap.dedent('''
            sys.modules['gunicorn'] = None  # as if it were not installed
            kokoropy.run(app, server='gunicorn', port=0)
        ''')
        result = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=30)
        self.assertEqual((result.returncode, result.stderr.decode()), (1, 'kokoropy: the '
                         'gunicorn server is not installed (pip install gunicorn)\n'))


class RunServingTests(unittest.TestCase):

    def test_builtin_server_prints_banner_logs_requests_and_stops_on_sigterm(self):
        script = ServedScript((HELLO % {'root': ROOT}) + 'kokoropy.run(app, port=0)\n')
        port = script.port()
        status, body = get(port, '/some/path?x=1')
        self.assertEqual((status, body), (200, ('hello from %d' % script.process.pid).encode()))
        self.assertEqual(script.stop(signal.SIGTERM), 0)
        self.assertEqual(script.lines[0], 'Kokoropy serving on http://127.0.0.1:%d/ '
                         '(Ctrl-C to stop)\n' % port)
        self.assertRegex(script.lines[1], r'^127\.0\.0\.1 - "GET /some/path\?x=1 HTTP/1\.1" '
                                          r'200 \d+ \d+\.\dms\n$')

    def test_ctrl_c_stops_the_builtin_server_with_status_0(self):
        script = ServedScript((HELLO % {'root': ROOT}) + 'kokoropy.run(app, port=0)\n')
        self.assertEqual(get(script.port())[0], 200)
        self.assertEqual(script.stop(signal.SIGINT), 0)

    def test_quiet_prints_nothing_at_all(self):
        port = free_port()
        script = ServedScript((HELLO % {'root': ROOT}) +
                              'kokoropy.run(app, port=%d, quiet=True)\n' % port)
        self.assertEqual(get_when_listening(port)[0], 200)
        self.assertEqual(script.stop(signal.SIGTERM), 0)
        self.assertEqual(script.lines, [])

    def test_handler_stuck_after_sigterm_gives_one_line_and_status_1(self):
        code = (HELLO % {'root': ROOT}) + textwrap.dedent('''
            import threading
            def stuck(environ, start_response):
                sys.stderr.write('handler entered\\n')
                sys.stderr.flush()
                threading.Event().wait()
            kokoropy.run(stuck, port=0, shutdown_timeout=0.2)
        ''')
        script = ServedScript(code)
        with socket.create_connection(('127.0.0.1', script.port()), timeout=10) as sock:
            sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
            script.wait_for_line('handler entered\n')
            self.assertEqual(script.stop(signal.SIGTERM), 1)
        self.assertEqual(script.lines[-1], 'kokoropy: requests still running 0.2 s after the '
                         'shutdown signal; exiting\n')

    def test_wsgiref_server_serves_and_stops_on_sigint(self):
        script = ServedScript((HELLO % {'root': ROOT}) + 'kokoropy.run(app, port=0, '
                              'server="wsgiref")\n')
        self.assertEqual(get(script.port())[0], 200)
        self.assertEqual(script.stop(signal.SIGINT), 0)

    def test_debug_sets_the_app_config(self):
        code = textwrap.dedent('''
            import sys
            sys.path.insert(0, %r)
            import kokoropy
            app = kokoropy.Kokoro()

            @app.get('/')
            def index():
                return 'debug is %%s' %% app.config['debug']
            kokoropy.run(app, port=0, debug=True)
        ''' % ROOT)
        script = ServedScript(code)
        self.assertEqual(get(script.port()), (200, b'debug is True'))
        self.assertEqual(script.stop(), 0)

    @unittest.skipUnless(os.path.exists(VENV_PYTHON), 'bench/.venv (with waitress) is absent')
    def test_waitress_server_serves_and_stops_on_sigterm(self):
        port = free_port()
        script = ServedScript((HELLO % {'root': ROOT}) + 'kokoropy.run(app, port=%d, '
                              'server="waitress")\n' % port, python=VENV_PYTHON)
        self.assertEqual(script.port(), port)
        self.assertEqual(get(port)[0], 200)
        self.assertEqual(script.stop(signal.SIGTERM), 0)


class ReloaderTests(unittest.TestCase):

    def test_changed_file_restarts_the_child_and_ctrl_c_stops_both(self):
        project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, project)
        watched = os.path.join(project, 'views.tpl')
        with open(watched, 'w') as handle:
            handle.write('first')
        port = free_port()
        script = ServedScript((HELLO % {'root': ROOT}) +
                              'kokoropy.run(app, port=%d, reloader=True)\n' % port, cwd=project)
        first_child = get(script.port())[1]
        script.banner.clear()
        later = time.time() + 10
        os.utime(watched, (later, later))
        self.assertEqual(script.port(), port)  # the new child's banner
        second_child = get(port)[1]
        self.assertNotEqual(first_child, second_child)
        self.assertNotIn(str(script.process.pid).encode(), second_child)
        self.assertTrue(any(line == 'kokoropy: %s changed; reloading\n' % watched
                            for line in script.lines), script.lines)
        self.assertEqual(script.stop(signal.SIGINT), 0)
        self.assertRaises(OSError, get, port)


if __name__ == '__main__':
    unittest.main()
