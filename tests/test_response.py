"""Response: return values, status, headers, cookies, redirects and errors."""
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import (HTTPError, HTTPResponse, Kokoro, Response, TestClient, abort,  # noqa
                      redirect, request, response)

HTML = 'text/html; charset=utf-8'


def make_app(**config):
    app = Kokoro(**config)
    app.csrf_check = None
    app.session_interface = None
    return app


class ReturnValueTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

    def answer(self, value, path='/'):
        self.app.get(path, lambda: value() if callable(value) else value)
        return self.client.get(path)

    def test_str_is_utf8_html(self):
        answer = self.answer('Grüße')
        self.assertEqual(answer.headers['Content-Type'], HTML)
        self.assertEqual(answer.headers['Content-Length'], str(len('Grüße'.encode())))
        self.assertEqual(answer.body, 'Grüße'.encode())

    def test_bytes_are_sent_as_is(self):
        answer = self.answer(b'\x00\xff')
        self.assertEqual(answer.body, b'\x00\xff')
        self.assertEqual(answer.headers['Content-Length'], '2')

    def test_dict_and_list_become_json(self):
        answer = self.answer({'name': 'Pikachu', 'types': ['electric']})
        self.assertEqual(answer.headers['Content-Type'], 'application/json')
        self.assertEqual(answer.body, b'{"name":"Pikachu","types":["electric"]}')
        self.assertEqual(self.answer([1, 'é'], '/list').body, '[1,"é"]'.encode())

    def test_json_responses_are_not_sniffed_and_carry_no_frame_options(self):
        answer = self.answer({'a': 1})
        self.assertNotIn('X-Frame-Options', answer.headers)
        self.assertEqual(answer.headers['X-Content-Type-Options'], 'nosniff')

    def test_none_is_an_empty_body(self):
        answer = self.answer(None)
        self.assertEqual((answer.status, answer.body), (200, b''))
        self.assertEqual(answer.headers['Content-Length'], '0')

    def test_generator_of_text_and_bytes_is_streamed(self):
        def chunks():
            yield ''
            yield 'é'
            yield b'-'
            yield bytearray(b'z')
        answer = self.answer(chunks)
        self.assertEqual(answer.body, 'é-z'.encode())
        self.assertNotIn('Content-Length', answer.headers)

    def test_error_in_the_first_chunk_is_a_500(self):
        def chunks():
            raise ValueError('boom')
            yield 'never'
        answer = self.answer(chunks)
        self.assertEqual(answer.status, 500)
        self.assertIn('ValueError: boom', answer.errors)

    def test_file_is_streamed_with_its_length(self):
        answer = self.answer(lambda: io.BytesIO(b'file data'))
        self.assertEqual(answer.body, b'file data')
        self.assertEqual(answer.headers['Content-Length'], '9')
        self.assertEqual(answer.headers['Content-Type'], 'application/octet-stream')

    def test_unencodable_values_are_a_500(self):
        self.assertEqual(self.answer({'when': object()}).status, 500)
        self.assertEqual(self.answer('\ud800', '/surrogate').status, 500)
        self.assertIn('UnicodeEncodeError', self.client.get('/surrogate').errors)

    def test_unsupported_return_type_is_a_500_naming_it(self):
        answer = self.answer(42)
        self.assertEqual(answer.status, 500)
        self.assertIn('a handler returned int', answer.errors)

    def test_returned_and_raised_http_response(self):
        self.app.get('/made', lambda: HTTPResponse('made', 201, X_Custom='1'))

        @self.app.get('/raised')
        def raised():
            raise HTTPResponse({'ok': True}, status=202)
        answer = self.client.get('/made')
        self.assertEqual((answer.status, answer.text, answer.headers['X-Custom']),
                         (201, 'made', '1'))
        answer = self.client.get('/raised')
        self.assertEqual((answer.status, answer.json), (202, {'ok': True}))

    def test_head_has_the_get_length_and_no_body(self):
        self.app.get('/', lambda: 'four')
        answer = self.client.head('/')
        self.assertEqual((answer.status, answer.body), (200, b''))
        self.assertEqual(answer.headers['Content-Length'], '4')
        response_headers = self.client.head('/', headers={'Accept': 'application/json'})
        self.assertEqual(response_headers.headers['Content-Length'], '4')


class StatusAndHeadersTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

    def test_status_as_int_or_line(self):
        response_object = Response()
        response_object.status = 404
        self.assertEqual((response_object.status, response_object.status_code),
                         ('404 Not Found', 404))
        response_object.status = '299 Fine Thanks'
        self.assertEqual(response_object.status_line, '299 Fine Thanks')
        response_object.status = 499
        self.assertEqual(response_object.status, '499 Unknown')
        for bad in (99, 1000, 'abc', '200 OK\r\nX: y'):
            with self.assertRaises(ValueError):
                response_object.status = bad

    def test_handler_sets_status_headers_and_content_type(self):
        @self.app.get('/')
        def handler():
            response.status = 201
            response.headers['X-Count'] = 3
            response.headers.add('X-Many', 'a')
            response.headers.add('X-Many', 'b')
            response.content_type = 'text/plain; charset=latin-1'
            return 'é'
        answer = self.client.get('/')
        self.assertEqual(answer.status_line, '201 Created')
        self.assertEqual(answer.headers['X-Count'], '3')
        self.assertEqual(answer.headers.getall('X-Many'), ['a', 'b'])
        self.assertEqual(answer.body, b'\xe9')
        self.assertNotIn('X-Frame-Options', answer.headers)

    def test_header_values_with_cr_lf_or_nul_are_refused(self):
        for value in ('a\r\nSet-Cookie: x=1', 'a\nb', 'a\x00b'):
            with self.assertRaises(ValueError):
                Response().headers['X-Test'] = value
        with self.assertRaises(ValueError):
            Response().headers['Bad Name'] = 'x'
        with self.assertRaises(ValueError):
            Response().headers['X-Test'] = 'snow ☃'

    def test_security_headers_can_be_changed_or_removed(self):
        @self.app.get('/')
        def handler():
            response.headers['X-Frame-Options'] = 'DENY'
            del response.headers['X-Content-Type-Options']
            return '<p>hi</p>'
        answer = self.client.get('/')
        self.assertEqual(answer.headers['X-Frame-Options'], 'DENY')
        self.assertNotIn('X-Content-Type-Options', answer.headers)

    def test_charset_setter_changes_encoding(self):
        @self.app.get('/')
        def handler():
            response.charset = 'utf-16'
            return 'hi'
        answer = self.client.get('/')
        self.assertEqual(answer.headers['Content-Type'], 'text/html; charset=utf-16')
        self.assertEqual(answer.text, 'hi')


class CookieHeaderTest(unittest.TestCase):

    def test_set_cookie_defaults_are_httponly_lax_and_path_root(self):
        answer = Response()
        answer.set_cookie('theme', 'dark')
        self.assertEqual(answer.headers.getall('Set-Cookie'),
                         ['theme=dark; HttpOnly; Path=/; SameSite=Lax'])

    def test_set_cookie_options(self):
        answer = Response()
        answer.set_cookie('a', 'b c', max_age=60, expires=0, path='/x', domain='example.com',
                          secure=True, httponly=False, samesite='Strict')
        self.assertEqual(answer.headers['Set-Cookie'],
                         'a="b c"; Domain=example.com; expires=Thu, 01 Jan 1970 00:00:00 GMT; '
                         'Max-Age=60; Path=/x; SameSite=Strict; Secure')

    def test_setting_a_cookie_again_replaces_it_and_delete_expires_it(self):
        answer = Response()
        answer.set_cookie('a', '1')
        answer.set_cookie('a', '2', path='/other')
        answer.set_cookie('a', '3')
        answer.delete_cookie('a', path='/other')
        self.assertEqual(answer.headers.getall('Set-Cookie'), [
            'a=3; HttpOnly; Path=/; SameSite=Lax',
            'a=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Max-Age=0; Path=/other; '
            'SameSite=Lax'])

    def test_cookie_value_cannot_inject_attributes(self):
        answer = Response()
        answer.set_cookie('a', 'x; Domain=evil.com\r\nX: y')
        header = answer.headers['Set-Cookie']
        self.assertTrue(header.startswith('a="x\\073 Domain=evil.com\\015\\012X: y"'), header)

    def test_cookie_attributes_cannot_end_early(self):
        for options in ({'path': '/x; Domain=evil.com'}, {'domain': 'a.com\r\nX: y'},
                        {'samesite': 'Lax; Secure'}):
            with self.subTest(options=options), self.assertRaises(ValueError):
                Response().set_cookie('a', 'x', **options)

    def test_bad_cookie_name_and_oversized_cookie_are_refused(self):
        with self.assertRaises(ValueError):
            Response().set_cookie('a b', 'x')
        with self.assertRaises(ValueError):
            Response().set_cookie('a', 'x' * 5000)

    def test_secure_defaults_to_the_request_scheme(self):
        app = make_app()

        @app.get('/')
        def handler():
            response.set_cookie('s', '1')
            return 'ok'
        plain = TestClient(app).get('/')
        self.assertNotIn('Secure', plain.headers['Set-Cookie'])
        secure = TestClient(app, scheme='https').get('/')
        self.assertIn('; Secure', secure.headers['Set-Cookie'])


class RedirectAndAbortTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app, validate=True)

    def test_redirect_is_303_and_keeps_cookies_set_before(self):
        @self.app.get('/login')
        def login():
            response.set_cookie('user', 'ann')
            redirect('/home')
        answer = self.client.get('/login')
        self.assertEqual(answer.status, 303)
        self.assertEqual(answer.headers['Location'], '/home')
        self.assertEqual(answer.cookies, {'user': 'ann'})

    def test_redirect_with_crlf_cannot_split_headers(self):
        self.app.get('/', lambda: redirect('/next\r\nSet-Cookie: evil=1\x00 é', 302))
        answer = self.client.get('/')
        self.assertEqual(answer.status, 302)
        self.assertEqual(answer.headers['Location'], '/next%0D%0ASet-Cookie:%20evil=1%00%20%C3%A9')
        self.assertEqual(answer.headers.getall('Set-Cookie'), [])

    def test_redirect_keeps_a_valid_url_unchanged(self):
        url = 'https://example.com/a%20b/c?x=1&y=%2F#frag'
        self.app.get('/', lambda: redirect(url))
        self.assertEqual(self.client.get('/').headers['Location'], url)

    def test_abort_gives_an_error_page_with_the_message(self):
        self.app.get('/', lambda: abort(403, 'No <entry>'))
        answer = self.client.get('/')
        self.assertEqual(answer.status, 403)
        self.assertEqual(answer.headers['Content-Type'], HTML)
        self.assertIn('<p>No &lt;entry&gt;</p>', answer.text)

    def test_error_page_is_json_when_the_client_prefers_it(self):
        self.app.get('/', lambda: abort(409, 'Taken'))
        answer = self.client.get('/', headers={'Accept': 'application/json'})
        self.assertEqual(answer.headers['Content-Type'], 'application/json')
        self.assertEqual(answer.json, {'error': {'status': 409, 'message': 'Taken'}})

    def test_returned_http_error_is_rendered_like_a_raised_one(self):
        self.app.get('/', lambda: HTTPError(418))
        answer = self.client.get('/')
        self.assertEqual(answer.status_line, "418 I'm a Teapot" if sys.version_info >= (3, 9)
                         else '418 Unknown')
        self.assertIn('<h1>418', answer.text)


if __name__ == '__main__':
    unittest.main()
