"""Load: the bundled site under `python rossian.py start` with wrk (when installed) at 64 and 512
keep-alive connections for 10 s each, on a hello route and on a page that renders a template and
reads the database; and the built-in server under a threaded stdlib client. No socket error, no
timeout (a response later than wrk's 2 s), no non-2xx response, and the server still answers
afterwards. Prints p50, p99 and the maximum latency of each run."""
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import unittest

from .test_browser import Project, fetch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.environ.get('KOKOROPY_E2E') == '1'
WRK = shutil.which('wrk')

# A subprocess that serves a hello WSGI app on a free port and prints the port.
SERVER_CODE = '''
import sys
sys.path.insert(0, sys.argv[1])
import kokoropy

def hello(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Hello World!']

server = kokoropy.KokoroServer(hello, port=0, quiet=True)
print(server.port, flush=True)
server.serve_forever()
'''


class HelloServer(object):
    """The built-in server in its own process (so that the clients do not share its GIL)."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, '-c', SERVER_CODE, ROOT],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.port = int(self.process.stdout.readline())

    def get(self):
        """One GET / on a new connection; returns the status code."""
        with socket.create_connection(('127.0.0.1', self.port), timeout=5) as sock:
            sock.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
            return int(sock.makefile('rb').readline().split()[1])

    def stop(self):
        self.process.terminate()
        _, errors = self.process.communicate(timeout=10)
        return errors.decode('utf-8', 'replace')


def parse_wrk(output):
    """Return (requests, socket errors, timeouts, non-2xx/3xx responses, requests per second)."""
    requests = int(re.search(r'(\d+) requests in', output).group(1))
    errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',
                       output)
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    rate = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
    counts = [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0]
    return (requests, sum(counts[:3]), counts[3], int(non_2xx.group(1)) if non_2xx else 0, rate)


def wrk_latencies(output):
    """Return the p50, p99 and maximum latency wrk printed (with --latency), as text."""
    p50 = re.search(r'^\s+50%\s+(\S+)', output, re.M).group(1)
    p99 = re.search(r'^\s+99%\s+(\S+)', output, re.M).group(1)
    most = re.search(r'^\s+Latency\s+\S+\s+\S+\s+(\S+)', output, re.M).group(1)
    return p50, p99, most


@unittest.skipUnless(E2E, 'set KOKOROPY_E2E=1 to run the end-to-end load tests')
class WrkLoadTests(unittest.TestCase):
    """wrk against a temporary copy of the project served by `rossian.py start`."""

    @classmethod
    def setUpClass(cls):
        if not WRK:
            raise unittest.SkipTest('wrk is not installed (apt-get install wrk); '
                                    'ThreadedClientLoadTests covers load without it')
        cls.project = Project()
        cls.project.start('--quiet')

    @classmethod
    def tearDownClass(cls):
        log = cls.project.stop()
        cls.project.remove()
        if 'Traceback' in log:
            raise AssertionError('the server logged a traceback:\n' + log[-3000:])

    def run_wrk(self, path, connections):
        # wrk's default timeout: a response later than 2 s counts as a timeout (issue 18).
        result = subprocess.run([WRK, '-t2', '-c%d' % connections, '-d10s', '--latency',
                                 self.project.url + path],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        output = result.stdout.decode()
        figures = parse_wrk(output)
        sys.stderr.write('\nwrk -c%d %s: %.0f req/s, p50 %s, p99 %s, max %s, %d timeouts\n' % (
            (connections, path, figures[4]) + wrk_latencies(output) + (figures[2],)))
        return figures

    def assert_load_is_served(self, path, connections):
        requests, errors, timeouts, non_2xx, _ = self.run_wrk(path, connections)
        self.assertGreater(requests, 1000)
        self.assertEqual((errors, timeouts, non_2xx), (0, 0, 0))
        self.assertEqual(fetch(self.project.url + path)[0], 200)

    def test_hello_route_at_64_keep_alive_connections_for_10_seconds(self):
        self.assert_load_is_served('/example/hello', 64)

    def test_hello_route_at_512_keep_alive_connections_for_10_seconds(self):
        self.assert_load_is_served('/example/hello', 512)

    def test_template_and_database_page_at_64_connections_for_10_seconds(self):
        self.assert_load_is_served('/example/pokemon', 64)

    def test_template_and_database_page_at_512_connections_for_10_seconds(self):
        self.assert_load_is_served('/example/pokemon', 512)


@unittest.skipUnless(E2E, 'set KOKOROPY_E2E=1 to run the end-to-end load tests')
class ThreadedClientLoadTests(unittest.TestCase):
    """The stdlib stand-in for wrk: 64 threads, each on one keep-alive connection."""

    def test_64_threaded_keep_alive_clients_lose_no_request(self):
        server = HelloServer()
        seconds = 3.0 if WRK else 10.0
        deadline = time.monotonic() + seconds
        counts, failures = [], []

        def client():
            done = 0
            try:
                with socket.create_connection(('127.0.0.1', server.port), timeout=10) as sock:
                    reader = sock.makefile('rb')
                    while time.monotonic() < deadline:
                        sock.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\n\r\n')
                        status = int(reader.readline().split()[1])
                        length = 0
                        while True:
                            line = reader.readline()
                            if line == b'\r\n':
                                break
                            if line.lower().startswith(b'content-length:'):
                                length = int(line.split(b':')[1])
                        if status != 200 or reader.read(length) != b'Hello World!':
                            failures.append(status)
                        done += 1
            except Exception as exc:  # any socket error fails the test below
                failures.append(repr(exc))
            counts.append(done)
        threads = [threading.Thread(target=client) for _ in range(64)]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(seconds + 30)
            self.assertEqual(failures, [])
            self.assertEqual(len(counts), 64)
            sys.stderr.write('\nthreaded client: %d requests in %.0f s; per connection: fewest %d, '
                             'median %d, most %d\n' % (sum(counts), seconds, min(counts),
                                                       sorted(counts)[32], max(counts)))
            # Served in arrival order: no connection gets less than half its fair share.
            self.assertGreater(min(counts), sorted(counts)[32] / 2)
            self.assertEqual(server.get(), 200)
        finally:
            self.assertNotIn('Traceback', server.stop())


if __name__ == '__main__':
    unittest.main()
