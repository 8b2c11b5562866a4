"""ORM benchmark: raw sqlite3 (the floor), Kokoropy's ORM and SQLAlchemy's ORM (when installed).

Each system gets its own temporary database file with the same settings (WAL, synchronous=NORMAL)
and the same table: product(id, name, price, quantity, category, created_at, updated_at).
Groups, timed per system, interleaved chunk by chunk, best of several rounds:

  insert   10,000 rows created one by one inside one transaction
  select   1,000 filtered + ordered + limited selects (20 rows each) over those rows
  get      10,000 gets by id
  update   1,000 updates: get a row, change it, save it (autocommit); raw = one UPDATE

Run: bench/.venv/bin/python bench/bench_orm.py [--rounds N]
Prints a Markdown table of microseconds per operation and ratios to raw sqlite3.
"""
import argparse
import datetime
import os
import shutil
import sqlite3
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402

try:
    import sqlalchemy
    from sqlalchemy import Column, DateTime, Float, Integer, String, event, select
    from sqlalchemy.orm import Session, declarative_base
except ImportError:
    sqlalchemy = None

INSERTS = 10000
SELECTS = 1000
GETS = 10000
UPDATES = 1000
CATEGORIES = ['tools', 'garden', 'kitchen', 'toys', 'books', 'music', 'sport', 'office']
CHUNKS = 20
GROUPS = [('insert', INSERTS), ('select', SELECTS), ('get', GETS), ('update', UPDATES)]
STAMP = '2024-01-01 00:00:00.000000'


def row_values(i):
    """The data of row i, the same for every system."""
    return 'product %d' % i, (i * 7919) % 1000 / 10.0, i % 100, CATEGORIES[i % len(CATEGORIES)]


def select_arguments(i):
    return (i * 37) % 100, CATEGORIES[i % len(CATEGORIES)]


# --- raw sqlite3 ----------------------------------------------------------------------------
# Each group is a generator that yields after every chunk of CHUNK operations, so run() can
# interleave the systems chunk by chunk: a load spike on this machine then hits all of them.

class RawSqlite:
    name = 'raw sqlite3'

    def __init__(self, path):
        self.connection = sqlite3.connect(path, isolation_level=None)
        self.connection.execute('PRAGMA journal_mode = WAL')
        self.connection.execute('PRAGMA synchronous = NORMAL')
        self.connection.execute('PRAGMA foreign_keys = ON')
        self.connection.execute(
            'CREATE TABLE product (id INTEGER PRIMARY KEY, name TEXT, price REAL, '
            'quantity INTEGER, category TEXT, created_at TEXT, updated_at TEXT)')

    def insert(self):
        execute = self.connection.execute
        execute('BEGIN')
        for chunk in chunks(INSERTS):
            for i in chunk:
                name, price, quantity, category = row_values(i)
                execute('INSERT INTO product (name, price, quantity, category, created_at, '
                        'updated_at) VALUES (?, ?, ?, ?, ?, ?)',
                        (name, price, quantity, category, STAMP, STAMP))
            yield
        execute('COMMIT')

    def select(self):
        execute = self.connection.execute
        for chunk in chunks(SELECTS):
            for i in chunk:
                quantity, category = select_arguments(i)
                execute('SELECT id, name, price, quantity, category, created_at, updated_at '
                        'FROM product WHERE quantity < ? AND category = ? '
                        'ORDER BY price DESC, name LIMIT ?', (quantity, category, 20)).fetchall()
            yield

    def get(self):
        execute = self.connection.execute
        for chunk in chunks(GETS):
            for i in chunk:
                execute('SELECT id, name, price, quantity, category, created_at, updated_at '
                        'FROM product WHERE id = ?', (i + 1,)).fetchone()
            yield

    def update(self):
        execute = self.connection.execute
        for chunk in chunks(UPDATES):
            for i in chunk:
                execute('UPDATE product SET price = ? WHERE id = ?', (i / 4.0, i + 1))
            yield

    def close(self):
        self.connection.close()


# --- Kokoropy -------------------------------------------------------------------------------

class KokoroProduct(kokoropy.Model):
    table_name = 'product'
    name = kokoropy.String(max_length=80, required=True)
    price = kokoropy.Float(min_value=0)
    quantity = kokoropy.Integer(min_value=0)
    category = kokoropy.String(max_length=20)


class Kokoropy:
    name = 'Kokoropy'

    def __init__(self, path):
        self.database = kokoropy.Database(path)
        self.database.bind(KokoroProduct)
        self.database.create_tables(KokoroProduct)

    def insert(self):
        create = KokoroProduct.create
        with self.database.transaction():
            for chunk in chunks(INSERTS):
                for i in chunk:
                    name, price, quantity, category = row_values(i)
                    create(name=name, price=price, quantity=quantity, category=category)
                yield

    def select(self):
        where = KokoroProduct.where
        for chunk in chunks(SELECTS):
            for i in chunk:
                quantity, category = select_arguments(i)
                list(where(quantity__lt=quantity, category=category)
                     .order_by('-price', 'name').limit(20))
            yield

    def get(self):
        get = KokoroProduct.get
        for chunk in chunks(GETS):
            for i in chunk:
                get(i + 1)
            yield

    def update(self):
        get = KokoroProduct.get
        for chunk in chunks(UPDATES):
            for i in chunk:
                product = get(i + 1)
                product.price = i / 4.0
                product.save()
            yield

    def close(self):
        self.database.close()


# --- SQLAlchemy ORM -------------------------------------------------------------------------

if sqlalchemy is not None:
    Base = declarative_base()

    class AlchemyProduct(Base):
        __tablename__ = 'product'
        id = Column(Integer, primary_key=True)
        name = Column(String(80), nullable=False)
        price = Column(Float)
        quantity = Column(Integer)
        category = Column(String(20))
        created_at = Column(DateTime, default=datetime.datetime.utcnow)
        updated_at = Column(DateTime, default=datetime.datetime.utcnow,
                            onupdate=datetime.datetime.utcnow)


class Alchemy:
    name = 'SQLAlchemy ORM'

    def __init__(self, path):
        self.engine = sqlalchemy.create_engine('sqlite:///' + path)
        event.listen(self.engine, 'connect', self._configure)
        Base.metadata.create_all(self.engine)

    @staticmethod
    def _configure(connection, record):
        connection.execute('PRAGMA journal_mode = WAL')
        connection.execute('PRAGMA synchronous = NORMAL')
        connection.execute('PRAGMA foreign_keys = ON')

    def insert(self):
        with Session(self.engine) as session:
            for chunk in chunks(INSERTS):
                for i in chunk:
                    name, price, quantity, category = row_values(i)
                    session.add(AlchemyProduct(name=name, price=price, quantity=quantity,
                                               category=category))
                yield
            session.commit()

    def select(self):
        with Session(self.engine) as session:
            for chunk in chunks(SELECTS):
                for i in chunk:
                    quantity, category = select_arguments(i)
                    statement = (select(AlchemyProduct)
                                 .where(AlchemyProduct.quantity < quantity,
                                        AlchemyProduct.category == category)
                                 .order_by(AlchemyProduct.price.desc(), AlchemyProduct.name)
                                 .limit(20))
                    session.scalars(statement).all()
                    session.expunge_all()
                yield

    def get(self):
        with Session(self.engine) as session:
            for chunk in chunks(GETS):
                for i in chunk:
                    session.get(AlchemyProduct, i + 1)
                yield

    def update(self):
        with Session(self.engine) as session:
            for chunk in chunks(UPDATES):
                for i in chunk:
                    product = session.get(AlchemyProduct, i + 1)
                    product.price = i / 4.0
                    session.commit()
                yield

    def close(self):
        self.engine.dispose()


# --- running --------------------------------------------------------------------------------

def chunks(count):
    """The operation numbers 0..count-1 in CHUNKS ranges."""
    size = -(-count // CHUNKS)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def timed_group(instances, group):
    """Run one group on every system, interleaved chunk by chunk; seconds per system."""
    runs = [(instance, getattr(instance, group)()) for instance in instances]
    seconds = dict((instance.name, 0.0) for instance in instances)
    while runs:
        for run in list(runs):
            instance, steps = run
            started = time.perf_counter()
            try:
                next(steps)
            except StopIteration:
                runs.remove(run)
            seconds[instance.name] += time.perf_counter() - started
    return seconds


def run(rounds):
    systems = [RawSqlite, Kokoropy] + ([Alchemy] if sqlalchemy is not None else [])
    best = dict((system.name, {}) for system in systems)
    folder = tempfile.mkdtemp(prefix='kokoropy-bench-orm-')
    try:
        for round_number in range(rounds):
            instances = [system(os.path.join(folder, '%s-%d.db' % (system.__name__,
                                                                    round_number)))
                         for system in systems]
            for group, count in GROUPS:
                for name, seconds in timed_group(instances, group).items():
                    micros = seconds / count * 1e6
                    best[name][group] = min(best[name].get(group, micros), micros)
            for instance in instances:
                instance.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return systems, best


def table(systems, best):
    names = [system.name for system in systems]
    raw = best['raw sqlite3']
    header = ['operation'] + ['%s (µs)' % name for name in names] + \
        ['%s / raw' % name for name in names[1:]]
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for group, count in GROUPS:
        cells = ['%s (%s)' % (group, '{:,}'.format(count))]
        cells += ['%.1f' % best[name][group] for name in names]
        cells += ['%.2fx' % (best[name][group] / raw[group]) for name in names[1:]]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=5)
    arguments = parser.parse_args()
    systems, best = run(arguments.rounds)
    print('Python %s, sqlite %s%s, best of %d rounds\n' % (
        sys.version.split()[0], sqlite3.sqlite_version,
        ', SQLAlchemy %s' % sqlalchemy.__version__ if sqlalchemy else ' (SQLAlchemy absent)',
        arguments.rounds))
    print(table(systems, best))


if __name__ == '__main__':
    main()
