"""PEP 3333: every kind of answer passes wsgiref.validate, close() reaches the handler's
iterable, and a real wsgiref server serves the app."""
import http.client
import io
import os
import shutil
import sys
import tempfile
import threading
import unittest
import wsgiref.simple_server
import wsgiref.util
import wsgiref.validate

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import (HTTPError, HTTPResponse, Kokoro, TestClient, abort, redirect,  # noqa
                      request, response, static_file)


class ClosableChunks(object):
    """An iterable that records whether the server closed it."""

    def __init__(self, chunks):
        self.chunks, self.closed = chunks, False

    def __iter__(self):
        return iter(self.chunks)

    def close(self):
        self.closed = True


def build_app(folder):
    app = Kokoro()
    app.csrf_check = app.session_interface = None
    with open(os.path.join(folder, 'file.txt'), 'wb') as f:
        f.write(b'file body')
    app.get('/str', lambda: 'text')
    app.get('/bytes', lambda: b'bytes')
    app.get('/dict', lambda: {'a': 1})
    app.get('/list', lambda: [1, 2])
    app.get('/none', lambda: None)
    app.get('/generator', lambda: (part for part in ['a', b'b', '']))
    app.get('/empty-generator', lambda: iter([]))
    app.get('/file', lambda: open(os.path.join(folder, 'file.txt'), 'rb'))
    app.get('/text-file', lambda: open(os.path.join(folder, 'file.txt'), encoding='utf-8'))
    app.get('/static', lambda: static_file('file.txt', folder))
    app.get('/http-response', lambda: HTTPResponse('made', 202, X_A='1'))
    app.get('/http-error', lambda: HTTPError(409, 'conflict'))
    app.get('/abort', lambda: abort(401))
    app.get('/redirect', lambda: redirect('/str'))
    app.get('/raise', lambda: 1 / 0)
    app.get('/status', lambda: setattr(response, 'status', 204))
    app.get('/unicode/<name>', lambda name: name)
    app.get('/slash/', lambda: 'slash')
    return app


class ValidatorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp()
        cls.app = build_app(cls.folder)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.folder)

    def setUp(self):
        self.client = TestClient(self.app, validate=True)

    def test_every_kind_of_answer_passes_the_validator(self):
        expected = {
            '/str': (200, b'text'), '/bytes': (200, b'bytes'), '/dict': (200, b'{"a":1}'),
            '/list': (200, b'[1,2]'), '/none': (200, b''), '/generator': (200, b'ab'),
            '/empty-generator': (200, b''), '/file': (200, b'file body'),
            '/text-file': (200, b'file body'), '/static': (200, b'file body'),
            '/http-response': (202, b'made'), '/redirect': (303, b''), '/status': (204, b''),
            '/unicode/%C3%A9t%C3%A9': (200, 'été'.encode()), '/slash': (308, b''),
        }
        for path, (status, body) in expected.items():
            answer = self.client.get(path)
            self.assertEqual((answer.status, answer.body), (status, body), path)
            self.assertEqual(answer.errors, '', path)

    def test_error_answers_pass_the_validator(self):
        for path, status in (('/http-error', 409), ('/abort', 401), ('/raise', 500),
                             ('/missing', 404)):
            for accept in ('text/html', 'application/json'):
                answer = self.client.get(path, headers={'Accept': accept})
                self.assertEqual(answer.status, status, path)
                self.assertTrue(answer.body)
        self.assertEqual(self.client.post('/str').status, 405)
        self.assertEqual(self.client.options('/str').status, 204)

    def test_head_304_and_206_pass_the_validator(self):
        for path in ('/str', '/dict', '/generator', '/file', '/static', '/missing'):
            answer = self.client.head(path)
            self.assertEqual(answer.body, b'', path)
        etag = self.client.get('/static').headers['ETag']
        self.assertEqual(self.client.get('/static', headers={'If-None-Match': etag}).status, 304)
        answer = self.client.get('/static', headers={'Range': 'bytes=1-3'})
        self.assertEqual((answer.status, answer.body), (206, b'ile'))

    def test_status_line_and_headers_are_native_strings(self):
        captured = []
        environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/str', 'SERVER_NAME': 'h',
                   'SERVER_PORT': '80', 'wsgi.url_scheme': 'http', 'wsgi.errors': io.StringIO(),
                   'wsgi.input': io.BytesIO()}
        body = self.app(environ, lambda status, headers: captured.append((status, headers)))
        status, headers = captured[0]
        self.assertIs(type(status), str)
        self.assertTrue(all(type(name) is str and type(value) is str for name, value in headers))
        self.assertEqual(list(body), [b'text'])


class ClosePropagationTest(unittest.TestCase):

    def setUp(self):
        self.app = Kokoro()
        self.app.csrf_check = self.app.session_interface = None
        self.client = TestClient(self.app, validate=True)

    def test_close_reaches_the_handlers_iterable(self):
        chunks = ClosableChunks(['a', 'b'])
        self.app.get('/', lambda: chunks)
        self.assertEqual(self.client.get('/').body, b'ab')
        self.assertTrue(chunks.closed)

    def test_head_closes_the_iterable_without_reading_it(self):
        chunks = ClosableChunks(['a'])
        self.app.get('/', lambda: chunks)
        self.client.head('/')
        self.assertTrue(chunks.closed)

    def test_returned_file_is_closed_after_sending(self):
        handle = io.BytesIO(b'data')
        self.app.get('/', lambda: handle)
        self.client.get('/')
        self.assertTrue(handle.closed)

    def test_generator_cleanup_runs_when_the_server_closes(self):
        events = []

        def stream():
            try:
                yield 'first'
                yield 'second'
            finally:
                events.append('cleanup')
        self.app.get('/', stream)
        self.assertEqual(self.client.get('/').body, b'firstsecond')
        self.assertEqual(events, ['cleanup'])

    def test_uploaded_files_are_closed_with_the_response(self):
        seen = []
        self.app.post('/', lambda: seen.append(request.files['f'].file) or 'ok')
        self.client.post('/', files={'f': ('a.txt', b'x')})
        self.assertTrue(seen[0].closed)


class WsgirefServerTest(unittest.TestCase):

    def test_app_runs_under_the_wsgiref_server(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        app = build_app(folder)

        class QuietHandler(wsgiref.simple_server.WSGIRequestHandler):
            def log_message(self, *args):
                pass
        server = wsgiref.simple_server.make_server('127.0.0.1', 0,
                                                   wsgiref.validate.validator(app),
                                                   handler_class=QuietHandler)
        thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
        thread.start()
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        for path, status, body in (('/str', 200, b'text'), ('/static', 200, b'file body'),
                                   ('/unicode/%C3%A9', 200, 'é'.encode()),
                                   ('/missing', 404, None), ('/redirect', 303, b'')):
            connection = http.client.HTTPConnection('127.0.0.1', server.server_port, timeout=5)
            connection.request('GET', path)
            answer = connection.getresponse()
            data = answer.read()
            connection.close()
            self.assertEqual(answer.status, status, path)
            if body is not None:
                self.assertEqual(data, body, path)


if __name__ == '__main__':
    unittest.main()
