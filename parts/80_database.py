import contextlib
import copy
import datetime
import hashlib
import hmac
import itertools
import math
import operator
import os
import re
import secrets
import sqlite3
import sys
import threading
import time
import weakref

###############################################################################
# 8. Database and ORM
# Database (one sqlite3 connection per thread, transactions, raw SQL, schema helpers), the
# SqliteDialect that writes every SQL text, fields, Model, Query, Q and Page. Uses section 1
# (base64 helpers) and, for default_database(), the configured default_app() of section 4.
###############################################################################

__all__ += ['Database', 'default_database', 'set_default_database', 'SqliteDialect',
            'Field', 'String', 'Text', 'Integer', 'Float', 'Boolean', 'Date', 'DateTime',
            'Upload', 'Password', 'Email', 'ForeignKey', 'Model', 'Query', 'Q', 'Page',
            'ValidationError', 'FieldError', 'RestrictedDeleteError']

DEFAULT_DATABASE_URL = 'sqlite:///db/kokoropy.db'
BUSY_TIMEOUT_SECONDS = 5.0
# scrypt with n=2**14, r=8, p=1 (RFC 7914 section 2's interactive-login cost): 16 MiB, ~50 ms.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
# Used only where OpenSSL lacks scrypt; OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
PBKDF2_ITERATIONS = 600000
FILTER_OPERATORS = ('eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'like', 'contains',
                    'startswith', 'endswith', 'isnull')
ON_DELETE_RULES = ('CASCADE', 'SET NULL', 'RESTRICT')
# Columns the ORM adds and manages itself; forms and plain saves leave position and trashed_at.
AUTOMATIC_COLUMNS = ('id', 'created_at', 'updated_at', 'position', 'trashed_at')
SAVE_HOOKS = ('before_save', 'after_save', 'before_insert', 'after_insert',
              'before_update', 'after_update')
DELETE_HOOKS = ('before_delete', 'after_delete')
TRASH_HOOKS = ('before_trash', 'after_trash', 'before_untrash', 'after_untrash')


class FieldError(ValueError):
    """A query named a field or operator the model does not have; the message lists valid ones."""


class ValidationError(ValueError):
    """Data broke a model's field declarations.

    `errors` maps field names to messages a form can show beside each field (a plain message
    given instead of a dict is kept under '__all__'); `instance` is the model instance, if any.
    """

    def __init__(self, errors, instance=None):
        if not isinstance(errors, dict):
            errors = {'__all__': str(errors)}
        self.errors = dict(errors)
        self.instance = instance
        details = '; '.join('%s: %s' % item for item in self.errors.items())
        owner = type(instance).__name__ if instance is not None else 'Data'
        ValueError.__init__(self, '%s is not valid: %s' % (owner, details))


class RestrictedDeleteError(sqlite3.IntegrityError):
    """A delete was refused because rows of another model still refer to the row
    (ForeignKey(..., on_delete='RESTRICT')). Delete or reassign those rows first."""


class SqliteDialect:
    """Writes every SQL text the ORM runs on sqlite: quoting, placeholders, types, statements.

    The query builder and the schema helpers only compose the pieces returned here, and values
    are always bound as parameters, so a second backend is a second dialect class.
    """

    name = 'sqlite'
    placeholder = '?'
    column_types = {'integer': 'INTEGER', 'boolean': 'INTEGER', 'foreignkey': 'INTEGER',
                    'float': 'REAL'}
    default_column_type = 'TEXT'
    comparisons = {'eq': '=', 'ne': 'IS NOT', 'gt': '>', 'gte': '>=', 'lt': '<', 'lte': '<=',
                   'like': 'LIKE'}
    like_patterns = {'contains': '%%%s%%', 'startswith': '%s%%', 'endswith': '%%%s'}

    def connect(self, target, timeout, is_uri=False, set_journal=False):
        """Open a connection in autocommit mode (the ORM issues BEGIN itself) with foreign keys,
        a busy timeout and, for files, write-ahead logging."""
        connection = sqlite3.connect(target, timeout=timeout, isolation_level=None,
                                     check_same_thread=False, uri=is_uri)
        connection.execute('PRAGMA foreign_keys = ON')
        if not is_uri:
            if set_journal:
                # WAL: readers never wait for the writer, and commits need no fsync of the db.
                connection.execute('PRAGMA journal_mode = WAL')
            # NORMAL is durable against corruption in WAL mode; a power cut may lose the
            # latest commits only (https://sqlite.org/pragma.html#pragma_synchronous).
            connection.execute('PRAGMA synchronous = NORMAL')
        return connection

    def quote(self, identifier):
        """Return an identifier as a quoted SQL name (embedded quotes doubled)."""
        identifier = str(identifier)
        if not identifier or '\x00' in identifier:
            raise ValueError('invalid SQL identifier %r' % identifier)
        return '"%s"' % identifier.replace('"', '""')

    def column_list(self, columns):
        """Quoted, comma-separated column names."""
        return ', '.join(self.quote(column) for column in columns)

    def literal(self, value):
        """SQL literal of a constant default (DDL only, where parameters are not allowed)."""
        if isinstance(value, bool):
            return '1' if value else '0'
        if isinstance(value, (int, float)):
            return repr(value)
        return "'%s'" % str(value).replace("'", "''")

    def column_type(self, field):
        """The declared column type of a field."""
        return self.column_types.get(field.type_name, self.default_column_type)

    # --- statements ---------------------------------------------------------------------

    def select(self, table, columns, where='', order='', limit=False, offset=False):
        """SELECT text; `columns` is already quoted; limit and offset become parameters."""
        sql = 'SELECT %s FROM %s' % (columns, self.quote(table))
        if where:
            sql += ' WHERE ' + where
        if order:
            sql += ' ORDER BY ' + order
        if limit or offset:
            sql += ' LIMIT ?' if limit else ' LIMIT -1'  # sqlite needs a LIMIT before OFFSET
        if offset:
            sql += ' OFFSET ?'
        return sql

    def count(self, select_sql):
        """Count the rows of a SELECT."""
        return 'SELECT COUNT(*) FROM (%s)' % select_sql

    def insert(self, table, columns, computed=()):
        """INSERT text binding `columns`; `computed` adds (column, SQL expression) pairs."""
        names = [self.quote(column) for column in columns]
        values = [self.placeholder] * len(names)
        for column, expression in computed:
            names.append(self.quote(column))
            values.append(expression)
        return 'INSERT INTO %s (%s) VALUES (%s)' % (self.quote(table), ', '.join(names),
                                                    ', '.join(values))

    def update(self, table, columns, where):
        """UPDATE text setting each column to a parameter."""
        assignments = ', '.join('%s = %s' % (self.quote(c), self.placeholder) for c in columns)
        return 'UPDATE %s SET %s WHERE %s' % (self.quote(table), assignments, where)

    def delete(self, table, where=''):
        """DELETE text."""
        sql = 'DELETE FROM %s' % self.quote(table)
        return sql + ' WHERE ' + where if where else sql

    def next_position(self, table, column):
        """Expression giving one more than the largest position (1 for an empty table)."""
        return '(SELECT COALESCE(MAX(%s), 0) + 1 FROM %s)' % (self.quote(column),
                                                              self.quote(table))

    def in_subquery(self, column, select_sql):
        """Condition `column IN (select)`, used to delete or update a limited query."""
        return '%s IN (%s)' % (self.quote(column), select_sql)

    def condition(self, column, operator, value):
        """SQL and parameters of one filter on `column` (an operator of FILTER_OPERATORS)."""
        name = self.quote(column)
        if operator == 'isnull':
            return name + (' IS NULL' if value else ' IS NOT NULL'), ()
        if operator == 'eq' and value is None:
            return name + ' IS NULL', ()
        if operator == 'in':
            if not value:
                return '0', ()  # "IN ()" is not SQL; an empty list matches no row
            return '%s IN (%s)' % (name, ', '.join([self.placeholder] * len(value))), value
        if operator in self.like_patterns:
            escaped = value.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
            return ("%s LIKE %s ESCAPE '\\'" % (name, self.placeholder),
                    (self.like_patterns[operator] % escaped,))
        return '%s %s %s' % (name, self.comparisons[operator], self.placeholder), (value,)

    def order_term(self, column, descending):
        """One ORDER BY term."""
        return self.quote(column) + (' DESC' if descending else '')

    # --- transactions -------------------------------------------------------------------

    def begin(self):
        """Start a transaction. IMMEDIATE takes the write lock at once, so two writers wait
        for each other (busy timeout) instead of failing when a read turns into a write."""
        return 'BEGIN IMMEDIATE'

    def savepoint(self, name):
        """Open a nested transaction."""
        return 'SAVEPOINT ' + self.quote(name)

    def release(self, name):
        """Keep a nested transaction's changes."""
        return 'RELEASE SAVEPOINT ' + self.quote(name)

    def commit(self):
        """End a transaction, keeping its changes."""
        return 'COMMIT'

    def rollback(self):
        """End a transaction, undoing its changes."""
        return 'ROLLBACK'

    def rollback_to(self, name):
        """Undo a nested transaction's changes."""
        return 'ROLLBACK TO SAVEPOINT ' + self.quote(name)

    # --- schema -------------------------------------------------------------------------

    def column_definition(self, field):
        """Column definition of a bound field, with its default and foreign key clause."""
        sql = '%s %s' % (self.quote(field.column), self.column_type(field))
        if field.primary_key:
            return sql + ' PRIMARY KEY'
        default = field.default
        if default is not None and not callable(default):
            db_value = field.to_db(default)
            if isinstance(db_value, (str, int, float)):
                sql += ' DEFAULT ' + self.literal(db_value)
        if isinstance(field, ForeignKey):
            sql += ' REFERENCES %s (%s) ON DELETE %s' % (
                self.quote(field.related_table), self.quote('id'), field.on_delete)
        return sql

    def create_table(self, table, fields, if_not_exists=False):
        """CREATE TABLE text from bound fields."""
        return 'CREATE TABLE %s%s (%s)' % ('IF NOT EXISTS ' if if_not_exists else '',
                                           self.quote(table),
                                           ', '.join(self.column_definition(f) for f in fields))

    def drop_table(self, table, if_exists=False):
        """DROP TABLE text."""
        return 'DROP TABLE %s%s' % ('IF EXISTS ' if if_exists else '', self.quote(table))

    def rename_table(self, table, new_name):
        """ALTER TABLE ... RENAME TO text."""
        return 'ALTER TABLE %s RENAME TO %s' % (self.quote(table), self.quote(new_name))

    def add_column(self, table, field):
        """ALTER TABLE ... ADD COLUMN text."""
        return 'ALTER TABLE %s ADD COLUMN %s' % (self.quote(table), self.column_definition(field))

    def rename_column(self, table, old, new):
        """ALTER TABLE ... RENAME COLUMN text (sqlite 3.25+)."""
        return 'ALTER TABLE %s RENAME COLUMN %s TO %s' % (self.quote(table), self.quote(old),
                                                          self.quote(new))

    def create_index(self, name, table, columns, unique=False, if_not_exists=False):
        """CREATE INDEX text."""
        return 'CREATE %sINDEX %s%s ON %s (%s)' % ('UNIQUE ' if unique else '',
                                                  'IF NOT EXISTS ' if if_not_exists else '',
                                                  self.quote(name), self.quote(table),
                                                  self.column_list(columns))

    def drop_index(self, name, if_exists=False):
        """DROP INDEX text."""
        return 'DROP INDEX %s%s' % ('IF EXISTS ' if if_exists else '', self.quote(name))

    def list_tables(self):
        """Query listing the user tables."""
        return ("SELECT name FROM sqlite_master WHERE type = 'table' "
                "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")

    def table_info(self, table):
        """PRAGMA listing a table's columns (cid, name, type, notnull, default, pk)."""
        return 'PRAGMA table_info(%s)' % self.quote(table)

    def foreign_key_list(self, table):
        """PRAGMA listing a table's foreign keys."""
        return 'PRAGMA foreign_key_list(%s)' % self.quote(table)

    def index_list(self, table):
        """PRAGMA listing a table's indexes (seq, name, unique, origin, partial)."""
        return 'PRAGMA index_list(%s)' % self.quote(table)

    def index_info(self, index):
        """PRAGMA listing an index's columns."""
        return 'PRAGMA index_info(%s)' % self.quote(index)

    def index_sql(self):
        """Query giving the CREATE INDEX text of an index by name."""
        return "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?"

    def table_sql(self):
        """Query giving the CREATE TABLE text of a table by name."""
        return "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"

    def foreign_keys(self, enabled):
        """PRAGMA switching foreign key enforcement (a no-op inside a transaction)."""
        return 'PRAGMA foreign_keys = %s' % ('ON' if enabled else 'OFF')

    def foreign_keys_enabled(self):
        """PRAGMA telling whether foreign keys are enforced on this connection."""
        return 'PRAGMA foreign_keys'

    def copy_rows(self, source, source_columns, target, target_columns):
        """INSERT ... SELECT copying columns of every row from one table to another."""
        return 'INSERT INTO %s (%s) SELECT %s FROM %s' % (
            self.quote(target), self.column_list(target_columns),
            self.column_list(source_columns), self.quote(source))

    def foreign_key_check(self):
        """PRAGMA listing rows whose foreign key points to no row."""
        return 'PRAGMA foreign_key_check'


class Database:
    """A sqlite database: one connection per thread, transactions, raw SQL and schema helpers.

    `url` is 'sqlite:///relative/path.db', 'sqlite:////absolute/path.db', a plain path, or
    ':memory:' (a private in-memory database shared by this object's threads, kept alive until
    close(); use a file when several threads write at once). The folder of a file is created on
    first use. Connections run in autocommit mode: statements outside transaction() commit one
    by one, and `with db.transaction():` groups them (nested blocks are savepoints).
    """

    _memory_numbers = itertools.count(1)

    def __init__(self, url=DEFAULT_DATABASE_URL, timeout=BUSY_TIMEOUT_SECONDS, dialect=None):
        self.url = url
        self.path = _sqlite_path(url)
        self.timeout = timeout
        self.dialect = dialect or SqliteDialect()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._states = weakref.WeakSet()
        self._statements = {}
        self._journal_set = False
        self._keeper = None
        self._is_memory = self.path == ':memory:'
        if self._is_memory:
            self._target = 'file:kokoropy-memory-%d-%d?mode=memory&cache=shared' % (
                os.getpid(), next(Database._memory_numbers))
        else:
            self._target = self.path

    def __repr__(self):
        return '<Database %s>' % self.path

    def connection(self):
        """This thread's sqlite3 connection, opened on first use."""
        try:
            return self._local.state.connection
        except AttributeError:
            return self._open_state().connection

    def execute(self, sql, params=()):
        """Run one SQL statement with bound parameters; return the cursor."""
        return self.connection().execute(sql, params)

    def executemany(self, sql, seq_of_params):
        """Run one SQL statement once per parameter tuple; return the cursor."""
        return self.connection().executemany(sql, seq_of_params)

    def query(self, sql, params=()):
        """Run a SELECT with bound parameters; return a list of sqlite3.Row (index or name)."""
        cursor = self.connection().cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def transaction(self):
        """Context manager grouping statements in a transaction: committed at the end of the
        block, rolled back (and the exception re-raised) when the block raises. Nested blocks
        are savepoints: an error inside rolls back only the nested block."""
        return _Transaction(self)

    @property
    def in_transaction(self):
        """True while this thread is inside a transaction() block."""
        return self._state().depth > 0

    def close(self):
        """Close every thread's connection; the database reopens on next use."""
        with self._lock:
            states, self._states = list(self._states), weakref.WeakSet()
            self._local = threading.local()
            for state in states:
                state.connection.close()
            if self._keeper is not None:
                self._keeper.connection.close()
                self._keeper = None

    def bind(self, *models):
        """Make the given Model classes (and their subclasses) use this database."""
        for model in models:
            model._database = self

    def create_tables(self, *models):
        """Create the missing tables of the given models, parents before children (for tests
        and scripts; applications use migrations)."""
        for model in _dependency_order(models):
            self.create_table(model._meta.table, model, if_not_exists=True)

    def drop_tables(self, *models):
        """Drop the tables of the given models if they exist, children before parents."""
        with self.transaction():
            for model in reversed(_dependency_order(models)):
                self.execute(self.dialect.drop_table(model._meta.table, if_exists=True))

    # --- schema helpers (also used by migrations) ---------------------------------------

    def create_table(self, table, fields=None, if_not_exists=False):
        """Create a table with `id`, the given fields, `created_at` and `updated_at`, and the
        indexes its unique, indexed and foreign key fields imply.

        `fields` is a dict (or list of pairs) of name -> Field, as declared in models, or a Model
        class (all its columns).
        """
        _check_identifier(table, 'table name')
        columns = _schema_fields(fields)
        with self.transaction():
            self.execute(self.dialect.create_table(table, columns, if_not_exists))
            for field in columns:
                self._create_field_index(table, field, if_not_exists)

    def drop_table(self, table, if_exists=False):
        """Drop a table and its indexes."""
        self.execute(self.dialect.drop_table(table, if_exists))

    def rename_table(self, table, new_name):
        """Rename a table."""
        _check_identifier(new_name, 'table name')
        self.execute(self.dialect.rename_table(table, new_name))

    def add_column(self, table, name, field):
        """Add a column declared like a model field (existing rows get its constant default)."""
        field = _schema_field(name, field)
        with self.transaction():
            self.execute(self.dialect.add_column(table, field))
            self._create_field_index(table, field)

    def rename_column(self, table, old, new):
        """Rename a column, keeping data, indexes and foreign keys."""
        _check_identifier(new, 'column name')
        if sqlite3.sqlite_version_info >= (3, 25, 0):
            self.execute(self.dialect.rename_column(table, old, new))
        else:
            self._rebuild(table, rename={old: new})

    def drop_column(self, table, name):
        """Remove a column by rebuilding the table (sqlite's documented procedure), keeping
        the rows and the indexes that do not use the column."""
        if name not in self.columns(table):
            raise ValueError('table %r has no column %r' % (table, name))
        self._rebuild(table, drop=name)

    def create_index(self, table, columns, unique=False, name=None):
        """Create an index on one column (a string) or several; return the index name."""
        columns = [columns] if isinstance(columns, str) else list(columns)
        name = name or '%s_%s_%s' % (table, '_'.join(columns), 'unique' if unique else 'idx')
        self.execute(self.dialect.create_index(name, table, columns, unique))
        return name

    def drop_index(self, name, if_exists=False):
        """Drop an index by name."""
        self.execute(self.dialect.drop_index(name, if_exists))

    def tables(self):
        """The names of the user tables, sorted."""
        return [row[0] for row in self.execute(self.dialect.list_tables())]

    def table_exists(self, table):
        """True when the table exists."""
        return table in self.tables()

    def columns(self, table):
        """The column names of a table in order ([] when the table does not exist)."""
        return [row[1] for row in self.execute(self.dialect.table_info(table))]

    # --- internals ----------------------------------------------------------------------

    def _state(self):
        try:
            return self._local.state
        except AttributeError:
            return self._open_state()

    def _cursor(self):
        """This thread's reusable cursor (see _ThreadState), for statements that complete."""
        try:
            return self._local.state.cursor
        except AttributeError:
            return self._open_state().cursor

    def _open_state(self):
        with self._lock:
            if self._is_memory and self._keeper is None:
                # A shared-cache memory database lives while one connection is open.
                self._keeper = _ThreadState(self.dialect.connect(self._target, self.timeout,
                                                                 True))
            elif not self._is_memory:
                folder = os.path.dirname(os.path.abspath(self._target))
                os.makedirs(folder, exist_ok=True)
            connection = self.dialect.connect(self._target, self.timeout, self._is_memory,
                                              set_journal=not self._journal_set)
            self._journal_set = True
            state = self._local.state = _ThreadState(connection)
            self._states.add(state)
        return state

    def _model_statements(self, model):
        statements = self._statements.get(model)
        if statements is None:
            statements = self._statements[model] = _ModelStatements(model._meta, self.dialect)
        return statements

    def _create_field_index(self, table, field, if_not_exists=False):
        unique = field.unique and not field.primary_key
        if unique or (field.index and not field.primary_key) or isinstance(field, ForeignKey):
            name = '%s_%s_%s' % (table, field.column, 'unique' if unique else 'idx')
            self.execute(self.dialect.create_index(name, table, [field.column], unique,
                                                   if_not_exists))

    @contextlib.contextmanager
    def _foreign_keys_disabled(self):
        """Switch foreign key enforcement off around a schema change (sqlite ignores the switch
        inside a transaction, so this must wrap the transaction)."""
        if self.in_transaction:
            raise RuntimeError('foreign keys can only be switched off outside a transaction')
        connection = self.connection()
        connection.execute(self.dialect.foreign_keys(False))
        try:
            yield
        finally:
            connection.execute(self.dialect.foreign_keys(True))

    def _check_foreign_keys(self):
        """Raise sqlite3.IntegrityError naming the first row whose foreign key points nowhere."""
        problem = self.execute(self.dialect.foreign_key_check()).fetchone()
        if problem is not None:
            raise sqlite3.IntegrityError(
                'foreign key check failed: row %s of table %r refers to a missing row of %r'
                % (problem[1], problem[0], problem[2]))

    def _rebuild(self, table, drop=None, rename=None):
        """Rebuild a table without column `drop` and/or with columns renamed, in a transaction;
        foreign keys must be off while the old table is dropped (it would cascade)."""
        if not self.in_transaction:
            with self._foreign_keys_disabled():
                with self.transaction():
                    _rebuild_table(self, table, drop, rename or {})
                    self._check_foreign_keys()
            return
        enforced = self.execute(self.dialect.foreign_keys_enabled()).fetchone()[0]
        if enforced and _is_referenced(self, table):
            raise RuntimeError(
                'cannot rebuild table %r inside a transaction while foreign keys are enforced: '
                'other rows refer to it. Run it in a migration or outside transaction()' % table)
        _rebuild_table(self, table, drop, rename or {})


def default_database():
    """The Database of default_app().config['database_url'] (relative paths are relative to
    config['project_path']), created on first use and recreated when the setting changes;
    or the one given to set_default_database()."""
    global _default_database
    if _explicit_default_database is not None:
        return _explicit_default_database
    current = _default_database
    key = _configured_database_key()
    if current is not None and current[0] == key:
        return current[1]
    with _default_database_lock:
        if _default_database is None or _default_database[0] != key:
            _default_database = (key, Database(key))
        return _default_database[1]


def set_default_database(database):
    """Make `database` the one models use when not bound (None returns to the configured one)."""
    global _explicit_default_database
    _explicit_default_database = database


# --- fields ---------------------------------------------------------------------------------

class Field:
    """One column of a model: its declaration, conversions and validation.

    Options of every field: `required` (None and '' are refused), `unique` (checked by a query
    and a unique index), `default` (a value, or a callable called for each new instance),
    `choices` (values or (value, label) pairs; kept as `.choices`, a list of pairs), `label`
    (default: from the name, 'unit_price' -> 'Unit price'), `help_text`, `index`.
    Once its model class exists a field also has `.name`, `.column` (the table column), `.model`
    (the model declaring it) and `.editable` (False for the automatic columns). `type_name` is
    the column type word of the command line, `input_type` the HTML input a form uses.
    """

    type_name = 'field'
    input_type = 'text'
    is_data_descriptor = False
    converts_to_db = False
    messages = {
        'required': '{label} is required.',
        'type': '{label} is not valid.',
        'choices': '{label} must be one of: {choices}.',
        'unique': '{label} is already taken.',
        'max_length': '{label} must be at most {max_length} characters.',
        'min_length': '{label} must be at least {min_length} characters.',
        'min_value': '{label} must be at least {min_value}.',
        'max_value': '{label} must be at most {max_value}.',
    }

    def __init__(self, required=False, unique=False, default=None, choices=None, label=None,
                 help_text=None, index=False):
        self.required = required
        self.unique = unique
        self.default = default
        self._choices_declared = choices
        self.choices = _normalise_choices(choices)
        self._choice_values = [value for value, _ in self.choices] if choices else None
        self._label = label
        self.help_text = help_text
        self.index = index
        self.primary_key = False
        self.editable = True
        self.name = self.column = self.model = None

    def __repr__(self):
        owner = '%s.%s ' % (self.model.__name__, self.name) if self.model else ''
        return '<%s%s>' % (owner, self.declaration())

    def __get__(self, instance, owner):
        # Reached only when the instance has no value (values live in the instance __dict__,
        # which wins over this non-data descriptor: reading an attribute costs nothing extra).
        if instance is None:
            return self
        return instance.__dict__.get(self.column)

    @property
    def label(self):
        """The text a form shows for the field."""
        return self._label or _label_from_name(self.name or '')

    def bind(self, model, name):
        """Attach the field to a model class under `name` (done by Model itself)."""
        self.model, self.name, self.column = model, name, self.column_for(name)

    def column_for(self, name):
        """The column name a field declared as `name` uses."""
        return name

    def clone(self):
        """An unbound copy (for subclasses of a model and for schema helpers)."""
        field = copy.copy(self)
        field.name = field.column = field.model = None
        return field

    def _set_as_given(self, instance, value):
        """__set__ of the fields that are data descriptors only so that their __get__ converts
        stored values: the value is kept as given, so __init__ and create() store it directly."""
        instance.__dict__[self.column] = value

    def get_default(self):
        """The default value for a new instance."""
        return self.default() if callable(self.default) else self.default

    def to_python(self, raw):
        """Convert a submitted form value (usually text) to the field's Python value; '' and
        None give None. Raises ValueError with a message for the user."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return raw

    def to_db(self, value):
        """Convert a Python value to what the database stores."""
        return value

    def from_db(self, value):
        """Convert a stored value to the Python value."""
        return value

    def to_json(self, value):
        """A JSON-friendly form of the value (as_dict() uses it)."""
        return value

    def validate(self, value):
        """The message about `value` breaking the declaration, or None when it is fine
        (uniqueness, which needs a query, is checked by Model.validate())."""
        if value is None or value == '':
            return self.message('required') if self.required else None
        message = self.check(value)
        if message is None and self._choice_values is not None \
                and value not in self._choice_values:
            return self.message('choices')
        return message

    def check(self, value):
        """Type-specific checks of a value that is not empty; a message or None."""
        return None

    def _quick_rule(self):
        """(class, low, high, is_sized), the shortcut of validate(): a value of exactly that
        class whose length (when is_sized) or value lies in low..high is valid; None when
        every value needs validate(). Model.create() checks rows with it, calling no method."""
        return None

    def message(self, key):
        """The message `key` of `messages`, filled with the label and the field's limits."""
        return self.messages[key].format(
            label=self.label, choices=', '.join(str(label) for _, label in self.choices),
            max_length=getattr(self, 'max_length', None),
            min_length=getattr(self, 'min_length', None),
            min_value=getattr(self, 'min_value', None),
            max_value=getattr(self, 'max_value', None))

    def declaration(self):
        """The field as Python source, e.g. "String(max_length=80, required=True)"; options
        left at their defaults and callable defaults are omitted (code generators use it)."""
        arguments = self.declaration_arguments()
        for name, value, default in self.declaration_options():
            if value != default and not callable(value):
                arguments.append('%s=%r' % (name, value))
        return '%s(%s)' % (type(self).__name__, ', '.join(arguments))

    def declaration_arguments(self):
        """Positional arguments of declaration(), as source text."""
        return []

    def declaration_options(self):
        """(option, value, default) triples declaration() renders when value != default."""
        return [('required', self.required, False), ('unique', self.unique, False),
                ('default', self.default, None), ('choices', self._choices_declared, None),
                ('label', self._label, None), ('help_text', self.help_text, None),
                ('index', self.index, False)]


class String(Field):
    """Short text (an input box), at most `max_length` characters, at least `min_length`."""

    type_name = 'string'
    messages = dict(Field.messages, type='{label} must be text.')

    def __init__(self, max_length=255, min_length=None, **options):
        Field.__init__(self, **options)
        self.max_length = max_length
        self.min_length = min_length
        simple = not self.choices and min_length is None and type(self).check is String.check
        self._quick_max_length = (sys.maxsize if max_length is None else max_length) \
            if simple else -1

    def validate(self, value):
        # Fast path for the common case (plain text within the length) of every save.
        if value.__class__ is str and 0 < len(value) <= self._quick_max_length:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self._quick_max_length < 0 or type(self).validate is not String.validate:
            return None
        return (str, 1, self._quick_max_length, True)

    def to_python(self, raw):
        """Text with surrounding spaces removed; '' gives None."""
        if raw is None:
            return None
        text = str(raw).strip()
        return text or None

    def check(self, value):
        if not isinstance(value, str):
            return self.message('type')
        if self.max_length is not None and len(value) > self.max_length:
            return self.message('max_length')
        if self.min_length is not None and len(value) < self.min_length:
            return self.message('min_length')
        return None

    def declaration_options(self):
        return [('max_length', self.max_length, 255),
                ('min_length', self.min_length, None)] + Field.declaration_options(self)


class Text(Field):
    """Long text (a textarea), kept as typed."""

    type_name = 'text'
    input_type = 'textarea'
    messages = String.messages

    def to_python(self, raw):
        """The text as typed; '' gives None."""
        if raw is None or str(raw) == '':
            return None
        return str(raw)

    def check(self, value):
        return None if isinstance(value, str) else self.message('type')


class Email(String):
    """An email address: text shaped like name@domain.tld, at most 254 characters."""

    type_name = 'email'
    input_type = 'email'
    messages = dict(String.messages, type='{label} must be a valid email address.')
    pattern = re.compile(r'^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$')

    def __init__(self, max_length=254, **options):
        String.__init__(self, max_length=max_length, **options)

    def check(self, value):
        if not isinstance(value, str) or not self.pattern.match(value):
            return self.message('type')
        return String.check(self, value)

    def declaration_options(self):
        options = String.declaration_options(self)
        options[0] = ('max_length', self.max_length, 254)
        return options


class Upload(String):
    """The path of an uploaded file (relative to the application's assets folder).

    `allowed` lists the file extensions a form accepts (e.g. ['png', 'jpg']); saving the file
    is the form's job, the model stores its path.
    """

    type_name = 'upload'
    input_type = 'file'

    def __init__(self, allowed=None, max_length=255, **options):
        String.__init__(self, max_length=max_length, **options)
        self.allowed = list(allowed) if allowed else None

    def declaration_options(self):
        return [('allowed', self.allowed, None)] + String.declaration_options(self)


class Password(Field):
    """A password, stored only as a salted hash (scrypt, or PBKDF2-SHA256 without it).

    Assigning plain text marks it for hashing by the next save(); validation (`min_length`,
    `max_length`) applies to the plain text. Check a password with
    `instance.check_password(name, plain)` or `field.check_password(stored, plain)`.
    as_dict() never includes it.
    """

    type_name = 'password'
    input_type = 'password'
    is_data_descriptor = True
    messages = String.messages

    def __init__(self, min_length=None, max_length=1024, **options):
        Field.__init__(self, **options)
        self.min_length = min_length
        self.max_length = max_length

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance.__dict__.get(self.column)

    def __set__(self, instance, value):
        if value is not None and not isinstance(value, _PlainPassword):
            value = _PlainPassword(value)
        instance.__dict__[self.column] = value

    def to_python(self, raw):
        """The password as typed ('' gives None: forms keep the stored hash then)."""
        return None if raw is None or raw == '' else str(raw)

    def check(self, value):
        if not isinstance(value, _PlainPassword):
            return None  # a stored hash
        return String.check(self, value)

    def hash(self, plain):
        """A salted hash of `plain` in a self-describing text format."""
        return _hash_password(plain)

    def check_password(self, stored, plain):
        """True when `plain` matches `stored` (a hash, or plain text not yet saved)."""
        if stored is None or plain is None:
            return False
        if isinstance(stored, _PlainPassword):
            return hmac.compare_digest(str(stored).encode('utf-8'), str(plain).encode('utf-8'))
        return _verify_password(stored, plain)

    def to_db(self, value):
        return self.hash(value) if isinstance(value, _PlainPassword) else value

    def declaration_options(self):
        return [('min_length', self.min_length, None),
                ('max_length', self.max_length, 1024)] + Field.declaration_options(self)


class Integer(Field):
    """A whole number between `min_value` and `max_value` (when given)."""

    type_name = 'integer'
    input_type = 'number'
    step = '1'
    quick_type = int
    messages = dict(Field.messages, type='{label} must be a whole number.')

    def __init__(self, min_value=None, max_value=None, **options):
        Field.__init__(self, **options)
        self.min_value = min_value
        self.max_value = max_value
        # Fast-path bounds; NaN and infinities fail them and take the full check.
        self._quick_low = -sys.float_info.max if min_value is None else min_value
        self._quick_high = sys.float_info.max if max_value is None else max_value
        if self.choices:
            self._quick_low, self._quick_high = 1, 0

    def validate(self, value):
        if value.__class__ is self.quick_type and self._quick_low <= value <= self._quick_high:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not Integer.validate:
            return None
        return (self.quick_type, self._quick_low, self._quick_high, False)

    def to_python(self, raw):
        """An int from text such as '42' (or '42.0'); '' gives None."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        try:
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ValueError(self.message('type'))
        if isinstance(raw, bool) or not math.isfinite(number) or number != int(number):
            raise ValueError(self.message('type'))
        return int(number)

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, int):
            return self.message('type')
        return self._check_range(value)

    def _check_range(self, value):
        if self.min_value is not None and value < self.min_value:
            return self.message('min_value')
        if self.max_value is not None and value > self.max_value:
            return self.message('max_value')
        return None

    def declaration_options(self):
        return [('min_value', self.min_value, None),
                ('max_value', self.max_value, None)] + Field.declaration_options(self)


class Float(Integer):
    """A (finite) floating point number between `min_value` and `max_value` (when given)."""

    type_name = 'float'
    step = 'any'
    quick_type = float
    messages = dict(Field.messages, type='{label} must be a number.')

    def to_python(self, raw):
        """A float from text such as '3.5'; '' gives None."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool):
            raise ValueError(self.message('type'))
        try:
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ValueError(self.message('type'))
        if not math.isfinite(number):
            raise ValueError(self.message('type'))
        return number

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            return self.message('type')
        return self._check_range(value)


class Boolean(Field):
    """True or False (a checkbox); stored as 1 or 0. The default is False."""

    type_name = 'boolean'
    input_type = 'checkbox'
    is_data_descriptor = True
    messages = dict(Field.messages, type='{label} must be yes or no.')
    true_words = frozenset(['1', 'true', 'on', 'yes', 'y', 't'])
    false_words = frozenset(['', '0', 'false', 'off', 'no', 'n', 'f'])

    def __init__(self, default=False, **options):
        Field.__init__(self, default=default, **options)

    def validate(self, value):
        if (value is True or value is False) and not self.choices:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not Boolean.validate:
            return None
        return (bool, False, True, False)

    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = instance.__dict__.get(self.column)
        if value is None or value.__class__ is bool or value not in (0, 1):
            return value
        value = instance.__dict__[self.column] = bool(value)  # stored 0/1, converted once
        return value

    __set__ = Field._set_as_given

    def to_python(self, raw):
        """True for '1', 'true', 'on', 'yes'; False for '', '0', 'false', 'off', 'no' or None
        (an unchecked checkbox sends nothing)."""
        if raw is None:
            return False
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in self.true_words:
            return True
        if word in self.false_words:
            return False
        raise ValueError(self.message('type'))

    def check(self, value):
        return None if value in (True, False) else self.message('type')

    def from_db(self, value):
        return None if value is None else bool(value)

    def declaration_options(self):
        options = Field.declaration_options(self)
        options[2] = ('default', self.default, False)
        return options


class Date(Field):
    """A calendar date, stored as 'YYYY-MM-DD' text (so it sorts and compares in SQL)."""

    type_name = 'date'
    input_type = 'date'
    is_data_descriptor = True
    converts_to_db = True
    messages = dict(Field.messages, type='{label} must be a date like 2024-12-31.')

    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = instance.__dict__.get(self.column)
        if value.__class__ is str:
            # Converted on first read, not when the row is loaded: most reads never need it.
            try:
                value = instance.__dict__[self.column] = self.from_db(value)
            except ValueError:
                pass
        return value

    __set__ = Field._set_as_given

    def to_python(self, raw):
        """A date from 'YYYY-MM-DD' text; '' gives None."""
        if raw is None or isinstance(raw, datetime.date):
            return _as_date(raw) if isinstance(raw, datetime.datetime) else raw
        if not str(raw).strip():
            return None
        try:
            return self.from_db(str(raw).strip())
        except ValueError:
            raise ValueError(self.message('type'))

    def from_db(self, value):
        if value is None or isinstance(value, datetime.date):
            return value
        return datetime.date.fromisoformat(value[:10])

    def to_db(self, value):
        if value.__class__ is str:
            if len(value) == 10 and value[4] == '-':
                return value  # already the stored form
            value = self.to_python(value)
        return _as_date(value).isoformat()

    def to_json(self, value):
        return value.isoformat() if isinstance(value, datetime.date) else value

    def check(self, value):
        if isinstance(value, datetime.date):
            return None
        if isinstance(value, str):
            try:
                self.to_python(value)
                return None
            except ValueError:
                pass
        return self.message('type')


class DateTime(Date):
    """A date and time, stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text.

    Naive datetimes are stored as given; aware ones are converted to UTC first. The automatic
    `created_at` and `updated_at` columns hold naive UTC times.
    """

    type_name = 'datetime'
    input_type = 'datetime-local'
    messages = dict(Field.messages,
                    type='{label} must be a date and time like 2024-12-31 23:59.')

    def to_python(self, raw):
        """A datetime from ISO text ('2024-12-31T23:59', '2024-12-31 23:59:59', a trailing
        'Z' for UTC); '' gives None."""
        if raw is None or isinstance(raw, datetime.datetime):
            return raw
        if isinstance(raw, datetime.date):
            return datetime.datetime(raw.year, raw.month, raw.day)
        text = str(raw).strip()
        if not text:
            return None
        try:
            return self.from_db(text[:-1] + '+00:00' if text.endswith('Z') else text)
        except ValueError:
            raise ValueError(self.message('type'))

    def from_db(self, value):
        if value is None or isinstance(value, datetime.datetime):
            return value
        return datetime.datetime.fromisoformat(value)

    def to_db(self, value):
        if value.__class__ is str:
            if len(value) == 26 and value[10] == ' ':
                return value  # already the stored form
            value = self.to_python(value)
        elif not isinstance(value, datetime.datetime):
            value = self.to_python(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat(' ', 'microseconds')

    def check(self, value):
        if isinstance(value, datetime.date):
            return None
        return Date.check(self, value)


class ForeignKey(Field):
    """A reference to a row of another model (`to`: the class, its name, or a table name).

    Declared as `category = ForeignKey(Category)`, the column is `category_id` (the raw id) and
    `product.category` loads and caches the related row; assign an instance or an id. The
    related model gets a reverse attribute `related_name` (default: this model's table name +
    's', e.g. `category.products`) giving a Query. `on_delete` is 'CASCADE', 'SET NULL' or
    'RESTRICT' (refused deletes raise RestrictedDeleteError); sqlite enforces it.
    """

    type_name = 'foreignkey'
    input_type = 'select'
    is_data_descriptor = True
    messages = dict(Field.messages, type='{label} must be chosen from the list.')

    def __init__(self, to, on_delete='CASCADE', related_name=None, **options):
        Field.__init__(self, **options)
        on_delete = str(on_delete).upper()
        if on_delete not in ON_DELETE_RULES:
            raise ValueError('on_delete must be one of %s, not %r'
                             % (', '.join(ON_DELETE_RULES), on_delete))
        self.to = to
        self.on_delete = on_delete
        self.related_name = related_name

    def column_for(self, name):
        return name if name.endswith('_id') else name + '_id'

    def bind(self, model, name):
        Field.bind(self, model, name)
        self._cache_key = '_related_' + name

    @property
    def related_model(self):
        """The Model class referred to (raises FieldError when it is not defined)."""
        if isinstance(self.to, type):
            return self.to
        model = _find_model(self.to, self.model)
        if model is None:
            raise FieldError('ForeignKey %s refers to %r, which is not a defined model'
                             % (self._owner_name(), self.to))
        return model

    @property
    def related_table(self):
        """The table referred to (a string `to` that names no model is taken as a table)."""
        if isinstance(self.to, type):
            return self.to._meta.table
        model = _find_model(self.to, self.model)
        return model._meta.table if model is not None else self.to

    def reverse_name(self):
        """The attribute the related model gets for the reverse query."""
        return self.related_name or self.model._meta.table + 's'

    def __get__(self, instance, owner):
        if instance is None:
            return self
        values = instance.__dict__
        related_id = values.get(self.column)
        cached = values.get(self._cache_key)
        if related_id is None:
            return cached  # None, or an instance assigned before it was saved
        if cached is not None and cached.__dict__.get('id') == related_id:
            return cached
        related = self.related_model.get(related_id, with_trashed=True)
        values[self._cache_key] = related
        return related

    def __set__(self, instance, value):
        values = instance.__dict__
        if isinstance(value, Model):
            if not isinstance(value, self.related_model):
                raise TypeError('%s must be a %s, not a %s' % (
                    self._owner_name(), self.related_model.__name__, type(value).__name__))
            values[self.column] = value.__dict__.get('id')
            values[self._cache_key] = value
        else:
            values[self.column] = value
            values.pop(self._cache_key, None)

    def to_python(self, raw):
        """The related row's id from a submitted value; '' gives None."""
        if isinstance(raw, Model):
            return raw.id
        if raw is None or isinstance(raw, bool):
            return None if raw is None else self._refuse()
        if isinstance(raw, int):
            return raw
        text = str(raw).strip()
        if not text:
            return None
        if not text.isdigit():
            self._refuse()
        return int(text)

    def to_db(self, value):
        return value.id if isinstance(value, Model) else value

    def validate(self, value):
        if value.__class__ is int and not self.choices:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not ForeignKey.validate:
            return None
        return (int, -math.inf, math.inf, False)

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, int):
            return self.message('type')
        return None

    def declaration_arguments(self):
        return [repr(self.related_table)]

    def declaration_options(self):
        return [('on_delete', self.on_delete, 'CASCADE'),
                ('related_name', self.related_name, None)] + Field.declaration_options(self)

    def _refuse(self):
        raise ValueError(self.message('type'))

    def _owner_name(self):
        return '%s.%s' % (self.model.__name__, self.name) if self.model else repr(self)


# --- models ---------------------------------------------------------------------------------

class Model:
    """Base class of database models: subclass it and declare fields as class attributes.

        class Product(Model):
            name = String(max_length=80, required=True)
            price = Float(min_value=0)
            category = ForeignKey(Category, on_delete='SET NULL')

    Every model also has `id`, `created_at` and `updated_at` (naive UTC). Class options:
    `table_name` (default: the class name in snake_case), `soft_delete = True` (a `trashed_at`
    column; trash()/untrash(); queries skip trashed rows), `ordered = True` (a `position`
    column; move_up()/move_down()/move_to(); queries sort by it), `default_order` (field names
    as for order_by()), `abstract = True` (no table: a base for other models).
    `Model._fields` lists the fields by name in declaration order (id first).

    Hooks: override before_/after_ save, insert, update, delete, trash, untrash. They run inside
    the operation's transaction: raising from one aborts the operation and rolls it back.
    """

    table_name = None
    soft_delete = False
    ordered = False
    default_order = ()
    abstract = True
    _database = None
    _fields = {}
    _meta = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get('abstract', False):
            return
        _ModelInfo(cls)

    def __init__(self, **values):
        meta = self._meta
        if meta is None:
            raise TypeError('%s is abstract: it has no table' % type(self).__name__)
        own = self.__dict__
        own.update(meta.blank_row)
        for column, default in meta.callable_defaults:
            own[column] = default()
        if meta.plain_names.issuperset(values):
            own.update(values)  # the common case: no conversions, one C call
            return
        for name, value in values.items():
            if name in meta.plain_names:
                own[name] = value
            elif name in meta.descriptor_names:
                setattr(self, name, value)
            else:
                raise TypeError('%s has no field %r; its fields are: %s'
                                % (type(self).__name__, name, ', '.join(meta.fields)))

    def __str__(self):
        field = self._meta.display_field
        value = self.__dict__.get(field.column) if field is not None else None
        if value is None or value == '':
            return '%s #%s' % (type(self).__name__, self.__dict__.get('id'))
        return str(value)

    def __repr__(self):
        return '<%s #%s %r>' % (type(self).__name__, self.__dict__.get('id'), str(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        my_id = self.__dict__.get('id')
        return self is other or (my_id is not None and my_id == other.__dict__.get('id'))

    def __hash__(self):
        my_id = self.__dict__.get('id')
        if my_id is None:
            raise TypeError('an unsaved %s has no id and cannot be hashed' % type(self).__name__)
        return hash((type(self), my_id))

    # --- queries ------------------------------------------------------------------------

    @classmethod
    def create(cls, **values):
        """Make, validate and save a new row; return the instance (ValidationError if invalid)."""
        meta = cls._meta
        if meta is None or not meta.is_quick_create or not meta.quick_names.issuperset(values):
            return cls(**values).save()
        # The hot path of bulk inserts: __init__() and save() inlined, for the models whose
        # save() runs no query but the INSERT and calls no overridden method. A field's quick
        # rule settles most values without a call; validate() runs only for the others.
        instance = cls.__new__(cls)
        if len(values) == meta.full_row_size:
            row = values  # every field given: the new dict of keywords becomes the row
            row['id'] = None
        else:
            row = meta.blank_row.copy()
            for column, default in meta.callable_defaults:
                row[column] = default()
            row.update(values)
        instance.__dict__ = row
        for column, kind, low, high, is_sized, validate in meta.quick_rules:
            value = row[column]
            if (value.__class__ is not kind or not low <= (len(value) if is_sized else value)
                    <= high) and validate(value) is not None:
                raise ValidationError(instance.validate(), instance)
        database = cls._database or default_database()
        statements = database._statements.get(cls) or database._model_statements(cls)
        row['created_at'] = row['updated_at'] = _now_text()
        sql, getter, converters = statements.plain_insert
        params = _converted(getter(row), converters) if converters else getter(row)
        try:
            row['id'] = database._cursor().execute(sql, params).lastrowid
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(cls, exc, instance)
        return instance

    @classmethod
    def get(cls, id, with_trashed=False):
        """The row with this id, or None (trashed rows only with `with_trashed=True`)."""
        database = cls._database or default_database()
        statements = database._statements.get(cls) or database._model_statements(cls)
        sql = statements.get_with_trashed if with_trashed else statements.get
        rows = database._cursor().execute(sql, (id,)).fetchall()
        if not rows:
            return None
        instance = cls.__new__(cls)
        instance.__dict__ = statements.build_row(rows[0])
        return instance

    @classmethod
    def all(cls):
        """A Query of every row (lazy: it runs when iterated)."""
        return Query(cls)

    @classmethod
    def where(cls, *conditions, **filters):
        """A Query of the rows matching Q objects and `field=value` / `field__operator=value`
        filters (operators: eq ne gt gte lt lte in like contains startswith endswith isnull)."""
        return Query(cls).where(*conditions, **filters)

    @classmethod
    def schema_diff(cls, database=None):
        """The fields whose column the model's table lacks (every field when the table does
        not exist), in declaration order: a migration adds them with
        db.add_column(table, field.name, <field.declaration()>)."""
        database = database or cls._database or default_database()
        existing = set(database.columns(cls._meta.table))
        return [field for field in cls._meta.fields.values() if field.column not in existing]

    @classmethod
    def from_form(cls, data, fields=None):
        """A new unsaved instance from submitted data; returns (instance, errors).

        See update_from(): `errors` holds conversion and validation messages by field name.
        """
        instance = cls()
        return instance, instance.update_from(data, fields)

    # --- one row ------------------------------------------------------------------------

    def save(self, validate=True):
        """Insert or update the row (in a transaction when hooks are defined); return self.

        Raises ValidationError (with `.errors`) when validate() finds problems; a unique
        column refused by the database gives a ValidationError too.
        """
        database = self._database or default_database()
        if self._meta.has_save_hooks:
            with database.transaction():
                self._save(database, validate)
        else:
            self._save(database, validate)
        return self

    def delete(self):
        """Delete the row for good (also for soft-delete models). Related rows follow their
        ForeignKey's on_delete; RestrictedDeleteError when a RESTRICT rule refuses."""
        database = self._database or default_database()
        if self._meta.has_delete_hooks:
            with database.transaction():
                self._delete(database)
        else:
            self._delete(database)

    def validate(self):
        """Check every editable field against its declaration (required, type, length,
        choices, range, email shape, unique, existing related row); return a dict of field
        name -> message, empty when the row is valid."""
        values = self.__dict__
        errors = {}
        for column, name, validate in self._meta.validators:
            message = validate(values.get(column))
            if message is not None:
                errors[name] = message
        if self._meta.needs_queries:
            self._validate_with_queries(errors)
        return errors

    def update_from(self, data, fields=None):
        """Set editable fields from submitted data (a dict or form dict of text); return the
        errors dict: conversion messages, then validate()'s messages for the other fields.

        Only the names in `fields` are read when given (protects fields a form does not
        show). A missing value leaves the field as it is, except a Boolean (an unchecked
        checkbox is not sent) which becomes False, and an empty Password keeps the stored
        one. A ForeignKey may be sent by name ('category') or column ('category_id').
        """
        errors = {}
        for field in self._form_fields(fields):
            raw = _submitted_value(data, field)
            if raw is _MISSING:
                if not isinstance(field, Boolean):
                    continue
                raw = None
            if isinstance(field, Password) and (raw is None or raw == ''):
                continue
            if isinstance(field, Upload) and not isinstance(raw, str):
                continue  # a file object: the form saves it, then sets the stored path
            try:
                setattr(self, field.name, field.to_python(raw))
            except ValueError as exc:
                errors[field.name] = str(exc)
        for name, message in self.validate().items():
            errors.setdefault(name, message)
        return errors

    def as_dict(self):
        """The row as a JSON-friendly dict: dates as ISO text, foreign keys as `name_id`, no
        Password fields."""
        result = {}
        for field in self._meta.fields.values():
            if isinstance(field, Password):
                continue
            if isinstance(field, ForeignKey):
                result[field.column] = self.__dict__.get(field.column)
            else:
                result[field.name] = field.to_json(getattr(self, field.name))
        return result

    def check_password(self, name, plain):
        """True when `plain` matches the Password field `name`."""
        field = self._meta.fields.get(name)
        if not isinstance(field, Password):
            raise FieldError('%s has no Password field %r' % (type(self).__name__, name))
        return field.check_password(self.__dict__.get(field.column), plain)

    def refresh(self):
        """Reload the row's values from the database; return self (LookupError if gone)."""
        fresh = type(self).get(self.__dict__.get('id'), with_trashed=True)
        if fresh is None:
            raise LookupError('%s #%s no longer exists' % (type(self).__name__, self.id))
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    # --- soft delete and ordering -------------------------------------------------------

    def trash(self):
        """Move the row to the trash (soft_delete models): queries skip it from now on."""
        self._set_trashed(_now_text(), 'trash')

    def untrash(self):
        """Take the row out of the trash (soft_delete models)."""
        self._set_trashed(None, 'untrash')

    @property
    def is_trashed(self):
        """True when the row is in the trash."""
        return self.__dict__.get('trashed_at') is not None

    def move_up(self):
        """Swap the row with the one before it (ordered models)."""
        self._move(lambda index, count: index - 1)

    def move_down(self):
        """Swap the row with the one after it (ordered models)."""
        self._move(lambda index, count: index + 1)

    def move_to(self, position):
        """Put the row at `position` (1 = first) among the rows not trashed, shifting the
        others; positions are renumbered 1..n (ordered models)."""
        position = int(position)
        self._move(lambda index, count: position)

    # --- hooks: override in a model -----------------------------------------------------

    def before_save(self):
        """Called before every insert or update (before validation)."""

    def after_save(self):
        """Called after every insert or update."""

    def before_insert(self):
        """Called before a new row is inserted (after before_save)."""

    def after_insert(self):
        """Called after a new row is inserted (before after_save)."""

    def before_update(self):
        """Called before an existing row is updated (after before_save)."""

    def after_update(self):
        """Called after an existing row is updated (before after_save)."""

    def before_delete(self):
        """Called before the row is deleted."""

    def after_delete(self):
        """Called after the row is deleted."""

    def before_trash(self):
        """Called before the row goes to the trash."""

    def after_trash(self):
        """Called after the row went to the trash."""

    def before_untrash(self):
        """Called before the row leaves the trash."""

    def after_untrash(self):
        """Called after the row left the trash."""

    # --- internals ----------------------------------------------------------------------

    def _save(self, database, validate):
        meta = self._meta
        values = self.__dict__
        inserting = values.get('id') is None
        if meta.has_save_hooks:
            self.before_save()
            self.before_insert() if inserting else self.before_update()
        if meta.foreign_keys:
            self._take_related_ids()
        if validate:
            errors = self.validate()
            if errors:
                raise ValidationError(errors, self)
        for field in meta.passwords:
            values[field.column] = field.to_db(values.get(field.column))
        if inserting:
            self._insert(database)
        else:
            self._update(database)
        if meta.has_save_hooks:
            self.after_insert() if inserting else self.after_update()
            self.after_save()

    def _insert(self, database, with_id=False):
        values = self.__dict__
        model = type(self)
        statements = database._statements.get(model) or database._model_statements(model)
        now = _now_text()
        created = values.get('created_at')
        if created is None:
            values['created_at'] = now
        elif created.__class__ is not str:
            values['created_at'] = model._fields['created_at'].to_db(created)
        values['updated_at'] = now
        auto_position = self._meta.ordered and values.get('position') is None
        if with_id or auto_position:
            sql, getter, converters = statements.insert_plan(with_id, auto_position)
        else:
            sql, getter, converters = statements.plain_insert
        params = getter(values)
        if converters:
            params = _converted(params, converters)
        cursor = database._cursor()
        try:
            cursor.execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(model, exc, self)
        if not with_id:
            values['id'] = cursor.lastrowid
        if auto_position:
            values['position'] = cursor.execute(statements.position_of,
                                                (values['id'],)).fetchall()[0][0]

    def _update(self, database):
        values = self.__dict__
        model = type(self)
        statements = database._statements.get(model) or database._model_statements(model)
        values['updated_at'] = _now_text()
        sql, getter, converters = statements.update_plan
        params = _converted(getter(values), converters)
        params.append(values['id'])
        try:
            cursor = database._cursor().execute(sql, params)
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(model, exc, self)
        if cursor.rowcount == 0:
            self._insert(database, with_id=True)  # an id set by hand, or a deleted row

    def _delete(self, database):
        if self._meta.has_delete_hooks:
            self.before_delete()
        statements = database._model_statements(type(self))
        try:
            database.connection().execute(statements.delete, (self.__dict__.get('id'),))
        except sqlite3.IntegrityError as exc:
            raise _restricted_error(type(self), exc, self)
        if self._meta.has_delete_hooks:
            self.after_delete()

    def _validate_with_queries(self, errors):
        """Uniqueness and related-row checks, which need the database."""
        meta = self._meta
        values = self.__dict__
        database = self._database or default_database()
        statements = database._model_statements(type(self))
        for field in meta.unique_fields:
            value = values.get(field.column)
            if field.name in errors or value is None or value == '':
                continue
            params = (field.to_db(value) if field.converts_to_db else value, values.get('id'), 1)
            if database.execute(statements.unique_checks[field.column], params).fetchone():
                errors[field.name] = field.message('unique')
        for field in meta.foreign_keys:
            value = values.get(field.column)
            if field.name in errors or value is None:
                continue
            sql = statements.related_checks.get(field.column)
            if sql is None:  # built on first use: the related model may be defined later
                sql = statements.related_checks[field.column] = statements.dialect.select(
                    field.related_table, '1', statements.dialect.condition('id', 'eq', 0)[0])
            if database.execute(sql, (value,)).fetchone() is None:
                errors[field.name] = field.message('type')

    def _take_related_ids(self):
        """Copy the ids of related instances assigned before they were saved."""
        values = self.__dict__
        for field in self._meta.foreign_keys:
            if values.get(field.column) is None:
                related = values.get(field._cache_key)
                if related is not None:
                    values[field.column] = related.__dict__.get('id')

    def _form_fields(self, names):
        meta = self._meta
        if names is None:
            return [field for field in meta.fields.values() if field.editable]
        chosen = []
        for name in names:
            field = meta.lookup.get(name)
            if field is None or not field.editable:
                raise FieldError('%s has no editable field %r; its fields are: %s'
                                 % (type(self).__name__, name, ', '.join(meta.fields)))
            chosen.append(field)
        return chosen

    def _set_trashed(self, stamp, action):
        meta = self._meta
        if not meta.soft_delete:
            raise TypeError('%s does not use soft delete: set soft_delete = True'
                            % type(self).__name__)
        database = self._database or default_database()
        with database.transaction():
            if meta.has_trash_hooks:
                getattr(self, 'before_' + action)()
            statements = database._model_statements(type(self))
            now = _now_text()
            database.execute(statements.set_trashed, (stamp, now, self.__dict__.get('id')))
            self.__dict__['trashed_at'] = stamp
            self.__dict__['updated_at'] = now
            if meta.has_trash_hooks:
                getattr(self, 'after_' + action)()

    def _move(self, new_index):
        """Renumber the visible rows 1..n with this one at new_index(index, count)."""
        if not self._meta.ordered:
            raise TypeError('%s is not ordered: set ordered = True' % type(self).__name__)
        database = self._database or default_database()
        statements = database._model_statements(type(self))
        my_id = self.__dict__.get('id')
        with database.transaction():
            rows = database.execute(statements.positions).fetchall()
            ids = [row[0] for row in rows]
            if my_id not in ids:
                raise LookupError('%s #%s is not saved, or is trashed: it has no position'
                                  % (type(self).__name__, my_id))
            index = ids.index(my_id) + 1
            target = min(max(new_index(index, len(ids)), 1), len(ids))
            ids.remove(my_id)
            ids.insert(target - 1, my_id)
            old = dict(rows)
            changes = [(number, row_id) for number, row_id in enumerate(ids, 1)
                       if old[row_id] != number]
            database.executemany(statements.set_position, changes)
        self.__dict__['position'] = target


class _ModelInfo:
    """What the ORM precomputes about one model class: fields, columns, names and flags."""

    def __init__(self, model):
        self.model = model
        self.table = model.__dict__.get('table_name') or _snake_case(model.__name__)
        _check_identifier(self.table, 'table name of %s' % model.__name__)
        model.table_name = self.table
        self.soft_delete = bool(model.soft_delete)
        self.ordered = bool(model.ordered)
        self.fields = _collect_fields(model, self)
        model._meta, model._fields = self, self.fields
        self._index_fields()
        self.default_order = tuple(model.default_order) or (
            ('position', 'id') if self.ordered else ())
        self.default_ordering = tuple(_resolve_order(model, name) for name in self.default_order)
        model.abstract = False
        self.has_save_hooks = _overrides_any(model, SAVE_HOOKS)
        self.has_delete_hooks = _overrides_any(model, DELETE_HOOKS)
        self.has_trash_hooks = _overrides_any(model, TRASH_HOOKS)
        # create() may do save()'s work itself when that is one plain INSERT and nothing it
        # would call is overridden (unique, related-row and position queries take save()).
        self.is_quick_create = not (self.passwords or self.needs_queries or self.ordered) and \
            not _overrides_any(model, SAVE_HOOKS + ('__init__', 'save', 'validate', '_save',
                                                    '_insert', '_validate_with_queries'))
        _register_model(model)

    def _index_fields(self):
        fields = list(self.fields.values())
        self.columns = tuple(field.column for field in fields)
        self.lookup = dict((field.name, field) for field in fields)
        self.lookup.update((field.column, field) for field in fields)
        self.descriptor_names = frozenset(f.name for f in fields if f.is_data_descriptor)
        self.plain_names = frozenset(f.column for f in fields if f.column != f.name or getattr(
            type(f), '__set__', Field._set_as_given) is Field._set_as_given)
        self.blank_row = dict((f.column, None if callable(f.default) else f.default)
                              for f in fields)
        self.callable_defaults = [(f.column, f.default) for f in fields if callable(f.default)]
        self.validated_fields = [field for field in fields if field.editable]
        self.validators = [(f.column, f.name, f.validate) for f in self.validated_fields]
        self.unique_fields = [field for field in self.validated_fields if field.unique]
        self.foreign_keys = [field for field in fields if isinstance(field, ForeignKey)]
        self.passwords = [field for field in fields if isinstance(field, Password)]
        self.needs_queries = bool(self.unique_fields or self.foreign_keys)
        self.quick_names = self.plain_names.difference(AUTOMATIC_COLUMNS)
        # create() given this many quick names has every column but id and the timestamps.
        simple = not (self.callable_defaults or self.soft_delete)
        self.full_row_size = len(self.columns) - 3 if simple else -1
        # (column, class, low, high, is_sized, validate); class None: always call validate.
        self.quick_rules = [(f.column,) + (f._quick_rule() or (None, 0, 0, False)) +
                            (f.validate,) for f in self.validated_fields]
        strings = [field for field in fields if field.type_name == 'string']
        self.display_field = strings[0] if strings else None


class _ModelStatements:
    """The SQL of one model for one dialect, built once: the hot paths only bind values."""

    def __init__(self, meta, dialect):
        quote, table = dialect.quote, meta.table
        self.dialect, self.meta = dialect, meta
        self.columns = meta.columns
        self.build_row = _row_builder(meta.columns)
        self.column_list = dialect.column_list(meta.columns)
        by_id = quote('id') + ' = ' + dialect.placeholder
        live = dialect.condition('trashed_at', 'isnull', True)[0] if meta.soft_delete else ''
        self.get_with_trashed = dialect.select(table, self.column_list, by_id)
        self.get = dialect.select(table, self.column_list, by_id + ' AND ' + live if live
                                  else by_id)
        self.delete = dialect.delete(table, by_id)
        self._insert_plans = {}
        # created_at is written once, by the insert; position and trashed_at only by their
        # own methods, so that saving a stale instance does not undo a move or a trash.
        managed = ('id', 'created_at', 'position', 'trashed_at')
        update_columns = [column for column in meta.columns if column not in managed]
        self.update_plan = (dialect.update(table, update_columns, by_id),) + \
            _value_getter(meta, update_columns)
        self.unique_checks = dict(
            (field.column, dialect.select(table, '1', '%s AND %s' % (
                dialect.condition(field.column, 'eq', 0)[0],
                dialect.condition('id', 'ne', 0)[0]), limit=True))
            for field in meta.unique_fields)
        self.set_trashed = dialect.update(table, ['trashed_at', 'updated_at'], by_id)
        self.position_of = dialect.select(table, quote('position'), by_id)
        self.positions = dialect.select(table, dialect.column_list(['id', 'position']), live,
                                        '%s, %s' % (dialect.order_term('position', False),
                                                    dialect.order_term('id', False)))
        self.set_position = dialect.update(table, ['position'], by_id)
        self.plain_insert = self.insert_plan(False, False)
        self.related_checks = {}

    def insert_plan(self, with_id, auto_position):
        """(sql, getter, converters) inserting a row with or without its id and position."""
        plan = self._insert_plans.get((with_id, auto_position))
        if plan is None:
            meta, dialect = self.meta, self.dialect
            columns = [column for column in meta.columns
                       if (with_id or column != 'id') and not (auto_position and
                                                               column == 'position')]
            computed = [('position', dialect.next_position(meta.table, 'position'))] \
                if auto_position else []
            plan = (dialect.insert(meta.table, columns, computed),) + _value_getter(meta, columns)
            self._insert_plans[(with_id, auto_position)] = plan
        return plan


class _ReverseRelation:
    """The attribute a ForeignKey's target gets: `category.products` -> Query of products."""

    def __init__(self, foreign_key):
        self.foreign_key = foreign_key

    def __get__(self, instance, owner):
        if instance is None:
            return self
        field = self.foreign_key
        return Query(field.model).where(**{field.column: instance.__dict__.get('id')})


# --- queries --------------------------------------------------------------------------------

class Query:
    """A lazy, chainable SELECT over one model; it runs when iterated or asked for a result.

    Each method returns a new Query, so a query can be shared and refined. Iterating runs the
    query again each time. Filters and orderings name fields, checked against the model
    (FieldError otherwise); values are always bound parameters.
    """

    def __init__(self, model):
        self.model = model
        self._conditions = ()
        self._ordering = None
        self._limit = None
        self._offset = None
        self._trashed = 'hide'

    def __repr__(self):
        return '<Query %s: %s>' % (self.model.__name__, self.sql()[0])

    def __iter__(self):
        return iter(self._fetch())

    def __bool__(self):
        # `if query:` asks whether there are rows (one cheap query), not whether it is a Query.
        return self.exists()

    # --- refining -----------------------------------------------------------------------

    def where(self, *conditions, **filters):
        """Keep rows matching every condition: Q objects and `field=value` or
        `field__operator=value` filters (eq ne gt gte lt lte in like contains startswith
        endswith isnull). `contains` and friends use LIKE: ASCII case is ignored."""
        resolved = [_resolve_q(self.model, condition) for condition in conditions]
        resolved += [_resolve_filter(self.model, key, value) for key, value in filters.items()]
        return self._copy(_conditions=self._conditions + tuple(resolved))

    def where_any(self, **filters):
        """Keep rows matching at least one of the filters (an OR of them)."""
        if not filters:
            return self._copy()
        group = ('group', 'OR', False, [_resolve_filter(self.model, key, value)
                                        for key, value in filters.items()])
        return self._copy(_conditions=self._conditions + (group,))

    def exclude(self, **filters):
        """Drop rows matching all of the filters."""
        group = ('group', 'AND', True, [_resolve_filter(self.model, key, value)
                                        for key, value in filters.items()])
        return self._copy(_conditions=self._conditions + (group,))

    def order_by(self, *names):
        """Sort by fields, '-name' for descending; replaces any earlier order."""
        return self._copy(_ordering=tuple(_resolve_order(self.model, name) for name in names))

    def limit(self, count):
        """Return at most `count` rows (None: no limit)."""
        return self._copy(_limit=_non_negative(count, 'limit'))

    def offset(self, count):
        """Skip the first `count` rows."""
        return self._copy(_offset=_non_negative(count, 'offset'))

    def with_trashed(self):
        """Include trashed rows (soft_delete models)."""
        return self._copy(_trashed='include')

    def only_trashed(self):
        """Only trashed rows (soft_delete models)."""
        return self._copy(_trashed='only')

    # --- results ------------------------------------------------------------------------

    def first(self):
        """The first row, or None."""
        rows = self._copy(_limit=1)._fetch()
        return rows[0] if rows else None

    def get(self, id):
        """The row with this id among the query's rows, or None."""
        return self.where(id=id).first()

    def count(self):
        """The number of rows."""
        database = self._database()
        sql, params = self._select_sql(database, '1', ordered=False)
        return database.execute(database.dialect.count(sql), params).fetchone()[0]

    def exists(self):
        """True when at least one row matches."""
        database = self._database()
        sql, params = self._copy(_limit=1)._select_sql(database, '1', ordered=False)
        return database.execute(sql, params).fetchone() is not None

    def paginate(self, page=1, per_page=20):
        """One page of rows as a Page (page numbers start at 1; a page past the end is
        empty)."""
        page = max(1, int(page))
        per_page = max(1, int(per_page))
        whole = self._copy(_limit=None, _offset=None)
        items = whole._copy(_limit=per_page, _offset=(page - 1) * per_page)._fetch()
        return Page(items, page, per_page, whole.count())

    def delete(self):
        """Delete the matching rows for good (no hooks run); return how many.

        RestrictedDeleteError when a ForeignKey with on_delete='RESTRICT' refuses."""
        database = self._database()
        where, params = self._target_rows(database)
        try:
            cursor = database.execute(database.dialect.delete(self.model._meta.table, where),
                                      params)
        except sqlite3.IntegrityError as exc:
            raise _restricted_error(self.model, exc)
        return cursor.rowcount

    def update(self, **values):
        """Set fields on the matching rows (no validation, no hooks; updated_at is set and
        Password values are hashed); return how many rows changed."""
        if not values:
            return 0
        database = self._database()
        columns, params = _update_assignments(self.model, values)
        where, where_params = self._target_rows(database)
        sql = database.dialect.update(self.model._meta.table, columns, where or '1')
        try:
            return database.execute(sql, params + where_params).rowcount
        except sqlite3.IntegrityError as exc:
            raise _integrity_error(self.model, exc)

    def sql(self):
        """(SQL text, parameters) the query would run: for debugging."""
        database = self._database()
        statements = database._model_statements(self.model)
        return self._select_sql(database, statements.column_list)

    # --- internals ----------------------------------------------------------------------

    def _copy(self, **changes):
        query = object.__new__(type(self))
        query.__dict__.update(self.__dict__)
        query.__dict__.update(changes)
        return query

    def _database(self):
        return self.model._database or default_database()

    def _fetch(self):
        database = self._database()
        statements = database._model_statements(self.model)
        sql, params = self._select_sql(database, statements.column_list)
        rows = database.connection().execute(sql, params).fetchall()
        model, build_row, new = self.model, statements.build_row, object.__new__
        instances = []
        for row in rows:
            instance = new(model)
            instance.__dict__ = build_row(row)
            instances.append(instance)
        return instances

    def _select_sql(self, database, columns, ordered=True):
        dialect = database.dialect
        where, params = self._where_sql(dialect)
        order = ''
        if ordered:
            ordering = self._ordering
            if ordering is None:
                ordering = self.model._meta.default_ordering
            order = ', '.join(dialect.order_term(column, desc) for column, desc in ordering)
        sql = dialect.select(self.model._meta.table, columns, where, order,
                             self._limit is not None, bool(self._offset))
        if self._limit is not None:
            params.append(self._limit)
        if self._offset:
            params.append(self._offset)
        return sql, params

    def _where_sql(self, dialect):
        parts, params = [], []
        for condition in self._conditions:
            sql, values = _compile_condition(condition, dialect)
            parts.append(sql)
            params.extend(values)
        if self.model._meta.soft_delete and self._trashed != 'include':
            parts.append(dialect.condition('trashed_at', 'isnull', self._trashed == 'hide')[0])
        return ' AND '.join(parts), params

    def _target_rows(self, database):
        """WHERE text and parameters picking the rows update() and delete() change."""
        if self._limit is None and not self._offset:
            return self._where_sql(database.dialect)
        select, params = self._select_sql(database, database.dialect.quote('id'))
        return database.dialect.in_subquery('id', select), params


class Q:
    """A condition to combine with | (or), & (and) and ~ (not), for Query.where():
    `Product.where(Q(price__lt=5) | Q(name__contains='sale'))`. Several filters in one Q must
    all match."""

    def __init__(self, **filters):
        self.connector = 'AND'
        self.negated = False
        self.children = list(filters.items())

    def __or__(self, other):
        return self._combine(other, 'OR')

    def __and__(self, other):
        return self._combine(other, 'AND')

    def __invert__(self):
        inverted = copy.copy(self)
        inverted.negated = not self.negated
        return inverted

    def __repr__(self):
        return '<Q %s%s %r>' % ('NOT ' if self.negated else '', self.connector, self.children)

    def _combine(self, other, connector):
        if not isinstance(other, Q):
            return NotImplemented
        combined = Q()
        combined.connector = connector
        combined.children = [self, other]
        return combined


class Page:
    """One page of a query's rows: `items`, `page`, `per_page`, `total`, `pages` (at least 1),
    `has_prev`, `has_next`, `prev_num`, `next_num` (None at the ends). Iterable over items."""

    def __init__(self, items, page, per_page, total):
        self.items = items
        self.page = page
        self.per_page = per_page
        self.total = total
        self.pages = max(1, -(-total // per_page))
        self.has_prev = page > 1
        self.has_next = page < self.pages
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return '<Page %d of %d: %d of %d rows>' % (self.page, self.pages, len(self.items),
                                                   self.total)

    def iter_pages(self, edge=1, around=2):
        """Page numbers for pagination links: the first and last `edge` pages and `around`
        pages each side of the current one, with None where numbers are skipped."""
        last = 0
        for number in range(1, self.pages + 1):
            if number <= edge or number > self.pages - edge or \
                    abs(number - self.page) <= around:
                if last and number - last > 1:
                    yield None
                yield number
                last = number


# --- private helpers ------------------------------------------------------------------------

_MISSING = object()
_MODELS = {}
_PENDING_RELATIONS = []
_registry_lock = threading.RLock()
_default_database = None
_explicit_default_database = None
_default_database_lock = threading.Lock()
_clock = [(0, 0, '')]


class _PlainPassword(str):
    """A password assigned as plain text and not yet hashed (the next save hashes it)."""

    __slots__ = ()


class _ThreadState:
    """One thread's connection to a Database, its reusable cursor and its transaction depth.

    The cursor serves the ORM's statements that always run to completion (INSERT, UPDATE, and
    get()'s read, drained by fetchall()), so no statement stays open on it; creating a cursor
    per statement would cost about a tenth of a one-row INSERT.
    """

    __slots__ = ('connection', 'cursor', 'depth', '__weakref__')

    def __init__(self, connection):
        self.connection = connection
        self.cursor = connection.cursor()
        self.depth = 0

    def __del__(self):
        # Freed with its thread's thread-local data (or its Database): close the connection
        # now rather than leave it to the garbage collector, which warns about it.
        self.connection.close()


class _Transaction:
    """The context manager of Database.transaction(): BEGIN/COMMIT, or a savepoint."""

    __slots__ = ('database', 'state', 'savepoint')

    def __init__(self, database):
        self.database = database

    def __enter__(self):
        state = self.state = self.database._state()
        dialect = self.database.dialect
        if state.depth == 0:
            self.savepoint = None
            state.connection.execute(dialect.begin())
        else:
            self.savepoint = 'kokoropy_savepoint_%d' % state.depth
            state.connection.execute(dialect.savepoint(self.savepoint))
        state.depth += 1
        return self.database

    def __exit__(self, exc_type, exc, traceback):
        state, dialect = self.state, self.database.dialect
        connection = state.connection
        state.depth -= 1
        if self.savepoint is not None:
            if exc_type is not None:
                connection.execute(dialect.rollback_to(self.savepoint))
            connection.execute(dialect.release(self.savepoint))
        elif exc_type is not None:
            if connection.in_transaction:  # sqlite may have rolled back already
                connection.execute(dialect.rollback())
        else:
            try:
                connection.execute(dialect.commit())
            except BaseException:
                if connection.in_transaction:
                    connection.execute(dialect.rollback())
                raise
        return False


def _now_text(time_ns=time.time_ns):
    """The current UTC time as stored: 'YYYY-MM-DD HH:MM:SS.ffffff'.

    Built by hand with the part up to the seconds cached for the current second: formatting a
    datetime costs a third of a whole INSERT, and every save stamps updated_at. The
    microseconds are digits of the nanosecond clock, zero-padded already.
    """
    nanoseconds = time_ns()
    start, end, prefix = _clock[0]
    if not start <= nanoseconds < end:
        prefix = _clock_second(nanoseconds)
    return prefix + str(nanoseconds)[-9:-3]


def _clock_second(nanoseconds):
    """Cache and return the 'YYYY-MM-DD HH:MM:SS.' text of the second holding `nanoseconds`."""
    start = nanoseconds - nanoseconds % 1000000000
    prefix = time.strftime('%Y-%m-%d %H:%M:%S.', time.gmtime(start // 1000000000))
    _clock[0] = (start, start + 1000000000, prefix)  # one tuple: no thread sees half of it
    return prefix


def _as_date(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def _sqlite_path(url):
    """The filesystem path (or ':memory:') of a database URL or plain path."""
    url = str(url)
    if url in (':memory:', 'sqlite://', 'sqlite:///:memory:', ''):
        return ':memory:'
    if url.startswith('sqlite:///'):
        return url[len('sqlite:///'):].split('?', 1)[0]
    if '://' in url:
        raise ValueError('unsupported database URL %r: use sqlite:///path/to/file.db' % url)
    return url


def _configured_database_key():
    """The absolute path (or ':memory:') the default app's configuration names."""
    config = default_app().config
    path = _sqlite_path(config.get('database_url') or DEFAULT_DATABASE_URL)
    if path == ':memory:' or os.path.isabs(path):
        return path
    return os.path.join(config.get('project_path') or os.getcwd(), path)


_IDENTIFIER = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def _check_identifier(name, what):
    """Refuse table and column names that are not plain identifiers (they are quoted anyway;
    this catches mistakes and hostile names early, with a clear message)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError('invalid %s %r: use letters, digits and _' % (what, name))


def _snake_case(name):
    """'ProductCategory' -> 'product_category', 'HTTPLog' -> 'http_log'."""
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', name).lower()


def _label_from_name(name):
    """'unit_price' -> 'Unit price'; 'id' -> 'ID'."""
    if name == 'id':
        return 'ID'
    return name.replace('_', ' ').strip().capitalize()


def _normalise_choices(choices):
    """Choices as a list of (value, label) pairs."""
    pairs = []
    for choice in choices or ():
        if isinstance(choice, (tuple, list)) and len(choice) == 2:
            pairs.append((choice[0], choice[1]))
        else:
            pairs.append((choice, str(choice)))
    return pairs


def _auto_field(field_class, name, model=None):
    field = field_class()
    field.editable = False
    if name == 'id':
        field.primary_key = True
    field.bind(model, name)
    return field


def _collect_fields(model, meta):
    """The bound fields of a model class: id, declared ones (bases first), then the automatic
    columns. Fields inherited from a concrete model are copied."""
    declared = {}
    for klass in reversed(model.__mro__):
        for name, value in klass.__dict__.items():
            if isinstance(value, Field) and (value.editable or value.model is None):
                declared[name] = value  # (automatic columns of a parent model are skipped)
    fields = {'id': _auto_field(Integer, 'id')}
    for name, field in declared.items():
        if name in AUTOMATIC_COLUMNS:
            raise FieldError('%s.%s: %s is added automatically; do not declare it'
                             % (model.__name__, name, name))
        if name.startswith('_') or hasattr(Model, name):
            raise FieldError('%s.%s: the name is used by Model itself; choose another'
                             % (model.__name__, name))
        fields[name] = field.clone() if field.model is not None else field
    for name, field_class in (('created_at', DateTime), ('updated_at', DateTime),
                              ('position', Integer), ('trashed_at', DateTime)):
        if name == 'position' and not meta.ordered or name == 'trashed_at' and not \
                meta.soft_delete:
            continue
        fields[name] = _auto_field(field_class, name)
    columns = set()
    for name, field in fields.items():
        field.bind(model, name)
        if field.column in columns:
            raise FieldError('%s: two fields use the column %r' % (model.__name__, field.column))
        columns.add(field.column)
        setattr(model, name, field)
    return fields


def _overrides_any(model, hook_names):
    return any(getattr(model, name) is not getattr(Model, name) for name in hook_names)


def _register_model(model):
    with _registry_lock:
        _MODELS.setdefault(model.__name__, []).append(weakref.ref(model))
        _PENDING_RELATIONS.extend(model._meta.foreign_keys)
        _attach_pending_relations()


def _find_model(name, near=None):
    """The model class called `name` (the one in `near`'s module first) or whose table is
    `name`; None when there is none."""
    candidates = [ref() for ref in _MODELS.get(name, ())]
    candidates = [model for model in candidates if model is not None]
    if not candidates:
        for refs in list(_MODELS.values()):
            candidates += [ref() for ref in refs if ref() is not None and
                           ref()._meta.table == name]
    if near is not None:
        local = [model for model in candidates if model.__module__ == near.__module__]
        candidates = local or candidates
    return candidates[-1] if candidates else None


def _attach_pending_relations():
    """Give each ForeignKey's target its reverse attribute once the target exists."""
    still_pending = []
    for field in _PENDING_RELATIONS:
        if field.model is None:
            continue
        target = field.to if isinstance(field.to, type) else _find_model(field.to, field.model)
        if target is None or target._meta is None:
            still_pending.append(field)
        elif isinstance(field.to, type) or target.__name__ == field.to or \
                target.__module__ == field.model.__module__:
            _attach_reverse(target, field)
        # else: a table name matched a model of another module; too loose to add attributes
    _PENDING_RELATIONS[:] = still_pending


def _attach_reverse(target, field):
    name = field.reverse_name()
    existing = target.__dict__.get(name)
    if existing is not None and not isinstance(existing, _ReverseRelation) or \
            existing is None and hasattr(target, name):
        raise FieldError('%s.%s already exists: give ForeignKey %s a related_name'
                         % (target.__name__, name, field._owner_name()))
    if isinstance(existing, _ReverseRelation):
        other = existing.foreign_key
        # Two relations declared in one module clash for real; across modules the later one
        # wins, so that reloaded modules and test modules reusing model names still import.
        if other.model.__module__ == field.model.__module__ and \
                (other.model.__name__, other.name) != (field.model.__name__, field.name):
            raise FieldError('%s.%s is already the reverse of %s: give ForeignKey %s a '
                             'related_name' % (target.__name__, name, other._owner_name(),
                                               field._owner_name()))
    setattr(target, name, _ReverseRelation(field))


def _dependency_order(models):
    """Models with the ones they refer to first (self references ignored)."""
    ordered, visiting = [], set()

    def visit(model):
        if model in ordered or model in visiting:
            return
        visiting.add(model)
        for field in model._meta.foreign_keys:
            target = _find_model(field.to, model) if not isinstance(field.to, type) else field.to
            if target in models and target is not model:
                visit(target)
        ordered.append(model)

    for model in models:
        visit(model)
    return ordered


def _row_builder(columns):
    """A function turning a row of `columns` into an instance dict: `lambda row: {'id': row[0],
    'name': row[1], ...}`, compiled once per model. A dict display with constant keys builds
    the dict in about half the time of dict(zip(columns, row)), on every get() and every row
    a query returns. (Column names go in as repr() literals: no text of theirs becomes code.)"""
    items = ', '.join('%r: row[%d]' % (column, index) for index, column in enumerate(columns))
    return eval('lambda row: {%s}' % items)


def _value_getter(meta, columns):
    """(getter, converters): getter(instance dict) gives the values of `columns` in one C
    call, converters the (index, to_db) pairs of the few fields that need converting."""
    getter = operator.itemgetter(*columns)
    if len(columns) == 1:
        single = getter

        def getter(values):  # itemgetter of one name returns a scalar, not a tuple
            return (single(values),)
    # The timestamps are already stored text: _insert() and _update() write them.
    converters = [(index, meta.lookup[column].to_db) for index, column in enumerate(columns)
                  if meta.lookup[column].converts_to_db
                  and column not in ('created_at', 'updated_at')]
    return getter, converters


def _converted(values, converters):
    """A list of `values` with the (index, to_db) converters applied to those not None."""
    values = list(values)
    for index, convert in converters:
        if values[index] is not None:
            values[index] = convert(values[index])
    return values


def _resolve_filter(model, key, value):
    """('filter', column, operator, value) for `name` or `name__operator`, checked against
    the model's fields; the value converted for the database."""
    meta = model._meta
    name, separator, operator_name = key.partition('__')
    field = meta.lookup.get(name)
    if field is None:
        raise FieldError('%s has no field %r; valid fields: %s'
                         % (model.__name__, name, ', '.join(meta.fields)))
    operator_name = operator_name if separator else 'eq'
    if operator_name not in FILTER_OPERATORS:
        raise FieldError('unknown filter operator %r in %r (%s); use one of: %s'
                         % (operator_name, key, model.__name__, ', '.join(FILTER_OPERATORS)))
    return ('filter', field.column, operator_name, _filter_value(field, operator_name, value))


def _filter_value(field, operator_name, value):
    if operator_name == 'isnull':
        return bool(value)
    if operator_name in ('like', 'contains', 'startswith', 'endswith'):
        return str(value)
    if operator_name == 'in':
        return tuple(None if item is None else field.to_db(item) for item in value)
    return None if value is None else field.to_db(value)


def _resolve_q(model, q):
    if not isinstance(q, Q):
        raise TypeError('where() takes Q objects and field=value filters, not %r' % (q,))
    children = [_resolve_q(model, child) if isinstance(child, Q)
                else _resolve_filter(model, child[0], child[1]) for child in q.children]
    return ('group', q.connector, q.negated, children)


def _compile_condition(condition, dialect):
    """SQL text and parameters of a resolved filter or group."""
    if condition[0] == 'filter':
        return dialect.condition(condition[1], condition[2], condition[3])
    _, connector, negated, children = condition
    parts, params = [], []
    for child in children:
        sql, values = _compile_condition(child, dialect)
        parts.append(sql)
        params.extend(values)
    sql = '(%s)' % (' %s ' % connector).join(parts) if parts else '1'
    return ('NOT ' + sql if negated else sql), params


def _resolve_order(model, name):
    """(column, descending) for 'name' or '-name', checked against the model's fields."""
    if not isinstance(name, str):
        raise FieldError('order_by() takes field names, not %r' % (name,))
    descending = name.startswith('-')
    field = model._meta.lookup.get(name.lstrip('-'))
    if field is None:
        raise FieldError('%s has no field %r to order by; valid fields: %s'
                         % (model.__name__, name.lstrip('-'), ', '.join(model._meta.fields)))
    return field.column, descending


def _update_assignments(model, values):
    """Columns and bound values of Query.update(), updated_at included."""
    columns, params = [], []
    for name, value in values.items():
        field = model._meta.lookup.get(name)
        if field is None or field.primary_key:
            raise FieldError('%s has no field %r to update; valid fields: %s'
                             % (model.__name__, name, ', '.join(model._meta.fields)))
        if isinstance(field, Password) and value is not None:
            value = field.hash(value)
        columns.append(field.column)
        params.append(None if value is None else field.to_db(value))
    if 'updated_at' not in columns:
        columns.append('updated_at')
        params.append(_now_text())
    return columns, params


def _non_negative(count, what):
    if count is None:
        return None
    count = int(count)
    if count < 0:
        raise ValueError('%s must not be negative' % what)
    return count


def _submitted_value(data, field):
    """The value submitted for a field (by name, or by column for a ForeignKey)."""
    for key in (field.name, field.column):
        if key in data:
            value = data.get(key)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            return value
    return _MISSING


def _integrity_error(model, exc, instance=None):
    """A ValidationError for a unique column the database refused; else `exc` itself."""
    message = str(exc)
    if message.startswith('UNIQUE constraint failed:'):
        errors = {}
        for name in message.split(':', 1)[1].split(','):
            field = model._meta.lookup.get(name.strip().split('.')[-1])
            if field is not None:
                errors[field.name] = field.message('unique')
        if errors:
            return ValidationError(errors, instance)
    return exc


def _restricted_error(model, exc, instance=None):
    """A RestrictedDeleteError naming the models whose rows still refer to the deleted ones."""
    if 'FOREIGN KEY' not in str(exc):
        return exc
    referrers = sorted(set('%s.%s' % (field.model.__name__, field.name)
                           for refs in list(_MODELS.values()) for ref in refs
                           if ref() is not None and ref()._meta is not None
                           for field in ref()._meta.foreign_keys
                           if field.on_delete == 'RESTRICT'
                           and field.related_table == model._meta.table))
    what = '%s #%s' % (model.__name__, instance.id) if instance is not None else \
        'these %s rows' % model.__name__
    error = RestrictedDeleteError(
        'cannot delete %s: rows of %s still refer to it (on_delete=RESTRICT); delete or '
        'reassign them first' % (what, ', '.join(referrers) or 'another table'))
    error.__cause__ = exc
    return error


def _schema_field(name, field):
    _check_identifier(name, 'column name')
    if not isinstance(field, Field):
        raise TypeError('%s must be declared with a Field such as String(), not %r'
                        % (name, field))
    bound = field.clone()
    bound.bind(None, name)
    return bound


def _schema_fields(fields):
    """Bound fields of create_table(): id, the given ones, created_at, updated_at."""
    if isinstance(fields, type) and issubclass(fields, Model):
        return list(fields._meta.fields.values())
    items = list(fields.items()) if hasattr(fields, 'items') else list(fields or ())
    given = [_schema_field(name, field) for name, field in items if name != 'id']
    names = set(field.name for field in given)
    automatic = [_auto_field(DateTime, name) for name in ('created_at', 'updated_at')
                 if name not in names]
    return [_auto_field(Integer, 'id')] + given + automatic


def _is_referenced(database, table):
    """True when a foreign key of any table (itself included) refers to `table`."""
    for other in database.tables():
        for row in database.execute(database.dialect.foreign_key_list(other)):
            if row[2].lower() == table.lower():
                return True
    return False


def _rebuild_table(database, table, drop, rename):
    """sqlite's 12-step table change (https://sqlite.org/lang_altertable.html, section 7):
    create the new table, copy the rows, drop the old one, rename, recreate the indexes."""
    dialect = database.dialect
    info = database.execute(dialect.table_info(table)).fetchall()
    if not info:
        raise ValueError('no table %r' % table)
    kept = [row for row in info if row[1] != drop]
    new_names = [rename.get(row[1], row[1]) for row in kept]
    indexes = _index_definitions(database, table)
    temporary = '_kokoropy_rebuild_' + table
    database.execute(_rebuilt_table_sql(database, table, temporary, kept, drop, rename))
    database.execute(dialect.copy_rows(table, [row[1] for row in kept], temporary, new_names))
    database.execute(dialect.drop_table(table))
    database.execute(dialect.rename_table(temporary, table))
    for name, unique, columns in indexes:
        if drop in columns:
            continue
        columns = [rename.get(column, column) for column in columns]
        database.execute(dialect.create_index(name, table, columns, unique))


def _index_definitions(database, table):
    """(name, unique, columns) of the named (not automatic) indexes of a table."""
    dialect = database.dialect
    found = []
    for row in database.execute(dialect.index_list(table)).fetchall():
        name, unique = row[1], bool(row[2])
        if name.startswith('sqlite_autoindex'):
            continue
        columns = [info[2] for info in database.execute(dialect.index_info(name))]
        found.append((name, unique, columns))
    return found


def _rebuilt_table_sql(database, table, new_table, kept, drop, rename):
    """CREATE TABLE text for the rebuilt table, from the old one's columns and foreign keys."""
    dialect = database.dialect
    original = database.execute(dialect.table_sql(), (table,)).fetchone()[0] or ''
    autoincrement = ' AUTOINCREMENT' if 'AUTOINCREMENT' in original.upper() else ''
    primary = [row for row in kept if row[5]]
    references, constraints = _rebuilt_constraints(database, table, drop, rename)
    parts = []
    for cid, name, type_name, not_null, default, pk in kept:
        sql = '%s %s' % (dialect.quote(rename.get(name, name)), type_name or '')
        if pk and len(primary) == 1:
            sql += ' PRIMARY KEY' + (autoincrement if type_name.upper() == 'INTEGER' else '')
        if not_null:
            sql += ' NOT NULL'
        if default is not None:
            sql += ' DEFAULT ' + default
        parts.append(sql.strip() + references.get(name, ''))
    if len(primary) > 1:
        parts.append('PRIMARY KEY (%s)' % dialect.column_list(
            rename.get(row[1], row[1]) for row in sorted(primary, key=lambda row: row[5])))
    parts += constraints
    return 'CREATE TABLE %s (%s)' % (dialect.quote(new_table), ', '.join(parts))


def _rebuilt_constraints(database, table, drop, rename):
    """The old table's foreign keys and UNIQUE constraints that do not use the dropped column:
    ({column: ' REFERENCES ...'} for one-column keys, [table constraints] for the others)."""
    dialect = database.dialect
    references, parts, keys = {}, [], {}
    for row in database.execute(dialect.foreign_key_list(table)).fetchall():
        keys.setdefault(row[0], []).append(row)
    for rows in keys.values():
        sources = [row[3] for row in rows]
        if drop in sources:
            continue
        targets = [row[4] for row in rows]
        clause = ' REFERENCES %s%s%s ON DELETE %s' % (
            dialect.quote(rows[0][2]),
            ' (%s)' % dialect.column_list(targets) if all(targets) else '',
            '' if rows[0][5] == 'NO ACTION' else ' ON UPDATE ' + rows[0][5], rows[0][6])
        if len(sources) == 1:
            references[sources[0]] = clause
        else:
            parts.append('FOREIGN KEY (%s)%s' % (
                dialect.column_list(rename.get(s, s) for s in sources), clause))
    for row in database.execute(dialect.index_list(table)).fetchall():
        if row[1].startswith('sqlite_autoindex') and row[2]:
            columns = [info[2] for info in database.execute(dialect.index_info(row[1]))]
            if drop not in columns:
                parts.append('UNIQUE (%s)' % dialect.column_list(
                    rename.get(c, c) for c in columns))
    return references, parts


def _hash_password(plain):
    """A salted hash of a password: 'scrypt$n$r$p$salt$hash', or 'pbkdf2_sha256$iterations$
    salt$hash' where OpenSSL has no scrypt. The parameters are stored so they can be raised
    later without breaking old hashes."""
    secret = str(plain).encode('utf-8')
    salt = secrets.token_bytes(16)
    if hasattr(hashlib, 'scrypt'):
        digest = hashlib.scrypt(secret, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                                maxmem=64 * 1024 * 1024, dklen=32)
        return 'scrypt$%d$%d$%d$%s$%s' % (SCRYPT_N, SCRYPT_R, SCRYPT_P, _b64encode(salt),
                                          _b64encode(digest))
    digest = hashlib.pbkdf2_hmac('sha256', secret, salt, PBKDF2_ITERATIONS)
    return 'pbkdf2_sha256$%d$%s$%s' % (PBKDF2_ITERATIONS, _b64encode(salt), _b64encode(digest))


def _verify_password(stored, plain):
    """True when `plain` hashes to `stored` (made by _hash_password); False for other text."""
    secret = str(plain).encode('utf-8')
    parts = str(stored).split('$')
    try:
        if parts[0] == 'scrypt' and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            expected = _b64decode(parts[5])
            digest = hashlib.scrypt(secret, salt=_b64decode(parts[4]), n=n, r=r, p=p,
                                    maxmem=max(64 * 1024 * 1024, 256 * n * r),
                                    dklen=len(expected))
        elif parts[0] == 'pbkdf2_sha256' and len(parts) == 4:
            expected = _b64decode(parts[3])
            digest = hashlib.pbkdf2_hmac('sha256', secret, _b64decode(parts[2]), int(parts[1]))
        else:
            return False
    except (ValueError, TypeError, AttributeError):
        return False
    return hmac.compare_digest(digest, expected)
