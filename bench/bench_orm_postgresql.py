"""ORM benchmark on PostgreSQL: raw psycopg 3 (the floor), Kokoropy's ORM, SQLAlchemy's ORM
and peewee (each when installed), on one server, the same four groups as bench_orm.py:

  insert   5,000 rows created one by one inside one transaction
  select   500 filtered + ordered + limited selects (20 rows each) over those rows
  get      5,000 gets by id
  update   500 updates: get a row, change it, save it (autocommit); raw = one UPDATE

Each system has its own table in one database; the groups run interleaved chunk by chunk (a
load spike then hits every system), best of several rounds.

Run: bench/.venv/bin/python bench/bench_orm_postgresql.py postgresql://postgres@127.0.0.1:5432/postgres
Prints a Markdown table of microseconds per operation and ratios to raw psycopg.
"""
import argparse
import datetime
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import psycopg  # noqa: E402

import kokoropy  # noqa: E402

try:
    import sqlalchemy
    from sqlalchemy import Column, DateTime, Float, Integer, String, select
    from sqlalchemy.orm import Session, declarative_base
except ImportError:
    sqlalchemy = None
try:
    import peewee
except ImportError:
    peewee = None

INSERTS = 5000
SELECTS = 500
GETS = 5000
UPDATES = 500
CATEGORIES = ['tools', 'garden', 'kitchen', 'toys', 'books', 'music', 'sport', 'office']
CHUNKS = 20
GROUPS = [('insert', INSERTS), ('select', SELECTS), ('get', GETS), ('update', UPDATES)]
STAMP = '2024-01-01 00:00:00.000000'
COLUMNS = 'id, name, price, quantity, category, created_at, updated_at'


def row_values(i):
    """The data of row i, the same for every system."""
    return 'product %d' % i, (i * 7919) % 1000 / 10.0, i % 100, CATEGORIES[i % len(CATEGORIES)]


def select_arguments(i):
    return (i * 37) % 100, CATEGORIES[i % len(CATEGORIES)]


def chunks(count):
    """The operation numbers 0..count-1 in CHUNKS ranges."""
    size = -(-count // CHUNKS)
    return [range(start, min(start + size, count)) for start in range(0, count, size)]


def connect_parameters(url):
    """psycopg.connect() keywords of a postgresql:// URL (Kokoropy's own parser)."""
    return kokoropy._postgres_target(url)[1]


def create_table(url, table):
    """A fresh table of the benchmark's shape (with Kokoropy's column types)."""
    with psycopg.connect(autocommit=True, **connect_parameters(url)) as connection:
        connection.execute('DROP TABLE IF EXISTS %s' % table)
        connection.execute(
            'CREATE TABLE %s (id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, price DOUBLE '
            'PRECISION, quantity BIGINT, category TEXT, created_at TIMESTAMP, '
            'updated_at TIMESTAMP)' % table)


# --- raw psycopg ----------------------------------------------------------------------------

class RawPsycopg:
    name = 'raw psycopg'
    table = 'bench_raw'

    def __init__(self, url):
        create_table(url, self.table)
        self.connection = psycopg.connect(autocommit=True, **connect_parameters(url))
        self.cursor = self.connection.cursor()

    def insert(self):
        execute = self.cursor.execute
        execute('BEGIN')
        for chunk in chunks(INSERTS):
            for i in chunk:
                name, price, quantity, category = row_values(i)
                execute('INSERT INTO bench_raw (name, price, quantity, category, created_at, '
                        'updated_at) VALUES (%s, %s, %s, %s, %s, %s) RETURNING id',
                        (name, price, quantity, category, STAMP, STAMP))
                self.cursor.fetchone()
            yield
        execute('COMMIT')

    def select(self):
        for chunk in chunks(SELECTS):
            for i in chunk:
                quantity, category = select_arguments(i)
                self.cursor.execute('SELECT %s FROM bench_raw WHERE quantity < %%s AND '
                                    'category = %%s ORDER BY price DESC, name LIMIT %%s'
                                    % COLUMNS, (quantity, category, 20)).fetchall()
            yield

    def get(self):
        for chunk in chunks(GETS):
            for i in chunk:
                self.cursor.execute('SELECT %s FROM bench_raw WHERE id = %%s' % COLUMNS,
                                    (i + 1,)).fetchone()
            yield

    def update(self):
        for chunk in chunks(UPDATES):
            for i in chunk:
                self.cursor.execute('UPDATE bench_raw SET price = %s WHERE id = %s',
                                    (i / 4.0, i + 1))
            yield

    def close(self):
        self.connection.close()


# --- Kokoropy -------------------------------------------------------------------------------

class KokoroProduct(kokoropy.Model):
    table_name = 'bench_kokoropy'
    name = kokoropy.String(max_length=80, required=True)
    price = kokoropy.Float(min_value=0)
    quantity = kokoropy.Integer(min_value=0)
    category = kokoropy.String(max_length=20)


class Kokoropy:
    name = 'Kokoropy'

    def __init__(self, url):
        create_table(url, KokoroProduct.table_name)
        self.database = kokoropy.Database(url)
        self.database.bind(KokoroProduct)

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
        __tablename__ = 'bench_sqlalchemy'
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

    def __init__(self, url):
        create_table(url, AlchemyProduct.__tablename__)
        self.engine = sqlalchemy.create_engine(url.replace('postgresql://',
                                                           'postgresql+psycopg://', 1))

    def insert(self):
        with Session(self.engine) as session:
            for chunk in chunks(INSERTS):
                for i in chunk:
                    name, price, quantity, category = row_values(i)
                    session.add(AlchemyProduct(name=name, price=price, quantity=quantity,
                                               category=category))
                    session.flush()  # one INSERT per create, as the others do
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
                    session.expunge_all()  # a get that reads the row, not the identity map
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


# --- peewee ---------------------------------------------------------------------------------

if peewee is not None:
    # peewee 4 drives psycopg 3 when asked (or when psycopg2 is absent).
    peewee_database = peewee.PostgresqlDatabase(None, autoconnect=False, prefer_psycopg3=True)

    class PeeweeProduct(peewee.Model):
        name = peewee.CharField(max_length=80)
        price = peewee.FloatField(null=True)
        quantity = peewee.BigIntegerField(null=True)
        category = peewee.CharField(max_length=20, null=True)
        created_at = peewee.DateTimeField(default=datetime.datetime.utcnow)
        updated_at = peewee.DateTimeField(default=datetime.datetime.utcnow)

        class Meta:
            database = peewee_database
            table_name = 'bench_peewee'


class Peewee:
    name = 'peewee'

    def __init__(self, url):
        create_table(url, PeeweeProduct._meta.table_name)
        parameters = connect_parameters(url)
        peewee_database.init(parameters.pop('dbname'), **parameters)
        peewee_database.connect(reuse_if_open=True)

    def insert(self):
        create = PeeweeProduct.create
        with peewee_database.atomic():
            for chunk in chunks(INSERTS):
                for i in chunk:
                    name, price, quantity, category = row_values(i)
                    create(name=name, price=price, quantity=quantity, category=category)
                yield

    def select(self):
        for chunk in chunks(SELECTS):
            for i in chunk:
                quantity, category = select_arguments(i)
                list(PeeweeProduct.select()
                     .where((PeeweeProduct.quantity < quantity) &
                            (PeeweeProduct.category == category))
                     .order_by(PeeweeProduct.price.desc(), PeeweeProduct.name).limit(20))
            yield

    def get(self):
        get = PeeweeProduct.get_or_none
        for chunk in chunks(GETS):
            for i in chunk:
                get(PeeweeProduct.id == i + 1)
            yield

    def update(self):
        get = PeeweeProduct.get_or_none
        for chunk in chunks(UPDATES):
            for i in chunk:
                product = get(PeeweeProduct.id == i + 1)
                product.price = i / 4.0
                product.updated_at = datetime.datetime.utcnow()
                product.save()
            yield

    def close(self):
        peewee_database.close()


# --- running --------------------------------------------------------------------------------

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


def run(url, rounds):
    systems = [RawPsycopg, Kokoropy] + ([Alchemy] if sqlalchemy is not None else []) + \
        ([Peewee] if peewee is not None else [])
    best = dict((system.name, {}) for system in systems)
    for _ in range(rounds):
        instances = [system(url) for system in systems]
        for group, count in GROUPS:
            for name, seconds in timed_group(instances, group).items():
                micros = seconds / count * 1e6
                best[name][group] = min(best[name].get(group, micros), micros)
        for instance in instances:
            instance.close()
    return systems, best


def table(systems, best):
    names = [system.name for system in systems]
    raw = best['raw psycopg']
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
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('url', help='postgresql://user@host:port/database (tables bench_*)')
    parser.add_argument('--rounds', type=int, default=3)
    args = parser.parse_args()
    systems, best = run(args.url, args.rounds)
    print('psycopg %s%s%s, PostgreSQL %s, best of %d rounds' % (
        psycopg.__version__,
        ', SQLAlchemy %s' % sqlalchemy.__version__ if sqlalchemy else ' (SQLAlchemy absent)',
        ', peewee %s' % peewee.__version__ if peewee else ' (peewee absent)',
        kokoropy.Database(args.url).execute('SHOW server_version').fetchone()[0],
        args.rounds))
    print(table(systems, best))


if __name__ == '__main__':
    main()
