"""The cms application written by `python rossian.py scaffold-cms`, driven over HTTP: login
and logout, pages shown at /page/<slug> and in the menu, login_required and group_required
from another application, and password guessing slowed down."""
import concurrent.futures
import os
import re
import sys
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import OnBothBackends, backend_database_url, with_postgresql  # noqa: E402
from test_rossian import Browser, Project, ProjectTestCase  # noqa: E402

ADMIN_PASSWORD = 'correct horse battery'
PROTECTED_ROUTE = '''
from applications.cms.auth import login_required  # noqa: E402


@login_required
def orders():
    return 'Orders of the shop'


urls = list(urls) + [('/shop/orders', orders)]
'''


class CmsOverHttpTest(OnBothBackends, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project()
        try:
            if cls.backend != 'sqlite':
                cls.project.use_database(backend_database_url(cls.backend))
            for arguments in (['scaffold-cms', '--admin-password', ADMIN_PASSWORD],
                              ['scaffold-application', 'shop']):
                result = cls.project.rossian(*arguments)
                assert result.returncode == 0, result.stdout + result.stderr
            cls.scaffold_output = result.stdout
            routes = cls.project.read('applications', 'shop', 'routes.py')
            cls.project.write('applications/shop/routes.py', routes + PROTECTED_ROUTE)
            cls.server = cls.project.start()
        except BaseException:
            cls.project.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.project.remove()

    def log_in(self, username='admin', password=ADMIN_PASSWORD, next_path=None, browser=None):
        browser = browser or Browser(self.server)
        fields = {'username': username, 'password': password,
                  'csrf_token': browser.csrf('/cms/login')}
        if next_path is not None:
            fields['next'] = next_path
        return browser, browser.post('/cms/login', fields)

    def submit(self, browser, path, fields):
        fields = dict(fields, csrf_token=browser.csrf(path))
        return browser.post(path, fields)

    def test_log_in_create_a_page_see_it_in_the_menu_then_log_out(self):
        visitor = Browser(self.server)
        answer = visitor.get('/cms')
        self.assertEqual((answer.status, answer.location), (303, '/cms/login'))
        self.assertIn('?next=%2Fcms', answer.headers['Location'])
        self.assertIn('Please log in to see that page.', visitor.follow(answer).text)
        browser, answer = self.log_in(next_path='/cms', browser=visitor)
        self.assertEqual((answer.status, answer.location), (303, '/cms'))
        dashboard = browser.follow(answer)
        self.assertIn('Welcome, admin.', dashboard.text)
        self.assertIn('Logged in as admin (admin).', dashboard.text)
        self.assertIn('<li><a href="/cms" class="active">CMS</a></li>', dashboard.text)
        answer = self.submit(browser, '/cms/page/new', {
            'title': 'About us', 'slug': 'about-us', 'published': '1',
            'body': '<p>We <em>make</em> kites.</p>'})
        self.assertEqual(answer.status, 303, answer.text)
        page = Browser(self.server).get('/page/about-us')
        self.assertEqual(page.status, 200)
        self.assertIn('<h1>About us</h1>\n<p>We <em>make</em> kites.</p>', page.text)
        self.assertIn('<li><a href="/page/about-us" class="active">About us</a></li>', page.text)
        self.assertIn('<li><a href="/cms">CMS</a></li>', page.text)    # the page alone is active
        home = browser.get('/')
        self.assertIn('<li><a href="/page/about-us">About us</a></li>', home.text)
        self.assertIn('>Log out</button>', home.text)
        token = re.search(r'action="/cms/logout"><input type="hidden" name="csrf_token" '
                          r'value="([^"]+)"', home.text).group(1)
        answer = browser.post('/cms/logout', {'csrf_token': token})
        self.assertEqual((answer.status, answer.location), (303, '/'))
        home = browser.follow(answer)
        self.assertIn('You are logged out.', home.text)
        self.assertIn('<a href="/cms/login">Log in</a>', home.text)
        self.assertEqual(browser.get('/cms/page').location, '/cms/login')

    def test_wrong_password_is_refused_and_next_never_leaves_the_site(self):
        browser, answer = self.log_in(password='wrong password')
        self.assertEqual(answer.status, 200)
        self.assertIn('Wrong username or password.', answer.text)
        self.assertIn('name="username" value="admin"', answer.text)
        self.assertEqual(browser.get('/cms').status, 303)
        browser, answer = self.log_in(next_path='//evil.example/steal')
        self.assertEqual(answer.headers['Location'], '/cms')

    def test_repeated_failures_lock_the_username_for_a_while(self):
        for attempt in range(5):
            _browser, answer = self.log_in('mallory', 'guess %d' % attempt)
            self.assertIn('Wrong username or password.', answer.text)
        _browser, answer = self.log_in('mallory', 'guess 6')
        self.assertEqual(answer.status, 429)
        self.assertRegex(answer.text, r'Too many failed attempts: try again in \d+ seconds.')
        _browser, answer = self.log_in()  # another username from the same address still works
        self.assertEqual(answer.status, 303)

    def test_unpublished_pages_are_hidden_from_visitors(self):
        browser, _answer = self.log_in()
        answer = self.submit(browser, '/cms/page/new', {
            'title': 'Draft', 'slug': 'draft', 'body': '<p>Soon.</p>'})
        self.assertEqual(answer.status, 303, answer.text)
        self.assertEqual(Browser(self.server).get('/page/draft').status, 404)
        self.assertNotIn('/page/draft', Browser(self.server).get('/').text)
        self.assertIn('A preview: this page is not published.', browser.get('/page/draft').text)
        answer = self.submit(browser, '/cms/page/new', {'title': 'Bad', 'slug': 'Bad Slug'})
        self.assertIn('Use lowercase letters, digits and hyphens', answer.text)

    def test_login_required_protects_another_applications_page(self):
        visitor = Browser(self.server)
        answer = visitor.get('/shop/orders')
        self.assertEqual((answer.status, answer.location), (303, '/cms/login'))
        self.assertIn('next=%2Fshop%2Forders', answer.headers['Location'])
        browser, answer = self.log_in(next_path='/shop/orders', browser=visitor)
        self.assertEqual(answer.location, '/shop/orders')
        self.assertEqual(browser.follow(answer).text, 'Orders of the shop')

    def test_group_required_lets_editors_edit_pages_but_not_users(self):
        admin, _answer = self.log_in()
        form = admin.get('/cms/user/new').text
        editor_group = re.search(r'<option value="(\d+)">editor</option>', form).group(1)
        answer = self.submit(admin, '/cms/user/new', {
            'username': 'edith', 'password': 'edith password', 'group': editor_group,
            'is_active': '1'})
        self.assertEqual(answer.status, 303, answer.text)
        editor, answer = self.log_in('edith', 'edith password')
        self.assertEqual(answer.status, 303)
        self.assertEqual(editor.get('/cms/page').status, 200)
        self.assertEqual(editor.get('/cms/user').status, 403)
        self.assertNotIn('edith password', admin.get(answer.location).text)

    def session_cookie(self, browser):
        return ['%s=%s' % (cookie.name, cookie.value) for cookie in browser.cookies
                if cookie.name == 'kokoropy.session'][0]

    def create_user(self, username, group_name=None):
        admin, _answer = self.log_in()
        fields = {'username': username, 'password': username + ' password', 'is_active': '1'}
        if group_name:
            form = admin.get('/cms/user/new').text
            fields['group'] = re.search(r'<option value="(\d+)">%s</option>' % group_name,
                                        form).group(1)
        answer = self.submit(admin, '/cms/user/new', fields)
        self.assertEqual(answer.status, 303, answer.text)
        return admin

    def test_logout_ends_a_copied_session_cookie(self):
        browser, _answer = self.log_in()
        copied = self.session_cookie(browser)
        self.assertEqual(Browser(self.server).get('/cms', {'Cookie': copied}).status, 200)
        home = browser.get('/')
        token = re.search(r'action="/cms/logout"><input type="hidden" name="csrf_token" '
                          r'value="([^"]+)"', home.text).group(1)
        self.assertEqual(browser.post('/cms/logout', {'csrf_token': token}).status, 303)
        answer = Browser(self.server).get('/cms', {'Cookie': copied})
        self.assertEqual((answer.status, answer.location), (303, '/cms/login'))

    def test_password_change_ends_the_users_sessions(self):
        admin = self.create_user('paula', 'editor')
        paula, answer = self.log_in('paula', 'paula password')
        self.assertEqual(paula.get('/cms/page').status, 200)
        listing = admin.get('/cms/user').text
        paula_id = re.search(r'href="/cms/user/(\d+)">paula<', listing).group(1)
        path = '/cms/user/%s/edit' % paula_id
        form = admin.get(path).text
        group = re.search(r'<option value="(\d+)" selected>editor</option>', form).group(1)
        answer = self.submit(admin, path, {'username': 'paula', 'password': 'a new password',
                                           'group': group, 'is_active': '1'})
        self.assertEqual(answer.status, 303, answer.text)
        self.assertEqual(paula.get('/cms/page').location, '/cms/login')
        paula, answer = self.log_in('paula', 'a new password')
        self.assertEqual(answer.status, 303)

    def test_body_less_post_without_token_is_refused(self):
        browser, _answer = self.log_in()
        for path in ('/cms/logout', '/cms/page/1/delete'):
            request = urllib.request.Request(self.server.url(path), data=b'', method='POST')
            answer = browser._send(request)
            self.assertEqual(answer.status, 403, path)
        self.assertEqual(browser.get('/cms').status, 200)     # still logged in

    def test_user_without_a_group_cannot_read_drafts(self):
        admin = self.create_user('nogroup')
        answer = self.submit(admin, '/cms/page/new', {
            'title': 'Secret draft', 'slug': 'secret-draft', 'body': '<p>Plans.</p>'})
        self.assertEqual(answer.status, 303, answer.text)
        member, answer = self.log_in('nogroup', 'nogroup password')
        self.assertEqual(answer.status, 303)
        self.assertEqual(member.get('/page/secret-draft').status, 404)
        self.assertEqual(admin.get('/page/secret-draft').status, 200)

    def test_editor_html_is_sanitised_and_admin_html_kept(self):
        admin = self.create_user('eve', 'editor')
        eve, _answer = self.log_in('eve', 'eve password')
        hostile = ('<p onclick="steal()">Hi <script>steal()</script>'
                   '<a href="javascript:steal()">x</a><img src=x onerror=steal()></p>')
        answer = self.submit(eve, '/cms/page/new', {
            'title': 'Eve', 'slug': 'eve-page', 'published': '1', 'body': hostile})
        self.assertEqual(answer.status, 303, answer.text)
        page = Browser(self.server).get('/page/eve-page')
        self.assertIn('<h1>Eve</h1>\n<p>Hi <a>x</a><img src="x"></p>', page.text)
        self.assertNotIn('steal', page.text)
        policy = page.headers['Content-Security-Policy']
        self.assertIn("script-src 'self'", policy)
        self.assertIn("object-src 'none'", policy)
        answer = self.submit(admin, '/cms/page/new', {
            'title': 'Admin', 'slug': 'admin-page', 'published': '1',
            'body': '<p style="color: red">Styled</p><script src="/index/assets/x.js"></script>'})
        self.assertEqual(answer.status, 303, answer.text)
        page = Browser(self.server).get('/page/admin-page')
        self.assertIn('<p style="color: red">Styled</p><script src="/index/assets/x.js">'
                      '</script>', page.text)

    def test_concurrent_wrong_guesses_get_only_the_allowed_checks(self):
        # 12 at once over HTTP (each check costs a password hash, slow on old Pythons);
        # LoginThrottleTest sends 40 at once to the counter itself.
        def guess(index):
            fields = {'username': 'trudy', 'password': 'guess %d' % index,
                      'csrf_token': tokens[index]}
            return browsers[index].post('/cms/login', fields).status
        browsers = [Browser(self.server) for _ in range(12)]
        tokens = [browser.csrf('/cms/login') for browser in browsers]
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            statuses = list(pool.map(guess, range(12)))
        self.assertEqual((statuses.count(200), statuses.count(429)), (5, 7))


class LoginThrottleTest(unittest.TestCase):
    """The failure counter of the generated cms/auth.py, run in-process."""

    def setUp(self):
        sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        import rossian
        source = rossian.TEMPLATES['cms/auth.py'].replace(
            'from applications.cms.models.user import User\n', 'User = None\n')
        self.auth = {'__name__': 'cms_auth_under_test'}
        exec(compile(source, 'cms/auth.py', 'exec'), self.auth)
        self.counter = self.auth['_FailureCounter']()

    def test_concurrent_attempts_reserve_only_the_allowed_number(self):
        barrier = threading.Barrier(40)

        def attempt(number):
            barrier.wait()
            return self.counter.reserve(('user:admin', 'address:10.0.0.%d' % number))
        with concurrent.futures.ThreadPoolExecutor(40) as pool:
            waits = list(pool.map(attempt, range(40)))
        self.assertEqual(waits.count(0), self.auth['MAX_FAILURES'])

    def test_address_limit_applies_across_names(self):
        limit = self.auth['MAX_ADDRESS_FAILURES']
        waits = [self.counter.reserve(('user:name%d' % number, 'address:10.0.0.1'))
                 for number in range(limit + 1)]
        self.assertEqual(waits[:limit], [0] * limit)
        self.assertGreater(waits[limit], 0)

    def test_pruning_never_forgets_an_active_lock(self):
        for _ in range(self.auth['MAX_FAILURES']):
            self.counter.reserve(('user:admin', 'address:10.0.0.1'))
        self.counter.failures['user:admin'] = (self.auth['MAX_FAILURES'] + 5, time.time())
        for number in range(self.auth['PRUNE_ABOVE'] + 1):
            self.counter.reserve(('user:other%d' % number, 'address:10.1.%d.%d'
                                  % (number // 256, number % 256)))
        self.assertLess(len(self.counter.failures), self.auth['PRUNE_ABOVE'])
        wait = self.counter.reserve(('user:admin', 'address:10.9.9.9'))
        self.assertGreater(wait, 900)

    def test_a_success_takes_back_its_attempt(self):
        keys = ('user:ann', 'address:10.0.0.1')
        self.counter.reserve(keys)
        self.counter.reserve(keys)
        self.counter.succeeded(keys)
        self.assertNotIn('user:ann', self.counter.failures)
        self.assertEqual(self.counter.failures['address:10.0.0.1'][0], 1)


class ScaffoldCmsCommandTest(ProjectTestCase):
    def test_needs_a_password_when_there_is_no_terminal(self):
        self.assertUsageError(['scaffold-cms'], 'give --admin-password PASSWORD')
        self.assertUsageError(['scaffold-cms', '--admin-password', 'short'],
                              'needs at least 8 characters')

    def test_writes_the_application_and_refuses_a_second_time(self):
        result = self.assertSucceeds('scaffold-cms', '--admin-password', ADMIN_PASSWORD,
                                     '--admin-username', 'root')
        self.assertNotIn('updated applications/index/views/base.tpl', result.stdout)
        self.assertIn('applied cms/migrations/0001_create_cms_tables.py', result.stdout)
        self.assertIn('created the admin account root', result.stdout)
        self.assertIn("menu = ['cms/menu']",
                      self.project.read('applications', 'cms', 'routes.py'))
        self.assertParsesAsOldestPython()
        self.assertUsageError(['scaffold-cms', '--admin-password', ADMIN_PASSWORD],
                              "application 'cms' already exists")


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
