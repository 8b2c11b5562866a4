"""A CRUD written by `python rossian.py scaffold-crud`, with one column of every type, driven
over HTTP on a real server: list, search, sort, pages, create, invalid create, edit, upload,
delete, JSON, CSRF; then its migrations downgraded and upgraded again."""
import ast
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import OnBothBackends, backend_database_url, with_postgresql  # noqa: E402
from test_rossian import Browser, Project, ProjectTestCase  # noqa: E402
from support import parse_as_oldest_python  # noqa: E402

import kokoropy  # noqa: E402

EVERY_TYPE = ['name:string:required', 'description:text', 'stock:integer', 'price:float',
              'active:boolean', 'released:date', 'restocked:datetime', 'photo:upload',
              'secret:password', 'contact:email', 'category:ref:category']
PNG = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00'
       b'\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N'
       b'\x00\x00\x00\x00IEND\xaeB`\x82')


def build_shop(project):
    """scaffold an application, a category CRUD and a product CRUD with every column type,
    and apply the migrations."""
    for arguments in (['scaffold-application', 'shop'],
                      ['scaffold-crud', 'shop', 'category', 'name:string:required:unique'],
                      ['scaffold-crud', 'shop', 'product'] + EVERY_TYPE,
                      ['migration-upgrade']):
        result = project.rossian(*arguments)
        assert result.returncode == 0, result.stdout + result.stderr


class CrudOverHttpTest(OnBothBackends, unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.project = Project()
        try:
            if cls.backend != 'sqlite':
                cls.project.use_database(backend_database_url(cls.backend))
            build_shop(cls.project)
            cls.server = cls.project.start()
            cls.category_id = cls.create(Browser(cls.server), 'category', {'name': 'Toys'})
        except BaseException:
            cls.project.remove()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.project.remove()

    def setUp(self):
        self.browser = Browser(self.server)

    @classmethod
    def create(cls, browser, table, fields, files=None):
        """POST the create form of `table`; return the new row's id."""
        fields = dict(fields, csrf_token=browser.csrf('/shop/%s/new' % table))
        answer = browser.post('/shop/%s/new' % table, fields, files)
        assert answer.status == 303, (answer.status, answer.text)
        return int(re.match(r'^/shop/%s/(\d+)$' % table, answer.location).group(1))

    def product_fields(self, **changes):
        fields = {'name': 'Kite', 'description': 'Flies <high>\nand far', 'stock': '12',
                  'price': '9.5', 'active': '1', 'released': '2024-05-01',
                  'restocked': '2024-06-02T10:30', 'secret': 'hunter2-secret',
                  'contact': 'kites@example.com', 'category': str(self.category_id)}
        fields.update(changes)
        return fields

    def database(self):
        """The project's database, opened here (closed at the end of the test)."""
        database = kokoropy.Database(self.project.database_url or
                                     self.project.path('db', 'kokoropy.db'))
        self.addCleanup(database.close)
        return database

    def row(self, product_id):
        rows = self.database().query('SELECT * FROM product WHERE id = ?', (product_id,))
        return rows[0] if rows else None

    def test_the_database_of_the_url_is_used_and_no_other_file_is_made(self):
        self.assertEqual(os.path.exists(self.project.path('db', 'kokoropy.db')),
                         not self.on_postgresql)
        self.assertIn('product', self.database().tables())

    def test_form_has_a_widget_per_type_and_a_csrf_token(self):
        page = self.browser.get('/shop/product/new')
        self.assertEqual(page.status, 200)
        for widget in ('<input type="text" id="field-name" name="name"',
                       '<textarea id="field-description" name="description">',
                       '<input type="number" id="field-stock" name="stock"',
                       '<input type="number" id="field-price" name="price"',
                       '<input type="checkbox" id="field-active" name="active"',
                       '<input type="date" id="field-released"',
                       '<input type="datetime-local" id="field-restocked"',
                       '<input type="file" id="field-photo"',
                       '<input type="password" id="field-secret"',
                       '<input type="email" id="field-contact"',
                       '<select id="field-category" name="category">',
                       '<option value="%d">Toys</option>' % self.category_id,
                       'enctype="multipart/form-data"', 'name="csrf_token"',
                       '<a class="button" href="/shop/product">Cancel</a>'):
            self.assertIn(widget, page.text)
        self.assertIn('class="site-header"', page.text)  # inside the index layout

    def test_create_with_upload_shows_the_row_and_a_flash_message(self):
        product_id = self.create(self.browser, 'product', self.product_fields(),
                                 {'photo': ('kite.png', PNG, 'image/png')})
        page = self.browser.get('/shop/product/%d' % product_id)
        self.assertEqual(page.status, 200)
        self.assertIn('Created product Kite.', page.text)
        self.assertIn('Flies &lt;high&gt;', page.text)
        self.assertNotIn('hunter2-secret', page.text)
        row = self.row(product_id)
        self.assertNotEqual(row['secret'], 'hunter2-secret')
        self.assertEqual(row['category_id'], self.category_id)
        self.assertRegex(row['photo'], r'^uploads/[0-9a-f]{32}\.png$')
        stored = self.project.path('applications', 'shop', 'assets', *row['photo'].split('/'))
        with open(stored, 'rb') as f:
            self.assertEqual(f.read(), PNG)
        image = self.browser.get('/shop/assets/' + row['photo'])
        self.assertEqual((image.status, image.body), (200, PNG))
        self.assertIn('/shop/assets/%s' % row['photo'], page.text)

    def test_replaced_or_deleted_photo_is_no_longer_served(self):
        product_id = self.create(self.browser, 'product', self.product_fields(name='Drum'),
                                 {'photo': ('drum.png', PNG, 'image/png')})
        first = self.row(product_id)['photo']
        fields = self.product_fields(name='Drum', secret='')
        fields['csrf_token'] = self.browser.csrf('/shop/product/%d/edit' % product_id)
        answer = self.browser.post('/shop/product/%d/edit' % product_id, fields,
                                   {'photo': ('drum2.png', PNG + b'2', 'image/png')})
        self.assertEqual(answer.status, 303, answer.text)
        second = self.row(product_id)['photo']
        self.assertNotEqual(first, second)
        self.assertEqual(self.browser.get('/shop/assets/' + first).status, 404)
        self.assertEqual(self.browser.get('/shop/assets/' + second).body, PNG + b'2')
        token = self.browser.csrf('/shop/product/%d/delete' % product_id)
        answer = self.browser.post('/shop/product/%d/delete' % product_id, {'csrf_token': token})
        self.assertEqual(answer.status, 303)
        self.assertEqual(self.browser.get('/shop/assets/' + second).status, 404)

    def test_invalid_create_keeps_the_input_and_shows_messages_beside_fields(self):
        fields = self.product_fields(name='', stock='many', contact='not-an-email')
        fields['csrf_token'] = self.browser.csrf('/shop/product/new')
        page = self.browser.post('/shop/product/new', fields)
        self.assertEqual(page.status, 200)
        self.assertIn('Please correct the errors below.', page.text)
        self.assertRegex(page.text, r'name="stock" value="many"[^>]*>\s*'
                                    r'<span class="error-message" id="field-stock-error">'
                                    r'Stock must be a whole number.</span>')
        self.assertRegex(page.text, r'id="field-name-error">Name is required.</span>')
        self.assertRegex(page.text, r'id="field-contact-error">[^<]*valid email[^<]*</span>')
        self.assertIn('value="not-an-email"', page.text)
        self.assertIn('Flies &lt;high&gt;\nand far</textarea>', page.text)
        self.assertNotIn('hunter2-secret', page.text)

    def test_edit_changes_the_row_and_a_blank_password_keeps_the_stored_one(self):
        product_id = self.create(self.browser, 'product', self.product_fields(name='Ball'))
        stored_hash = self.row(product_id)['secret']
        form = self.browser.get('/shop/product/%d/edit' % product_id)
        self.assertIn('name="name" value="Ball"', form.text)
        self.assertNotIn('hunter2-secret', form.text)
        fields = self.product_fields(name='Red ball', secret='', active='')
        fields['csrf_token'] = self.browser.csrf('/shop/product/%d/edit' % product_id)
        answer = self.browser.post('/shop/product/%d/edit' % product_id, fields)
        self.assertEqual((answer.status, answer.location), (303, '/shop/product/%d' % product_id))
        self.assertIn('Saved product Red ball.', self.browser.follow(answer).text)
        row = self.row(product_id)
        self.assertEqual((row['name'], row['active'], row['secret']), ('Red ball', 0, stored_hash))

    def test_delete_asks_for_confirmation_then_needs_a_post_with_csrf(self):
        product_id = self.create(self.browser, 'product', self.product_fields(name='Yoyo'))
        page = self.browser.get('/shop/product/%d/delete' % product_id)
        self.assertIn('Delete product Yoyo?', page.text)
        self.assertIn('<button type="submit" class="button button-danger">Delete</button>\n'
                      '<a class="button" href="/shop/product/%d">Cancel</a>' % product_id,
                      page.text)
        self.assertIsNotNone(self.row(product_id))
        refused = self.browser.post('/shop/product/%d/delete' % product_id, {})
        self.assertEqual(refused.status, 403)
        token = self.browser.csrf('/shop/product/%d/delete' % product_id)
        answer = self.browser.post('/shop/product/%d/delete' % product_id, {'csrf_token': token})
        self.assertEqual((answer.status, answer.location), (303, '/shop/product'))
        self.assertIn('Deleted product Yoyo.', self.browser.follow(answer).text)
        self.assertIsNone(self.row(product_id))
        self.assertEqual(self.browser.get('/shop/product/%d' % product_id).status, 404)

    def test_json_for_the_list_and_one_row(self):
        product_id = self.create(self.browser, 'product', self.product_fields(name='Drum'))
        detail = self.browser.get('/shop/product/%d?format=json' % product_id)
        self.assertEqual(detail.headers['Content-Type'], 'application/json')
        values = json.loads(detail.text)
        self.assertEqual((values['id'], values['name'], values['stock'], values['price'],
                          values['active'], values['released'], values['category_id']),
                         (product_id, 'Drum', 12, 9.5, True, '2024-05-01', self.category_id))
        self.assertNotIn('secret', values)
        listing = json.loads(self.browser.get('/shop/product?q=Drum', headers={
            'Accept': 'application/json'}).text)
        self.assertEqual([item['name'] for item in listing['items']], ['Drum'])
        self.assertEqual((listing['page'], listing['pages'], listing['total']), (1, 1, 1))

    def test_list_searches_sorts_and_pages(self):
        self.database().executemany(
            "INSERT INTO product (name, stock, created_at, updated_at) VALUES "
            "(?, ?, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            [('Bulk %02d' % number, number) for number in range(1, 26)])
        first = self.browser.get('/shop/product?q=Bulk&sort=-stock')
        self.assertEqual(first.status, 200)
        names = re.findall(r'>(Bulk \d\d)<', first.text)
        self.assertEqual(names, ['Bulk %02d' % number for number in range(25, 5, -1)])
        self.assertIn('href="?q=Bulk&amp;sort=-stock&amp;page=2"', first.text)
        second = self.browser.get('/shop/product?q=Bulk&sort=-stock&page=2')
        self.assertEqual(re.findall(r'>(Bulk \d\d)<', second.text),
                         ['Bulk 05', 'Bulk 04', 'Bulk 03', 'Bulk 02', 'Bulk 01'])
        self.assertIn('name="q" value="Bulk"', first.text)

    def test_generated_python_parses_as_the_oldest_python_and_imports_only_stdlib_and_kokoropy(self):
        stdlib = set(getattr(sys, 'stdlib_module_names', ())) or None
        for path in self.project.python_files():
            with open(path, encoding='utf-8') as f:
                tree = parse_as_oldest_python(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level == 0:
                    top = node.module.split('.')[0]
                elif isinstance(node, ast.Import):
                    top = node.names[0].name.split('.')[0]
                else:
                    continue
                allowed = top in ('kokoropy', 'applications') or stdlib is None or top in stdlib
                self.assertTrue(allowed or 'example' in path, '%s imports %s' % (path, top))


class CrudMigrationRoundTripTest(OnBothBackends, ProjectTestCase):
    def setUp(self):
        ProjectTestCase.setUp(self)
        if self.on_postgresql:
            self.project.use_database(self.database_url())

    def test_downgrade_then_upgrade_drops_and_recreates_the_tables(self):
        build_shop(self.project)
        result = self.assertSucceeds('migration-downgrade', 'shop', '--steps', '2')
        self.assertRegex(result.stdout, r'^reverted shop/migrations/0002_create_product.py '
                                        r'\(\d+\.\d ms\)\nreverted shop/migrations/'
                                        r'0001_create_category.py')
        self.assertEqual(self.project.columns('product'), [])
        result = self.assertSucceeds('migration-upgrade', 'shop')
        self.assertIn('applied shop/migrations/0002_create_product.py', result.stdout)
        self.assertEqual(self.project.columns('product')[:3], ['id', 'name', 'description'])
        self.assertIn('category_id', self.project.columns('product'))

    def test_scaffold_view_refuses_to_overwrite_without_force(self):
        build_shop(self.project)
        self.project.write('applications/shop/views/product_form.tpl', 'mine')
        self.assertUsageError(['scaffold-view', 'shop', 'product', 'form'],
                              'product_form.tpl exists; add --force to overwrite it')
        self.assertUsageError(['scaffold-view', 'shop', 'product', 'table'],
                              "invalid choice: 'table'")
        self.assertUsageError(['scaffold-view', 'shop', 'nothing', 'list'],
                              'no model applications/shop/models/nothing.py')
        result = self.assertSucceeds('scaffold-view', 'shop', 'product', 'form', '--force')
        self.assertEqual(result.stdout, 'updated applications/shop/views/product_form.tpl\n')
        self.assertIn("% extends('index/base')",
                      self.project.read('applications', 'shop', 'views', 'product_form.tpl'))
        os.remove(self.project.path('applications', 'shop', 'views', 'product_list.tpl'))
        self.assertSucceeds('scaffold-view', 'shop', 'product', 'list')

    def test_crud_of_a_new_application_writes_the_application_too(self):
        self.assertUsageError(['scaffold-crud', 'shop', 'product', 'name:strin'],
                              "unknown column type 'strin'")
        self.assertFalse(os.path.exists(self.project.path('applications', 'shop')))
        self.assertUsageError(['scaffold-crud', 'json', 'product', 'name:string'],
                              "application name 'json' is a Python standard library module")
        result = self.assertSucceeds('scaffold-crud', 'shop', 'product', 'name:string',
                                     'price:float')
        for created in ('applications/shop/__init__.py', 'applications/shop/routes.py',
                        'applications/shop/models/product.py',
                        'applications/shop/migrations/0001_create_product.py',
                        'applications/shop/controllers/product.py'):
            self.assertIn('created ' + created, result.stdout)
        routes = self.project.read('applications', 'shop', 'routes.py')
        self.assertIn('urls = list(urls) + product_pages.urls', routes)
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertParsesAsOldestPython()

    def test_crud_on_an_existing_model_and_refusals(self):
        self.assertSucceeds('scaffold-application', 'shop')
        self.assertSucceeds('scaffold-model', 'shop', 'tag', 'label:string')
        self.assertUsageError(['scaffold-crud', 'shop', 'tag', 'label:string'],
                              'models/tag.py exists already: leave out the columns')
        result = self.assertSucceeds('scaffold-crud', 'shop', 'tag')
        self.assertNotIn('migrations', result.stdout)
        self.assertIn('updated applications/shop/routes.py', result.stdout)
        self.assertUsageError(['scaffold-crud', 'shop', 'tag'], 'controllers/tag.py exists')
        self.assertUsageError(['scaffold-crud', 'shop', 'string', 'x:integer'],
                              'would give a model class String')
        self.project.write('applications/shop/routes.py', 'pages = []\n')
        self.assertUsageError(['scaffold-crud', 'shop', 'item', 'name:string'],
                              'routes.py must define urls = [...]')


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
