"""Malformed-input corpus: raw requests the built-in server must refuse, each with the status
RFC 9110/9112 call for (4xx, or 501/505 where the RFC says so), a short text body and
Connection: close; never a 500 or a traceback, and the server serves a good request after
every one. A few odd-but-valid requests must get 200."""
import os
import socket
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import read_http_response  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.environ.get('KOKOROPY_E2E') == '1'

SERVER_CODE = '''
import sys
sys.path.insert(0, sys.argv[1])
import kokoropy

def app(environ, start_response):
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'ok ' + body]

server = kokoropy.KokoroServer(app, port=0, quiet=True, max_body_bytes=1024 * 1024,
                               head_timeout=1.0, io_timeout=1.0)
print(server.port, flush=True)
server.serve_forever()
'''

H = b'Host: localhost\r\n'
CHUNKED = b'POST / HTTP/1.1\r\n' + H + b'Transfer-Encoding: chunked\r\n\r\n'
TLS_CLIENT_HELLO = bytes.fromhex('16030100c4010000c00303') + bytes(range(32)) + b'\x00\x02\x13\x01'

# (name, raw request, expected status)
CORPUS = [
    # request line (RFC 9112 section 3)
    ('garbage line', b'GARBAGE\r\n\r\n', 400),
    ('method only', b'GET\r\n\r\n', 400),
    ('HTTP/0.9 request', b'GET /\r\n\r\n', 400),
    ('extra word', b'GET / HTTP/1.1 extra\r\n' + H + b'\r\n', 400),
    ('double space', b'GET  / HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('tabs as separators', b'GET\t/\tHTTP/1.1\r\n' + H + b'\r\n', 400),
    ('lowercase version', b'GET / http/1.1\r\n' + H + b'\r\n', 400),
    ('HTTP/2.0', b'GET / HTTP/2.0\r\n' + H + b'\r\n', 505),
    ('HTTP/0.9 version', b'GET / HTTP/0.9\r\n' + H + b'\r\n', 505),
    ('HTTP/3.0', b'GET / HTTP/3.0\r\n' + H + b'\r\n', 505),
    ('version without minor', b'GET / HTTP/1\r\n' + H + b'\r\n', 400),
    ('version with three parts', b'GET / HTTP/1.1.1\r\n' + H + b'\r\n', 400),
    ('HTTPS as protocol', b'GET / HTTPS/1.1\r\n' + H + b'\r\n', 400),
    ('method not a token', b'G@T / HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('NUL in method', b'G\x00T / HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('relative target', b'GET a/b HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('asterisk for GET', b'GET * HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('authority-form (not a proxy)', b'CONNECT example.com:443 HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('fragment in target', b'GET /a#b HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('bad percent-encoding', b'GET /%zz HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('truncated percent-encoding', b'GET /a%4 HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('NUL in target', b'GET /a\x00b HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('DEL in target', b'GET /a\x7fb HTTP/1.1\r\n' + H + b'\r\n', 400),
    ('request line over 8 KiB', b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\n' + H + b'\r\n', 414),
    ('endless request line', b'GET /' + b'a' * 100000, 414),
    ('huge method', b'X' * 10000 + b' / HTTP/1.1\r\n' + H + b'\r\n', 414),
    ('TLS handshake on the plain port', TLS_CLIENT_HELLO, 400),
    # header section (RFC 9112 section 5, RFC 9110 section 5.5)
    ('missing Host in HTTP/1.1', b'GET / HTTP/1.1\r\nX: 1\r\n\r\n', 400),
    ('two Host headers', b'GET / HTTP/1.1\r\n' + H + H + b'\r\n', 400),
    ('invalid Host value', b'GET / HTTP/1.1\r\nHost: a b/c\r\n\r\n', 400),
    ('obsolete line folding', b'GET / HTTP/1.1\r\n' + H + b'X: 1\r\n continued\r\n\r\n', 400),
    ('space before colon', b'GET / HTTP/1.1\r\n' + H + b'X-A : 1\r\n\r\n', 400),
    ('header without colon', b'GET / HTTP/1.1\r\n' + H + b'NoColonHere\r\n\r\n', 400),
    ('empty header name', b'GET / HTTP/1.1\r\n' + H + b': value\r\n\r\n', 400),
    ('header name not a token', b'GET / HTTP/1.1\r\n' + H + b'X(A): 1\r\n\r\n', 400),
    ('non-ASCII header name', b'GET / HTTP/1.1\r\n' + H + b'X\xe9: 1\r\n\r\n', 400),
    ('NUL in header value', b'GET / HTTP/1.1\r\n' + H + b'X: a\x00b\r\n\r\n', 400),
    ('bare CR in header value', b'GET / HTTP/1.1\r\n' + H + b'X: a\rSet-Cookie: b\r\n\r\n', 400),
    ('control character in value', b'GET / HTTP/1.1\r\n' + H + b'X: a\x01b\r\n\r\n', 400),
    ('one huge header', b'GET / HTTP/1.1\r\n' + H + b'X: ' + b'v' * 70000 + b'\r\n\r\n', 431),
    ('101 headers', b'GET / HTTP/1.1\r\n' + H + b''.join(b'X-%d: v\r\n' % i
                                                         for i in range(101)) + b'\r\n', 431),
    ('header section over 64 KiB', b'GET / HTTP/1.1\r\n' + H + b''.join(
        b'X-%d: %s\r\n' % (i, b'v' * 900) for i in range(90)) + b'\r\n', 431),
    ('unknown expectation', b'POST / HTTP/1.1\r\n' + H + b'Expect: 101-continue\r\n'
                            b'Content-Length: 0\r\n\r\n', 417),
    # message framing (RFC 9112 section 6)
    ('Content-Length and Transfer-Encoding', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 5'
     b'\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400),
    ('Content-Length not a number', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: abc\r\n\r\n',
     400),
    ('negative Content-Length', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: -1\r\n\r\n', 400),
    ('signed Content-Length', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: +5\r\n\r\nhello',
     400),
    ('Content-Length list', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 5, 6\r\n\r\nhello',
     400),
    ('two different Content-Lengths', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 5\r\n'
     b'Content-Length: 6\r\n\r\nhello', 400),
    ('Content-Length with inner space', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 1 0\r\n'
     b'\r\n', 400),
    ('Content-Length hexadecimal', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 0x5\r\n\r\n',
     400),
    ('Content-Length beyond 64 bits', b'POST / HTTP/1.1\r\n' + H +
     b'Content-Length: 99999999999999999999999\r\n\r\n', 413),
    ('body over the limit', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 2000000\r\n\r\n',
     413),
    ('unknown transfer coding', b'POST / HTTP/1.1\r\n' + H + b'Transfer-Encoding: gzip, '
     b'chunked\r\n\r\n0\r\n\r\n', 501),
    ('chunked not last', b'POST / HTTP/1.1\r\n' + H + b'Transfer-Encoding: gzip\r\n\r\n', 400),
    ('chunked twice', b'POST / HTTP/1.1\r\n' + H + b'Transfer-Encoding: chunked, chunked\r\n'
     b'\r\n0\r\n\r\n', 400),
    ('identity coding', b'POST / HTTP/1.1\r\n' + H + b'Transfer-Encoding: identity\r\n\r\n',
     400),
    ('Transfer-Encoding in HTTP/1.0', b'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n'
     b'0\r\n\r\n', 400),
    # chunked bodies (RFC 9112 section 7.1)
    ('chunk size not hex', CHUNKED + b'zz\r\nhello\r\n0\r\n\r\n', 400),
    ('negative chunk size', CHUNKED + b'-1\r\nhello\r\n0\r\n\r\n', 400),
    ('chunk size with 0x', CHUNKED + b'0x5\r\nhello\r\n0\r\n\r\n', 400),
    ('chunk size with leading space', CHUNKED + b' 5\r\nhello\r\n0\r\n\r\n', 400),
    ('chunk size of 17 digits', CHUNKED + b'1' * 17 + b'\r\nhello\r\n0\r\n\r\n', 400),
    ('chunk longer than its size', CHUNKED + b'2\r\nhello\r\n0\r\n\r\n', 400),
    ('chunk line too long', CHUNKED + b'5;' + b'e' * 5000 + b'\r\nhello\r\n0\r\n\r\n', 400),
    ('NUL in chunk extension', CHUNKED + b'5;a=\x00\r\nhello\r\n0\r\n\r\n', 400),
    ('huge chunk size', CHUNKED + b'ffffffffffffffff\r\nhello\r\n', 413),
    ('chunks over the limit', CHUNKED + (b'10000\r\n' + b'x' * 65536 + b'\r\n') * 17 +
     b'0\r\n\r\n', 413),
    ('malformed trailer', CHUNKED + b'5\r\nhello\r\n0\r\nnot a trailer\r\n\r\n', 400),
    # timeouts (RFC 9110 section 15.5.9)
    ('head never finished', b'GET / HTTP/1.1\r\nHost: loc', 408),
    ('body never finished', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 10\r\n\r\nabc', 408),
    ('chunked body never finished', CHUNKED + b'5\r\nhel', 408),
]

# Odd but valid requests: they must be served.
VALID = [
    ('empty lines before the request', b'\r\n\r\nGET / HTTP/1.1\r\n' + H + b'\r\n'),
    ('bare LF line endings', b'GET / HTTP/1.1\nHost: localhost\n\n'),
    ('absolute-form target', b'GET http://localhost/x HTTP/1.1\r\n' + H + b'\r\n'),
    ('HTTP/1.2 is served as 1.1', b'GET / HTTP/1.2\r\n' + H + b'\r\n'),
    ('HTTP/1.0 without Host', b'GET / HTTP/1.0\r\n\r\n'),
    ('OPTIONS *', b'OPTIONS * HTTP/1.1\r\n' + H + b'\r\n'),
    ('repeated equal Content-Length', b'POST / HTTP/1.1\r\n' + H + b'Content-Length: 2\r\n'
     b'Content-Length: 2\r\n\r\nhi'),
    ('chunk extensions and trailers', CHUNKED + b'2;x=y\r\nhi\r\n0\r\nT: v\r\n\r\n'),
    ('obs-text in a header value', b'GET / HTTP/1.1\r\n' + H + b'X: caf\xe9\r\n\r\n'),
    ('percent-encoded non-UTF-8 path', b'GET /%ff%fe HTTP/1.1\r\n' + H + b'\r\n'),
]


def exchange(port, data):
    """Send raw bytes on a new connection; return (status, headers, body) of the answer."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end of what we sent: the answer is already there
        return read_http_response(sock.makefile('rb'))


@unittest.skipUnless(E2E, 'set KOKOROPY_E2E=1 to run the end-to-end malformed-input corpus')
class MalformedCorpusTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.process = subprocess.Popen([sys.executable, '-c', SERVER_CODE, ROOT],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        cls.port = int(cls.process.stdout.readline())

    @classmethod
    def tearDownClass(cls):
        cls.process.terminate()
        _, errors = cls.process.communicate(timeout=10)
        # Whatever the server logged while refusing the corpus must hold no traceback.
        if b'Traceback' in errors:
            raise AssertionError('the server logged a traceback:\n' + errors.decode('utf-8',
                                                                                 'replace'))

    def test_corpus_has_at_least_50_cases(self):
        self.assertGreaterEqual(len(CORPUS), 50)

    def test_each_malformed_request_gets_its_status_and_the_server_goes_on(self):
        for name, data, expected in CORPUS:
            with self.subTest(name):
                status, headers, body = exchange(self.port, data)
                self.assertEqual(status, expected)
                self.assertEqual(headers.get('connection'), 'close')
                self.assertEqual(headers.get('content-type'), 'text/plain; charset=utf-8')
                self.assertTrue(body.startswith(b'%d ' % expected), body)
                self.assertNotIn(b'Traceback', body)
                self.assertEqual(exchange(self.port, b'GET / HTTP/1.1\r\n' + H + b'\r\n')[2],
                                 b'ok ')

    def test_odd_but_valid_requests_are_served(self):
        for name, data in VALID:
            with self.subTest(name):
                self.assertEqual(exchange(self.port, data)[0], 200)


if __name__ == '__main__':
    unittest.main()
