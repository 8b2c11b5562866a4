"""Security corpora, without a browser: path traversal against /<app>/assets/ on a live server
(raw sockets, so that paths reach it unnormalised) and against static_file() directly; the
session cookie's attributes, tampered/expired cookies, CSRF and error pages, on the live server
and through TestClient.

These take a few seconds, so they run with the ordinary tests (no KOKOROPY_E2E needed):

    python3 -m unittest tests.e2e.test_security -v
"""
import os
import re
import shutil
import socket
import sys
import tempfile
import time
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402
from kokoropy import (Kokoro, TestClient, csrf_input, request, sign_value,  # noqa: E402
                      static_file)

from .test_browser import Project  # noqa: E402

SECRET = 'the test secret'
MAX_AGE = 3600
ALLOWED_REFUSALS = (400, 403, 404)
OUTSIDE_NAME = 'outside-secret.txt'      # applications/example/, just outside assets/
ROOT_NAME = 'root-secret.txt'            # the project folder, three levels above assets/
PASSWD_MARK = 'root:x:0:0'

# Requests for /example/assets/<target>: written raw on the socket, never normalised.
# Each must be refused (400/403/404) and never show a secret. ABS is the project folder.
TRAVERSAL_TARGETS = [
    '../' + OUTSIDE_NAME,
    '../../../' + ROOT_NAME,
    '../../../.runtime/secret',
    'images/../../' + OUTSIDE_NAME,
    './../' + OUTSIDE_NAME,
    '%2e%2e/' + OUTSIDE_NAME,
    '%2E%2E/' + OUTSIDE_NAME,
    '.%2e/' + OUTSIDE_NAME,
    '%2e%2e%2f' + OUTSIDE_NAME,
    '..%2f' + OUTSIDE_NAME,
    '..%2F..%2F..%2F' + ROOT_NAME,
    'images/%2e%2e%2f%2e%2e%2f' + OUTSIDE_NAME,
    '%252e%252e/' + OUTSIDE_NAME,
    '%252e%252e%252f' + OUTSIDE_NAME,
    '..%252f' + OUTSIDE_NAME,
    '..%5c' + OUTSIDE_NAME,
    '%2e%2e%5c' + OUTSIDE_NAME,
    '..\\' + OUTSIDE_NAME,
    'images\\..\\..\\' + OUTSIDE_NAME,
    '%5c..%5c..%5c' + OUTSIDE_NAME,
    '/etc/passwd',
    '%2fetc%2fpasswd',
    '../../../../../../../../../../etc/passwd',
    '%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    'ABS/' + ROOT_NAME,
    'file:///etc/passwd',
    'leak.txt',                                 # a symlink to ../outside-secret.txt
    'updir/' + OUTSIDE_NAME,                    # a symlink to .. (a folder)
    'slash/etc/passwd',                         # a symlink to /
    '../' + OUTSIDE_NAME + '%00.svg',
    'images/pikachu.svg%00/../../' + OUTSIDE_NAME,
    '%00',
    'C:\\Windows\\win.ini',
    'C:%5cWindows%5cwin.ini',
    'c:/windows/win.ini',
    'C%3A%5C..%5C' + OUTSIDE_NAME,
    '\\\\server\\share\\' + OUTSIDE_NAME,
    '%c0%ae%c0%ae/' + OUTSIDE_NAME,             # overlong UTF-8 dots
    '%e2%80%a4%e2%80%a4/' + OUTSIDE_NAME,       # U+2024 ONE DOT LEADER
    '%ef%bc%8e%ef%bc%8e/' + OUTSIDE_NAME,       # U+FF0E FULLWIDTH FULL STOP
    '..%ef%bc%8f' + OUTSIDE_NAME,               # U+FF0F FULLWIDTH SOLIDUS
    '%e2%80%a5/' + OUTSIDE_NAME,                # U+2025 TWO DOT LEADER
    '....//' + OUTSIDE_NAME,
    '.../' + OUTSIDE_NAME,
    '..;/' + OUTSIDE_NAME,
    'images/' + 'a/' * 1200 + '../' * 1203 + OUTSIDE_NAME,     # about 6 KB
    '../' * 2500 + 'etc/passwd',                                # about 7.5 KB
]

# Names given to static_file(name, root) by application code: already decoded.
STATIC_FILE_NAMES = [
    '../' + OUTSIDE_NAME, '../../../' + ROOT_NAME, 'images/../../' + OUTSIDE_NAME,
    './../' + OUTSIDE_NAME, '/../' + OUTSIDE_NAME, '..', '../', '.', '',
    '..\\' + OUTSIDE_NAME, 'images\\..\\..\\' + OUTSIDE_NAME, '\\etc\\passwd',
    '/etc/passwd', '//etc/passwd', 'ABS/' + ROOT_NAME, 'ABS/applications/example/' + OUTSIDE_NAME,
    'leak.txt', 'updir/' + OUTSIDE_NAME, 'slash/etc/passwd', 'updir/assets/../' + OUTSIDE_NAME,
    '\x00', '../' + OUTSIDE_NAME + '\x00.svg', 'images/pikachu.svg\x00',
    'C:\\Windows\\win.ini', 'c:/windows/win.ini', 'C:' + OUTSIDE_NAME, 'C:../' + OUTSIDE_NAME,
    '\\\\server\\share', '\u2024\u2024/' + OUTSIDE_NAME, '\uff0e\uff0e/' + OUTSIDE_NAME,
    '..\uff0f' + OUTSIDE_NAME, '\u2025/' + OUTSIDE_NAME, '%2e%2e/' + OUTSIDE_NAME,
    '....//' + OUTSIDE_NAME, 'a/' * 5000 + '../' * 5001 + OUTSIDE_NAME, 'x' * 5000,
    'images/' * 2000 + 'pikachu.svg',
]


def raw_request(port, request_bytes):
    """Send bytes as they are, read the whole answer (Connection: close): (status, body)."""
    with socket.create_connection(('127.0.0.1', port), timeout=15) as sock:
        sock.sendall(request_bytes)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    answer = b''.join(chunks)
    head, _, body = answer.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(':')
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    return int(lines[0].split()[1]), headers, body


def raw_get(port, target, headers=()):
    head = 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n' % (target, port)
    head += ''.join('%s: %s\r\n' % pair for pair in headers)
    return raw_request(port, (head + '\r\n').encode('utf-8', 'surrogateescape'))


def cookie_attributes(set_cookie):
    """{'name', 'value', and each attribute lower-cased: value or True} of one Set-Cookie."""
    pieces = [piece.strip() for piece in set_cookie.split(';')]
    name, _, value = pieces[0].partition('=')
    found = {'name': name, 'value': value}
    for piece in pieces[1:]:
        key, has_value, setting = piece.partition('=')
        found[key.lower()] = setting if has_value else True
    return found


def session_cookie(headers):
    """The attributes of the session's Set-Cookie among response headers (a list), or None."""
    for header in headers:
        if header.startswith(kokoropy.SESSION_COOKIE_NAME + '='):
            return cookie_attributes(header)
    return None


def place_secrets(project_folder):
    """Put secret files just outside the example app's assets and links leading out of them;
    return {file name: content}."""
    example = os.path.join(project_folder, 'applications', 'example')
    assets = os.path.join(example, 'assets')
    contents = {OUTSIDE_NAME: 'OUTSIDE-SECRET-%s' % os.urandom(8).hex(),
                ROOT_NAME: 'ROOT-SECRET-%s' % os.urandom(8).hex()}
    for folder, name in ((example, OUTSIDE_NAME), (project_folder, ROOT_NAME)):
        with open(os.path.join(folder, name), 'w') as file:
            file.write(contents[name])
    os.symlink(os.path.join('..', OUTSIDE_NAME), os.path.join(assets, 'leak.txt'))
    os.symlink('..', os.path.join(assets, 'updir'))
    os.symlink('/', os.path.join(assets, 'slash'))
    os.symlink(os.path.join('images', 'pikachu.svg'), os.path.join(assets, 'alias.svg'))
    return contents


class TraversalOnTheLiveServer(unittest.TestCase):
    """Raw requests for /example/assets/<corpus> on `python rossian.py start`."""

    @classmethod
    def setUpClass(cls):
        cls.project = Project()
        try:
            cls.secrets = place_secrets(cls.project.folder)
            cls.port = int(cls.project.start().rsplit(':', 1)[1])
            raw_get(cls.port, '/example/session')     # creates .runtime/secret
            with open(os.path.join(cls.project.folder, '.runtime', 'secret')) as file:
                cls.secrets['.runtime/secret'] = file.read().strip()
        except Exception:
            cls.project.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.project.remove()

    def assert_no_secret_in(self, body, case):
        text = body.decode('utf-8', 'replace')
        for name, content in self.secrets.items():
            self.assertNotIn(content, text, 'the content of %s leaked for %r' % (name, case))
        self.assertNotIn(PASSWD_MARK, text, '/etc/passwd leaked for %r' % (case,))
        self.assertNotIn('Traceback', text, case)

    def test_corpus_has_at_least_30_cases(self):
        self.assertGreaterEqual(len(TRAVERSAL_TARGETS), 30)

    def test_every_traversal_request_is_refused_and_leaks_nothing(self):
        answers = {}
        for target in TRAVERSAL_TARGETS:
            target = target.replace('ABS', self.project.folder.lstrip('/'))
            status, _, body = raw_get(self.port, '/example/assets/' + target)
            answers[target[:60]] = status
            self.assert_no_secret_in(body, target)
        refused_otherwise = {target: status for target, status in answers.items()
                             if status not in ALLOWED_REFUSALS}
        self.assertEqual(refused_otherwise, {})

    def test_traversal_in_absolute_form_request_targets_is_refused(self):
        for target in ('../' + OUTSIDE_NAME, '%2e%2e/' + OUTSIDE_NAME, 'leak.txt'):
            url = 'http://127.0.0.1:%d/example/assets/%s' % (self.port, target)
            status, _, body = raw_get(self.port, url)
            self.assertIn(status, ALLOWED_REFUSALS, url)
            self.assert_no_secret_in(body, url)

    def test_traversal_before_the_assets_folder_reaches_no_file(self):
        for path in ('/example/../example/' + OUTSIDE_NAME, '/example/%2e%2e/' + ROOT_NAME,
                     '/%2e%2e/' + ROOT_NAME, '/../../etc/passwd', '/example/assets/../../../'
                     'example/assets/../' + OUTSIDE_NAME, '/index/assets/../../example/'
                     + OUTSIDE_NAME):
            status, _, body = raw_get(self.port, path)
            self.assertIn(status, ALLOWED_REFUSALS, path)
            self.assert_no_secret_in(body, path)

    def test_paths_longer_than_the_request_line_limit_get_414(self):
        for target in ('a/' * 5000 + '../' * 5003 + OUTSIDE_NAME, '../' * 20000 + 'etc/passwd'):
            status, _, body = raw_get(self.port, '/example/assets/' + target)
            self.assertEqual(status, 414)      # RFC 9110 section 15.5.15: URI Too Long
            self.assert_no_secret_in(body, target[:40])

    def test_files_inside_the_root_are_still_served_after_the_corpus(self):
        for target in TRAVERSAL_TARGETS[:10]:
            raw_get(self.port, '/example/assets/' + target)
        status, headers, body = raw_get(self.port, '/example/assets/images/pikachu.svg')
        self.assertEqual(status, 200)
        self.assertEqual([value.lower() for value in headers['content-type']],
                         ['image/svg+xml; charset=utf-8'])    # charset names: any case
        self.assertIn(b'<svg', body)
        # A symlink that stays inside the root is fine: the check is where it leads.
        self.assertEqual(raw_get(self.port, '/example/assets/alias.svg')[2], body)


class TraversalThroughStaticFile(unittest.TestCase):
    """static_file(name, root) called directly with names an application might pass on."""

    def setUp(self):
        self.project = tempfile.mkdtemp(prefix='kokoropy-static-')
        self.addCleanup(shutil.rmtree, self.project, ignore_errors=True)
        self.root = os.path.join(self.project, 'applications', 'example', 'assets')
        os.makedirs(os.path.join(self.root, 'images'))
        with open(os.path.join(self.root, 'images', 'pikachu.svg'), 'w') as file:
            file.write('<svg></svg>')
        self.secrets = place_secrets(self.project)

    def test_corpus_has_at_least_30_cases(self):
        self.assertGreaterEqual(len(STATIC_FILE_NAMES), 30)

    def test_every_name_outside_the_root_gives_an_error_never_the_file(self):
        escapes = {}
        for name in STATIC_FILE_NAMES:
            name = name.replace('ABS', self.project)
            answer = static_file(name, self.root)
            body = self.read_body(answer)
            if answer.status_code not in ALLOWED_REFUSALS or any(
                    secret in body for secret in self.secrets.values()) or PASSWD_MARK in body:
                escapes[name[:60]] = (answer.status_code, body[:60])
        self.assertEqual(escapes, {})

    def test_names_inside_the_root_are_served(self):
        for name in ('images/pikachu.svg', '/images/pikachu.svg', 'images/./pikachu.svg',
                     'images/../images/pikachu.svg', 'alias.svg'):
            answer = static_file(name, self.root)
            self.assertEqual((answer.status_code, self.read_body(answer)), (200, '<svg></svg>'),
                             name)

    @staticmethod
    def read_body(answer):
        body = answer.body
        if hasattr(body, 'read'):
            try:
                return body.read().decode('utf-8', 'replace')
            finally:
                body.close()
        return body if isinstance(body, str) else bytes(body or b'').decode('utf-8', 'replace')


def make_app(**config):
    """A small application with a session counter, a form, an HTML page and a failing page."""
    app = Kokoro(secret=SECRET, session_max_age=MAX_AGE, **config)

    @app.get('/count')
    def count():
        visits = request.session.get('visits', 0) + 1
        request.session['visits'] = visits
        return 'visits=%d' % visits

    @app.get('/page')
    def page():
        return '<!DOCTYPE html><title>Page</title><p>A page.</p>'

    @app.get('/form')
    def form():
        return '<form method="post">%s<button>Send</button></form>' % csrf_input()

    @app.route('/form', method=['POST', 'PUT', 'PATCH', 'DELETE'])
    def submit():
        return 'accepted'

    @app.get('/boom')
    def boom():
        raise ValueError('the database password is hunter2')

    return app


class SessionCookieAttributes(unittest.TestCase):

    def set_cookie_of(self, client, path='/count', **options):
        answer = client.get(path, **options)
        self.assertEqual(answer.status, 200, answer.text)
        return session_cookie(answer.headers.getall('Set-Cookie'))

    def test_session_cookie_is_httponly_samesite_lax_and_scoped_to_the_site(self):
        cookie = self.set_cookie_of(TestClient(make_app()))
        self.assertIs(cookie['httponly'], True)
        self.assertEqual((cookie['samesite'], cookie['path']), ('Lax', '/'))
        self.assertNotIn('secure', cookie)
        self.assertEqual(cookie['max-age'], str(MAX_AGE))

    def test_session_cookie_is_secure_over_https(self):
        cookie = self.set_cookie_of(TestClient(make_app(), scheme='https'))
        self.assertIs(cookie['secure'], True)

    def test_session_cookie_is_secure_behind_a_trusted_https_proxy_only(self):
        proto = {'headers': {'X-Forwarded-Proto': 'https'}}
        trusted = self.set_cookie_of(TestClient(make_app(trusted_proxies=1)), **proto)
        self.assertIs(trusted['secure'], True)
        untrusted = self.set_cookie_of(TestClient(make_app()), **proto)
        self.assertNotIn('secure', untrusted)

    def test_session_cookie_path_is_the_base_path(self):
        cookie = self.set_cookie_of(TestClient(make_app(base_url='/site/')), '/site/count')
        self.assertEqual(cookie['path'], '/site/')
        mounted = self.set_cookie_of(TestClient(make_app()), environ={'SCRIPT_NAME': '/mount'})
        self.assertEqual(mounted['path'], '/mount/')


class ForgedSessionCookies(unittest.TestCase):
    """Every cookie the server did not sign, or signed too long ago, gives an empty session."""

    def setUp(self):
        self.app = make_app()
        client = TestClient(self.app)
        for _ in range(3):
            client.get('/count')
        self.valid = client.cookie_jar[(kokoropy.SESSION_COOKIE_NAME, '/')]['value']

    def visits_with(self, token):
        client = TestClient(self.app)
        answer = client.get('/count', headers={'Cookie': '%s=%s' % (
            kokoropy.SESSION_COOKIE_NAME, token)})
        self.assertEqual(answer.status, 200, answer.text)
        return answer.text

    def signed(self, payload, secret=SECRET, timestamp=None):
        return sign_value(payload, secret, timestamp=timestamp)

    def test_the_genuine_cookie_and_a_freshly_signed_one_are_accepted(self):
        self.assertEqual(self.visits_with(self.valid), 'visits=4')
        self.assertEqual(self.visits_with(self.signed(b'{"visits": 41}')), 'visits=42')

    def test_tampered_cookies_give_an_empty_session(self):
        payload, stamp, mac = self.valid.split('.')
        flip = {'A': 'B'}
        tampered = [
            self.valid[:3] + flip.get(self.valid[3], 'A') + self.valid[4:],   # payload byte
            '.'.join([payload, stamp, mac[:-2] + ('AA' if mac[-2:] != 'AA' else 'BB')]),
            '.'.join([kokoropy._b64encode(b'{"visits": 41}'), stamp, mac]),   # other payload
            '.'.join([payload, '%x' % (int(stamp, 16) + 1), mac]),          # other timestamp
            '.'.join([payload, stamp]), '.'.join([payload, mac]), payload, mac,
            '.'.join([payload, stamp, mac, mac]), self.valid + 'x', 'x' + self.valid,
            self.valid.upper(), '', '.', '..', '...', '!!!', '%00%ff', 'é.é.é',
        ]
        answers = {token[:40]: self.visits_with(token) for token in tampered}
        self.assertEqual(set(answers.values()), {'visits=1'}, answers)

    def test_truncated_cookies_give_an_empty_session(self):
        cuts = [len(self.valid) - 1, len(self.valid) - 5, len(self.valid) // 2, 10, 1]
        answers = {cut: self.visits_with(self.valid[:cut]) for cut in cuts}
        self.assertEqual(set(answers.values()), {'visits=1'}, answers)

    def test_cookies_signed_with_another_secret_give_an_empty_session(self):
        for secret in ('another secret', SECRET + ' ', SECRET.upper(), ''):
            self.assertEqual(self.visits_with(self.signed(b'{"visits": 41}', secret)),
                             'visits=1', secret)

    def test_cookies_replayed_after_expiry_give_an_empty_session(self):
        old = time.time() - MAX_AGE - 60
        self.assertEqual(self.visits_with(self.signed(b'{"visits": 41}', timestamp=old)),
                         'visits=1')
        recent = time.time() - MAX_AGE + 60
        self.assertEqual(self.visits_with(self.signed(b'{"visits": 41}', timestamp=recent)),
                         'visits=42')

    def test_signed_cookies_that_are_not_a_json_object_give_an_empty_session(self):
        for payload in (b'[1, 2]', b'"text"', b'41', b'null', b'{bad json', b'\xff\xfe'):
            self.assertEqual(self.visits_with(self.signed(payload)), 'visits=1', payload)


class CsrfProtection(unittest.TestCase):

    def setUp(self):
        self.client = TestClient(make_app())
        page = self.client.get('/form')
        self.token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    def test_form_posts_without_a_valid_token_are_refused(self):
        other = TestClient(make_app())
        other_token = re.search(r'value="([^"]+)"', other.get('/form').text).group(1)
        for fields in ({}, {'csrf_token': ''}, {'csrf_token': 'guess'},
                       {'csrf_token': other_token}, {'csrf_token': self.token[:-1]}):
            answer = self.client.post('/form', data=dict(fields, name='x'))
            self.assertEqual(answer.status, 403, fields)
            self.assertNotIn('accepted', answer.text)

    def test_every_unsafe_method_and_form_encoding_needs_the_token(self):
        for method in ('POST', 'PUT', 'PATCH', 'DELETE'):
            self.assertEqual(self.client.request(method, '/form', data={'a': '1'}).status, 403)
        multipart = self.client.post('/form', data={'a': '1'},
                                     files={'f': ('a.txt', b'x', 'text/plain')})
        self.assertEqual(multipart.status, 403)
        plain = self.client.post('/form', data='a=1', headers={'Content-Type': 'text/plain'})
        self.assertEqual(plain.status, 403)

    def test_form_posts_with_the_token_are_accepted(self):
        answer = self.client.post('/form', data={'csrf_token': self.token, 'name': 'x'})
        self.assertEqual((answer.status, answer.text), (200, 'accepted'))
        header = self.client.post('/form', data={'name': 'x'},
                                  headers={'X-CSRF-Token': self.token})
        self.assertEqual((header.status, header.text), (200, 'accepted'))

    def test_a_token_without_its_session_cookie_is_refused(self):
        stranger = TestClient(make_app())
        answer = stranger.post('/form', data={'csrf_token': self.token})
        self.assertEqual(answer.status, 403)


class ErrorPagesAndHeaders(unittest.TestCase):

    def assert_html_is_protected(self, answer):
        self.assertEqual(answer.headers.get('X-Content-Type-Options'), 'nosniff')
        frame_options = answer.headers.get('X-Frame-Options', '').upper()
        policy = answer.headers.get('Content-Security-Policy', '')
        self.assertTrue(frame_options in ('DENY', 'SAMEORIGIN') or 'frame-ancestors' in policy,
                        answer.headers)

    def test_html_pages_and_error_pages_carry_nosniff_and_frame_options(self):
        client = TestClient(make_app())
        for path, status in (('/page', 200), ('/form', 200), ('/missing', 404),
                             ('/boom', 500)):
            answer = client.get(path)
            self.assertEqual(answer.status, status, path)
            self.assertTrue(answer.headers['Content-Type'].startswith('text/html'), path)
            self.assert_html_is_protected(answer)
        refused = client.post('/form', data={'a': '1'})
        self.assertEqual(refused.status, 403)
        self.assert_html_is_protected(refused)
        self.assert_html_is_protected(client.request('PUT', '/page'))   # 405

    def test_error_pages_show_no_traceback_outside_debug(self):
        client = TestClient(make_app())
        for headers in ({}, {'Accept': 'application/json'}):
            answer = client.get('/boom', headers=headers)
            self.assertEqual(answer.status, 500)
            for leak in ('Traceback', 'hunter2', 'ValueError', 'test_security', 'File "'):
                self.assertNotIn(leak, answer.text, headers)
        self.assertNotIn('traceback', client.get(
            '/boom', headers={'Accept': 'application/json'}).json['error'])

    def test_debug_mode_does_show_the_traceback(self):
        answer = TestClient(make_app(debug=True)).get('/boom')
        self.assertEqual(answer.status, 500)
        self.assertIn('Traceback', answer.text)
        self.assertIn('hunter2', answer.text)


class SecurityOnTheLiveServer(unittest.TestCase):
    """The same promises on the wire, from `python rossian.py start` (TRUSTED_PROXIES=1)."""

    @classmethod
    def setUpClass(cls):
        cls.project = Project()
        cls.project.environment['KOKOROPY_TRUSTED_PROXIES'] = '1'
        try:
            cls.port = int(cls.project.start().rsplit(':', 1)[1])
        except Exception:
            cls.project.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        log = cls.project.stop()
        cls.project.remove()
        if 'Traceback' in log:
            raise AssertionError('the server logged a traceback:\n' + log)

    def get(self, path, cookie=None, headers=()):
        headers = list(headers) + ([('Cookie', cookie)] if cookie else [])
        return raw_get(self.port, path, headers)

    def post_form(self, path, body, cookie):
        data = body.encode()
        head = ('POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n'
                'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n'
                'Cookie: %s\r\n\r\n' % (path, self.port, len(data), cookie))
        return raw_request(self.port, head.encode() + data)

    def start_session(self):
        status, headers, body = self.get('/example/session')
        self.assertEqual(status, 200)
        cookie = session_cookie(headers['set-cookie'])
        token = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()
        return '%s=%s' % (cookie['name'], cookie['value']), token, cookie

    def test_session_cookie_attributes_on_the_wire(self):
        _, _, cookie = self.start_session()
        self.assertIs(cookie['httponly'], True)
        self.assertEqual((cookie['samesite'], cookie['path']), ('Lax', '/'))
        self.assertNotIn('secure', cookie)
        _, headers, _ = self.get('/example/session', headers=[('X-Forwarded-Proto', 'https')])
        self.assertIs(session_cookie(headers['set-cookie'])['secure'], True)

    def test_html_pages_carry_nosniff_and_frame_options(self):
        for path in ('/', '/example/session', '/example/nothing-here'):
            _, headers, _ = self.get(path)
            self.assertEqual(headers.get('x-content-type-options'), ['nosniff'], path)
            self.assertIn(headers.get('x-frame-options'), (['SAMEORIGIN'], ['DENY']), path)

    def test_forged_session_cookies_give_an_empty_session_not_an_error(self):
        cookie, _, _ = self.start_session()
        status, _, body = self.get('/example/session', cookie)
        self.assertIn(b'<strong>2</strong> times', body)
        name, _, token = cookie.partition('=')
        forged = [token[:-3], token[:len(token) // 2], token.replace('.', '!', 1),
                  sign_value(b'{"visits": 99}', 'not the secret'),
                  'e30.1.' + token.rsplit('.', 1)[1], 'garbage']
        for value in forged:
            status, _, body = self.get('/example/session', '%s=%s' % (name, value))
            self.assertEqual(status, 200, value)
            self.assertIn(b'<strong>1</strong> time ', body, value)

    def test_csrf_on_the_wire_and_no_traceback_in_refusals(self):
        cookie, token, _ = self.start_session()
        status, _, body = self.post_form('/example/session', 'name=Ann', cookie)
        self.assertEqual(status, 403)
        self.assertNotIn(b'Traceback', body)
        status, headers, _ = self.post_form('/example/session',
                                            'name=Ann&csrf_token=' + token, cookie)
        self.assertEqual((status, headers['location']), (303, ['/example/session']))
        status, _, body = raw_request(self.port, (
            'POST /example/api/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n'
            'Content-Type: application/json\r\nContent-Length: 8\r\n\r\n{"broken').encode())
        self.assertEqual(status, 400)
        self.assertNotIn(b'Traceback', body)

    def test_body_less_and_cross_site_posts_are_refused_on_the_wire(self):
        cookie, token, _ = self.start_session()
        for extra in ('', 'Content-Type: application/json\r\n',
                      'Content-Type: text/xml\r\nX-CSRF-Token: wrong\r\n'):
            status, _, body = raw_request(self.port, (
                'POST /example/session/reset HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n'
                'Connection: close\r\nContent-Length: 0\r\n%sCookie: %s\r\n\r\n'
                % (self.port, extra, cookie)).encode())
            self.assertEqual(status, 403, extra)
            self.assertNotIn(b'Traceback', body)
        status, _, body = raw_request(self.port, (
            'POST /example/session/reset HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n'
            'Connection: close\r\nContent-Length: 0\r\nX-CSRF-Token: %s\r\n'
            'Origin: http://evil.example\r\nCookie: %s\r\n\r\n'
            % (self.port, token, cookie)).encode())
        self.assertEqual(status, 403)
        self.assertIn(b'came from another site', body)
        status, headers, _ = raw_request(self.port, (
            'POST /example/session/reset HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n'
            'Connection: close\r\nContent-Length: 0\r\nX-CSRF-Token: %s\r\n'
            'Origin: http://127.0.0.1:%d\r\nSec-Fetch-Site: same-origin\r\nCookie: %s\r\n\r\n'
            % (self.port, token, self.port, cookie)).encode())
        self.assertEqual((status, headers['location']), (303, ['/example/session']))


if __name__ == '__main__':
    unittest.main()
