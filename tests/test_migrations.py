"""Tests of section 9: schema helpers, Migrator, the history table, rollback of failures."""
import os
import shutil
import sqlite3
import sys
import tempfile
import textwrap
import threading
import traceback
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import OnBothBackends, sqlite_only, with_postgresql  # noqa: E402
from kokoropy import (  # noqa: E402
    Boolean, Database, Email, Float, ForeignKey, Integer, Migration, MigrationError, Migrator,
    Model, String, ValidationError)

CREATE_CATEGORY = '''
from kokoropy import String

def upgrade(db):
    db.create_table('category', {'name': String(max_length=40, required=True, unique=True)})

def downgrade(db):
    db.drop_table('category')
'''

CREATE_PRODUCT = '''
from kokoropy import ForeignKey, Integer, String

def upgrade(db):
    db.create_table('product', {'name': String(required=True),
                                'category': ForeignKey('category'),
                                'stock': Integer(default=0)})
    db.create_index('product', 'name')

def downgrade(db):
    db.drop_table('product')
'''

ADD_PRICE = '''
from kokoropy import Float

def upgrade(db):
    db.add_column('product', 'price', Float(default=1.5))

def downgrade(db):
    db.drop_column('product', 'price')
'''

BROKEN = '''
from kokoropy import String

def upgrade(db):
    db.create_table('broken', {'name': String()})
    db.add_column('product', 'colour', String())
    db.execute("INSERT INTO broken (name) VALUES ('half done')")
    raise RuntimeError('disk on fire')

def downgrade(db):
    db.drop_table('broken')
'''


class Shop(Model):
    table_name = 'product'
    name = String(required=True)
    category = ForeignKey('category')
    stock = Integer(default=0)
    price = Float()
    on_sale = Boolean()


# Slow enough that a second host starts while the first is inside the migration.
SLOW_TALLY = '''
import time
from kokoropy import String

def upgrade(db):
    db.create_table('tally', {'note': String()})
    time.sleep(0.3)
    db.execute("INSERT INTO tally (note, created_at, updated_at) "
               "VALUES ('once', '2024-01-01', '2024-01-01')")

def downgrade(db):
    db.drop_table('tally')
'''


class MigrationTestCase(OnBothBackends, unittest.TestCase):
    def setUp(self):
        self.project = tempfile.mkdtemp(prefix='kokoropy-migrations-')
        self.addCleanup(shutil.rmtree, self.project, True)
        self.applications = os.path.join(self.project, 'applications')
        self.db = Database(self.database_url(os.path.join(self.project, 'db', 'test.db')))
        self.addCleanup(self.db.close)
        self.migrator = Migrator(self.db, self.applications)

    def write(self, application, filename, source):
        folder = os.path.join(self.applications, application, 'migrations')
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, filename), 'w') as handle:
            handle.write(textwrap.dedent(source))

    def write_shop(self):
        self.write('shop', '0001_create_category.py', CREATE_CATEGORY)
        self.write('shop', '0002_create_product.py', CREATE_PRODUCT)
        self.write('shop', '0003_add_price.py', ADD_PRICE)

    def indexes(self, table):
        """(name, is unique) of the table's indexes, but for the primary key's."""
        if self.on_postgresql:
            rows = self.db.execute("SELECT indexname, indexdef LIKE 'CREATE UNIQUE%%' "
                                   "FROM pg_indexes WHERE tablename = %s AND indexname "
                                   "NOT LIKE '%%_pkey'", (table,))
            return sorted((name, int(unique)) for name, unique in rows)
        return sorted((row[1], row[2]) for row in
                      self.db.execute('PRAGMA index_list(%s)' % table))

    def schema(self):
        if self.on_postgresql:
            return [(table, self.db.columns(table), self.indexes(table))
                    for table in self.db.tables()]
        rows = self.db.query("SELECT type, name, sql FROM sqlite_master "
                             "WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        return [tuple(row) for row in rows]

    def history(self):
        return [(row['application'], row['version'], row['name'])
                for row in self.migrator.log()]


class DiscoveryTest(MigrationTestCase):
    def test_migrations_are_found_per_application_in_version_order(self):
        self.write_shop()
        self.write('blog', '0001_start.py', 'def upgrade(db): pass\ndef downgrade(db): pass\n')
        self.write('blog', 'notes.txt', '')
        self.write('blog', '__init__.py', '')
        self.assertEqual(self.migrator.applications(), ['blog', 'shop'])
        found = [(m.application, m.version, m.name) for m in self.migrator.migrations()]
        self.assertEqual(found, [('blog', 1, 'start'), ('shop', 1, 'create_category'),
                                 ('shop', 2, 'create_product'), ('shop', 3, 'add_price')])
        self.assertEqual(self.migrator.migrations('shop')[0].label,
                         'shop/migrations/0001_create_category.py')

    def test_next_version_for_new_migration_files(self):
        self.assertEqual(self.migrator.next_version('shop'), 1)
        self.write_shop()
        self.assertEqual(self.migrator.next_version('shop'), 4)

    def test_duplicate_versions_are_an_error(self):
        self.write('shop', '0001_a.py', '')
        self.write('shop', '0001_b.py', '')
        with self.assertRaisesRegex(MigrationError, 'shop/migrations has two migrations '
                                                    'numbered 1: 0001_a.py and 0001_b.py'):
            self.migrator.migrations('shop')

    def test_unknown_application_is_an_error(self):
        with self.assertRaisesRegex(MigrationError, "application 'nope' has no migrations"):
            self.migrator.pending('nope')


class ApplyTest(MigrationTestCase):
    def test_apply_pending_runs_all_in_order_and_records_history(self):
        self.write_shop()
        self.assertEqual([m.version for m in self.migrator.pending()], [1, 2, 3])
        ran = self.migrator.apply_pending()
        self.assertEqual([(m.version, type(seconds)) for m, seconds in ran],
                         [(1, float), (2, float), (3, float)])
        self.assertEqual(self.history(), [('shop', 1, 'create_category'),
                                          ('shop', 2, 'create_product'),
                                          ('shop', 3, 'add_price')])
        self.assertEqual(self.migrator.pending(), [])
        self.assertEqual(self.migrator.apply_pending(), [])
        self.assertEqual(self.db.columns('product'), ['id', 'name', 'category_id', 'stock',
                                                      'created_at', 'updated_at', 'price'])
        self.assertEqual(set(self.migrator.log()[0]),
                         set(['application', 'version', 'name', 'applied_at']))

    def test_upgrade_to_a_target_version(self):
        self.write_shop()
        ran = self.migrator.apply_pending('shop', target=2)
        self.assertEqual([m.version for m, _ in ran], [1, 2])
        self.assertEqual([m.version for m in self.migrator.pending('shop')], [3])
        with self.assertRaisesRegex(MigrationError, 'a target version needs an application'):
            self.migrator.apply_pending(target=3)

    def test_created_tables_work_with_models(self):
        self.write_shop()
        self.migrator.apply_pending()
        self.db.bind(Shop)
        missing = Shop.schema_diff(self.db)
        self.assertEqual([(f.name, f.declaration()) for f in missing], [('on_sale', 'Boolean()')])
        self.db.add_column('product', 'on_sale', missing[0])
        self.db.execute("INSERT INTO category (name, created_at, updated_at) "
                        "VALUES ('Tools', '2024-01-01', '2024-01-01')")
        product = Shop.create(name='Hammer', category=1)
        self.assertEqual((product.stock, Shop.get(product.id).category_id), (0, 1))
        self.assertIsNone(self.db.query('SELECT price FROM product')[0][0])  # model wins

    def test_failing_migration_leaves_schema_and_history_untouched(self):
        self.write_shop()
        self.migrator.apply_pending('shop', target=2)
        self.write('shop', '0003_add_price.py', BROKEN)
        schema, history = self.schema(), self.history()
        with self.assertRaises(MigrationError) as caught:
            self.migrator.apply_pending()
        self.assertEqual(str(caught.exception),
                         'shop/migrations/0003_add_price.py failed during upgrade and was '
                         'rolled back: RuntimeError: disk on fire')
        self.assertIsInstance(caught.exception.__cause__, RuntimeError)
        self.assertEqual(caught.exception.completed, [])
        self.assertEqual(self.schema(), schema)
        self.assertEqual(self.history(), history)
        self.assertEqual([m.version for m in self.migrator.pending()], [3])

    def test_failure_reports_the_migrations_that_completed(self):
        self.write_shop()
        self.write('shop', '0004_broken.py', BROKEN)
        with self.assertRaises(MigrationError) as caught:
            self.migrator.apply_pending()
        self.assertEqual([m.version for m, _ in caught.exception.completed], [1, 2, 3])
        self.assertEqual([row[1] for row in self.history()], [1, 2, 3])
        self.assertNotIn('broken', self.db.tables())

    def test_two_hosts_upgrading_at_once_apply_each_migration_once(self):
        self.write('shop', '0001_slow_tally.py', SLOW_TALLY)
        done, failures = [], []
        # This test's own connection stays open meanwhile, as a site's would: sqlite answers
        # "database is locked" at once, not after its busy timeout, to a connection opening
        # while the last one to close cleans up the write-ahead log.
        self.db.tables()

        def host():
            database = Database(self.db.url)
            try:
                done.append(Migrator(database, self.applications).apply_pending())
            except Exception:  # reported below, in the test's thread
                failures.append(traceback.format_exc())
            finally:
                database.close()

        hosts = [threading.Thread(target=host) for _ in range(2)]
        for thread in hosts:
            thread.start()
        for thread in hosts:
            thread.join(30)
        self.assertEqual(failures, [])
        self.assertEqual(sorted(len(applied) for applied in done), [0, 1])
        self.assertEqual([row[0] for row in self.db.query('SELECT note FROM tally')], ['once'])
        self.assertEqual(self.history(), [('shop', 1, 'slow_tally')])

    def test_sql_error_names_file_and_cause(self):
        self.write('shop', '0001_bad_sql.py',
                   'def upgrade(db):\n    db.execute("CREATE TABLE")\n'
                   'def downgrade(db):\n    pass\n')
        with self.assertRaisesRegex(MigrationError, r'^shop/migrations/0001_bad_sql.py failed '
                                                    r'during upgrade and was rolled back: '
                                                    r'(OperationalError|SyntaxError|'
                                                    r'DatabaseError): '):
            self.migrator.apply_pending()
        self.assertEqual(self.migrator.log(), [])

    def test_unloadable_file_and_missing_function(self):
        self.write('shop', '0001_typo.py', 'def upgrade(db)\n    pass\n')
        with self.assertRaisesRegex(MigrationError, 'shop/migrations/0001_typo.py cannot be '
                                                    'loaded: SyntaxError'):
            self.migrator.apply_pending()
        self.write('shop', '0001_typo.py', 'def downgrade(db):\n    pass\n')
        with self.assertRaisesRegex(MigrationError, 'shop/migrations/0001_typo.py has no '
                                                    r'upgrade\(db\) function'):
            Migrator(self.db, self.applications).apply_pending()


class DowngradeTest(MigrationTestCase):
    def test_downgrade_then_upgrade_round_trip(self):
        self.write_shop()
        self.migrator.apply_pending()
        self.db.execute("INSERT INTO category (name, created_at, updated_at) "
                        "VALUES ('Tools', '2024-01-01', '2024-01-01')")
        self.db.execute("INSERT INTO product (name, category_id, created_at, updated_at, price)"
                        " VALUES ('Hammer', 1, '2024-01-01', '2024-01-01', 9.5)")
        upgraded = self.schema()
        ran = self.migrator.downgrade('shop')
        self.assertEqual([m.version for m, _ in ran], [3])
        self.assertNotIn('price', self.db.columns('product'))
        self.assertEqual(self.db.query('SELECT name, category_id FROM product')[0][:],
                         ('Hammer', 1))
        self.assertEqual([m.version for m in self.migrator.pending()], [3])
        self.migrator.apply_pending()
        self.assertEqual(self.schema(), upgraded)
        self.assertEqual(self.db.query('SELECT price FROM product')[0][0], 1.5)

    def test_downgrade_several_steps_newest_first(self):
        self.write_shop()
        self.migrator.apply_pending()
        ran = self.migrator.downgrade('shop', steps=2)
        self.assertEqual([m.version for m, _ in ran], [3, 2])
        self.assertEqual(self.db.tables(), ['category', 'kokoropy_migrations'])
        self.assertEqual(self.history(), [('shop', 1, 'create_category')])

    def test_downgrade_with_nothing_applied_does_nothing(self):
        self.write_shop()
        self.assertEqual(self.migrator.downgrade('shop'), [])

    def test_downgrade_needs_the_file(self):
        self.write_shop()
        self.migrator.apply_pending()
        os.remove(os.path.join(self.applications, 'shop', 'migrations', '0003_add_price.py'))
        with self.assertRaisesRegex(MigrationError, 'shop/migrations/0003_add_price.py was '
                                                    'applied but is missing'):
            self.migrator.downgrade('shop')


class SchemaHelperTest(MigrationTestCase):
    def setUp(self):
        MigrationTestCase.setUp(self)
        self.db.create_table('category', {'name': String(unique=True)})
        self.db.create_table('product', [('name', String(required=True)),
                                         ('code', String(unique=True)),
                                         ('category', ForeignKey('category',
                                                                 on_delete='CASCADE')),
                                         ('stock', Integer(default=3))])
        self.db.create_index('product', ['name', 'stock'])
        self.db.execute("INSERT INTO category (name) VALUES ('Tools')")
        self.db.executemany("INSERT INTO product (name, code, category_id) VALUES (?, ?, 1)",
                            [('Hammer', 'H1'), ('Saw', 'S1')])

    def test_create_table_adds_automatic_columns_defaults_and_indexes(self):
        self.assertEqual(self.db.columns('product'), ['id', 'name', 'code', 'category_id',
                                                      'stock', 'created_at', 'updated_at'])
        self.assertEqual(self.db.query('SELECT stock FROM product')[0][0], 3)
        self.assertEqual(self.indexes('product'), [('product_category_id_idx', 0),
                                                   ('product_code_unique', 1),
                                                   ('product_name_stock_idx', 0)])

    def test_drop_column_keeps_rows_indexes_and_referencing_rows(self):
        self.db.create_table('review', {'product': ForeignKey('product'), 'text': String()})
        self.db.execute("INSERT INTO review (product_id, text) VALUES (1, 'good')")
        self.db.drop_column('product', 'stock')
        self.assertEqual(self.db.columns('product'), ['id', 'name', 'code', 'category_id',
                                                      'created_at', 'updated_at'])
        self.assertEqual([tuple(r) for r in self.db.query('SELECT id, name, code FROM product')],
                         [(1, 'Hammer', 'H1'), (2, 'Saw', 'S1')])
        self.assertEqual(self.indexes('product'), [('product_category_id_idx', 0),
                                                   ('product_code_unique', 1)])
        self.assertEqual(self.db.query('SELECT text FROM review')[0][0], 'good')
        with self.assertRaises(self.db.dialect.integrity_errors):
            self.db.execute("INSERT INTO product (name, code) VALUES ('Dup', 'H1')")
        self.db.execute('DELETE FROM category')  # the foreign key still cascades
        self.assertEqual(self.db.query('SELECT COUNT(*) FROM product')[0][0], 0)

    def test_rename_column_keeps_data(self):
        self.db.rename_column('product', 'code', 'sku')
        self.assertEqual([r[0] for r in self.db.query('SELECT sku FROM product ORDER BY id')],
                         ['H1', 'S1'])

    @sqlite_only
    def test_rebuild_renames_when_sqlite_lacks_rename_column(self):
        kokoropy._rebuild(self.db, 'product', rename={'code': 'sku'})
        self.assertEqual([r[0] for r in self.db.query('SELECT sku FROM product ORDER BY id')],
                         ['H1', 'S1'])
        self.assertIn(('product_code_unique', 1), self.indexes('product'))

    def test_add_column_fills_default_and_unique_index(self):
        self.db.add_column('product', 'barcode', String(unique=True))
        self.db.add_column('product', 'active', Boolean(default=True))
        self.assertEqual([r[0] for r in self.db.query('SELECT active FROM product')], [1, 1])
        self.assertIn(('product_barcode_unique', 1), self.indexes('product'))

    def test_helpers_refuse_bad_names(self):
        with self.assertRaisesRegex(ValueError, 'invalid table name'):
            self.db.create_table('x; DROP TABLE product', {})
        with self.assertRaisesRegex(ValueError, 'invalid column name'):
            self.db.add_column('product', 'a b', String())
        with self.assertRaisesRegex(ValueError, "table 'product' has no column 'nope'"):
            self.db.drop_column('product', 'nope')

    @sqlite_only
    def test_rebuild_of_referenced_table_inside_enforcing_transaction_is_refused(self):
        self.db.create_table('review', {'product': ForeignKey('product')})
        with self.assertRaisesRegex(RuntimeError, 'while foreign keys are enforced'):
            with self.db.transaction():
                self.db.drop_column('product', 'stock')
        self.assertIn('stock', self.db.columns('product'))

    def test_schema_diff_lists_fields_the_table_lacks(self):
        class Gadget(Model):
            table_name = 'product'
            name = String(required=True)
            weight = Float(min_value=0)
            email = Email()
        missing = Gadget.schema_diff(self.db)
        self.assertEqual([(f.name, f.declaration()) for f in missing],
                         [('weight', 'Float(min_value=0)'), ('email', 'Email()')])
        for field in missing:
            self.db.add_column('product', field.name, field)
        self.assertEqual(Gadget.schema_diff(self.db), [])

    def test_migration_object_describes_its_file(self):
        migration = Migration('shop', 7, 'add_thing', '/x/shop/migrations/0007_add_thing.py')
        self.assertEqual(migration.label, 'shop/migrations/0007_add_thing.py')
        self.assertEqual(repr(migration), '<Migration shop/migrations/0007_add_thing.py>')


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
