"""rossian.py, the command line: help, errors, start, migrations and the scaffold commands.

Every test drives `python rossian.py ...` in a subprocess, in a temporary copy of the project
(kokoropy.py, rossian.py and applications/), and looks at the real files, database and pages.
The generated CRUD and CMS are driven over HTTP in test_rossian_crud.py and test_rossian_cms.py.
"""
import importlib.util
import os
import re
import shlex
import socket
import sqlite3
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import Browser, ProjectTestCase, free_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- the tests --------------------------------------------------------------------------------

COMMANDS = ['help', 'start', 'scaffold-application', 'scaffold-migration', 'scaffold-model',
            'scaffold-crud', 'scaffold-view', 'scaffold-cms', 'migration-upgrade',
            'migration-downgrade', 'migration-log', 'shell', 'routes', 'check', 'test',
            'db-dump', 'db-load']


class HelpTest(ProjectTestCase):
    def test_no_arguments_lists_every_command_with_an_example(self):
        result = self.assertSucceeds()
        for name in COMMANDS:
            self.assertRegex(result.stdout, r'\n  %s\b' % name)
            self.assertIn('e.g. python rossian.py %s' % name, result.stdout)
        self.assertIn('category:ref:category', result.stdout)
        self.assertEqual(result.stdout, self.assertSucceeds('help').stdout)

    def test_help_command_shows_usage_details_and_example(self):
        for name in COMMANDS:
            with self.subTest(command=name):
                result = self.assertSucceeds('help', name)
                self.assertTrue(result.stdout.startswith('usage: python rossian.py ' + name),
                                result.stdout)
                self.assertIn('example:\n  python rossian.py ' + name, result.stdout)
        self.assertIn('--port PORT', self.assertSucceeds('help', 'start').stdout)
        self.assertEqual(self.assertSucceeds('start', '--help').stdout,
                         self.assertSucceeds('help', 'start').stdout)

    def test_help_of_an_unknown_command_is_a_usage_error(self):
        self.assertUsageError(['help', 'nope'], "unknown command 'nope'")


class ExamplesTest(ProjectTestCase):
    """Every `python rossian.py ...` example runs as printed, in order, on a fresh project (only
    `start` gets a free port instead of 8080, which may be taken on this machine)."""

    def run_example(self, line):
        words = shlex.split(line)
        self.assertEqual(words[:2], ['python', 'rossian.py'], line)
        if words[2] != 'start':
            redirect = words[-2] if len(words) > 3 else None   # "... > site.json", as a shell
            result = self.rossian(*(words[2:-2] if redirect == '>' else words[2:]))
            self.assertEqual(result.returncode, 0, '%s\n%s%s' % (line, result.stdout,
                                                                   result.stderr))
            if redirect == '>':
                self.project.write(words[-1], result.stdout)
            return
        arguments = ' '.join(words[3:])
        arguments = re.sub(r'--port[ =][0-9]+', '', arguments).split()
        server = self.project.start(*arguments)
        opened = re.search(r'^Open (http://\S+) in a browser\.$', server.output(), re.MULTILINE)
        self.assertIsNotNone(opened, server.output())
        with urllib.request.urlopen(opened.group(1), timeout=20) as page:
            self.assertEqual(page.status, 200)
        server.stop()

    def test_every_help_example_runs_in_order_on_a_fresh_project(self):
        examples = re.findall(r'^      e\.g\. (.+)$', self.assertSucceeds('help').stdout,
                              re.MULTILINE)
        self.assertEqual(len(examples), len(COMMANDS))
        for line in examples:
            self.run_example(line)
        self.assertIsNotNone(self.project.read('applications', 'shop', 'routes.py'))

    def test_every_readme_command_table_example_runs_in_order_on_a_fresh_project(self):
        with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
            readme = f.read()
        table = readme.split('| command | example |', 1)[1].split('\n\n', 1)[0]
        examples = re.findall(r'\| `(python rossian\.py [^`]+)`', table)
        self.assertEqual(len(examples), len(COMMANDS) - 1)      # all but help
        for line in examples:
            self.run_example(line)

    def test_usage_lines_show_columns_as_optional(self):
        for arguments, missing in ((['scaffold-crud'], 'APP, TABLE'),
                                   (['scaffold-model'], 'APP, TABLE'),
                                   (['scaffold-migration', 'shop'], 'NAME')):
            with self.subTest(command=arguments[0]):
                result = self.assertUsageError(arguments, 'the following arguments are required')
                self.assertEqual(result.stderr.splitlines()[0], 'rossian: error: the following '
                                 'arguments are required: ' + missing)
                self.assertIn(' [NAME:TYPE ...]', result.stderr.splitlines()[1])


class ArgumentErrorTest(ProjectTestCase):
    def test_unknown_command_exits_2_and_changes_nothing(self):
        result = self.assertUsageError(['scaffold-everything', 'shop'],
                                       "unknown command 'scaffold-everything'")
        self.assertEqual(len(result.stderr.splitlines()), 2)

    def test_bad_option_values_exit_2_in_both_spellings(self):
        self.assertUsageError(['start', '--port', 'eighty'], "'eighty' is not a port number")
        self.assertUsageError(['start', '--port=eighty'], "'eighty' is not a port number")
        self.assertUsageError(['start', '--server', 'apache'], "invalid choice: 'apache'")
        self.assertUsageError(['start', '--cpu', 'fast'], "'fast' is not auto, any or a CPU number")
        self.assertUsageError(['migration-downgrade'], 'APP')
        self.assertUsageError(['scaffold-application', 'shop', 'extra'],
                              'unrecognized arguments: extra')

    def test_unknown_column_type_lists_the_valid_types_and_writes_nothing(self):
        self.assertSucceeds('scaffold-application', 'shop')
        result = self.assertUsageError(['scaffold-crud', 'shop', 'product', 'name:string',
                                        'price:money'], "unknown column type 'money'")
        self.assertIn('valid types: string, text, integer, float, boolean, date, datetime, '
                      'upload, password, email, or NAME:ref:TABLE', result.stderr)
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'price'],
                              "column 'price' must read NAME:TYPE")
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'id:integer'],
                              "column 'id' is added by Kokoropy itself")
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'save:string'],
                              "column 'save' would hide Model.save")

    def test_user_errors_are_one_line_and_debug_shows_the_traceback(self):
        result = self.assertUsageError(['scaffold-crud', 'nowhere', 'product'],
                                       "give the columns of the new table 'product'")
        self.assertNotIn('Traceback', result.stderr)
        result = self.rossian('scaffold-crud', 'nowhere', 'product', '--debug')
        self.assertEqual(result.returncode, 2)
        self.assertIn('Traceback (most recent call last)', result.stderr)


class ScaffoldApplicationTest(ProjectTestCase):
    def test_writes_the_whole_application_folder(self):
        result = self.assertSucceeds('scaffold-application', 'shop')
        expected = ['__init__.py', 'assets/.gitkeep', 'controllers/__init__.py',
                    'migrations/__init__.py', 'models/__init__.py', 'routes.py',
                    'views/index.tpl']
        for relative in expected:
            self.assertIn('created applications/shop/' + relative, result.stdout)
            self.assertTrue(os.path.isfile(self.project.path('applications', 'shop',
                                                             *relative.split('/'))))
        self.assertIn("% extends('index/base')", self.project.read('applications', 'shop',
                                                                 'views', 'index.tpl'))
        self.assertParsesAsOldestPython()

    def test_readme_shows_the_routes_py_it_writes(self):
        self.assertSucceeds('scaffold-application', 'shop')
        with open(os.path.join(ROOT, 'README.md'), encoding='utf-8') as f:
            readme = f.read()
        shown = readme.split('<!-- readme-application-routes -->\n```python\n', 1)[1]
        shown = shown.split('```\n', 1)[0]
        self.assertEqual(shown, self.project.read('applications', 'shop', 'routes.py'))

    def test_works_from_another_current_folder(self):
        result = self.project.rossian('scaffold-application', 'shop', cwd=tempfile.gettempdir())
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(os.path.isfile(self.project.path('applications', 'shop', 'routes.py')))

    def test_hello_route_answers_inside_the_index_layout(self):
        self.assertSucceeds('scaffold-application', 'shop')
        server = self.project.start()
        browser = Browser(server)
        page = browser.get('/shop')
        self.assertEqual(page.status, 200)
        self.assertIn('<h1>Hello, world!</h1>', page.text)
        self.assertIn('class="site-header"', page.text)
        self.assertIn('<h1>Hello, Ann!</h1>', browser.get('/shop/hello/Ann').text)

    def test_refuses_invalid_reserved_and_existing_names(self):
        cases = [('Shop', 'not a lowercase Python identifier'),
                 ('1shop', 'not a lowercase Python identifier'),
                 ('my-shop', 'not a lowercase Python identifier'),
                 ('class', 'is a Python keyword'),
                 ('json', 'is a Python standard library module'),
                 ('os', 'is a Python standard library module'),
                 ('kokoropy', 'is reserved'), ('rossian', 'is reserved'),
                 ('applications', 'is reserved'), ('assets', 'is reserved'),
                 ('example', "application 'example' already exists")]
        for name, message in cases:
            with self.subTest(name=name):
                self.assertUsageError(['scaffold-application', name], message)


class ScaffoldModelAndMigrationTest(ProjectTestCase):
    def setUp(self):
        ProjectTestCase.setUp(self)
        self.assertSucceeds('scaffold-application', 'shop')

    def test_scaffold_model_writes_the_model_and_its_migration_only(self):
        before = set(self.project.snapshot())
        result = self.assertSucceeds('scaffold-model', 'shop', 'category',
                                     'name:string:required:unique', 'note:text')
        added = set(self.project.snapshot()) - before
        self.assertEqual(added, set([
            os.path.join('applications', 'shop', 'models', 'category.py'),
            os.path.join('applications', 'shop', 'migrations', '0001_create_category.py')]))
        self.assertIn('migration-upgrade shop', result.stdout)
        model = self.project.read('applications', 'shop', 'models', 'category.py')
        self.assertIn('class Category(Model):', model)
        self.assertIn('    name = String(required=True, unique=True)\n', model)
        self.assertIn('    note = Text()\n', model)
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertEqual(self.project.columns('category'),
                         ['id', 'name', 'note', 'created_at', 'updated_at'])

    def test_scaffold_migration_numbers_files_and_creates_or_adds_columns(self):
        self.assertSucceeds('scaffold-migration', 'shop', 'create_tag', 'tag', 'label:string')
        migration = self.project.read('applications', 'shop', 'migrations', '0001_create_tag.py')
        self.assertIn("db.create_table('tag', {\n        'label': String(),\n    })", migration)
        self.assertIn("db.drop_table('tag')", migration)
        self.assertSucceeds('migration-upgrade', 'shop')
        # The table exists now: the same command form adds columns instead.
        self.assertSucceeds('scaffold-migration', 'shop', 'add_colour', 'tag', 'colour:string',
                            'parent:ref:tag')
        migration = self.project.read('applications', 'shop', 'migrations', '0002_add_colour.py')
        self.assertIn("db.add_column('tag', 'colour', String())", migration)
        self.assertIn("db.add_column('tag', 'parent', ForeignKey('tag', on_delete='RESTRICT'))",
                      migration)
        self.assertIn("db.drop_column('tag', 'parent_id')\n    db.drop_column('tag', 'colour')",
                      migration)
        self.assertSucceeds('scaffold-migration', 'shop', 'seed_tags')
        self.assertTrue(os.path.exists(self.project.path('applications', 'shop', 'migrations',
                                                         '0003_seed_tags.py')))
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertEqual(self.project.columns('tag'), ['id', 'label', 'created_at',
                                                       'updated_at', 'colour', 'parent_id'])
        self.assertParsesAsOldestPython()

    def test_scaffold_migration_adds_the_columns_a_model_gained(self):
        self.assertSucceeds('scaffold-model', 'shop', 'item', 'name:string')
        self.assertSucceeds('migration-upgrade', 'shop')
        model = self.project.read('applications', 'shop', 'models', 'item.py')
        model = model.replace('import Model, String', 'import Integer, Model, String')
        self.project.write('applications/shop/models/item.py',
                           model + '    stock = Integer(min_value=0)\n')
        self.assertSucceeds('scaffold-migration', 'shop', 'add_stock', 'item')
        migration = self.project.read('applications', 'shop', 'migrations', '0002_add_stock.py')
        self.assertIn("db.add_column('item', 'stock', Integer(min_value=0))", migration)
        self.assertIn("db.drop_column('item', 'stock')", migration)
        self.assertSucceeds('migration-upgrade', 'shop')
        self.assertIn('stock', self.project.columns('item'))
        result = self.rossian('scaffold-migration', 'shop', 'again', 'item')
        self.assertEqual(result.returncode, 1)
        self.assertIn('nothing to migrate', result.stderr)

    def test_reference_to_a_table_without_model_writes_nothing(self):
        self.assertUsageError(['scaffold-model', 'shop', 'product', 'category:ref:category'],
                              "refers to table 'category', which has no model")

    def test_existing_model_is_refused(self):
        self.assertSucceeds('scaffold-model', 'shop', 'item', 'name:string')
        self.assertUsageError(['scaffold-model', 'shop', 'item', 'name:string'],
                              'models/item.py exists already')


class MigrationCommandTest(ProjectTestCase):
    def test_upgrade_log_and_downgrade_print_each_migration(self):
        result = self.assertSucceeds('migration-log')
        self.assertRegex(result.stdout, r'pending\s+example\s+0001_create_pokemon')
        self.assertFalse(os.path.exists(self.project.path('db')))  # looking creates nothing
        result = self.assertSucceeds('migration-upgrade')
        self.assertRegex(result.stdout,
                         r'^applied example/migrations/0001_create_pokemon.py \(\d+\.\d ms\)\n'
                         r'applied example/migrations/0002_rename_pokemon_table.py '
                         r'\(\d+\.\d ms\)\n$')
        self.assertIn('up to date', self.assertSucceeds('migration-upgrade').stdout)
        self.assertRegex(self.assertSucceeds('migration-log').stdout,
                         r'\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+example\s+0001_create_pokemon\n')
        result = self.assertSucceeds('migration-downgrade', 'example', '--steps', '2')
        self.assertRegex(result.stdout, r'^reverted example/migrations/0002_rename_pokemon_table'
                                        r'.py .*\nreverted example/migrations/0001_create_pokemon')
        self.assertEqual(self.project.columns('example_pokemon'), [])

    def test_a_site_made_before_bundled_tables_took_their_prefix_keeps_its_rows(self):
        self.assertSucceeds('migration-upgrade')
        database = sqlite3.connect(self.project.path('db', 'kokoropy.db'))
        database.execute("ALTER TABLE example_pokemon RENAME TO pokemon")
        database.execute("UPDATE pokemon SET name = 'Mew' WHERE id = 1")
        database.execute("DELETE FROM kokoropy_migrations WHERE version = 2")
        database.commit()
        database.close()
        self.assertIn('0002_rename_pokemon_table', self.assertSucceeds('migration-upgrade').stdout)
        self.assertEqual(self.project.columns('pokemon'), [])
        result = self.assertSucceeds('shell', '-c', 'print(Pokemon.get(1).name)')
        self.assertEqual(result.stdout, 'Mew\n')

    def test_failing_migration_exits_1_with_one_line(self):
        self.assertSucceeds('scaffold-application', 'shop')
        self.project.write('applications/shop/migrations/0001_broken.py',
                           'def upgrade(db):\n    db.execute("CREATE TABLE t (x)")\n'
                           '    raise ValueError("no luck")\n\n\ndef downgrade(db):\n    pass\n')
        result = self.rossian('migration-upgrade', 'shop')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.splitlines(), [
            'rossian: error: shop/migrations/0001_broken.py failed during upgrade and was '
            'rolled back: ValueError: no luck'])
        self.assertEqual(self.project.columns('t'), [])


class StartTest(ProjectTestCase):
    def test_fresh_checkout_creates_the_database_and_serves_the_demo(self):
        server = self.project.start('--baseurl', '/kokoropy/')
        page = Browser(server).get('/kokoropy/example/pokemon')
        self.assertEqual(page.status, 200)
        self.assertIn('Pikachu', page.text)
        output = server.output()
        self.assertIn('Creating the database db/kokoropy.db and applying the migrations:',
                      output)
        self.assertIn('applied example/migrations/0001_create_pokemon.py', output)
        self.assertIn('Open http://127.0.0.1:%d/kokoropy/ in a browser.' % server.port, output)

    def test_pending_migrations_give_a_warning(self):
        self.assertSucceeds('migration-upgrade')
        self.assertSucceeds('scaffold-application', 'shop')
        self.assertSucceeds('scaffold-migration', 'shop', 'nothing')
        server = self.project.start()
        server.stop()
        self.assertIn('rossian: warning: 1 migration(s) not applied yet '
                      '(shop/migrations/0001_nothing.py); run: python rossian.py '
                      'migration-upgrade', server.output())

    def test_reload_restarts_the_server_when_a_source_file_changes(self):
        self.assertSucceeds('scaffold-application', 'shop')
        server = self.project.start('--reload')
        browser = Browser(server)
        self.assertIn('Hello, world!', browser.get('/shop').text)
        routes = self.project.read('applications', 'shop', 'routes.py')
        self.project.write('applications/shop/routes.py',
                           routes.replace("name='world'", "name='reloaded world'"))
        deadline = time.time() + 20
        while 'Hello, reloaded world!' not in self.get_quietly(browser, '/shop'):
            self.assertLess(time.time(), deadline, server.output())
            time.sleep(0.2)
        server.stop()
        self.assertIn('routes.py changed; reloading', server.output())
        with self.assertRaises(OSError):  # the child stopped with its parent
            socket.create_connection(('127.0.0.1', server.port), timeout=1).close()

    @staticmethod
    def get_quietly(browser, path):
        try:
            return browser.get(path).text
        except OSError:  # between the old child's exit and the new one's start
            return ''

    @unittest.skipIf(importlib.util.find_spec('gunicorn'), 'gunicorn is installed')
    def test_a_missing_server_is_reported_before_any_open_line(self):
        result = self.rossian('start', '--server', 'gunicorn', '--port', str(free_port()))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, 'rossian: error: the gunicorn server is not installed: '
                         'pip install gunicorn, or leave out --server to use the built-in one\n')
        self.assertNotIn('Open ', result.stdout)
        self.assertFalse(os.path.exists(self.project.path('db', 'kokoropy.db')))

    @unittest.skipUnless(hasattr(os, 'sched_setaffinity'), 'only Linux keeps threads to a CPU')
    def test_a_cpu_the_process_may_not_use_is_reported_before_any_open_line(self):
        result = self.rossian('start', '--cpu', '9999', '--port', str(free_port()))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn('rossian: error: --cpu 9999: cpu must be', result.stderr)
        self.assertNotIn('Open ', result.stdout)
        self.assertFalse(os.path.exists(self.project.path('db', 'kokoropy.db')))

    def test_port_in_use_is_one_line_and_exit_1(self):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            result = self.rossian('start', '--port=%d' % taken.getsockname()[1])
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.splitlines()), 1, result.stderr)
        self.assertIn('rossian: error: cannot listen on 127.0.0.1 port', result.stderr)


if __name__ == '__main__':
    unittest.main()
