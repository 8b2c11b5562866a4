"""Tests of section 8's Database: URLs, connections per thread, transactions, raw SQL,
create/drop tables, default_database() and concurrent writers."""
import os
import shutil
import socket
import sqlite3
import sys
import tempfile
import threading
import time
import unittest
import unittest.mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import (  # noqa: E402
    OnBothBackends, fresh_postgresql_url, postgresql_server_url, with_postgresql)
from kokoropy import (  # noqa: E402
    Database, ForeignKey, Integer, Model, SqliteDialect, String, default_app,
    default_database, set_default_database)


class Author(Model):
    name = String(required=True)


class Article(Model):
    title = String(required=True)
    author = ForeignKey(Author)


class Comment(Model):
    article = ForeignKey(Article)
    body = String()


class Counter(Model):
    thread = Integer()
    number = Integer()


def has_postgresql_driver():
    try:
        kokoropy._postgres_driver()
    except ImportError:
        return False
    return True


class TempFolderTestCase(OnBothBackends, unittest.TestCase):
    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='kokoropy-db-')
        self.addCleanup(shutil.rmtree, self.folder, True)

    def open(self, name='test.db'):
        """A database in the test's folder (on PostgreSQL: one emptied database)."""
        database = Database(self.database_url(os.path.join(self.folder, name)))
        self.addCleanup(database.close)
        return database


class UrlTest(unittest.TestCase):
    def test_urls_and_plain_paths(self):
        self.assertEqual(Database('sqlite:///db/app.db').path, 'db/app.db')
        self.assertEqual(Database('sqlite:////var/data/app.db').path, '/var/data/app.db')
        self.assertEqual(Database('data/app.db').path, 'data/app.db')
        self.assertEqual(Database(':memory:').path, ':memory:')
        self.assertEqual(Database('sqlite://').path, ':memory:')

    def test_other_schemes_are_refused_without_showing_the_password(self):
        with self.assertRaisesRegex(ValueError, "unsupported database URL "
                                    "'mysql://me:\\*\\*\\*@x/y'"):
            Database('mysql://me:secret@x/y')

    def test_postgresql_urls_give_decoded_connect_parameters(self):
        target = kokoropy._postgres_target
        self.assertEqual(target('postgresql://me:p%40ss@db.example:6543/shop?sslmode=require'),
                         (None, {'host': 'db.example', 'port': 6543, 'user': 'me',
                                 'password': 'p@ss', 'dbname': 'shop', 'sslmode': 'require'}))
        self.assertEqual(target('postgres://localhost/site'),
                         (None, {'host': 'localhost', 'port': 5432, 'dbname': 'site'}))
        self.assertEqual(target('postgresql+pg8000://u@h/d')[0], 'pg8000')
        self.assertEqual(target('postgresql+psycopg://u@h/d')[0], 'psycopg')
        self.assertIsNone(target('sqlite:///db/x.db'))
        with self.assertRaisesRegex(ValueError, 'invalid port'):
            target('postgresql://h:port/d')

    def test_a_postgresql_database_creates_no_file_and_hides_its_password(self):
        database = Database('postgresql://me:secret@127.0.0.1:1/none')
        self.assertIsNone(database.path)
        self.assertIsInstance(database.dialect, kokoropy.PostgresDialect)
        self.assertEqual(repr(database), '<Database postgresql://me:***@127.0.0.1:1/none>')


class ConnectionTest(TempFolderTestCase):
    sqlite_only = True  # files, PRAGMAs and sqlite's locks

    def test_folder_is_created_on_first_use(self):
        database = Database(os.path.join(self.folder, 'deep', 'er', 'app.db'))
        self.addCleanup(database.close)
        self.assertFalse(os.path.exists(os.path.join(self.folder, 'deep')))
        database.execute('CREATE TABLE t (x)')
        self.assertTrue(os.path.isfile(os.path.join(self.folder, 'deep', 'er', 'app.db')))

    def test_wal_foreign_keys_and_busy_timeout(self):
        database = self.open()
        self.assertEqual(database.execute('PRAGMA journal_mode').fetchone()[0], 'wal')
        self.assertEqual(database.execute('PRAGMA foreign_keys').fetchone()[0], 1)
        self.assertEqual(database.execute('PRAGMA busy_timeout').fetchone()[0], 5000)

    def test_one_connection_per_thread(self):
        database = self.open()
        mine = database.connection()
        self.assertIs(database.connection(), mine)
        seen = []
        thread = threading.Thread(target=lambda: seen.append(database.connection()))
        thread.start()
        thread.join()
        self.assertIsNot(seen[0], mine)

    def test_execute_and_query(self):
        database = self.open()
        database.execute('CREATE TABLE t (name TEXT, n INTEGER)')
        database.executemany('INSERT INTO t VALUES (?, ?)', [('a', 1), ('b', 2)])
        rows = database.query('SELECT name, n FROM t WHERE n > ? ORDER BY n', (0,))
        self.assertEqual([(row['name'], row['n']) for row in rows], [('a', 1), ('b', 2)])
        self.assertEqual(database.execute('SELECT COUNT(*) FROM t').fetchone()[0], 2)

    def test_close_then_reuse_reopens(self):
        database = self.open()
        database.execute('CREATE TABLE t (x)')
        first = database.connection()
        database.close()
        self.assertIsNot(database.connection(), first)
        self.assertEqual(database.tables(), ['t'])

    def test_memory_database_is_shared_by_threads_and_private_to_the_object(self):
        database, other = Database(':memory:'), Database(':memory:')
        self.addCleanup(database.close)
        self.addCleanup(other.close)
        database.execute('CREATE TABLE t (x)')
        database.execute('INSERT INTO t VALUES (1)')
        counts = []
        thread = threading.Thread(target=lambda: counts.append(
            database.execute('SELECT COUNT(*) FROM t').fetchone()[0]))
        thread.start()
        thread.join()
        self.assertEqual(counts, [1])
        self.assertEqual(other.tables(), [])


class TransactionTest(TempFolderTestCase):
    def setUp(self):
        TempFolderTestCase.setUp(self)
        self.database = self.open()
        self.database.execute('CREATE TABLE t (x INTEGER)')

    def values(self):
        return [row[0] for row in self.database.execute('SELECT x FROM t ORDER BY x')]

    def test_commit_at_end_of_block(self):
        with self.database.transaction():
            self.database.execute('INSERT INTO t VALUES (1)')
            self.assertTrue(self.database.in_transaction)
        self.assertFalse(self.database.in_transaction)
        self.assertEqual(self.values(), [1])

    def test_exception_rolls_back_and_is_reraised(self):
        with self.assertRaisesRegex(RuntimeError, 'boom'):
            with self.database.transaction():
                self.database.execute('INSERT INTO t VALUES (1)')
                raise RuntimeError('boom')
        self.assertEqual(self.values(), [])
        self.assertFalse(self.database.connection().in_transaction)

    def test_nested_block_is_a_savepoint(self):
        with self.database.transaction():
            self.database.execute('INSERT INTO t VALUES (1)')
            with self.assertRaises(KeyError):
                with self.database.transaction():
                    self.database.execute('INSERT INTO t VALUES (2)')
                    raise KeyError('inner')
            with self.database.transaction():
                self.database.execute('INSERT INTO t VALUES (3)')
        self.assertEqual(self.values(), [1, 3])

    def test_outer_rollback_undoes_released_savepoints(self):
        with self.assertRaises(ValueError):
            with self.database.transaction():
                with self.database.transaction():
                    self.database.execute('INSERT INTO t VALUES (1)')
                raise ValueError('outer')
        self.assertEqual(self.values(), [])

    def test_other_threads_do_not_see_uncommitted_rows(self):
        seen = []

        def count():
            seen.append(self.database.execute('SELECT COUNT(*) FROM t').fetchone()[0])
        with self.database.transaction():
            self.database.execute('INSERT INTO t VALUES (1)')
            thread = threading.Thread(target=count)
            thread.start()
            thread.join()
        count()
        self.assertEqual(seen, [0, 1])


class TablesTest(TempFolderTestCase):
    sqlite_only = True  # two database files

    def test_create_tables_in_dependency_order_and_drop_them(self):
        database = self.open()
        database.create_tables(Comment, Article, Author)
        self.assertEqual(database.tables(), ['article', 'author', 'comment'])
        self.assertEqual(database.columns('article'),
                         ['id', 'title', 'author_id', 'created_at', 'updated_at'])
        database.create_tables(Author)  # existing tables are left alone
        indexes = [row[1] for row in database.execute("PRAGMA index_list('article')")]
        self.assertEqual(indexes, ['article_author_id_idx'])
        database.drop_tables(Author, Article, Comment)
        self.assertEqual(database.tables(), [])

    def test_bound_models_use_their_database(self):
        first, second = self.open('one.db'), self.open('two.db')
        first.bind(Author)
        first.create_tables(Author)
        second.create_tables(Author)
        Author.create(name='Ann')
        self.assertEqual(first.execute('SELECT COUNT(*) FROM author').fetchone()[0], 1)
        self.assertEqual(second.execute('SELECT COUNT(*) FROM author').fetchone()[0], 0)


class ReusedCursorTest(TempFolderTestCase):
    sqlite_only = True  # files, PRAGMAs and sqlite's locks

    """The ORM reuses one cursor per thread; what it runs there must not stay open."""

    def test_get_leaves_no_read_open_that_would_hide_later_commits(self):
        reader, writer = self.open(), self.open()
        reader.bind(Author)
        reader.create_tables(Author)
        first = Author.create(name='Ann')
        Author.create(name='Bob')
        self.assertEqual(Author.get(first.id).name, 'Ann')
        writer.execute("INSERT INTO author (name) VALUES ('Cy')")
        self.assertEqual(reader.execute('SELECT COUNT(*) FROM author').fetchone()[0], 3)
        reader.drop_tables(Author)  # sqlite refuses it while a read is open on the table
        self.assertEqual(reader.tables(), [])

    def test_each_thread_inserts_through_its_own_cursor(self):
        database = self.open()
        database.bind(Counter)
        database.create_tables(Counter)
        made = []

        def insert(number):
            made.append((Counter.create(thread=number).id, database._cursor().connection))
        threads = [threading.Thread(target=insert, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(sorted(row_id for row_id, _ in made), [1, 2, 3, 4])
        self.assertEqual(len(set(id(connection) for _, connection in made)), 4)


class DefaultDatabaseTest(TempFolderTestCase):
    sqlite_only = True  # files, PRAGMAs and sqlite's locks

    def setUp(self):
        TempFolderTestCase.setUp(self)
        self.config = default_app().config
        saved = dict((key, self.config.get(key)) for key in ('database_url', 'project_path'))
        self.addCleanup(self.config.update, saved)
        self.addCleanup(set_default_database, None)
        self.addCleanup(setattr, Author, '_database', Author._database)
        Author._database = None

    def test_database_url_variables_select_the_database_and_kokoropy_wins(self):
        url = 'postgresql://site@127.0.0.1/site'
        with unittest.mock.patch.dict(os.environ, {'DATABASE_URL': url}):
            os.environ.pop('KOKOROPY_DATABASE_URL', None)
            self.assertEqual(kokoropy.load_config(self.folder)['database_url'], url)
            os.environ['KOKOROPY_DATABASE_URL'] = 'sqlite:///db/mine.db'
            self.assertEqual(kokoropy.load_config(self.folder)['database_url'],
                             'sqlite:///db/mine.db')
        self.config['database_url'] = url
        self.assertEqual(repr(default_database()), '<Database %s>' % url)
        self.assertFalse(os.listdir(self.folder))  # no sqlite file made

    def test_default_database_follows_config_relative_to_project(self):
        self.config['project_path'] = self.folder
        self.config['database_url'] = 'sqlite:///db/site.db'
        database = default_database()
        self.assertEqual(database.path, os.path.join(self.folder, 'db', 'site.db'))
        self.assertIs(default_database(), database)
        self.config['database_url'] = 'sqlite:///db/other.db'
        self.assertEqual(default_database().path, os.path.join(self.folder, 'db', 'other.db'))

    def test_unbound_models_use_default_database(self):
        self.config['project_path'] = self.folder
        self.config['database_url'] = 'sqlite:///models.db'
        default_database().create_tables(Author)
        Author.create(name='Ann')
        self.assertEqual(default_database().query('SELECT name FROM author')[0][0], 'Ann')
        self.assertTrue(os.path.isfile(os.path.join(self.folder, 'models.db')))

    def test_set_default_database_overrides_config(self):
        chosen = self.open('chosen.db')
        set_default_database(chosen)
        self.assertIs(default_database(), chosen)


class ConcurrencyTest(TempFolderTestCase):
    def test_eight_threads_inserting_lose_no_row(self):
        database = self.open()
        database.bind(Counter)
        database.create_tables(Counter)
        per_thread, errors = 60, []

        def work(thread_number):
            try:
                for number in range(per_thread):
                    if number % 2:
                        Counter.create(thread=thread_number, number=number)
                    else:
                        with database.transaction():
                            Counter.create(thread=thread_number, number=number)
            except Exception as exc:  # reported below: a thread must not fail silently
                errors.append(exc)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])
        self.assertEqual(Counter.all().count(), 8 * per_thread)
        for thread_number in range(8):
            numbers = sorted(c.number for c in Counter.where(thread=thread_number))
            self.assertEqual(numbers, list(range(per_thread)))


class DialectTest(unittest.TestCase):
    def test_statements_compose_quoted_names_and_placeholders(self):
        dialect = SqliteDialect()
        self.assertEqual(dialect.select('t', '"a"', '"a" = ?', '"a" DESC', True, True),
                         'SELECT "a" FROM "t" WHERE "a" = ? ORDER BY "a" DESC LIMIT ? OFFSET ?')
        self.assertEqual(dialect.select('t', '*', offset=True),
                         'SELECT * FROM "t" LIMIT -1 OFFSET ?')
        self.assertEqual(dialect.insert('t', ['a', 'b']),
                         'INSERT INTO "t" ("a", "b") VALUES (?, ?)')
        self.assertEqual(dialect.update('t', ['a'], '"id" = ?'),
                         'UPDATE "t" SET "a" = ? WHERE "id" = ?')
        self.assertEqual(dialect.condition('a', 'in', (1, 2)), ('"a" IN (?, ?)', (1, 2)))
        self.assertEqual(dialect.condition('a', 'contains', '5%'),
                         ('kokoropy_lower("a") LIKE kokoropy_lower(?) ESCAPE \'\\\'',
                          ('%5\\%%',)))
        self.assertEqual(dialect.combine(['a', 'b'], 'OR', negated=True), 'NOT ((a OR b))')
        self.assertEqual(dialect.condition('a', 'in', ()), ('0', ()))

    def test_postgres_dialect_differs_only_where_postgresql_does(self):
        dialect = kokoropy.PostgresDialect()
        self.assertEqual(dialect.select('t', '"a"', '"a" = %s', '', True, True),
                         'SELECT "a" FROM "t" WHERE "a" = %s LIMIT %s OFFSET %s')
        self.assertEqual(dialect.select('t', '*', offset=True), 'SELECT * FROM "t" OFFSET %s')
        self.assertEqual(dialect.insert('t', ['a'], returning=True),
                         'INSERT INTO "t" ("a") VALUES (%s) RETURNING "id"')
        self.assertEqual(dialect.condition('a', 'contains', 'x'),
                         ('"a" ILIKE %s ESCAPE \'\\\'', ('%x%',)))
        self.assertEqual(dialect.condition('a', 'ne', 1), ('"a" IS DISTINCT FROM %s', (1,)))
        self.assertEqual(dialect.condition('a', 'in', ()), ('FALSE', ()))
        self.assertEqual(dialect.update('t', ['a'], ''), 'UPDATE "t" SET "a" = %s WHERE TRUE')
        self.assertEqual(dialect.column_definition(kokoropy._auto_field(Integer, 'id')),
                         '"id" BIGSERIAL PRIMARY KEY')

    def test_quote_refuses_nul(self):
        with self.assertRaises(ValueError):
            SqliteDialect().quote('a\x00b')

    def test_quote_gives_each_identifier_its_own_text(self):
        # Equal keys (1 == True == 1.0) and unhashable ones are quoted as str() gives them.
        dialect = SqliteDialect()
        self.assertEqual([dialect.quote(name) for name in (1, True, 1.0, 1, ['a'])],
                         ['"1"', '"True"', '"1.0"', '"1"', '"[\'a\']"'])


@unittest.skipUnless(has_postgresql_driver(), 'needs psycopg or pg8000')
class PostgreSQLDownTest(unittest.TestCase):
    def test_requests_get_a_503_page_while_the_database_cannot_be_reached(self):
        database = Database('postgresql://site:secret@127.0.0.1:%d/site' % closed_port())
        self.addCleanup(database.close)
        database.bind(Author)
        self.addCleanup(Author.__dict__.get('_database') and delattr, Author, '_database')
        app = kokoropy.Kokoro()
        app.route('/author/<id:int>', 'GET', lambda id: str(Author.get(id)))
        answer = kokoropy.TestClient(app).get('/author/1')
        self.assertEqual(answer.status, 503)
        self.assertIn('The database is unavailable right now', answer.text)
        self.assertNotIn('secret', answer.text)
        self.assertNotIn('Traceback', answer.text)
        with self.assertRaisesRegex(kokoropy.DatabaseUnavailable, r'^database unavailable: '
                                    r'cannot connect to postgresql://site:\*\*\*@127'):
            database.execute('SELECT 1')


@unittest.skipIf(has_postgresql_driver(), 'a PostgreSQL driver is installed')
class PostgreSQLMissingDriverTest(unittest.TestCase):
    def test_a_postgresql_url_without_a_driver_names_both_install_commands(self):
        database = Database('postgresql://site@127.0.0.1/site')
        with self.assertRaises(ImportError) as caught:
            database.execute('SELECT 1')
        self.assertEqual(str(caught.exception), 'PostgreSQL needs a driver: pip install '
                         '"psycopg[binary]" (or pip install pg8000, pure Python)')


@unittest.skipUnless(postgresql_server_url(), 'KOKOROPY_TEST_POSTGRESQL is not set')
class PostgreSQLReconnectTest(unittest.TestCase):
    def setUp(self):
        self.url = fresh_postgresql_url()
        self.database = Database(self.url)
        self.addCleanup(self.database.close)
        self.database.bind(Author)
        self.database.create_tables(Author)
        Author.create(name='Ann')

    def cut_connection(self):
        """End this thread's connection from the server side, as a restart would."""
        pid = self.database.execute('SELECT pg_backend_pid()').fetchone()[0]
        admin = Database(self.url)
        admin.execute('SELECT pg_terminate_backend(?)', (pid,))
        for _ in range(100):  # the signal is asynchronous: wait until the backend has gone
            if not admin.query('SELECT 1 FROM pg_stat_activity WHERE pid = ?', (pid,)):
                break
            time.sleep(0.05)
        admin.close()

    def test_a_lost_connection_is_unavailable_once_then_reconnects(self):
        self.cut_connection()
        with self.assertRaises(kokoropy.DatabaseUnavailable):
            Author.get(1)
        self.assertEqual(Author.get(1).name, 'Ann')

    def test_a_connection_lost_inside_a_transaction_leaves_no_half_state(self):
        with self.assertRaises(kokoropy.DatabaseUnavailable):
            with self.database.transaction():
                Author.create(name='Bob')
                self.cut_connection()
                Author.create(name='Cy')
        self.assertFalse(self.database.in_transaction)
        self.assertEqual([author.name for author in Author.all().order_by('id')], ['Ann'])

    def test_nested_transactions_are_savepoints(self):
        with self.database.transaction():
            Author.create(name='Bob')
            with self.assertRaises(ValueError):
                with self.database.transaction():
                    Author.create(name='Cy')
                    raise ValueError('undo Cy only')
        self.assertEqual([author.name for author in Author.all().order_by('id')],
                         ['Ann', 'Bob'])


def closed_port():
    """A local TCP port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
