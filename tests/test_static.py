"""static_file(): confinement to its root, conditional requests, ranges, downloads, types."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import Kokoro, TestClient, http_date, static_file  # noqa: E402

CONTENT = b'0123456789abcdefghij'


class StaticFileTest(unittest.TestCase):

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.root = os.path.join(self.folder, 'public')
        os.makedirs(os.path.join(self.root, 'css'))
        with open(os.path.join(self.root, 'data.txt'), 'wb') as f:
            f.write(CONTENT)
        with open(os.path.join(self.root, 'css', 'site.css'), 'wb') as f:
            f.write(b'body{}')
        with open(os.path.join(self.root, 'résumé.pdf'), 'wb') as f:
            f.write(b'%PDF')
        with open(os.path.join(self.folder, 'secret.txt'), 'wb') as f:
            f.write(b'top secret')
        os.utime(os.path.join(self.root, 'data.txt'), (1700000000, 1700000000))
        self.app = Kokoro()
        self.app.csrf_check = self.app.session_interface = None
        self.app.get('/static/<path:path>', lambda path: static_file(path, self.root))
        self.app.get('/download/<path:path>',
                     lambda path: static_file(path, self.root, download=True))
        self.client = TestClient(self.app, validate=True)

    def tearDown(self):
        shutil.rmtree(self.folder)

    def serve(self, filename, **headers):
        """Call static_file directly (no router normalisation) inside a request."""
        self.app.get('/direct', lambda: static_file(filename, self.root))
        return self.client.get('/direct', headers=headers)

    def test_serves_a_file_with_type_length_and_validators(self):
        answer = self.client.get('/static/data.txt')
        self.assertEqual(answer.status, 200)
        self.assertEqual(answer.body, CONTENT)
        self.assertEqual(answer.headers['Content-Type'], 'text/plain; charset=UTF-8')
        self.assertEqual(answer.headers['Content-Length'], '20')
        self.assertEqual(answer.headers['Last-Modified'], 'Tue, 14 Nov 2023 22:13:20 GMT')
        self.assertEqual(answer.headers['Accept-Ranges'], 'bytes')
        self.assertTrue(answer.headers['ETag'].startswith('"'))

    def test_mimetype_is_guessed_or_given(self):
        self.assertEqual(self.client.get('/static/css/site.css').headers['Content-Type'],
                         'text/css; charset=UTF-8')
        self.app.get('/typed', lambda: static_file('data.txt', self.root, mimetype='x/y'))
        self.assertEqual(self.client.get('/typed').headers['Content-Type'], 'x/y')
        with open(os.path.join(self.root, 'archive.tar.gz'), 'wb') as f:
            f.write(b'\x1f\x8b')
        answer = self.client.get('/static/archive.tar.gz')
        self.assertEqual(answer.headers['Content-Type'], 'application/gzip')
        self.assertNotIn('Content-Encoding', answer.headers)

    def test_download_sets_content_disposition(self):
        answer = self.client.get('/download/data.txt')
        self.assertEqual(answer.headers['Content-Disposition'], 'attachment; filename="data.txt"')
        answer = self.client.get('/download/résumé.pdf')
        self.assertEqual(answer.headers['Content-Disposition'],
                         'attachment; filename="resume.pdf"; '
                         "filename*=UTF-8''r%C3%A9sum%C3%A9.pdf")
        self.app.get('/named', lambda: static_file('data.txt', self.root, download='report.txt'))
        self.assertEqual(self.client.get('/named').headers['Content-Disposition'],
                         'attachment; filename="report.txt"')

    def test_traversal_attempts_never_leave_the_root(self):
        attempts = ['../secret.txt', 'css/../../secret.txt', '..%2fsecret.txt',
                    '%2e%2e/secret.txt', '..\\secret.txt', 'css\\..\\..\\secret.txt',
                    '/' + os.path.join(self.folder, 'secret.txt'), os.path.join(self.folder,
                                                                             'secret.txt'),
                    'data.txt\x00.png', '../public/../secret.txt', '....//secret.txt']
        for attempt in attempts:
            answer = self.serve(attempt)
            self.assertIn(answer.status, (403, 404), attempt)
            self.assertNotIn(b'top secret', answer.body, attempt)

    def test_decoded_dot_dot_from_the_url_is_refused(self):
        for path in ('/static/..%2Fsecret.txt', '/static/%2E%2E/secret.txt',
                     '/static/css/%2e%2e/%2e%2e/secret.txt'):
            answer = self.client.get(path)
            self.assertEqual(answer.status, 403, path)
            self.assertNotIn(b'top secret', answer.body)

    def test_symlink_leading_outside_is_refused_but_inside_is_served(self):
        os.symlink(os.path.join(self.folder, 'secret.txt'), os.path.join(self.root, 'link.txt'))
        os.symlink(os.path.join(self.root, 'data.txt'), os.path.join(self.root, 'alias.txt'))
        self.assertEqual(self.client.get('/static/link.txt').status, 403)
        self.assertEqual(self.client.get('/static/alias.txt').body, CONTENT)

    def test_missing_file_and_folder_are_404(self):
        self.assertEqual(self.client.get('/static/nope.txt').status, 404)
        self.assertEqual(self.client.get('/static/css').status, 404)

    def test_if_none_match_gives_304_without_body(self):
        etag = self.client.get('/static/data.txt').headers['ETag']
        for value in (etag, 'W/' + etag, '"other", ' + etag, '*'):
            answer = self.client.get('/static/data.txt', headers={'If-None-Match': value})
            self.assertEqual((answer.status, answer.body), (304, b''), value)
            self.assertEqual(answer.headers['ETag'], etag)
            self.assertNotIn('Content-Type', answer.headers)
        answer = self.client.get('/static/data.txt', headers={'If-None-Match': '"stale"'})
        self.assertEqual(answer.status, 200)

    def test_if_modified_since_gives_304_until_the_file_changes(self):
        answer = self.client.get('/static/data.txt', headers={
            'If-Modified-Since': http_date(1700000000)})
        self.assertEqual(answer.status, 304)
        answer = self.client.get('/static/data.txt', headers={
            'If-Modified-Since': http_date(1600000000)})
        self.assertEqual(answer.status, 200)
        answer = self.client.get('/static/data.txt', headers={'If-Modified-Since': 'garbage'})
        self.assertEqual(answer.status, 200)

    def test_range_gives_206_with_content_range(self):
        cases = {'bytes=0-3': (b'0123', 'bytes 0-3/20'), 'bytes=15-': (b'fghij', 'bytes 15-19/20'),
                 'bytes=-3': (b'hij', 'bytes 17-19/20'), 'bytes=18-100': (b'ij', 'bytes 18-19/20')}
        for header, (body, content_range) in cases.items():
            answer = self.client.get('/static/data.txt', headers={'Range': header})
            self.assertEqual(answer.status, 206, header)
            self.assertEqual(answer.body, body)
            self.assertEqual(answer.headers['Content-Range'], content_range)
            self.assertEqual(answer.headers['Content-Length'], str(len(body)))

    def test_unsatisfiable_range_is_416(self):
        answer = self.client.get('/static/data.txt', headers={'Range': 'bytes=20-30'})
        self.assertEqual(answer.status, 416)
        self.assertEqual(answer.headers['Content-Range'], 'bytes */20')

    def test_malformed_or_multiple_ranges_serve_the_whole_file(self):
        for header in ('bytes=5-2', 'items=0-1', 'bytes=a-b', 'bytes=0-1,4-5'):
            answer = self.client.get('/static/data.txt', headers={'Range': header})
            self.assertEqual((answer.status, answer.body), (200, CONTENT), header)

    def test_if_range_with_a_stale_etag_serves_the_whole_file(self):
        etag = self.client.get('/static/data.txt').headers['ETag']
        answer = self.client.get('/static/data.txt', headers={'Range': 'bytes=0-1',
                                                              'If-Range': etag})
        self.assertEqual(answer.status, 206)
        answer = self.client.get('/static/data.txt', headers={'Range': 'bytes=0-1',
                                                              'If-Range': '"old"'})
        self.assertEqual(answer.status, 200)

    def test_head_gives_the_length_without_the_body(self):
        answer = self.client.head('/static/data.txt')
        self.assertEqual((answer.status, answer.body, answer.headers['Content-Length']),
                         (200, b'', '20'))


if __name__ == '__main__':
    unittest.main()
