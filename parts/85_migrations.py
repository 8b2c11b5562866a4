import importlib.util
import os
import re
import time

###############################################################################
# 9. Migrations
# Per-application schema migrations: applications/<app>/migrations/NNNN_name.py files with
# upgrade(db) and downgrade(db), the kokoropy_migrations history table, and Migrator to list,
# apply and undo them, each in one transaction. Uses section 8 (Database and its schema helpers).
###############################################################################

__all__ += ['Migration', 'Migrator', 'MigrationError']

MIGRATIONS_FOLDER = 'migrations'
MIGRATION_HISTORY_TABLE = 'kokoropy_migrations'
# 0001_create_product.py: a version of four or more digits, an underscore, a name.
MIGRATION_FILE = re.compile(r'^(\d{4,})_([A-Za-z0-9_]+)\.py$')


class MigrationError(Exception):
    """A migration could not be found, loaded or run. The message names the application, the
    file and the cause; a migration that failed was rolled back whole (no schema change, no
    history row). `completed` lists the (Migration, seconds) that ran before the failure."""

    def __init__(self, message, completed=()):
        Exception.__init__(self, message)
        self.completed = list(completed)


class Migration:
    """One migration file: `application`, `version` (int), `name`, `path`; its module's
    `upgrade(db)` and `downgrade(db)` functions receive the Database (see Database's schema
    helpers: create_table, drop_table, add_column, rename_column, drop_column, create_index,
    execute)."""

    def __init__(self, application, version, name, path):
        self.application = application
        self.version = version
        self.name = name
        self.path = path
        self._module = None

    def __repr__(self):
        return '<Migration %s>' % self.label

    @property
    def label(self):
        """'app/migrations/0001_name.py', as messages show it."""
        return '%s/%s/%s' % (self.application, MIGRATIONS_FOLDER, os.path.basename(self.path))

    def function(self, direction):
        """The module's `upgrade` or `downgrade` function (MigrationError when missing)."""
        module = self._load()
        function = getattr(module, direction, None)
        if not callable(function):
            raise MigrationError('%s has no %s(db) function' % (self.label, direction))
        return function

    def _load(self):
        if self._module is None:
            module_name = 'kokoropy_migration_%s_%04d' % (self.application, self.version)
            spec = importlib.util.spec_from_file_location(module_name, self.path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise MigrationError('%s cannot be loaded: %s: %s'
                                     % (self.label, type(exc).__name__, exc)) from exc
            self._module = module
        return self._module


class Migrator:
    """Finds, applies and undoes the migrations of a project's applications.

    `database` defaults to default_database(); `applications_path` to the default app's
    config (applications_path, else project_path/applications). Methods return data and print
    nothing: the command line shows it.
    """

    def __init__(self, database=None, applications_path=None):
        self.database = database or default_database()
        self.applications_path = applications_path or _applications_folder(default_app().config)

    def applications(self):
        """Names of the applications that have a migrations folder, sorted."""
        if not os.path.isdir(self.applications_path):
            return []
        return sorted(name for name in os.listdir(self.applications_path)
                      if os.path.isdir(os.path.join(self.applications_path, name,
                                                    MIGRATIONS_FOLDER)))

    def migrations(self, application=None):
        """Every migration file (of one application, or all), by application then version."""
        found = []
        for name in [application] if application else self.applications():
            found += self._application_migrations(name)
        return found

    def next_version(self, application):
        """The version number a new migration of the application should take (1 for the
        first, even before the migrations folder exists)."""
        folder = os.path.join(self.applications_path, application, MIGRATIONS_FOLDER)
        if not os.path.isdir(folder):
            return 1
        versions = [migration.version for migration in self._application_migrations(application)]
        return max(versions) + 1 if versions else 1

    def pending(self, application=None):
        """Migrations not applied yet, in the order they would run."""
        done = set((row['application'], row['version']) for row in self.log(application))
        return [migration for migration in self.migrations(application)
                if (migration.application, migration.version) not in done]

    def apply_pending(self, application=None, target=None):
        """Apply pending migrations (of one application, or all) up to version `target`
        (default: the latest); each runs in its own transaction. Returns a list of
        (Migration, seconds). Raises MigrationError at the first failure (the ones before it
        stay applied and are listed in its `completed`)."""
        if target is not None and application is None:
            raise MigrationError('a target version needs an application')
        chosen = [migration for migration in self.pending(application)
                  if target is None or migration.version <= int(target)]
        return self._run_all(chosen, 'upgrade')

    def downgrade(self, application, steps=1):
        """Undo the last `steps` applied migrations of an application, newest first; returns
        a list of (Migration, seconds)."""
        on_disk = dict((migration.version, migration)
                       for migration in self._application_migrations(application))
        rows = sorted(self.log(application), key=lambda row: row['version'], reverse=True)
        chosen = []
        for row in rows[:max(0, int(steps))]:
            migration = on_disk.get(row['version'])
            if migration is None:
                raise MigrationError('%s/%s/%04d_%s.py was applied but is missing: restore it '
                                     'to downgrade' % (application, MIGRATIONS_FOLDER,
                                                       row['version'], row['name']))
            chosen.append(migration)
        return self._run_all(chosen, 'downgrade')

    def log(self, application=None):
        """History rows as dicts (application, version, name, applied_at), oldest first."""
        database = self.database
        dialect = database.dialect
        if not database.table_exists(MIGRATION_HISTORY_TABLE):
            return []
        where, params = dialect.condition('application', 'eq', application) \
            if application is not None else ('', ())
        order = ', '.join(dialect.order_term(column, False)
                          for column in ('applied_at', 'application', 'version'))
        sql = dialect.select(MIGRATION_HISTORY_TABLE, dialect.column_list(_HISTORY_COLUMNS),
                             where, order)
        return [dict(zip(_HISTORY_COLUMNS, row)) for row in database.execute(sql, params)]

    # --- internals ----------------------------------------------------------------------

    def _application_migrations(self, application):
        folder = os.path.join(self.applications_path, application, MIGRATIONS_FOLDER)
        if not os.path.isdir(folder):
            raise MigrationError('application %r has no %s folder (looked in %s)'
                                 % (application, MIGRATIONS_FOLDER, folder))
        found = {}
        for filename in sorted(os.listdir(folder)):
            match = MIGRATION_FILE.match(filename)
            if not match:
                continue
            version = int(match.group(1))
            if version in found:
                raise MigrationError('%s/%s has two migrations numbered %d: %s and %s' % (
                    application, MIGRATIONS_FOLDER, version,
                    os.path.basename(found[version].path), filename))
            found[version] = Migration(application, version, match.group(2),
                                       os.path.join(folder, filename))
        return [found[version] for version in sorted(found)]

    def _run_all(self, migrations, direction):
        completed = []
        for migration in migrations:
            try:
                completed.append((migration, self._run(migration, direction)))
            except MigrationError as exc:
                exc.completed = list(completed)
                raise
        return completed

    def _run(self, migration, direction):
        """Run one migration in one transaction with its history change; return seconds."""
        function = migration.function(direction)
        database = self.database
        started = time.perf_counter()
        try:
            # Foreign keys off (outside the transaction, as sqlite requires) so that a table
            # rebuild does not cascade; checked whole before commit.
            with database._foreign_keys_disabled():
                with database.transaction():
                    function(database)
                    self._record(migration, direction)
                    database._check_foreign_keys()
        except MigrationError:
            raise
        except Exception as exc:
            raise MigrationError('%s failed during %s and was rolled back: %s: %s' % (
                migration.label, direction, type(exc).__name__, exc)) from exc
        return time.perf_counter() - started

    def _record(self, migration, direction):
        """Add (upgrade) or remove (downgrade) the migration's history row."""
        database, dialect = self.database, self.database.dialect
        if direction == 'downgrade':
            application = dialect.condition('application', 'eq', migration.application)
            version = dialect.condition('version', 'eq', migration.version)
            database.execute(dialect.delete(MIGRATION_HISTORY_TABLE, '%s AND %s' % (
                application[0], version[0])), application[1] + version[1])
            return
        _create_history_table(database)
        database.execute(dialect.insert(MIGRATION_HISTORY_TABLE, _HISTORY_COLUMNS),
                         (migration.application, migration.version, migration.name,
                          _now_text()))


_HISTORY_COLUMNS = ('application', 'version', 'name', 'applied_at')


def _create_history_table(database):
    """Create kokoropy_migrations(application, version, name, applied_at) if missing."""
    dialect = database.dialect
    fields = [_schema_field(name, field) for name, field in (
        ('application', String(required=True)), ('version', Integer(required=True)),
        ('name', String(required=True)), ('applied_at', DateTime(required=True)))]
    database.execute(dialect.create_table(MIGRATION_HISTORY_TABLE, fields, if_not_exists=True))
    database.execute(dialect.create_index(MIGRATION_HISTORY_TABLE + '_version_unique',
                                          MIGRATION_HISTORY_TABLE, ['application', 'version'],
                                          unique=True, if_not_exists=True))

