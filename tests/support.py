"""Helpers shared by the test modules (test modules import from here, never from each other).

The oldest supported Python's grammar; and the database suites on sqlite and PostgreSQL: they
run on sqlite always and, when KOKOROPY_TEST_POSTGRESQL holds a URL such as
postgresql://postgres@127.0.0.1:5432/postgres, each of their test cases runs a second time on
PostgreSQL, in a database of this process that is emptied before every test;
KOKOROPY_TEST_POSTGRESQL_DRIVER (psycopg or pg8000) picks the driver, as the URL's +driver
does. Without the variable those copies are skipped.
"""
import ast
import atexit
import functools
import os
import re
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402

POSTGRESQL_VARIABLE = 'KOKOROPY_TEST_POSTGRESQL'
_created = []


def postgresql_server_url():
    """The configured PostgreSQL URL with the driver of KOKOROPY_TEST_POSTGRESQL_DRIVER, or
    None when no server is configured."""
    url = os.environ.get(POSTGRESQL_VARIABLE)
    if not url:
        return None
    driver = os.environ.get(POSTGRESQL_VARIABLE + '_DRIVER')
    if driver:
        url = re.sub(r'^[A-Za-z0-9+]+://', 'postgresql+%s://' % driver, url)
    return url


def fresh_postgresql_url():
    """The URL of this process's test database, emptied now (its public schema recreated)."""
    server = postgresql_server_url()
    name = 'kokoropy_test_%d' % os.getpid()
    url = re.sub(r'/[^/?]*(\?|$)', r'/%s\1' % name, server.split('://', 1)[1], count=1)
    url = server.split('://', 1)[0] + '://' + url
    if not _created:
        admin = kokoropy.Database(server)
        admin.execute('DROP DATABASE IF EXISTS %s' % name)
        admin.execute('CREATE DATABASE %s' % name)
        admin.close()
        _created.append(name)
        atexit.register(_drop_database, server, name)
    database = kokoropy.Database(url)
    database.execute('DROP SCHEMA IF EXISTS public CASCADE')
    database.execute('CREATE SCHEMA public')
    database.close()
    return url


def backend_database_url(backend, sqlite_url=None):
    """`sqlite_url` for backend 'sqlite'; for 'postgresql' an emptied database's URL."""
    return fresh_postgresql_url() if backend == 'postgresql' else sqlite_url


def _drop_database(server, name):
    admin = kokoropy.Database(server)
    try:
        admin.execute('DROP DATABASE IF EXISTS %s WITH (FORCE)' % name)
    finally:
        admin.close()


class OnBothBackends(object):
    """Mixin of a TestCase whose tests run on sqlite and (see with_postgresql()) PostgreSQL.

    `backend` is 'sqlite' or 'postgresql'; database_url(sqlite_url) gives the URL a test
    should use: the sqlite one, or a freshly emptied PostgreSQL database.
    """

    backend = 'sqlite'
    sqlite_only = False  # True in a case's class body: no PostgreSQL copy of that case

    def database_url(self, sqlite_url=':memory:'):
        """`sqlite_url` on sqlite; on PostgreSQL an empty database's URL."""
        return backend_database_url(self.backend, sqlite_url)

    @property
    def on_postgresql(self):
        """True in the PostgreSQL copy of a test case."""
        return self.backend == 'postgresql'


def sqlite_only(test):
    """Mark a test that checks sqlite itself (files, PRAGMAs): skipped on PostgreSQL."""
    @functools.wraps(test)
    def wrapper(self, *args, **kwargs):
        if getattr(self, 'backend', 'sqlite') != 'sqlite':
            self.skipTest('checks sqlite itself')
        return test(self, *args, **kwargs)
    return wrapper


def with_postgresql(namespace):
    """Add to a test module's namespace (globals()) a PostgreSQL copy of each of its
    OnBothBackends test cases, named <Case>OnPostgreSQL and skipped when
    KOKOROPY_TEST_POSTGRESQL is not set. Call it at the end of the module."""
    reason = '%s is not set: no PostgreSQL server to test on' % POSTGRESQL_VARIABLE
    for name, case in list(namespace.items()):
        if not (isinstance(case, type) and issubclass(case, OnBothBackends) and
                issubclass(case, unittest.TestCase) and case.backend == 'sqlite') or \
                case.__dict__.get('sqlite_only'):
            continue
        if not any(attribute.startswith('test') for attribute in dir(case)):
            continue
        copy = type(name + 'OnPostgreSQL', (case,), {'backend': 'postgresql',
                                                     '__module__': case.__module__})
        namespace[copy.__name__] = unittest.skipUnless(postgresql_server_url(), reason)(copy)


def oldest_python():
    """(3, X) from setup.cfg's `python_requires = >=3.X`: the oldest Python Kokoropy supports."""
    with open(os.path.join(ROOT, 'setup.cfg'), encoding='utf-8') as f:
        match = re.search(r'python_requires\s*=\s*>=\s*3\.(\d+)', f.read())
    return (3, int(match.group(1)))


def parse_as_oldest_python(source, path='<source>'):
    """Parse `source` with the grammar of the oldest supported Python; raise SyntaxError.

    From 3.8 on, ast.parse() takes `feature_version`; on an older Python the running parser
    is itself at most that old, so a plain parse is the same check.
    """
    if sys.version_info >= (3, 8):
        return ast.parse(source, path, feature_version=oldest_python())
    return ast.parse(source, path)


def scaffold_shop(folder):
    """Copy the project (kokoropy.py, rossian.py, applications/) into `folder` and run the
    scaffold commands of the shop the list-page tests and bench/bench_page.py use: a category
    and a product CRUD (name, price, stock, category), migrations applied."""
    import shutil
    import subprocess
    for name in ('kokoropy.py', 'rossian.py'):
        shutil.copy(os.path.join(ROOT, name), folder)
    shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                    ignore=shutil.ignore_patterns('__pycache__', 'uploads', '*.db'))
    environment = dict(os.environ)
    environment.pop('KOKOROPY_RELOADER_CHILD', None)
    for arguments in (['scaffold-application', 'shop'],
                      ['scaffold-crud', 'shop', 'category', 'name:string:required:unique'],
                      ['scaffold-crud', 'shop', 'product', 'name:string:required',
                       'price:float', 'stock:integer', 'category:ref:category'],
                      ['migration-upgrade']):
        subprocess.check_call([sys.executable, 'rossian.py'] + arguments, cwd=folder,
                              env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, timeout=60)
