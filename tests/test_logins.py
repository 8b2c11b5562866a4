"""Section 9b: login_user(), logout_user(), current_user() and end_sessions(); logging out
and changing the password end every earlier session, also copies of the cookie."""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import (AuthEpoch, Boolean, Database, Form, Kokoro, Model, Password,  # noqa: E402
                      String, TestClient, abort, current_user, end_sessions, login_user,
                      logout_user, request)

COOKIE = 'kokoropy.session'


class Member(Model):
    name = String(max_length=40, required=True, unique=True)
    password = Password(min_length=8)
    is_active = Boolean(default=True)
    auth_epoch = AuthEpoch()


class Visitor(Model):
    name = String(max_length=40)


def make_app():
    app = Kokoro(secret='login-secret', csrf=False, project_path=tempfile.mkdtemp())

    @app.post('/login')
    def login():
        member = Member.where(name=request.forms.get('name')).first()
        if member is None or not member.check_password('password', request.forms.get('pw')):
            abort(403, 'Wrong name or password.')
        login_user(member)
        return 'welcome %s' % member.name

    @app.get('/me')
    def me():
        user = current_user()
        return 'nobody' if user is None else user.name

    @app.post('/logout')
    def logout():
        logout_user()
        return 'bye'

    @app.post('/password')
    def change_password():
        user = current_user()
        user.password = request.forms.get('pw')
        user.save()
        if request.forms.get('stay'):
            login_user(user)
        return 'changed'
    return app


class LoginTest(unittest.TestCase):

    def setUp(self):
        self.db = Database(':memory:')
        self.db.bind(Member, Visitor)
        self.db.create_tables(Member, Visitor)
        self.ann = Member.create(name='ann', password='ann secret 1')
        self.app = make_app()
        self.addCleanup(shutil.rmtree, self.app.config['project_path'])
        self.client = TestClient(self.app)

    def log_in(self, client=None, password='ann secret 1'):
        client = client or self.client
        return client.post('/login', data={'name': 'ann', 'pw': password})

    def cookie(self, client=None):
        return (client or self.client).cookie_jar[(COOKIE, '/')]['value']

    def me(self, cookie):
        return TestClient(self.app).get('/me', headers={'Cookie': '%s=%s' % (COOKIE, cookie)})

    def test_login_then_current_user_on_later_requests(self):
        self.assertEqual(self.client.get('/me').text, 'nobody')
        self.assertEqual(self.log_in().text, 'welcome ann')
        self.assertEqual(self.client.get('/me').text, 'ann')

    def test_login_clears_what_the_session_held_before(self):
        self.client.get('/me')
        answer = self.client.post('/login', data={'name': 'ann', 'pw': 'ann secret 1'},
                                  headers={'Cookie': COOKIE + '=junk'})
        self.assertEqual(answer.status, 200)
        self.assertEqual(self.client.get('/me').text, 'ann')

    def test_logout_ends_a_copied_cookie(self):
        self.log_in()
        copied = self.cookie()
        self.assertEqual(self.me(copied).text, 'ann')
        self.assertEqual(self.client.post('/logout').text, 'bye')
        self.assertEqual(self.client.get('/me').text, 'nobody')
        self.assertEqual(self.me(copied).text, 'nobody')

    def test_logout_ends_the_sessions_of_other_browsers(self):
        laptop, phone = TestClient(self.app), TestClient(self.app)
        self.log_in(laptop)
        self.log_in(phone)
        laptop.post('/logout')
        self.assertEqual(phone.get('/me').text, 'nobody')

    def test_a_new_login_after_logout_works(self):
        self.log_in()
        self.client.post('/logout')
        self.log_in()
        self.assertEqual(self.client.get('/me').text, 'ann')

    def test_password_change_ends_earlier_sessions(self):
        self.log_in()
        copied = self.cookie()
        self.client.post('/password', data={'pw': 'a new password'})
        self.assertEqual(self.me(copied).text, 'nobody')
        self.assertEqual(self.client.get('/me').text, 'nobody')
        self.assertEqual(self.log_in(password='a new password').status, 200)
        self.assertEqual(self.client.get('/me').text, 'ann')

    def test_login_user_after_a_password_change_keeps_only_this_session(self):
        self.log_in()
        copied = self.cookie()
        self.client.post('/password', data={'pw': 'a new password', 'stay': '1'})
        self.assertEqual(self.client.get('/me').text, 'ann')
        self.assertEqual(self.me(copied).text, 'nobody')

    def test_password_changed_by_query_update_ends_sessions_too(self):
        self.log_in()
        Member.where(name='ann').update(password='changed elsewhere')
        self.assertEqual(self.client.get('/me').text, 'nobody')

    def test_end_sessions_logs_the_user_out_everywhere(self):
        self.log_in()
        end_sessions(Member.get(self.ann.id))
        self.assertEqual(self.client.get('/me').text, 'nobody')

    def test_a_stale_save_does_not_bring_ended_sessions_back(self):
        stale = Member.get(self.ann.id)
        self.log_in()
        copied = self.cookie()
        self.client.post('/logout')
        stale.name = 'ann'
        stale.save()
        self.assertEqual(self.me(copied).text, 'nobody')
        self.assertEqual(Member.get(self.ann.id).auth_epoch, 1)

    def test_deactivated_or_deleted_user_is_logged_out(self):
        self.log_in()
        Member.where(id=self.ann.id).update(is_active=False)
        self.assertEqual(self.client.get('/me').text, 'nobody')
        Member.where(id=self.ann.id).update(is_active=True)
        self.log_in()
        Member.get(self.ann.id).delete()
        self.assertEqual(self.client.get('/me').text, 'nobody')

    def test_forms_never_show_or_change_the_epoch(self):
        form = Form(Member.get(self.ann.id), {'name': 'ann', 'auth_epoch': '99'})
        self.assertNotIn('auth_epoch', form.fields)
        self.assertTrue(form.is_valid())
        form.save()
        self.assertEqual(Member.get(self.ann.id).auth_epoch, 0)

    def test_model_without_an_epoch_field_cannot_log_in(self):
        visitor = Visitor.create(name='v')
        app = Kokoro(secret='s', csrf=False)
        app.get('/in', callback=lambda: login_user(visitor))
        answer = TestClient(app).get('/in')
        self.assertEqual(answer.status, 500)
        self.assertIn('needs a field `auth_epoch = AuthEpoch()`', answer.errors)

    def test_a_forged_login_in_the_session_is_ignored(self):
        for login in ['x', [1, 2], ['Member', '1', 0, ''], ['Nope', 1, 0, ''],
                      ['Member', 10 ** 30, 0, '']]:
            app = self.app

            @app.get('/forge')
            def forge(login=login):
                request.session['_login'] = login
                return 'set'
            client = TestClient(app)
            client.get('/forge')
            self.assertEqual(client.get('/me').text, 'nobody', login)


if __name__ == '__main__':
    unittest.main()
