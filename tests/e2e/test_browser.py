"""A real browser (headless Chromium through chromedriver and tests/e2e/webdriver.py) using a
temporary copy of the project served by `python rossian.py start`, as a person would: the home
page and the example application, a scaffolded CRUD, and the CMS.

Every page visited is checked: no console error, no failed resource, and no link on it that
answers 4xx/5xx (each checked with http.client). The CRUD pages are also looked at 390 px wide,
as on a phone: nothing may stick out sideways. Screenshots go to
tests/e2e/output/<test name>/NN-step.png (kept out of git).

    KOKOROPY_E2E=1 python3 -m unittest tests.e2e.test_browser -v
"""
import contextlib
import http.client
import http.cookiejar
import os
import re
import shutil
import struct
import sys
import unittest
import urllib.parse
import urllib.request
import zlib

from .webdriver import ELEMENT_KEY, Browser, missing_browser

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import LiveSite, fetch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(ROOT, 'tests', 'e2e', 'output')
E2E = os.environ.get('KOKOROPY_E2E') == '1'
WHY_NOT = (None if E2E else 'set KOKOROPY_E2E=1 to run the end-to-end browser tests') \
    or missing_browser()
ADMIN_PASSWORD = 'correct horse battery'
PHONE_WINDOW = {'width': 390, 'height': 844}
CRUD_COLUMNS = ['name:string:required', 'description:text', 'price:float', 'quantity:integer',
                'available:boolean', 'released:date', 'restock_at:datetime', 'photo:upload',
                'contact:email']


def png_bytes(width=12, height=8, rgb=(194, 24, 91)):
    """A valid PNG image of one colour, made with zlib and struct (PNG spec, section 5)."""
    def chunk(kind, data):
        return (struct.pack('>I', len(data)) + kind + data
                + struct.pack('>I', zlib.crc32(kind + data) & 0xffffffff))
    row = b'\x00' + bytes(rgb) * width          # filter type 0, then RGB pixels
    header = struct.pack('>IIBBBBB', width, height, 8, 2, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header)
            + chunk(b'IDAT', zlib.compress(row * height)) + chunk(b'IEND', b''))


class FormPoster(object):
    """A cookie-keeping HTTP client that fills forms the way the browser would (CSRF token
    included), to create many rows quickly."""

    def __init__(self, site):
        self.site = site
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def post_form(self, path, fields):
        """GET the form at path, then POST `fields` with its CSRF token; the final URL."""
        with self.opener.open(self.site + path, timeout=15) as page:
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.read().decode()).group(1)
        data = urllib.parse.urlencode(dict(fields, csrf_token=token)).encode()
        with self.opener.open(self.site + path, data=data, timeout=15) as answer:
            return answer.geturl()


@unittest.skipIf(WHY_NOT, WHY_NOT)
class BrowserTestCase(unittest.TestCase):
    """One browser and one project per class; helpers that let each test read like a story."""

    project = browser = None

    @classmethod
    def setUpClass(cls):
        cls.checked_links = {}
        cls.project = LiveSite()
        try:
            cls.prepare(cls.project)
            cls.site = cls.project.start()
            cls.browser = Browser()
        except Exception:
            cls.project.remove()
            raise

    @classmethod
    def prepare(cls, project):
        """Run rossian commands in the fresh copy before its server starts."""

    @classmethod
    def tearDownClass(cls):
        if cls.browser is not None:
            cls.browser.quit()
        log = cls.project.stop()
        cls.project.remove()
        if 'Traceback' in log:
            raise AssertionError('the server logged a traceback:\n' + log)

    def setUp(self):
        self.step = 0
        self.browser.delete_cookies()
        self.browser.console_log()          # forget what earlier tests logged

    # ------------------------------------------------------------------ story helpers

    def visit(self, path):
        """Open a page of the site the way a person types its address, then check it."""
        self.browser.open(self.site + path)
        self.check_page()

    def click_and_wait(self, selector):
        """Click a link or button that loads a new page; wait for it, then check it."""
        self.browser.script('window.kokoropyOldPage = true;')
        self.browser.find(selector).click()
        self.browser.wait_until(lambda: self.browser.script(
            "return !window.kokoropyOldPage && document.readyState === 'complete';"),
            message='clicking %s loaded no new page' % selector)
        self.check_page()

    def fill(self, selector, text):
        """Empty the input or textarea, then type text into it."""
        self.browser.find(selector).clear().type(text)

    def text(self, selector='body'):
        return self.browser.find(selector).text

    def texts(self, selector):
        return [element.text for element in self.browser.find_all(selector)]

    def path(self):
        """The current page's path and query."""
        parts = urllib.parse.urlsplit(self.browser.url)
        return parts.path + ('?' + parts.query if parts.query else '')

    def snap(self, name, full_page=True):
        """Screenshot the page as output/<test>/NN-name.png (numbered in the story's order);
        full_page=False: only what the window shows."""
        self.step += 1
        folder = os.path.join(OUTPUT, self._testMethodName)
        if self.step == 1:
            shutil.rmtree(folder, ignore_errors=True)
        return self.browser.screenshot(os.path.join(folder, '%02d-%s.png' % (self.step, name)),
                                       full_page)

    # ------------------------------------------------------------------ page checks

    def check_page(self):
        """No console error, every resource loaded, every same-site link answers < 400."""
        # A JSON or image document cannot name its icon, so Chromium asks for /favicon.ico:
        # the index application serves it, so no exception is made for it here.
        errors = self.browser.console_errors()
        self.assertEqual(errors, [], 'console errors on %s' % self.browser.url)
        failed = [entry for entry in self.browser.resources()
                  if (entry.get('responseStatus') or 200) >= 400]
        self.assertEqual(failed, [], 'failed requests on %s' % self.browser.url)
        self.assert_links_answer()

    def assert_links_answer(self):
        urls = self.browser.script(
            "return Array.from(document.querySelectorAll('a[href], link[href], img[src], "
            "script[src], iframe[src]')).map(function (e) { return e.href || e.src; });")
        broken = []
        for url in urls:
            url = url.split('#')[0]
            if not url.startswith(self.site + '/'):
                continue        # other sites, mailto:, data: and the like
            if url not in self.checked_links:
                self.checked_links[url] = fetch(url)[0]
            status = self.checked_links[url]
            if status is None or status >= 400:
                broken.append((url, status))
        self.assertEqual(broken, [], 'links that fail on %s' % self.browser.url)

    @contextlib.contextmanager
    def phone_window(self):
        """Look at pages in a window as narrow as a phone's, then go back to the usual size."""
        usual = self.browser.command('GET', 'window/rect')
        self.browser.command('POST', 'window/rect', PHONE_WINDOW)
        try:
            self.assertEqual(self.browser.script('return window.innerWidth;'),
                             PHONE_WINDOW['width'])
            yield
        finally:
            self.browser.command('POST', 'window/rect', {'width': usual['width'],
                                                         'height': usual['height']})

    def assert_fits_the_window(self, selector='.table-actions a'):
        """Nothing sticks out sideways: no horizontal scroll bar on the page or on a table,
        and every element matching selector lies within the window's width."""
        sizes = self.browser.script(
            "var wraps = Array.from(document.querySelectorAll('.table-wrap'));"
            "return {window: window.innerWidth, page: document.documentElement.scrollWidth,"
            " tables: wraps.map(function (w) { return w.scrollWidth - w.clientWidth; }),"
            " outside: Array.from(document.querySelectorAll(arguments[0])).filter("
            "  function (e) { var r = e.getBoundingClientRect();"
            "   return r.left < 0 || r.right > window.innerWidth; }).length};", selector)
        where = ' on %s at %d px' % (self.browser.url, sizes['window'])
        self.assertLessEqual(sizes['page'], sizes['window'], 'the page scrolls sideways' + where)
        self.assertEqual([extra for extra in sizes['tables'] if extra > 0], [],
                         'a table scrolls sideways' + where)
        self.assertEqual(sizes['outside'], 0, '%s outside the window%s' % (selector, where))

    def assert_images_loaded(self, selector='img'):
        """Every image matching selector has loaded (naturalWidth > 0)."""
        images = self.browser.find_all(selector)
        self.assertTrue(images, 'no image %s on %s' % (selector, self.browser.url))
        for image in images:
            self.browser.wait_until(lambda: image.property('complete'))
            self.assertGreater(image.property('naturalWidth'), 0, image.attribute('src'))


class BundledSiteInTheBrowser(BrowserTestCase):
    """A fresh copy of the project: the first start creates the database, and the home page
    and every example page work in the browser."""

    def test_home_page_renders_with_its_stylesheet_and_no_failed_request(self):
        self.assertTrue(os.path.exists(os.path.join(self.project.folder, 'db', 'kokoropy.db')))
        self.browser.open('data:text/html,<p>defaults</p>')
        default_font = self.browser.script('return getComputedStyle(document.body).fontFamily;')
        self.visit('/')
        self.assertEqual(self.text('h1'), 'Welcome to Kokoropy')
        self.assertIn(self.site + '/index/assets/css/kokoropy.css',
                      [entry['name'] for entry in self.browser.resources()])
        rules = self.browser.script('return Array.from(document.styleSheets).map('
                                    'function (s) { return s.cssRules.length; });')
        self.assertTrue(rules and all(count > 0 for count in rules), rules)
        self.assertNotEqual(self.browser.find('body').css('font-family'), default_font)
        self.assertNotEqual(self.browser.find('.site-header').css('background-color'),
                            'rgba(0, 0, 0, 0)')
        self.assert_images_loaded('.site-brand img')
        self.assertIn('Example', self.texts('.site-nav a'))
        self.snap('home')

    def test_example_hello_pages_greet_and_escape_the_name(self):
        self.visit('/example')
        self.snap('examples')
        self.click_and_wait('.links a[href="/example/hello"]')
        self.assertEqual(self.text('h1'), 'Hello, world!')
        self.snap('hello')
        self.visit('/example/hello/%3Cem%3EAnn%20%26%20Bo')
        self.assertEqual(self.text('h1'), 'Hello, <em>Ann & Bo!')
        self.assertEqual(self.browser.find_all('h1 em'), [])
        self.snap('hello-name-escaped')

    def test_pokemon_list_shows_every_picture_and_searches_by_name(self):
        self.visit('/example/pokemon')
        self.assertEqual(len(self.browser.find_all('table.table tbody tr')), 6)
        self.assert_images_loaded('img.sprite')
        self.snap('pokemon')
        self.fill('form.search input[name="search"]', 'char')
        self.click_and_wait('form.search button')
        self.assertEqual(self.path(), '/example/pokemon?search=char')
        self.assertEqual(self.texts('table.table tbody td:nth-child(2)'), ['Charmander'])
        self.visit('/example/pokemon/pika')
        self.assertEqual(self.texts('table.table tbody td:nth-child(2)'), ['Pikachu'])
        self.assert_images_loaded('img.sprite')
        self.snap('pokemon-search')

    def test_session_demo_counts_visits_and_flashes_after_the_form(self):
        self.visit('/example/session')
        self.assertIn('seen this page 1 time ', self.text('.card'))
        self.snap('first-visit')
        self.fill('#name', 'Ann')
        self.click_and_wait('form.form button[type="submit"]')
        self.assertEqual(self.path(), '/example/session')
        self.assertEqual(self.texts('.flashes .alert-success'),
                         ['Hello, Ann! Your name is now kept in a signed cookie.'])
        self.assertIn('seen this page 2 times', self.text('.card'))
        self.assertIn('your name is Ann', self.text())
        self.snap('after-submit')
        self.visit('/example/session')
        self.assertIn('seen this page 3 times', self.text('.card'))
        self.assertEqual(self.browser.find_all('.flashes'), [])     # shown once only
        self.click_and_wait('.button-danger')
        self.assertEqual(self.texts('.flashes .alert'), ['The counter and the cookie were reset.'])
        self.assertIn('seen this page 1 time ', self.text('.card'))
        self.snap('after-reset')

    def test_plot_page_shows_the_chart_or_how_to_install_matplotlib(self):
        self.visit('/example/plot')
        if self.browser.has('figure img'):
            self.assert_images_loaded('figure img')
        else:
            self.assertIn('matplotlib is not installed', self.text('.alert-info'))
            self.assertIn('pip install matplotlib', self.text('.alert-info pre'))
        self.snap('plot')

    def test_json_api_answers_json(self):
        status, headers, body = fetch(self.site + '/example/api/pokemon')
        self.assertEqual(status, 200)
        self.assertEqual(headers['Content-Type'].split(';')[0], 'application/json')
        self.visit('/example/api/pokemon/4')
        self.assertEqual(self.text('pre'), '{"id":4,"name":"Pikachu","type":"electric",'
                                           '"image":"/example/assets/images/pikachu.svg"}')
        self.snap('api-one')
        self.visit('/example/api/pokemon?search=ee')
        names = re.findall(r'"name":"([^"]+)"', self.text('pre'))
        self.assertEqual(names, ['Eevee'])


class ScaffoldedCrudInTheBrowser(BrowserTestCase):
    """`scaffold-crud shop product` with a column of every type, used through its pages."""

    @classmethod
    def prepare(cls, project):
        project.rossian('scaffold-application', 'shop')
        project.rossian('scaffold-crud', 'shop', 'product', *CRUD_COLUMNS)
        project.rossian('migration-upgrade')
        cls.photo = os.path.join(project.folder, 'tiny-red.png')
        with open(cls.photo, 'wb') as file:
            file.write(png_bytes(96, 64))

    def create_products(self, count, prefix, **fields):
        """Create rows over HTTP, as the create form would (with its CSRF token)."""
        poster = FormPoster(self.site)
        for number in range(1, count + 1):
            poster.post_form('/shop/product/new', dict(fields, name='%s %02d' % (prefix, number),
                                                       price=str(number), quantity='1'))

    def test_create_form_keeps_input_shows_errors_then_saves_with_a_photo(self):
        self.visit('/shop/product')
        self.snap('list-empty-or-not')
        self.click_and_wait('a.button-primary[href="/shop/product/new"]')
        self.snap('create-form')
        self.fill('#field-name', 'Teapot')
        self.fill('#field-description', 'Holds 1.2 litres.\nCast iron.')
        self.fill('#field-price', '24.5')
        self.fill('#field-quantity', '3')
        self.browser.find('#field-available').click()
        self.fill('#field-released', '03152024')
        self.fill('#field-restock_at', '04012024\t0930AM')
        self.fill('#field-contact', 'ann@localhost')     # the browser accepts it, the model not
        self.click_and_wait('.form-actions button[type="submit"]')
        self.assertEqual(self.path(), '/shop/product/new')
        self.assertEqual(self.text('.field.has-error .error-message'),
                         'Contact must be a valid email address.')
        self.assertEqual(self.browser.find('.field.has-error input').attribute('id'),
                         'field-contact')
        kept = {name: self.browser.find('#field-' + name).property('value')
                for name in ('name', 'description', 'price', 'quantity', 'released',
                             'restock_at', 'contact')}
        self.assertEqual(kept, {'name': 'Teapot', 'description': 'Holds 1.2 litres.\nCast iron.',
                                'price': '24.5', 'quantity': '3', 'released': '2024-03-15',
                                'restock_at': '2024-04-01T09:30', 'contact': 'ann@localhost'})
        self.assertTrue(self.browser.find('#field-available').property('checked'))
        self.snap('invalid-email-kept-input')
        self.fill('#field-contact', 'ann@example.com')
        self.browser.find('#field-photo').type(self.photo)
        self.click_and_wait('.form-actions button[type="submit"]')
        self.assertRegex(self.path(), r'^/shop/product/\d+$')
        self.assertEqual(self.texts('.flashes .alert-success'), ['Created product Teapot.'])
        self.assert_images_loaded('.detail img')
        self.assertEqual(self.browser.find('.detail img').property('naturalWidth'), 96)
        self.assertEqual(self.browser.find('.detail img').attribute('alt'), 'Photo of Teapot')
        self.snap('created-with-photo')
        with self.phone_window():
            self.assert_fits_the_window('.page-header .button')
            self.snap('detail-on-a-phone')
        self.click_and_wait('a[href="/shop/product"]')
        self.assertIn('Teapot', self.texts('table.table tbody td:first-child'))
        self.assert_images_loaded('td.cell-image img.thumbnail')
        thumbnail = self.browser.find('td.cell-image img.thumbnail')
        self.assertEqual((thumbnail.attribute('alt'), thumbnail.attribute('loading')),
                         ('Photo of Teapot', 'lazy'))
        self.assertEqual(self.browser.script(
            'return arguments[0].getBoundingClientRect().height;', {ELEMENT_KEY: thumbnail.id}),
            48)
        self.snap('list')
        with self.phone_window():
            self.visit('/shop/product/new')
            self.assert_fits_the_window('.form-actions > *')
            self.snap('create-form-on-a-phone')

    def test_list_pages_searches_and_sorts_by_column(self):
        self.create_products(25, 'Lamp', description='A lamp of brass and glass, ' * 5)
        self.visit('/shop/product')
        self.assertEqual(len(self.browser.find_all('table.table tbody tr')), 20)
        self.assertEqual(self.text('.pagination .current'), '1')
        self.snap('list-page-1')
        self.assert_fits_the_window()       # every row's Show, Edit and Delete in sight
        self.assertEqual(self.texts('td.cell-boolean')[-1], 'No')
        long_text = self.texts('td.cell-long')[-1]
        self.assertEqual(long_text, ('A lamp of brass and glass, ' * 3)[:59].rstrip() + '…')
        with self.phone_window():
            self.snap('list-on-a-phone', full_page=False)
            self.assert_fits_the_window()
        self.click_and_wait('.pagination a[href="?page=2"]')
        self.assertEqual(self.text('.pagination .current'), '2')
        self.assertTrue(self.browser.find_all('table.table tbody tr'))
        self.snap('list-page-2')
        self.fill('form.search input[name="q"]', 'Lamp 07')
        self.click_and_wait('form.search button')
        self.assertEqual(self.texts('table.table tbody td:first-child'), ['Lamp 07'])
        self.snap('search')
        self.visit('/shop/product?q=Lamp')
        self.click_and_wait('th a[href*="sort=price"]')
        prices = [float(p) for p in self.texts('table.table tbody td:nth-child(3)')]
        self.assertEqual(prices, sorted(prices))
        self.assertEqual(prices[0], 1.0)
        self.snap('sorted-by-price')
        self.click_and_wait('th a[href*="sort=-price"]')
        prices = [float(p) for p in self.texts('table.table tbody td:nth-child(3)')]
        self.assertEqual(prices[:3], [25.0, 24.0, 23.0])
        self.snap('sorted-by-price-descending')

    def test_edit_a_row_then_delete_it_behind_its_confirmation(self):
        self.create_products(1, 'Kettle')
        self.visit('/shop/product?q=Kettle')
        self.click_and_wait('table.table tbody a[href$="/edit"]')
        self.assertEqual(self.browser.find('#field-name').property('value'), 'Kettle 01')
        self.snap('edit-form')
        self.fill('#field-name', 'Kettle deluxe')
        self.fill('#field-price', '99.5')
        self.browser.find('#field-photo').type(self.photo)
        self.click_and_wait('.form-actions button[type="submit"]')
        self.assertEqual(self.texts('.flashes .alert-success'), ['Saved product Kettle deluxe.'])
        self.assertEqual(self.text('h1'), 'Kettle deluxe')
        self.assert_images_loaded('.detail img')
        self.snap('edited')
        show_page = self.path()
        self.visit(show_page + '/edit')
        self.assert_images_loaded('.current-file img.thumbnail')
        self.assertIn('Current file: PNG file', self.text('.current-file'))
        self.snap('edit-form-with-the-current-photo')
        self.click_and_wait('.form-actions a')
        self.assertEqual(self.path(), show_page)    # Cancel goes back unchanged
        self.click_and_wait('a.button-danger')
        self.assertEqual(self.path(), show_page + '/delete')
        self.assertEqual(self.text('h1'), 'Delete product Kettle deluxe?')
        self.assertEqual(self.browser.find('.form-actions a').property('href'),
                         self.site + show_page)
        self.snap('delete-confirmation')
        self.click_and_wait('form button.button-danger[type="submit"]')
        self.assertEqual(self.path(), '/shop/product')
        self.assertEqual(self.texts('.flashes .alert-success'), ['Deleted product Kettle deluxe.'])
        self.assertEqual(fetch(self.site + show_page)[0], 404)
        self.snap('after-delete')


class CmsInTheBrowser(BrowserTestCase):
    """`scaffold-cms`: log in, write a page, find it on the menu and at /page/<slug>, log out."""

    @classmethod
    def prepare(cls, project):
        if 'scaffold-cms' not in project.rossian('help'):
            raise unittest.SkipTest('rossian.py has no scaffold-cms command yet')
        project.rossian('scaffold-cms', '--admin-password', ADMIN_PASSWORD)
        project.rossian('migration-upgrade')

    def log_in(self, username, password):
        self.visit('/cms/login')
        self.fill('#username', username)
        self.fill('#password', password)
        self.click_and_wait('form button[type="submit"]')

    def test_admin_logs_in_publishes_a_page_sees_it_on_the_menu_and_logs_out(self):
        self.log_in('admin', 'not the password')
        self.assertIn('alert-error', self.browser.page_source)
        self.snap('wrong-password')
        self.log_in('admin', ADMIN_PASSWORD)
        self.assertEqual(self.path(), '/cms')
        self.assertIn('Logged in as admin', self.text('.lead'))
        self.snap('dashboard')
        self.visit('/cms/page/new')
        self.fill('#field-title', 'About us')
        self.fill('#field-slug', 'about-us')
        self.fill('#field-body', '<p class="about">We make <em>tea</em>.</p>')
        self.browser.find('#field-published').click()
        self.snap('new-page-form')
        self.click_and_wait('.form-actions button[type="submit"]')
        self.assertIn('About us', self.text('h1'))
        self.snap('page-saved')
        self.visit('/')
        self.assertIn('About us', self.texts('.site-nav a'))
        self.snap('menu-with-page')
        self.click_and_wait('.site-nav a[href="/page/about-us"]')
        self.assertEqual(self.path(), '/page/about-us')
        self.assertEqual(self.text('p.about'), 'We make tea.')
        self.snap('published-page')
        self.click_and_wait('.site-nav form button[type="submit"]')
        self.assertIn('Log in', self.texts('.site-nav a'))
        self.snap('logged-out')
        self.visit('/cms/page/new')
        self.assertEqual(urllib.parse.urlsplit(self.browser.url).path, '/cms/login')


if __name__ == '__main__':
    unittest.main()


class NewcomerPathInTheBrowser(BrowserTestCase):
    """What a new user meets (issue 14): a list page reached from the menu and its
    application's page, delete pages that say what else goes or what blocks them, error pages
    in the site's layout, and row actions in sight on a wide list; each at 1280 and 390 px."""

    WIDE_COLUMNS = CRUD_COLUMNS + ['supplier:string', 'origin:string', 'barcode:string',
                                   'weight:float', 'category:ref:category']

    @classmethod
    def prepare(cls, project):
        project.rossian('scaffold-model', 'shop', 'category', 'name:string:required')
        project.rossian('scaffold-crud', 'shop', 'product', *cls.WIDE_COLUMNS)
        project.rossian('scaffold-crud', 'shop', 'category')
        project.rossian('migration-upgrade')

    def snap_both(self, name):
        """Screenshots at 1280 px (the usual window) and at 390 px, as on a phone."""
        self.snap(name + '-1280')
        with self.phone_window():
            self.assert_fits_the_window('.site-main')
            self.snap(name + '-390')

    def add_category_with_products(self, category, *products):
        poster = FormPoster(self.site)
        category_id = int(poster.post_form('/shop/category/new', {'name': category})
                          .rsplit('/', 1)[1])
        for name in products:
            poster.post_form('/shop/product/new', {
                'name': name, 'category': str(category_id), 'price': '4.5',
                'supplier': 'Northern Toy Makers Cooperative of Greater Lancashire',
                'origin': 'Made in a small workshop by the sea', 'barcode': '4006381333931',
                'description': 'Painted wood, with a long description of what it does.'})
        return category_id

    def test_the_list_page_is_reached_from_the_menu_and_the_application_page(self):
        self.visit('/')
        self.click_and_wait('.site-nav a[href="/shop"]')
        self.assertEqual(self.texts('ul.links a'), ['Products', 'Categories'])
        self.assertIn('Products', self.texts('.site-nav a'))
        self.snap_both('application-page')
        self.click_and_wait('ul.links a[href="/shop/product"]')
        self.assertEqual(self.path(), '/shop/product')
        self.assertEqual(self.texts('.site-nav a.active'), ['Shop', 'Products'])
        self.snap_both('list-page')

    def test_delete_pages_say_what_blocks_them_and_show_the_button_in_sight(self):
        category_id = self.add_category_with_products('Toys', 'Ball', 'Car', 'Doll')
        self.visit('/shop/category/%d/delete' % category_id)
        self.assertEqual(self.text('.delete-impact'), 'Toys is used by 3 products: Ball, Car, '
                         'Doll. Delete those first, or change them to use another.')
        self.assertFalse(self.browser.has('form button.button-danger'))
        self.snap_both('delete-refused')
        empty_id = self.add_category_with_products('Empty')
        self.visit('/shop/category/%d/delete' % empty_id)
        self.assertEqual(self.text('.delete-impact'),
                         'Nothing else refers to it: only this row is deleted.')
        bottom = self.browser.script(
            "return document.querySelector('form button.button-danger')"
            ".getBoundingClientRect().bottom <= window.innerHeight;")
        self.assertTrue(bottom, 'the Delete button is below the fold at 1280x900')
        self.snap_both('delete-confirmation')
        self.click_and_wait('form button.button-danger[type="submit"]')
        self.assertEqual(self.texts('.flashes .alert-success'), ['Deleted category Empty.'])

    def test_error_pages_render_in_the_site_layout(self):
        self.browser.open(self.site + '/shop/nothing-here')
        self.assertEqual(self.text('h1'), '404 Not Found')
        self.assertTrue(self.browser.has('.site-nav a[href="/shop/product"]'))
        self.assertTrue(self.browser.has('link[href="/index/assets/css/kokoropy.css"]'))
        self.snap_both('not-found')
        self.browser.console_log()      # the 404 document is logged as a failed load
        self.visit('/shop/category/new')
        self.browser.script("document.querySelector('input[name=csrf_token]').value = 'forged';")
        self.fill('#field-name', 'Forged')
        self.browser.find('.form-actions button[type="submit"]').click()
        self.browser.wait_until(lambda: self.text('h1') == '403 Forbidden')
        self.assertIn('The form has expired', self.text('.lead'))
        self.snap_both('forbidden')
        self.browser.console_log()

    def test_row_actions_stay_in_sight_on_a_wide_list(self):
        self.add_category_with_products('Games', 'Chess', 'Go', 'Backgammon')
        self.visit('/shop/product')
        hidden = self.browser.script(
            "return Array.from(document.querySelectorAll('.table-actions a')).filter("
            " function (button) {"
            "  window.scrollTo(0, button.getBoundingClientRect().top + window.scrollY - 300);"
            "  var r = button.getBoundingClientRect();"
            "  var wrap = button.closest('.table-wrap').getBoundingClientRect();"
            "  var top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
            "  return r.right > wrap.right || r.left < wrap.left || !button.contains(top);"
            " }).map(function (button) { return button.textContent; });")
        self.assertEqual(hidden, [])
        self.assertGreaterEqual(len(self.browser.find_all('.table-actions a')), 9)
        overflow = self.browser.script(
            "var wrap = document.querySelector('.table-wrap');"
            "return [wrap.scrollWidth > wrap.clientWidth, wrap.scrollLeft];")
        self.assertEqual(overflow, [True, 0])   # many columns: the table scrolls sideways
        self.browser.script('window.scrollTo(0, 0);')
        self.snap_both('wide-list')
