"""Request: lazy parsing of query, forms, multipart files, JSON, body limits, cookies, proxies."""
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy  # noqa: E402
from kokoropy import (FileUpload, FormsDict, HeaderDict, HTTPError, Kokoro, MultiDict,  # noqa
                      Request, TestClient, request, response)

SECRET = 'test secret'


def make_app(**config):
    """An app without the session and CSRF plug-ins (tested in test_sessions)."""
    app = Kokoro(**config)
    app.csrf_check = None
    app.session_interface = None
    return app


def environ_for(path='/', method='GET', body=b'', **extra):
    environ = {
        'REQUEST_METHOD': method, 'SCRIPT_NAME': '', 'PATH_INFO': path, 'QUERY_STRING': '',
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '80', 'HTTP_HOST': 'localhost',
        'REMOTE_ADDR': '10.0.0.1', 'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(body),
        'wsgi.errors': io.StringIO(),
    }
    if body:
        environ['CONTENT_LENGTH'] = str(len(body))
    environ.update(extra)
    return environ


def multipart(*parts, boundary='XyZ'):
    """Build a multipart body from (headers text, content bytes) pairs."""
    body = b''
    for head, content in parts:
        body += b'--' + boundary.encode() + b'\r\n' + head.encode() + b'\r\n\r\n' + content + \
            b'\r\n'
    return body + b'--' + boundary.encode() + b'--\r\n'


class MultiDictTest(unittest.TestCase):

    def test_getitem_gives_last_and_getall_gives_every_value(self):
        fields = MultiDict([('a', '1'), ('b', '2')])
        fields.add('a', '3')
        self.assertEqual(fields['a'], '3')
        self.assertEqual(fields.getall('a'), ['1', '3'])
        self.assertEqual(fields.getall('missing'), [])
        self.assertEqual(fields.allitems(), [('a', '1'), ('a', '3'), ('b', '2')])

    def test_constructors_keep_repeated_keys(self):
        self.assertEqual(MultiDict([('a', '1'), ('a', '2')]).getall('a'), ['1', '2'])
        headers = HeaderDict([('Set-Cookie', 'a=1'), ('set-cookie', 'b=2')], Server='x')
        self.assertEqual(headers.getall('Set-Cookie'), ['a=1', 'b=2'])
        self.assertEqual(HeaderDict(headers).allitems(), headers.allitems())

    def test_get_with_type_converts_or_returns_default(self):
        fields = MultiDict(page='2', name='x')
        self.assertEqual(fields.get('page', 1, type=int), 2)
        self.assertEqual(fields.get('name', 1, type=int), 1)
        self.assertEqual(fields.get('absent', 7, type=int), 7)

    def test_forms_dict_attribute_gives_empty_text_when_missing(self):
        fields = FormsDict(name='Ann')
        self.assertEqual(fields.name, 'Ann')
        self.assertEqual(fields.missing, '')

    def test_header_dict_is_case_insensitive_and_keeps_several_values(self):
        headers = HeaderDict()
        headers['content-type'] = 'text/plain'
        headers.add('Set-Cookie', 'a=1')
        headers.add('set-cookie', 'b=2')
        self.assertEqual(headers['Content-Type'], 'text/plain')
        self.assertIn('CONTENT-TYPE', headers)
        self.assertEqual(headers.getall('SET-COOKIE'), ['a=1', 'b=2'])
        del headers['Set-Cookie']
        self.assertEqual(headers.getall('Set-Cookie'), [])


class QueryAndPathTest(unittest.TestCase):

    def test_query_keeps_repeated_fields_and_decodes_utf8(self):
        req = Request(environ_for('/', QUERY_STRING='tag=a&tag=b&name=J%C3%BCrgen&empty='))
        self.assertEqual(req.query.getall('tag'), ['a', 'b'])
        self.assertEqual(req.query['name'], 'Jürgen')
        self.assertEqual(req.query['empty'], '')

    def test_path_is_redecoded_from_latin1_to_utf8(self):
        raw = '/caf\u00c3\u00a9'       # b'/caf\xc3\xa9' carried as latin-1 (PEP 3333)
        self.assertEqual(Request(environ_for(raw)).path, '/café')

    def test_path_that_is_not_utf8_is_a_400(self):
        app = make_app()
        app.get('/<name>', lambda name: name)
        environ = environ_for('/caf\u00e9')      # a lone 0xE9 byte
        status = []
        body = b''.join(app(environ, lambda s, h, e=None: status.append(s)))
        self.assertEqual(status, ['400 Bad Request'])
        self.assertIn(b'not valid UTF-8', body)

    def test_parsed_values_are_cached_in_the_environ(self):
        environ = environ_for('/', QUERY_STRING='a=1')
        first = Request(environ).query
        self.assertIs(Request(environ).query, first)

    def test_url_scheme_host_and_fullpath(self):
        req = Request(environ_for('/a b', SCRIPT_NAME='/site', QUERY_STRING='x=1',
                                  HTTP_HOST='example.com:8080'))
        self.assertEqual(req.url, 'http://example.com:8080/site/a%20b?x=1')
        self.assertEqual(req.fullpath, '/site/a b')

    def test_malformed_host_header_falls_back_to_server_name(self):
        req = Request(environ_for('/', HTTP_HOST='evil.com/path?', SERVER_NAME='site',
                                  SERVER_PORT='8080'))
        self.assertEqual(req.host, 'site:8080')


class ProxyHeadersTest(unittest.TestCase):

    def forwarded_request(self, trusted):
        app = make_app(trusted_proxies=trusted)
        environ = environ_for('/', HTTP_X_FORWARDED_FOR='6.6.6.6, 1.2.3.4, 10.0.0.9',
                              HTTP_X_FORWARDED_PROTO='https', HTTP_X_FORWARDED_HOST='shop.io')
        environ['kokoropy.app'] = app
        return Request(environ)

    def test_forwarded_headers_are_ignored_without_trusted_proxies(self):
        req = self.forwarded_request(0)
        self.assertEqual(req.remote_addr, '10.0.0.1')
        self.assertEqual(req.scheme, 'http')
        self.assertEqual(req.host, 'localhost')

    def test_trusted_proxies_pick_the_hop_they_added(self):
        req = self.forwarded_request(2)
        self.assertEqual(req.remote_addr, '1.2.3.4')
        req = self.forwarded_request(1)
        self.assertEqual(req.remote_addr, '10.0.0.9')
        self.assertEqual(req.scheme, 'https')
        self.assertEqual(req.host, 'shop.io')

    def test_fewer_hops_than_trusted_proxies_are_ignored(self):
        self.assertEqual(self.forwarded_request(5).remote_addr, '10.0.0.1')


class FormsAndBodyTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app(max_body_bytes=1000, max_memfile_bytes=100)
        self.client = TestClient(self.app, validate=True)
        self.app.post('/echo', lambda: {'forms': request.forms.allitems(),
                                        'params': request.params.allitems()})
        self.app.post('/json', lambda: {'json': request.json})
        self.app.post('/size', lambda: str(len(request.body.read())))

    def test_urlencoded_form_and_params(self):
        answer = self.client.post('/echo?q=1', data={'name': 'Zoë', 'tag': ['a', 'b']})
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.json, {'forms': [['name', 'Zoë'], ['tag', 'a'], ['tag', 'b']],
                                       'params': [['q', '1'], ['name', 'Zoë'], ['tag', 'a'],
                                                  ['tag', 'b']]})

    def test_json_body_is_decoded(self):
        self.assertEqual(self.client.post('/json', json={'a': [1, 2]}).json, {'json': {'a': [1, 2]}})

    def test_json_is_none_when_the_content_type_is_not_json(self):
        answer = self.client.post('/json', data='{"a": 1}', headers={'Content-Type': 'text/plain'})
        self.assertEqual(answer.json, {'json': None})

    def test_invalid_json_is_a_400(self):
        answer = self.client.post('/json', data='{"a": ', headers={
            'Content-Type': 'application/json', 'Accept': 'application/json'})
        self.assertEqual(answer.status, 400)
        self.assertEqual(answer.json['error']['status'], 400)
        self.assertIn('not valid JSON', answer.json['error']['message'])

    def test_body_over_the_limit_is_a_413_before_reading(self):
        answer = self.client.post('/size', data=b'x' * 1001)
        self.assertEqual(answer.status, 413)

    def test_route_may_raise_its_own_body_limit(self):
        self.app.post('/big', lambda: str(len(request.body.read())), max_body_bytes=5000)
        self.assertEqual(self.client.post('/big', data=b'x' * 4000).text, '4000')
        self.assertEqual(self.client.post('/big', data=b'x' * 5001).status, 413)

    def test_body_under_the_limit_spools_to_a_temporary_file(self):
        self.assertEqual(self.client.post('/size', data=b'x' * 999).text, '999')
        environ = environ_for('/', 'POST', b'y' * 500)
        environ['kokoropy.app'] = self.app
        with Request(environ).body as body:
            self.assertFalse(isinstance(body, io.BytesIO))
            self.assertEqual(body.read(), b'y' * 500)

    def test_terminated_input_without_length_is_read_to_eof_within_the_limit(self):
        extra = {'wsgi.input_terminated': True}
        answer = self.client.post('/size', data=b'z' * 300, environ=dict(extra, CONTENT_LENGTH=''))
        self.assertEqual(answer.text, '300')
        answer = self.client.post('/size', data=b'z' * 1500, environ=dict(extra, CONTENT_LENGTH=''))
        self.assertEqual(answer.status, 413)

    def test_body_without_length_or_termination_is_empty(self):
        answer = self.client.post('/size', data=b'abc', environ={'CONTENT_LENGTH': ''})
        self.assertEqual(answer.text, '0')

    def test_malformed_content_length_is_a_400(self):
        client = TestClient(self.app)      # the validator itself refuses this environ
        answer = client.post('/size', data=b'abc', environ={'CONTENT_LENGTH': '1e3'})
        self.assertEqual(answer.status, 400)

    def test_body_shorter_than_its_content_length_is_a_400(self):
        environ = environ_for('/', 'POST', b'abc', CONTENT_LENGTH='10')
        with self.assertRaises(HTTPError) as caught:
            Request(environ).body
        self.assertEqual(caught.exception.status_code, 400)


class MultipartTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app(max_memfile_bytes=64)
        self.client = TestClient(self.app, validate=True)

        @self.app.post('/upload')
        def upload():
            files = [(f.name, f.filename, f.raw_filename, f.content_type, f.file.read().decode())
                     for f in request.files.getall('doc')]
            return {'forms': request.forms.allitems(), 'files': files}

    def post(self, body, boundary='XyZ'):
        return self.client.post('/upload', data=body, headers={
            'Content-Type': 'multipart/form-data; boundary=%s' % boundary})

    def test_fields_and_files_are_separated(self):
        answer = self.client.post('/upload', data={'title': 'Hi', 'tag': ['a', 'b']}, files={
            'doc': [('notes.txt', b'hello', 'text/plain'), ('big.bin', b'x' * 200)]})
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.json['forms'], [['title', 'Hi'], ['tag', 'a'], ['tag', 'b']])
        self.assertEqual(answer.json['files'], [
            ['doc', 'notes.txt', 'notes.txt', 'text/plain', 'hello'],
            ['doc', 'big.bin', 'big.bin', 'application/octet-stream', 'x' * 200]])

    def test_filenames_are_sanitised_to_a_safe_basename(self):
        cases = {'../../etc/passwd': 'passwd', 'C:\\Users\\me\\cv.pdf': 'cv.pdf',
                 '..': 'upload', 'a\x00b\x1f\u202ec.txt': 'abc.txt', ' .hidden ': 'hidden',
                 'CON.txt': '_CON.txt', 'what?<x>.txt': 'what__x_.txt',
                 '/': 'upload', 'ｆｕｌｌ．ｔｘｔ': 'full.txt'}
        for raw, expected in cases.items():
            self.assertEqual(FileUpload(io.BytesIO(), 'f', raw).filename, expected, raw)
        long_name = 'é' * 300 + '.txt'
        safe = FileUpload(io.BytesIO(), 'f', long_name).filename
        self.assertTrue(safe.endswith('.txt'))
        self.assertLessEqual(len(safe.encode('utf-8')), 255)

    def test_raw_filename_with_path_is_kept_separately(self):
        body = multipart(('Content-Disposition: form-data; name="doc"; filename="../x/evil.sh"',
                          b'#!'))
        answer = self.post(body)
        self.assertEqual(answer.json['files'], [
            ['doc', 'evil.sh', '../x/evil.sh', 'application/octet-stream', '#!']])

    def test_empty_file_input_is_not_an_upload(self):
        body = multipart(('Content-Disposition: form-data; name="doc"; filename=""', b''),
                         ('Content-Disposition: form-data; name="t"', b'v'))
        self.assertEqual(self.post(body).json, {'forms': [['t', 'v']], 'files': []})

    def test_part_with_boundary_prefixes_is_kept_whole(self):
        content = b'line\r\n--Xy\r\n-XyZ--XyZ\r\n-'
        body = multipart(('Content-Disposition: form-data; name="t"', content))
        self.assertEqual(self.post(body).json['forms'], [['t', content.decode()]])

    def test_delimiter_split_across_read_chunks_is_found(self):
        for size in range(kokoropy.COPY_CHUNK - 120, kokoropy.COPY_CHUNK - 60, 7):
            content = b'a' * size
            body = multipart(('Content-Disposition: form-data; name="doc"; filename="a.txt"',
                              content), ('Content-Disposition: form-data; name="t"', b'v'))
            self.app.config['max_body_bytes'] = 10 ** 6
            answer = self.post(body)
            self.assertEqual(answer.json['forms'], [['t', 'v']], size)
            self.assertEqual(len(answer.json['files'][0][4]), size)

    def test_missing_or_invalid_boundary_is_a_400(self):
        body = multipart(('Content-Disposition: form-data; name="t"', b'v'))
        for content_type in ('multipart/form-data', 'multipart/form-data; boundary=""',
                             'multipart/form-data; boundary=' + 'x' * 71):
            answer = self.client.post('/upload', data=body, headers={'Content-Type': content_type})
            self.assertEqual(answer.status, 400, content_type)

    def test_truncated_body_is_a_400(self):
        body = multipart(('Content-Disposition: form-data; name="t"', b'value'))
        for cut in (body[:-8], body[:20], body[:40], b'--XyZ\r\nContent-Disp'):
            self.assertEqual(self.post(cut).status, 400, cut)

    def test_body_without_any_boundary_is_a_400(self):
        self.assertEqual(self.post(b'just some text').status, 400)

    def test_too_many_parts_is_a_413(self):
        part = ('Content-Disposition: form-data; name="t"', b'v')
        self.app.config['max_body_bytes'] = 10 ** 7
        answer = self.post(multipart(*[part] * (kokoropy.MAX_FORM_PARTS + 1)))
        self.assertEqual(answer.status, 413)

    def test_save_writes_into_a_folder_and_refuses_to_overwrite(self):
        upload = FileUpload(io.BytesIO(b'data'), 'doc', '../../report.txt')
        with tempfile.TemporaryDirectory() as folder:
            path = upload.save(folder)
            self.assertEqual(path, os.path.join(folder, 'report.txt'))
            with open(path, 'rb') as saved:
                self.assertEqual(saved.read(), b'data')
            with self.assertRaises(FileExistsError):
                upload.save(folder)
            upload.file = io.BytesIO(b'new')
            upload.save(path, overwrite=True)
            with open(path, 'rb') as saved:
                self.assertEqual(saved.read(), b'new')


class CookieTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

        @self.app.get('/set')
        def set_cookies():
            response.set_cookie('plain', 'hello world')
            response.set_cookie('signed', {'user': 7}, secret=SECRET)
            return 'ok'

        @self.app.get('/read')
        def read_cookies():
            return {'plain': request.get_cookie('plain'),
                    'signed': request.get_cookie('signed', secret=SECRET),
                    'wrong_secret': request.get_cookie('signed', 'default', secret='other'),
                    'missing': request.get_cookie('missing', 'default')}

    def test_plain_and_signed_cookies_round_trip(self):
        self.client.get('/set')
        self.assertEqual(self.client.get('/read').json, {
            'plain': 'hello world', 'signed': {'user': 7}, 'wrong_secret': 'default',
            'missing': 'default'})

    def test_tampered_signed_cookie_gives_the_default(self):
        self.client.get('/set')
        token = self.client.cookie_jar[('signed', '/')]['value']
        body, stamp, mac = token.split('.')
        self.client.cookie_jar[('signed', '/')]['value'] = body[:-2] + 'AA.' + stamp + '.' + mac
        self.assertIsNone(self.client.get('/read').json['signed'])

    def test_signed_value_moved_to_another_cookie_name_is_refused(self):
        self.client.get('/set')
        token = self.client.cookie_jar[('signed', '/')]['value']
        environ = environ_for('/', HTTP_COOKIE='other=%s' % token)
        self.assertIsNone(Request(environ).get_cookie('other', secret=SECRET))

    def test_cookie_header_parsing_is_lenient(self):
        environ = environ_for('/', HTTP_COOKIE='a=1; bad; b="x y"; a=2; =z; c=')
        self.assertEqual(Request(environ).cookies, {'a': '1', 'b': 'x y', 'c': ''})


class RequestInfoTest(unittest.TestCase):

    def test_headers_accept_and_xhr(self):
        app = make_app()
        client = TestClient(app, validate=True)
        app.get('/', lambda: {'agent': request.headers['user-agent'],
                              'json': request.accepts_json, 'xhr': request.is_xhr,
                              'app_name': request.app_name, 'rule': request.route.rule})
        answer = client.get('/', headers={'User-Agent': 'test', 'Accept': 'application/json',
                                          'X-Requested-With': 'XMLHttpRequest'})
        self.assertEqual(answer.json, {'agent': 'test', 'json': True, 'xhr': True,
                                       'app_name': None, 'rule': '/'})

    def test_accepts_json_follows_preference_and_specificity(self):
        cases = {'application/json': True, '*/*': False, '': False,
                 'application/json, text/plain, */*': True,
                 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8': False,
                 'text/html;q=0.5, application/json': True,
                 'application/json;q=0, text/html': False}
        for accept, expected in cases.items():
            self.assertEqual(Request(environ_for('/', HTTP_ACCEPT=accept)).accepts_json,
                             expected, accept)

    def test_app_name_comes_from_the_route(self):
        app = make_app()
        app.get('/shop', lambda: request.app_name, app_name='shop')
        self.assertEqual(TestClient(app).get('/shop').text, 'shop')

    def test_request_outside_a_request_is_an_error(self):
        TestClient(make_app()).get('/')
        with self.assertRaises(RuntimeError):
            request.path
        self.assertIsNone(getattr(request, 'app_name', None))

    def test_custom_attributes_live_for_one_request(self):
        app = make_app()

        @app.hook('before_request')
        def load_user():
            request.user = 'ann'
        app.get('/', lambda: request.user)
        self.assertEqual(TestClient(app).get('/').text, 'ann')


if __name__ == '__main__':
    unittest.main()
