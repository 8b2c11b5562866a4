"""rossian's everyday toolbox, driven as a user would: shell (stdin and -c), routes (a table and
JSON), check (each problem made to happen once), test (the tests scaffold-crud writes)."""
import json
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import support  # noqa: E402
from support import OnBothBackends, with_postgresql  # noqa: E402
from test_rossian import ProjectTestCase  # noqa: E402


class ToolboxTestCase(ProjectTestCase):
    def run_rossian(self, *arguments, **options):
        """rossian.py with `input` on its standard input and `env` over the environment."""
        environment = dict(os.environ, **options.get('env', {}))
        for name in ('KOKOROPY_RELOADER_CHILD', 'KOKOROPY_TEST_DATABASE_URL'):
            environment.pop(name, None)
        return subprocess.run([sys.executable, self.project.path('rossian.py')] +
                              list(arguments), cwd=self.project.folder, env=environment,
                              input=options.get('input', ''), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=60)

    def write(self, relative, text):
        os.makedirs(os.path.dirname(self.project.path(relative)), exist_ok=True)
        self.project.write(relative, text)

    def crud(self):
        self.assertSucceeds('scaffold-crud', 'shop', 'category', 'name:string:required:unique')
        self.assertSucceeds('scaffold-crud', 'shop', 'product', 'name:string:required',
                            'price:float', 'photo:upload', 'category:ref:category')
        self.assertSucceeds('migration-upgrade')


class ShellTest(ToolboxTestCase):
    def test_code_on_standard_input_runs_with_the_models_by_class_name(self):
        self.crud()
        result = self.run_rossian('shell', input=(
            "Category.create(name='Toys')\n"
            "print(Product.all().count(), Category.all().first().name)\n"
            "print(url('shop.product.show', product_id=3), client.get('/shop/product').status)\n"
            "print('product' in db.tables(), kokoropy.__name__, app is kokoropy.default_app())\n"))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout, "0 Toys\n/shop/product/3 200\nTrue kokoropy True\n")

    def test_dash_c_runs_one_statement(self):
        self.assertSucceeds('migration-upgrade')
        result = self.run_rossian('shell', '-c', 'print(Pokemon.all().count())')
        self.assertEqual((result.returncode, result.stdout), (0, '6\n'), result.stderr)

    def test_an_error_in_the_code_is_shown_as_python_shows_it_with_status_1(self):
        self.assertSucceeds('migration-upgrade')
        result = self.run_rossian('shell', '-c', 'x = 1\nprint(1 / 0)')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.splitlines(), [
            'Traceback (most recent call last):', '  File "<shell -c>", line 2, in <module>',
            'ZeroDivisionError: division by zero'])
        syntax = self.run_rossian('shell', '-c', 'def f(:')
        self.assertEqual(syntax.returncode, 1)
        self.assertIn('File "<shell -c>", line 1', syntax.stderr)
        self.assertNotIn('rossian.py', syntax.stderr)

    def test_models_with_one_class_name_in_two_applications_get_the_application_prefix(self):
        self.assertSucceeds('scaffold-model', 'shop', 'note', 'text:string')
        self.assertSucceeds('scaffold-application', 'blog')
        self.write('applications/blog/models/note.py',
                   'from kokoropy import Model, String\n\n\nclass Note(Model):\n'
                   "    table_name = 'blog_note'\n    text = String()\n")
        result = self.run_rossian('shell', '-c', 'print(blog_Note._meta.table, '
                                  'shop_Note.__module__, "Note" in dir())')
        self.assertEqual(result.stdout, 'blog_note applications.shop.models.note False\n',
                         result.stderr)


class RoutesTest(ToolboxTestCase):
    def test_every_route_in_a_table_with_methods_name_application_and_handler(self):
        result = self.assertSucceeds('routes')
        lines = result.stdout.splitlines()
        self.assertEqual(lines[0].split(), ['METHODS', 'PATH', 'NAME', 'APPLICATION', 'HANDLER'])
        self.assertIn(['GET', '/example/hello', 'example.hello', 'example',
                       'applications.example.controllers.demos.hello'],
                      [line.split() for line in lines])
        self.assertIn(['GET', '/example/pokemon', 'example.pokemon.index', 'example',
                       'applications.example.controllers.pokemon.PokemonController.get_index'],
                      [line.split() for line in lines], 'autoroute actions are listed')
        self.assertIn(['GET', '/', 'index.home', 'index',
                       'applications.index.controllers.home.home'],
                      [line.split() for line in lines])

    def test_app_filter_and_json(self):
        self.crud()
        rows = json.loads(self.assertSucceeds('routes', '--app', 'shop', '--json').stdout)
        self.assertEqual(set(row['application'] for row in rows), {'shop'})
        self.assertIn({'methods': ['GET', 'POST'], 'path': '/shop/product/new',
                       'name': 'shop.product.create', 'application': 'shop',
                       'handler': 'applications.shop.controllers.product.product_create'}, rows)

    def test_an_unknown_application_is_a_usage_error(self):
        self.assertUsageError(['routes', '--app', 'nope'], "no application 'nope'")


class CheckTest(ToolboxTestCase):
    def check(self, *arguments, **env):
        return self.run_rossian('check', *arguments, env=env)

    def assertProblem(self, result, problem, fix):
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        lines = result.stdout.splitlines()
        matching = [i for i, line in enumerate(lines) if line.startswith('problem: ') and
                    problem in line]
        self.assertEqual(len(matching), 1, result.stdout)
        self.assertIn(fix, lines[matching[0] + 1])
        self.assertTrue(lines[matching[0] + 1].startswith('    fix: '))

    def test_a_migrated_site_is_ready(self):
        self.assertSucceeds('migration-upgrade')
        result = self.check()
        self.assertEqual((result.returncode, result.stdout),
                         (0, 'All checks passed: the site is ready to serve.\n'), result.stderr)

    def test_each_problem_is_reported_with_its_fix(self):
        self.crud()
        self.write('applications/broken/__init__.py', 'import no_such_module\n')
        self.assertProblem(self.check(), 'application broken fails to load: ModuleNotFoundError',
                           'fix applications/broken')
        os.remove(self.project.path('applications', 'broken', '__init__.py'))
        self.assertSucceeds('scaffold-model', 'shop', 'tag', 'label:string')
        self.assertProblem(self.check(), 'migration shop/migrations/0003_create_tag.py is not '
                           'applied', 'python rossian.py migration-upgrade shop')
        self.assertSucceeds('migration-upgrade')
        model = self.project.read('applications', 'shop', 'models', 'tag.py')
        self.project.write('applications/shop/models/tag.py',
                           model.replace("    label = String()\n",
                                         "    label = String()\n    colour = String()\n"))
        self.assertProblem(self.check(), 'table tag lacks column(s) colour',
                           'python rossian.py scaffold-migration shop')
        self.project.write('applications/shop/models/tag.py', model)
        self.assertProblem(self.check(KOKOROPY_DEBUG='1'), 'DEBUG is on', 'KOKOROPY_DEBUG')
        self.assertProblem(self.check('--host', '0.0.0.0'), 'no SECRET is set',
                           'KOKOROPY_SECRET')
        self.assertEqual(self.check('--host', '0.0.0.0', KOKOROPY_SECRET='s').returncode, 0)
        self.assertProblem(self.check(KOKOROPY_BASE_URL='/site/'), 'TRUSTED_PROXIES is 0',
                           'KOKOROPY_TRUSTED_PROXIES')
        self.project.write('not-a-folder', '')
        self.assertProblem(self.check(KOKOROPY_UPLOAD_FOLDER='not-a-folder/uploads'),
                           "uploads of shop can't be written", 'UPLOAD_FOLDER')
        self.assertEqual(self.check().returncode, 0)

    def test_a_postgresql_url_without_a_driver_is_a_problem(self):
        import importlib.util
        if any(importlib.util.find_spec(name) for name in ('psycopg', 'pg8000')):
            self.skipTest('a PostgreSQL driver is installed here')
        result = self.check(KOKOROPY_DATABASE_URL='postgresql://site@127.0.0.1:1/site')
        self.assertProblem(result, 'neither driver is installed', 'pip install')


class TestCommandTest(ToolboxTestCase):
    def test_the_generated_tests_pass_on_a_temporary_database(self):
        self.crud()
        self.assertTrue(os.path.exists(self.project.path('applications', 'shop', 'tests',
                                                         'test_product.py')))
        self.assertParsesAsOldestPython()
        before = self.project.snapshot()
        result = self.run_rossian('test', 'shop', '-v')
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn('Ran 12 tests', result.stdout)
        self.assertTrue(result.stdout.rstrip().endswith('OK'), result.stdout)
        self.assertIn('test_a_product_without_its_name_is_refused_with_a_message', result.stdout)
        self.assertEqual(self.project.snapshot(), before, 'the site and its files are untouched')
        run_directly = subprocess.run(
            [sys.executable, '-m', 'unittest', 'discover', '-s', 'applications/shop/tests',
             '-t', '.'], cwd=self.project.folder, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, universal_newlines=True, timeout=60)
        self.assertIn('OK (skipped=2)', run_directly.stdout, 'never on the site database')

    def test_a_failing_test_gives_status_1(self):
        self.crud()
        path = 'applications/shop/tests/test_category.py'
        self.project.write(path, self.project.read(*path.split('/')).replace(
            "self.assertEqual(self.client.get('/shop/category/999999').status, 404)",
            "self.assertEqual(self.client.get('/shop/category/999999').status, 200)"))
        result = self.run_rossian('test')
        self.assertEqual(result.returncode, 1)
        self.assertIn('FAILED (failures=1)', result.stdout + result.stderr)

    def test_no_tests_and_misuse(self):
        self.assertSucceeds('migration-upgrade')
        self.assertEqual(self.run_rossian('test').stdout,
                         'No tests: no application has a tests/ folder (scaffold-crud writes '
                         'one).\n')
        self.assertUsageError(['test', 'nope'], "no application 'nope'")
        self.assertUsageError(['test', 'example'], 'applications/example/tests/ has no tests')


SHOP_ROWS = """
toys = Category.create(name='Toys')
Product.create(name='Ball', price=2.5, category=toys)
Product.create(name='Kite', price=None, category=toys)
"""


class DumpAndLoadTest(OnBothBackends, ToolboxTestCase):
    """A site's rows moved to another database: a sqlite file, or (the copy of this case
    named ...OnPostgreSQL) a PostgreSQL database."""

    OTHER = {'KOKOROPY_DATABASE_URL': 'sqlite:///db/other.db'}

    def setUp(self):
        ToolboxTestCase.setUp(self)
        if self.on_postgresql:
            self.OTHER = {'KOKOROPY_DATABASE_URL': self.database_url()}
        self.crud()
        self.assertEqual(self.run_rossian('shell', input=SHOP_ROWS).returncode, 0)
        self.dump = self.run_rossian('db-dump').stdout
        self.project.write('site.json', self.dump)

    def test_a_dump_loads_into_another_database_with_ids_and_references_kept(self):
        dump = json.loads(self.dump)
        self.assertEqual(dump['applications']['shop']['migrations'], [1, 2])
        self.assertEqual(dump['applications']['shop']['tables']['product']['rows'][0][:5],
                         [1, 'Ball', 2.5, None, 1])
        self.assertEqual(self.run_rossian('migration-upgrade', env=self.OTHER).returncode, 0)
        # The example's migration seeds its table: those rows give way to the dump's.
        loaded = self.run_rossian('db-load', 'site.json', '--replace', env=self.OTHER)
        self.assertEqual((loaded.returncode, loaded.stdout),
                         (0, 'Loaded 9 rows into 3 tables.\n'), loaded.stderr)
        self.assertEqual(self.run_rossian('db-dump', env=self.OTHER).stdout, self.dump)
        after = self.run_rossian('shell', '-c', "p = Product.create(name='New', category=1); "
                                 "print(p.id, Product.get(1).category.name)", env=self.OTHER)
        self.assertEqual(after.stdout, '3 Toys\n', after.stderr)

    def test_rows_already_there_are_refused_unless_replaced(self):
        refused = self.run_rossian('db-load', 'site.json')
        self.assertEqual(refused.returncode, 1)
        self.assertEqual(refused.stderr, 'rossian: error: table example_pokemon holds 6 rows '
                         'already: load into empty tables, or give --replace to delete them '
                         'first\n')
        self.run_rossian('shell', '-c', "Category.create(name='Extra')")
        replaced = self.run_rossian('db-load', 'site.json', '--replace')
        self.assertEqual(replaced.returncode, 0, replaced.stderr)
        self.assertEqual(self.run_rossian('db-dump').stdout, self.dump)

    def test_other_migration_versions_are_refused_and_nothing_is_loaded(self):
        self.assertEqual(self.run_rossian('migration-upgrade', env=self.OTHER).returncode, 0)
        self.assertEqual(self.run_rossian('migration-downgrade', 'shop',
                                          env=self.OTHER).returncode, 0)
        refused = self.run_rossian('db-load', 'site.json', env=self.OTHER)
        self.assertEqual(refused.returncode, 1)
        self.assertIn('shop is at migrations 0001 here but the dump was taken at 0001, 0002',
                      refused.stderr)
        count = self.run_rossian('shell', '-c', 'print(Category.all().count())', env=self.OTHER)
        self.assertEqual(count.stdout, '0\n')

    def test_a_file_that_is_not_a_dump_is_a_usage_error(self):
        self.project.write('bad.json', '{"rows": []}')
        self.assertUsageError(['db-load', 'bad.json'], 'is not a file written by')
        self.project.write('bad.json', 'not json')
        self.assertUsageError(['db-load', 'bad.json'], 'bad.json is not JSON')
        self.assertUsageError(['db-load', 'missing.json'], 'cannot read missing.json')
        self.assertUsageError(['db-dump', 'nope'], "no application 'nope'")


@unittest.skipUnless(support.postgresql_server_url(), 'KOKOROPY_TEST_POSTGRESQL is not set')
class PostgresqlMoveTest(ToolboxTestCase):
    def test_a_sqlite_site_moves_to_postgresql_and_takes_new_rows_after(self):
        self.crud()
        self.assertEqual(self.run_rossian('shell', input=SHOP_ROWS).returncode, 0)
        dump = self.run_rossian('db-dump').stdout
        self.project.write('site.json', dump)
        server = {'KOKOROPY_DATABASE_URL': support.fresh_postgresql_url()}
        self.assertEqual(self.run_rossian('migration-upgrade', env=server).returncode, 0)
        loaded = self.run_rossian('db-load', 'site.json', '--replace', env=server)
        self.assertEqual(loaded.stdout, 'Loaded 9 rows into 3 tables.\n', loaded.stderr)
        self.assertEqual(self.run_rossian('db-dump', env=server).stdout, dump)
        after = self.run_rossian('shell', '-c', "p = Product.create(name='New', category=1); "
                                 "print(p.id, Product.get(1).category.name, "
                                 "Category.create(name='Games').id)", env=server)
        self.assertEqual(after.stdout, '3 Toys 2\n', after.stderr)


with_postgresql(globals())

if __name__ == '__main__':
    unittest.main()
