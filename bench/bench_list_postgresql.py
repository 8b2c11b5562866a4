"""The scaffolded CRUD's list page under wrk, on PostgreSQL and on sqlite.

A temporary project copy gets `scaffold-crud shop product name:string:required price:float
stock:integer`, its migration and 200 rows; then `wrk -t2 -cN -dS` on /shop/product (a page of
20 rows, its count and the template) under the built-in server (`rossian.py start`) and under
`gunicorn -w 2`, for each database, one server at a time, interleaved over the rounds; the best
round of each is printed as a Markdown table.

    bench/.venv/bin/python bench/bench_list_postgresql.py postgresql://postgres@127.0.0.1:5432/postgres

Needs wrk (apt-get install wrk), gunicorn and psycopg in the running Python.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402

GUNICORN = os.path.join(os.path.dirname(sys.executable), 'gunicorn')
ROWS = 200


def make_project(database_url):
    """A project copy with the product CRUD migrated and filled, on `database_url`."""
    folder = tempfile.mkdtemp(prefix='kokoropy-bench-list-')
    for name in ('kokoropy.py', 'rossian.py', 'wsgi.py'):
        shutil.copy2(os.path.join(ROOT, name), folder)
    shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    environment = dict(os.environ, KOKOROPY_DATABASE_URL=database_url,
                       KOKOROPY_SECRET='bench-secret')
    for arguments in (['scaffold-crud', 'shop', 'product', 'name:string:required',
                       'price:float', 'stock:integer'], ['migration-upgrade']):
        subprocess.check_call([sys.executable, 'rossian.py'] + arguments, cwd=folder,
                              env=environment, stdout=subprocess.DEVNULL)
    url = database_url if '://' in database_url and not database_url.startswith('sqlite') \
        else os.path.join(folder, database_url)
    database = kokoropy.Database(url)
    with database.transaction():
        database.executemany(
            'INSERT INTO product (name, price, stock, created_at, updated_at) VALUES '
            "(?, ?, ?, '2024-01-01 00:00:00', '2024-01-01 00:00:00')",
            [('Product %03d' % n, n / 4.0, n % 50) for n in range(ROWS)])
    database.close()
    return folder, environment


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def serve(server, folder, environment, port):
    if server == 'gunicorn -w 2':
        command = [GUNICORN, '-w', '2', '-b', '127.0.0.1:%d' % port, 'wsgi:application']
    else:
        command = [sys.executable, 'rossian.py', 'start', '--port', str(port), '--quiet']
    process = subprocess.Popen(command, cwd=folder, env=environment, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen('http://127.0.0.1:%d/shop/product' % port, timeout=2).read()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError('%s did not start' % server)


def measure(server, folder, environment, args):
    """(requests per second, errors + non-2xx) of one wrk run."""
    port = free_port()
    process = serve(server, folder, environment, port)
    try:
        output = subprocess.run(
            ['wrk', '-t2', '-c%d' % args.connections, '-d%ds' % args.duration,
             'http://127.0.0.1:%d/shop/product' % port], stdout=subprocess.PIPE,
            universal_newlines=True, check=True).stdout
    finally:
        process.terminate()
        process.wait(30)
    rate = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
    errors = sum(int(n) for n in re.findall(r'(?:connect|read|write|timeout) (\d+)', output))
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    return rate, errors + (int(non_2xx.group(1)) if non_2xx else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('url', help='a PostgreSQL URL whose user may create databases')
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--duration', type=int, default=10)
    parser.add_argument('--connections', type=int, default=32)
    args = parser.parse_args()
    admin = kokoropy.Database(args.url)
    admin.execute('DROP DATABASE IF EXISTS kokoropy_bench_list WITH (FORCE)')
    admin.execute('CREATE DATABASE kokoropy_bench_list')
    postgresql = re.sub(r'/[^/?]*(\?|$)', r'/kokoropy_bench_list\1', args.url.split('://')[1],
                        count=1)
    projects = {'PostgreSQL': make_project(args.url.split('://')[0] + '://' + postgresql),
                'sqlite': make_project('db/kokoropy.db')}
    servers = ['built-in (rossian start)', 'gunicorn -w 2']
    best = {}
    try:
        for _ in range(args.rounds):
            for database, (folder, environment) in projects.items():
                for server in servers:
                    rate, errors = measure(server, folder, environment, args)
                    key = (database, server)
                    if rate > best.get(key, (0, 0))[0]:
                        best[key] = (rate, errors)
    finally:
        for folder, _ in projects.values():
            shutil.rmtree(folder, ignore_errors=True)
        admin.execute('DROP DATABASE IF EXISTS kokoropy_bench_list WITH (FORCE)')
    print('wrk -t2 -c%d -d%ds on /shop/product (20 of %d rows), best of %d rounds'
          % (args.connections, args.duration, ROWS, args.rounds))
    print('| database | %s |' % ' | '.join(servers))
    print('|---|' + '---:|' * len(servers))
    for database in projects:
        print('| %s | %s |' % (database, ' | '.join(
            '{:,.0f} req/s ({} errors)'.format(*best[(database, server)]) for server in servers)))


if __name__ == '__main__':
    main()
