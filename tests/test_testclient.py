"""TestClient: requests built like a browser's, cookies kept by path and expiry, redirects."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import Kokoro, TestClient, redirect, request, response  # noqa: E402


class TestClientTest(unittest.TestCase):

    def setUp(self):
        self.app = Kokoro()
        self.app.csrf_check = self.app.session_interface = None
        self.client = TestClient(self.app, validate=True)
        self.app.route('/echo', 'ANY', lambda: {
            'method': request.method, 'query': request.query.allitems(),
            'forms': request.forms.allitems(), 'json': request.json,
            'files': [(f.name, f.filename, f.file.read().decode())
                      for _, f in request.files.allitems()],
            'cookies': request.cookies, 'header': request.get_header('X-Test')})

    def test_query_data_json_files_and_headers_reach_the_app(self):
        answer = self.client.post('/echo?a=1', query={'b': ['2', '3']}, data={'f': 'v'},
                                  files={'up': ('x "y".txt', 'content')},
                                  headers={'X-Test': 'yes'})
        self.assertEqual(answer.json['query'], [['a', '1'], ['b', '2'], ['b', '3']])
        self.assertEqual(answer.json['forms'], [['f', 'v']])
        self.assertEqual(answer.json['files'], [['up', 'x %22y%22.txt', 'content']])
        self.assertEqual(answer.json['header'], 'yes')
        self.assertEqual(self.client.put('/echo', json=[1]).json['json'], [1])

    def test_cookies_are_kept_scoped_by_path_and_deleted_by_max_age(self):
        @self.app.get('/set')
        def set_cookies():
            response.set_cookie('site', '1')
            response.set_cookie('scoped', '2', path='/admin')
            response.set_cookie('https_only', '3', secure=True)
            return 'ok'

        @self.app.get('/forget')
        def forget():
            response.delete_cookie('site')
            return 'ok'
        self.app.get('/admin/echo', lambda: request.cookies)
        self.assertEqual(self.client.get('/set').cookies,
                         {'site': '1', 'scoped': '2', 'https_only': '3'})
        self.assertEqual(self.client.get('/echo').json['cookies'], {'site': '1'})
        self.assertEqual(self.client.get('/admin/echo').json, {'scoped': '2', 'site': '1'})
        self.assertEqual(self.client.get('https://localhost/echo').json['cookies'],
                         {'site': '1', 'https_only': '3'})
        self.client.get('/forget')
        self.assertEqual(self.client.get('/echo').json['cookies'], {})

    def test_follow_redirects_uses_get_after_303_and_keeps_the_method_for_307(self):
        self.app.post('/see-other', lambda: redirect('/echo'))
        self.app.post('/temporary', lambda: redirect('http://localhost/echo?x=1', 307))
        self.assertEqual(self.client.post('/see-other', follow_redirects=True).json['method'],
                         'GET')
        answer = self.client.post('/temporary', data={'k': 'v'}, follow_redirects=True)
        self.assertEqual((answer.json['method'], answer.json['forms'], answer.json['query']),
                         ('POST', [['k', 'v']], [['x', '1']]))
        self.assertEqual(self.client.post('/see-other').status, 303)

    def test_response_exposes_status_headers_text_and_json(self):
        self.app.get('/t', lambda: 'héllo')
        answer = self.client.get('/t')
        self.assertEqual((answer.status, answer.status_line), (200, '200 OK'))
        self.assertEqual(answer.headers['content-type'], 'text/html; charset=utf-8')
        self.assertEqual((answer.text, answer.body), ('héllo', 'héllo'.encode()))


if __name__ == '__main__':
    unittest.main()
