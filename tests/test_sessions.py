"""Tests for section 6: signed-cookie sessions, flash messages and CSRF."""
import json
import os
import shutil
import stat
import sys
import tempfile
import time
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kokoropy  # noqa: E402
from kokoropy import (Kokoro, TestClient, csrf_exempt, csrf_input, csrf_token, flash,  # noqa: E402
                      get_flashed_messages, get_secret, request, sign_value, unsign_value)

SECRET = 'test-secret'
COOKIE = 'kokoropy.session'


def make_app(**config):
    """An app with a counter, a flash pair, a form protected by CSRF and an exempt route."""
    config.setdefault('project_path', tempfile.mkdtemp())
    config.setdefault('secret', SECRET)
    app = Kokoro(**config)
    app.project = config['project_path']

    @app.get('/plain')
    def plain():
        return 'plain'

    @app.get('/count')
    def count():
        request.session['n'] = request.session.get('n', 0) + 1
        return str(request.session['n'])

    @app.get('/peek')
    def peek():
        return json.dumps(dict(request.session), sort_keys=True)

    @app.get('/flash')
    def add_flash():
        flash('Saved.', 'success')
        flash('Plain.')
        return 'ok'

    @app.get('/messages')
    def messages():
        return json.dumps(get_flashed_messages(with_categories=True))

    @app.get('/form')
    def form():
        return '<form method="post">%s</form>' % csrf_input()

    @app.get('/token')
    def token():
        return csrf_token()

    @app.route('/form', ['POST', 'PUT', 'PATCH', 'DELETE'])
    def submit():
        return 'accepted %s' % request.forms.get('name', '')

    @app.post('/hook')
    @csrf_exempt
    def webhook():
        return 'exempt'

    @app.get('/clear')
    def clear():
        request.session.clear()
        return 'cleared'

    @app.get('/big')
    def big():
        request.session['blob'] = 'x' * 5000
        return 'big'

    return app


class SessionTest(unittest.TestCase):
    def setUp(self):
        self.app = make_app()
        self.addCleanup(shutil.rmtree, self.app.project)
        self.client = TestClient(self.app)

    def session_header(self, answer):
        return [h for h in answer.headers.getall('Set-Cookie') if h.startswith(COOKIE + '=')]

    def test_session_survives_round_trip(self):
        self.assertEqual(self.client.get('/count').text, '1')
        self.assertEqual(self.client.get('/count').text, '2')
        self.assertEqual(self.client.get('/count').text, '3')

    def test_cookie_flags(self):
        header = self.session_header(self.client.get('/count'))[0]
        attributes = [part.strip().lower() for part in header.split(';')[1:]]
        self.assertIn('httponly', attributes)
        self.assertIn('samesite=lax', attributes)
        self.assertIn('path=/', attributes)
        self.assertIn('max-age=%d' % (14 * 24 * 3600), attributes)
        self.assertNotIn('secure', attributes)

    def test_cookie_is_secure_over_https(self):
        client = TestClient(self.app, scheme='https')
        header = self.session_header(client.get('/count'))[0]
        self.assertIn('secure', [part.strip().lower() for part in header.split(';')])

    def test_cookie_path_is_the_site_prefix(self):
        answer = self.client.get('/count', environ={'SCRIPT_NAME': '/site'})
        self.assertIn('Path=/site/', self.session_header(answer)[0])

    def test_cookie_payload_is_signed_json(self):
        self.client.get('/count')
        token = self.client.cookie_jar[(COOKIE, '/')]['value']
        self.assertEqual(json.loads(unsign_value(token, SECRET).decode()), {'n': 1})

    def test_unmodified_session_sends_no_cookie(self):
        self.client.get('/count')
        self.assertEqual(self.session_header(self.client.get('/peek')), [])

    def test_session_not_used_sends_no_cookie(self):
        self.client.get('/count')
        answer = self.client.get('/plain')
        self.assertEqual((answer.text, self.session_header(answer)), ('plain', []))

    def test_tampered_cookie_gives_empty_session(self):
        self.client.get('/count')
        token = self.client.cookie_jar[(COOKIE, '/')]['value']
        payload, stamp, mac = token.split('.')
        forged = kokoropy._b64encode(b'{"n":41}')
        for bad in ['%s.%s.%s' % (forged, stamp, mac), token[:-3] + 'abc', token[:20], 'junk',
                    '', '...', sign_value(b'{"n":41}', 'another-secret')]:
            answer = self.client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, bad)})
            self.assertEqual((answer.status, answer.text), (200, '{}'), bad)

    def test_signed_non_object_payload_gives_empty_session(self):
        for payload in [b'[1, 2]', b'not json', b'\xff\xfe']:
            token = sign_value(payload, SECRET)
            answer = self.client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, token)})
            self.assertEqual(answer.text, '{}')

    def test_expired_cookie_gives_empty_session(self):
        old = sign_value(b'{"n": 5}', SECRET, timestamp=time.time() - 15 * 24 * 3600)
        answer = self.client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, old)})
        self.assertEqual(answer.text, '{}')
        recent = sign_value(b'{"n": 5}', SECRET, timestamp=time.time() - 3600)
        answer = self.client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, recent)})
        self.assertEqual(answer.text, '{"n": 5}')

    def test_session_max_age_setting(self):
        app = make_app(session_max_age=60)
        self.addCleanup(shutil.rmtree, app.project)
        client = TestClient(app)
        old = sign_value(b'{"n": 5}', SECRET, timestamp=time.time() - 61)
        self.assertEqual(client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, old)}).text,
                         '{}')
        self.assertIn('Max-Age=60', client.get('/count').headers['Set-Cookie'])

    def test_zero_max_age_makes_a_browser_session_cookie(self):
        app = make_app(session_max_age=0)
        self.addCleanup(shutil.rmtree, app.project)
        client = TestClient(app)
        self.assertNotIn('max-age', client.get('/count').headers['Set-Cookie'].lower())
        old = sign_value(b'{"n": 5}', SECRET, timestamp=time.time() - 400 * 24 * 3600)
        self.assertEqual(client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, old)}).text,
                         '{"n": 5}')

    def test_old_but_valid_session_is_sent_again(self):
        old = sign_value(b'{"n": 5}', SECRET, timestamp=time.time() - 8 * 24 * 3600)
        answer = self.client.get('/peek', headers={'Cookie': '%s=%s' % (COOKIE, old)})
        self.assertEqual(len(self.session_header(answer)), 1)

    def test_cleared_session_deletes_the_cookie(self):
        self.client.get('/count')
        answer = self.client.get('/clear')
        self.assertIn('Max-Age=0', self.session_header(answer)[0])
        self.assertNotIn((COOKIE, '/'), self.client.cookie_jar)

    def test_oversized_session_is_an_error_in_debug(self):
        app = make_app(debug=True)
        self.addCleanup(shutil.rmtree, app.project)
        answer = TestClient(app).get('/big')
        self.assertEqual(answer.status, 500)
        self.assertIn('keep ids, not records', answer.text)

    def test_oversized_session_is_logged_and_not_sent_outside_debug(self):
        with self.assertLogs('kokoropy', level='WARNING') as logs:
            answer = self.client.get('/big')
        self.assertEqual((answer.status, self.session_header(answer)), (200, []))
        self.assertIn('session was not saved', logs.output[0])


class SecretTest(unittest.TestCase):
    def setUp(self):
        self.project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.project)
        env = {k: v for k, v in os.environ.items() if k != 'KOKOROPY_SECRET'}
        patcher = mock.patch.dict(os.environ, env, clear=True)
        patcher.start()
        self.addCleanup(patcher.stop)

    def test_config_secret_comes_first(self):
        os.environ['KOKOROPY_SECRET'] = 'env'
        self.assertEqual(get_secret(Kokoro(secret='conf', project_path=self.project)), 'conf')

    def test_environment_secret_comes_next(self):
        os.environ['KOKOROPY_SECRET'] = 'env'
        self.assertEqual(get_secret(Kokoro(project_path=self.project)), 'env')

    def test_generated_secret_is_written_once_with_mode_600_and_reused(self):
        app = Kokoro(project_path=self.project, runtime_path='run')
        secret = get_secret(app)
        path = os.path.join(self.project, 'run', 'secret')
        with open(path) as f:
            self.assertEqual(f.read().strip(), secret)
        self.assertGreaterEqual(len(secret), 32)
        if os.name == 'posix':
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        kokoropy._secrets_by_file.clear()       # as after a restart
        self.assertEqual(get_secret(Kokoro(project_path=self.project, runtime_path='run')),
                         secret)

    def test_existing_secret_file_is_read(self):
        os.makedirs(os.path.join(self.project, '.runtime'))
        with open(os.path.join(self.project, '.runtime', 'secret'), 'w') as f:
            f.write('from-file\n')
        self.assertEqual(get_secret(Kokoro(project_path=self.project)), 'from-file')

    def test_sessions_work_with_a_generated_secret(self):
        app = make_app(secret=None, project_path=self.project)
        client = TestClient(app)
        client.get('/count')
        self.assertEqual(client.get('/count').text, '2')


class SecretRotationTest(unittest.TestCase):
    def test_the_new_secret_signs_and_the_old_ones_still_verify(self):
        before = make_app(secret='old')
        self.addCleanup(shutil.rmtree, before.project)
        client = TestClient(before)
        client.get('/count')
        client.app = make_app(secret=['new', 'old'], project_path=before.project)
        answer = client.get('/count')
        self.assertEqual(answer.text, '2')
        token = answer.headers['Set-Cookie'].split(';')[0].split('=', 1)[1]
        self.assertIsNotNone(kokoropy.unsign_value(token, 'new'))
        self.assertIsNone(kokoropy.unsign_value(token, 'old'))
        client.app = make_app(secret='new', project_path=before.project)
        self.assertEqual(client.get('/count').text, '3')
        client.app = make_app(secret='other', project_path=before.project)
        self.assertEqual(client.get('/count').text, '1')

    def test_an_empty_list_of_secrets_signs_and_verifies_nothing(self):
        with self.assertRaises(ValueError):
            kokoropy.sign_value(b'x', [])
        self.assertIsNone(kokoropy.unsign_value(kokoropy.sign_value(b'x', 'ok'), []))


class FlashTest(unittest.TestCase):
    def setUp(self):
        self.app = make_app()
        self.addCleanup(shutil.rmtree, self.app.project)
        self.client = TestClient(self.app)

    def test_flashed_messages_are_shown_once(self):
        self.client.get('/flash')
        self.assertEqual(self.client.get('/messages').json,
                         [['success', 'Saved.'], ['info', 'Plain.']])
        self.assertEqual(self.client.get('/messages').json, [])

    def test_reading_no_messages_sends_no_cookie_and_a_session_still_saves(self):
        # A page reading flashed messages from no session takes the fast path: nothing to save.
        answer = self.client.get('/messages')
        self.assertEqual((answer.status, answer.json), (200, []))
        self.assertNotIn('Set-Cookie', answer.headers)
        self.assertEqual(answer.headers['X-Content-Type-Options'], 'nosniff')
        self.client.get('/flash')
        answer = self.client.get('/messages')      # the messages are taken out: saved again
        self.assertEqual(len(answer.json), 2)
        self.assertIn('kokoropy.session=', answer.headers['Set-Cookie'])
        self.assertEqual(self.client.get('/messages').json, [])

        class Custom(kokoropy.SignedCookieSessions):
            is_unchanged = None     # an interface without it is always asked to save

            def save(self, request, response):
                response.set_header('X-Saved', 'yes')
        self.app.session_interface = Custom()
        self.assertEqual(self.client.get('/messages').headers.get('X-Saved'), 'yes')

    def test_a_subclass_overriding_save_alone_is_always_asked_to_save(self):
        # Its save() may send a cookie the inherited is_unchanged() knows nothing of (a
        # sliding expiry, written before is_unchanged() existed): no fast path skips it.
        class Sliding(kokoropy.SignedCookieSessions):
            def save(self, request, response):
                session = request.environ.get('kokoropy.session')
                if session:
                    session.modified = True     # sent again on every page that reads it
                kokoropy.SignedCookieSessions.save(self, request, response)
        self.client.get('/count')
        self.assertNotIn('Set-Cookie', self.client.get('/peek').headers)
        self.app.session_interface = Sliding()
        answer = self.client.get('/peek')
        self.assertEqual(answer.json, {'n': 1})
        self.assertIn('kokoropy.session=', answer.headers.get('Set-Cookie', ''))

        class Both(Sliding):
            def is_unchanged(self, session):    # an interface answering for its own save()
                return True
        self.app.session_interface = Both()
        self.assertNotIn('Set-Cookie', self.client.get('/peek').headers)

    def test_messages_without_categories(self):
        self.app.route('/texts', 'GET', lambda: json.dumps(get_flashed_messages()))
        self.client.get('/flash')
        self.assertEqual(self.client.get('/texts').json, ['Saved.', 'Plain.'])


class CsrfTest(unittest.TestCase):
    def setUp(self):
        self.app = make_app()
        self.addCleanup(shutil.rmtree, self.app.project)
        self.client = TestClient(self.app)
        self.token = self.client.get('/token').text

    def test_csrf_input_holds_the_session_token(self):
        self.assertEqual(self.client.get('/form').text,
                         '<form method="post"><input type="hidden" name="csrf_token" '
                         'value="%s"></form>' % self.token)
        self.assertEqual(self.client.get('/token').text, self.token)

    def test_form_post_with_right_token_is_accepted(self):
        answer = self.client.post('/form', data={'name': 'Ann', 'csrf_token': self.token})
        self.assertEqual((answer.status, answer.text), (200, 'accepted Ann'))

    def test_multipart_post_with_right_token_is_accepted(self):
        answer = self.client.post('/form', data={'name': 'Ann', 'csrf_token': self.token},
                                  files={'f': ('a.txt', b'x', 'text/plain')})
        self.assertEqual((answer.status, answer.text), (200, 'accepted Ann'))

    def test_header_token_is_accepted(self):
        answer = self.client.put('/form', data={'name': 'Bo'},
                                 headers={'X-CSRF-Token': self.token})
        self.assertEqual((answer.status, answer.text), (200, 'accepted Bo'))

    def test_form_post_without_token_is_refused(self):
        answer = self.client.post('/form', data={'name': 'Ann'})
        self.assertEqual(answer.status, 403)
        self.assertIn('Reload the page and try again.', answer.text)

    def test_form_post_with_wrong_token_is_refused(self):
        for method in ('POST', 'PUT', 'PATCH', 'DELETE'):
            answer = self.client.request(method, '/form', data={'csrf_token': 'x' + self.token})
            self.assertEqual(answer.status, 403, method)

    def test_token_from_another_session_is_refused(self):
        other = TestClient(self.app)
        answer = other.post('/form', data={'csrf_token': self.token})
        self.assertEqual(answer.status, 403)

    def test_text_plain_form_is_checked(self):
        answer = self.client.post('/form', data='csrf_token=x',
                                  headers={'Content-Type': 'text/plain'})
        self.assertEqual(answer.status, 403)

    def test_json_post_needs_the_token_too(self):
        answer = self.client.post('/form', json={'name': 'Ann'})
        self.assertEqual(answer.status, 403)
        answer = self.client.post('/form', json={'name': 'Ann'},
                                  headers={'X-CSRF-Token': self.token})
        self.assertEqual((answer.status, answer.text), (200, 'accepted '))

    def test_body_less_unsafe_requests_need_the_token(self):
        for method in ('POST', 'PUT', 'PATCH', 'DELETE'):
            self.assertEqual(self.client.request(method, '/form').status, 403, method)
            self.assertEqual(self.client.request(method, '/form', data=b'',
                                                 headers={'Content-Type': 'application/xml'}
                                                 ).status, 403, method)
            answer = self.client.request(method, '/form', headers={'X-CSRF-Token': self.token})
            self.assertEqual((answer.status, answer.text), (200, 'accepted '), method)

    def test_token_in_the_body_of_a_non_form_is_not_read(self):
        answer = self.client.post('/form', data='csrf_token=' + self.token,
                                  headers={'Content-Type': 'application/octet-stream'})
        self.assertEqual(answer.status, 403)

    def test_route_option_marks_a_route_exempt(self):
        self.app.post('/open', callback=lambda: 'open', csrf_exempt=True)
        answer = TestClient(self.app).post('/open', headers={'Origin': 'http://evil.example'})
        self.assertEqual((answer.status, answer.text), (200, 'open'))

    def test_session_without_a_token_refuses_before_reading_the_body(self):
        def unreadable(*args):
            raise AssertionError('the body was read')
        body = mock.Mock(read=unreadable, readline=unreadable)
        answer = TestClient(self.app).post('/form', data={'csrf_token': 'x'},
                                           environ={'wsgi.input': body})
        self.assertEqual(answer.status, 403)

    def test_cross_site_fetch_metadata_is_refused_even_with_the_token(self):
        for site in ('cross-site', 'same-site', 'Cross-Site'):
            answer = self.client.post('/form', data={'csrf_token': self.token, 'name': 'Ann'},
                                      headers={'Sec-Fetch-Site': site})
            self.assertEqual(answer.status, 403, site)
            self.assertIn('came from another site', answer.text)
        for site in ('same-origin', 'none'):
            answer = self.client.post('/form', data={'csrf_token': self.token, 'name': 'Ann'},
                                      headers={'Sec-Fetch-Site': site})
            self.assertEqual((answer.status, answer.text), (200, 'accepted Ann'), site)

    def test_foreign_origin_is_refused_and_own_origin_accepted(self):
        for origin in ('http://evil.example', 'null', 'http://localhost.evil.example',
                       'http://localhost:8080'):
            answer = self.client.post('/form', data={'csrf_token': self.token},
                                      headers={'Origin': origin})
            self.assertEqual(answer.status, 403, origin)
        for origin in ('http://localhost', 'https://localhost', 'HTTP://LOCALHOST'):
            answer = self.client.post('/form', data={'csrf_token': self.token, 'name': 'Ann'},
                                      headers={'Origin': origin})
            self.assertEqual((answer.status, answer.text), (200, 'accepted Ann'), origin)

    def test_fetch_metadata_wins_over_origin(self):
        answer = self.client.post('/form', data={'csrf_token': self.token, 'name': 'Ann'},
                                  headers={'Origin': 'http://elsewhere',
                                           'Sec-Fetch-Site': 'same-origin'})
        self.assertEqual(answer.status, 200)

    def test_exempt_route_skips_the_origin_check(self):
        answer = TestClient(self.app).post('/hook', headers={'Sec-Fetch-Site': 'cross-site'})
        self.assertEqual((answer.status, answer.text), (200, 'exempt'))


class TestClientCsrfTest(unittest.TestCase):
    """TestClient helps tests through the check: csrf_token() and send_csrf_token=True."""

    def setUp(self):
        self.app = make_app()
        self.addCleanup(shutil.rmtree, self.app.project)

    def test_csrf_token_is_none_until_a_page_makes_one(self):
        client = TestClient(self.app)
        self.assertIsNone(client.csrf_token())
        client.get('/count')
        self.assertIsNone(client.csrf_token())
        token = client.get('/token').text
        self.assertEqual(client.csrf_token(), token)

    def test_send_csrf_token_sends_it_on_every_unsafe_method(self):
        client = TestClient(self.app, send_csrf_token=True)
        client.get('/form')
        for method in ('POST', 'PUT', 'PATCH', 'DELETE'):
            answer = client.request(method, '/form', data={'name': method})
            self.assertEqual((answer.status, answer.text), (200, 'accepted ' + method))
        self.assertEqual(client.post('/form', json={'a': 1}).status, 200)

    def test_send_csrf_token_leaves_a_given_token_alone(self):
        client = TestClient(self.app, send_csrf_token=True)
        client.get('/form')
        self.assertEqual(client.post('/form', data={'csrf_token': 'wrong'}).status, 403)
        self.assertEqual(client.post('/form', headers={'X-CSRF-Token': 'wrong'}).status, 403)

    def test_without_send_csrf_token_nothing_is_added(self):
        client = TestClient(self.app)
        client.get('/form')
        self.assertEqual(client.post('/form', data={'name': 'x'}).status, 403)

    def test_exempt_route_passes(self):
        answer = TestClient(self.app).post('/hook', data={'a': '1'})
        self.assertEqual((answer.status, answer.text), (200, 'exempt'))

    def test_check_can_be_turned_off(self):
        app = make_app(csrf=False)
        self.addCleanup(shutil.rmtree, app.project)
        answer = TestClient(app).post('/form', data={'name': 'Ann'})
        self.assertEqual((answer.status, answer.text), (200, 'accepted Ann'))

    def test_refusal_is_json_for_json_clients(self):
        answer = TestClient(self.app).post('/form', data={'a': 1},
                                           headers={'Accept': 'application/json'})
        self.assertEqual(answer.status, 403)
        self.assertEqual(answer.json['error']['status'], 403)


if __name__ == '__main__':
    unittest.main()
