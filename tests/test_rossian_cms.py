"""The cms application written by `python rossian.py scaffold-cms`, driven over HTTP: login
and logout, pages shown at /page/<slug> and in the menu, login_required and group_required
from another application, and password guessing slowed down."""
import os
import re
import sys
import unittest

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
