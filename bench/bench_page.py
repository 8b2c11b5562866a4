"""A real page: the scaffolded product list, Kokoropy against the same page hand-built on Bottle.

Makes a temporary project with `rossian.py scaffold-crud shop product name:string:required
price:float stock:integer category:ref:category` (and a category CRUD), fills it with 10
categories and 1,000 products, and times its list page (page of 20, the index layout, sortable
headers, search box, pagination) as in-process WSGI calls. The peer is the same page written by
hand on Bottle + SimpleTemplate + sqlite3: the same queries, a layout through rebase, the links
built with Bottle's get_url, escaping on; its HTML is checked to be byte-identical to
Kokoropy's before anything is timed. Systems are timed interleaved, best of rounds, in CPU time
of this process (time.process_time): on a shared, loaded machine wall-clock rounds are
stretched by whoever else runs, CPU time much less.

    bench/.venv/bin/python bench/bench_page.py [--rounds 7] [--round-ms 200]
    bench/.venv/bin/python bench/bench_page.py --parts       # where each µs of the page goes
    bench/.venv/bin/python bench/bench_page.py --profile     # the same under cProfile
    bench/.venv/bin/python bench/bench_page.py --wrk         # req/s on the built-in server

The wrk run starts `rossian.py start` in the temporary project (wrk -t2 -c32 -d5s, best of
--rounds of 1).
"""
import argparse
import cProfile
import io
import os
import platform
import pstats
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CATEGORIES = 10
PRODUCTS = 1000
PER_PAGE = 20
CASES = [
    ('list, page 1', '/shop/product', ''),
    ('search + sort + page 3', '/shop/product', 'q=Product&sort=-price&page=3'),
]


# --- the temporary project --------------------------------------------------------------------

def make_project(folder):
    """Copy kokoropy.py, rossian.py and applications/ into `folder`, scaffold the shop and
    apply its migrations."""
    for name in ('kokoropy.py', 'rossian.py'):
        shutil.copy(os.path.join(ROOT, name), folder)
    shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                    ignore=shutil.ignore_patterns('__pycache__', 'uploads', '*.db'))
    for arguments in (['scaffold-application', 'shop'],
                      ['scaffold-crud', 'shop', 'category', 'name:string:required:unique'],
                      ['scaffold-crud', 'shop', 'product', 'name:string:required',
                       'price:float', 'stock:integer', 'category:ref:category'],
                      ['migration-upgrade']):
        subprocess.check_call([sys.executable, 'rossian.py'] + arguments, cwd=folder,
                              stdout=subprocess.DEVNULL)


def load_kokoropy(folder):
    """The project's WSGI application, with its rows created through the ORM."""
    sys.path.insert(0, folder)
    import kokoropy
    app = kokoropy.load_project(folder)
    from applications.shop.models.category import Category
    from applications.shop.models.product import Product
    with kokoropy.default_database().transaction():
        categories = [Category.create(name='Category <%d> & co' % n) for n in range(CATEGORIES)]
        for n in range(PRODUCTS):
            Product.create(name='Product <%d> & co' % n, price=n * 1.25, stock=n % 50,
                           category=categories[n % CATEGORIES].id)
    return app


# --- the Bottle peer --------------------------------------------------------------------------

PEER_LAYOUT = '''\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}}</title>
<link rel="icon" type="image/svg+xml" href="{{url('index.assets', path='images/kokoropy.svg')}}">
<link rel="stylesheet" href="{{url('index.assets', path='css/kokoropy.css')}}">
</head>
<body>
<header class="site-header">
  <div class="container">
    <a class="site-brand" href="{{url('index.home')}}"><img src="{{url('index.assets', path='images/kokoropy.svg')}}" alt="" width="32" height="32"> Kokoropy</a>
    <nav class="site-nav" aria-label="Main">
      <ul>
        <li><a href="{{url('index.home')}}">Home</a></li>
% for name, label in menu:
        <li><a href="{{root}}/{{name}}"{{!' class="active"' if name == current else ''}}>{{label}}</a></li>
% end
% for name, label in crud_menu:
% is_current = (path + '/').startswith('/shop/%s/' % name)
<li><a href="{{url('shop.%s.list' % name)}}"{{!' class="active"' if is_current else ''}}>{{label}}</a></li>
% end
      </ul>
    </nav>
  </div>
</header>
<main class="site-main">
  <div class="container">
% for category, message in messages:
      <div class="alert alert-{{category}}">{{message}}</div>
% end
{{!base}}
  </div>
</main>
<footer class="site-footer">
  <div class="container">
    Made with Kokoropy, a web framework in one Python file that needs nothing but the standard library.
  </div>
</footer>
</body>
</html>
'''

PEER_LIST = '''\
% rebase('peer_layout', title='Products', url=url, menu=menu, crud_menu=crud_menu, path=path, root=root, current='shop', messages=[])
<div class="page-header page-header-row">
  <h1>Products</h1>
  <div class="button-group">
    <a class="button button-primary" href="{{url('shop.product.create')}}">New product</a>
    <a class="button" href="{{url('shop.product.list')}}?format=json">JSON</a>
  </div>
</div>
<div class="toolbar">
<p class="table-summary">{{summary}}</p>
<form class="search" method="get" action="" role="search">
% if sort:
<input type="hidden" name="sort" value="{{sort}}">
% end
<input type="search" name="q" value="{{q}}" aria-label="Search" placeholder="Search">
<button type="submit" class="button">Search</button>
</form>
</div>
<div class="table-wrap">
<table class="table table-list">
<thead>
<tr>
% for label, href, state, numeric in columns:
<th scope="col"{{!' class="numeric"' if numeric else ''}}{{!' aria-sort="%s"' % state if state else ''}}><a href="{{href}}">{{label}}</a></th>
% end
<th scope="col" class="table-actions">Actions</th>
</tr>
</thead>
<tbody>
% for id, name, price, stock, category_id, created_at, updated_at in rows:
% show = url('shop.product.show', product_id=id)
<tr>
<td data-label="Name"><a href="{{show}}">{{name}}</a></td>
<td class="numeric" data-label="Price">{{price}}</td>
<td class="numeric" data-label="Stock">{{stock}}</td>
<td data-label="Category">{{categories[category_id]}}</td>
<td class="table-actions"><div class="button-group">
<a class="button button-small" href="{{show}}">Show</a>
<a class="button button-small" href="{{url('shop.product.edit', product_id=id)}}">Edit</a>
<a class="button button-small button-danger" href="{{url('shop.product.delete', product_id=id)}}">Delete</a>
</div></td>
</tr>
% end
</tbody>
</table>
</div>
<nav class="pagination" aria-label="Pages">
% for text, href, is_current in pages:
% if is_current:
<span class="current" aria-current="page">{{text}}</span>
% elif href:
<a href="{{href}}">{{text}}</a>
% else:
<span class="disabled">{{text}}</span>
% end
% end
</nav>
'''

SORTABLE = ('name', 'price', 'stock', 'category')
SORT_COLUMNS = {'name': 'name', 'price': 'price', 'stock': 'stock', 'category': 'category_id'}


def build_bottle(folder):
    """The list page by hand on Bottle, reading the project's database with sqlite3."""
    import bottle
    views = os.path.join(folder, 'peer_views')
    os.mkdir(views)
    for name, source in (('peer_layout', PEER_LAYOUT), ('peer_list', PEER_LIST)):
        with open(os.path.join(views, name + '.tpl'), 'w', encoding='utf-8') as f:
            f.write(source)
    database = sqlite3.connect(os.path.join(folder, 'db', 'kokoropy.db'),
                               check_same_thread=False)
    # The search is case-insensitive beyond ASCII, as Kokoropy's (sqlite's LIKE is not).
    database.create_function('lower_text', 1,
                             lambda value: value.lower() if isinstance(value, str) else value)
    app = bottle.Bottle()
    request = bottle.request
    menu = [('example', 'Example'), ('shop', 'Shop')]
    crud_menu = [('category', 'Categories'), ('product', 'Products')]

    def product_list():
        q = request.query.getunicode('q', default='').strip()
        sort = request.query.getunicode('sort', default='')
        if sort.lstrip('-') not in SORTABLE or sort.count('-') > 1:
            sort = ''
        rows, total, page = query_products(database, q, sort, page_number(request.query.page))
        ids = sorted(set(row[4] for row in rows))
        categories = dict(database.execute(
            'SELECT id, name FROM category WHERE id IN (%s)' % ','.join('?' * len(ids)), ids))
        pages = -(-total // PER_PAGE)
        first = (page - 1) * PER_PAGE + 1
        return bottle.template(
            'peer_list', template_lookup=[views], url=app.get_url, menu=menu,
            crud_menu=crud_menu, path=request.path,
            root=request.script_name.rstrip('/'), q=q, sort=sort, rows=rows,
            categories=categories, columns=sort_columns(q, sort),
            summary='%d–%d of %d' % (first, first + len(rows) - 1, total),
            pages=page_links(q, sort, page, pages))

    app.route('/', 'GET', lambda: 'home', name='index.home')
    app.route('/index/assets/<path:path>', 'GET', lambda path: path, name='index.assets')
    app.route('/shop/product', 'GET', product_list, name='shop.product.list')
    app.route('/shop/category', 'GET', lambda: 'categories', name='shop.category.list')
    app.route('/shop/product/new', 'GET', lambda: 'new', name='shop.product.create')
    for action in ('show', 'edit', 'delete'):
        rule = '/shop/product/<product_id:int>' + ('' if action == 'show' else '/' + action)
        app.route(rule, 'GET', lambda product_id: action, name='shop.product.' + action)
    return app


def query_products(database, q, sort, page):
    """(rows, total, page) of the products matching q in the order of sort."""
    where, params = '', []
    if q:
        pattern = q.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
        where = ' WHERE lower_text("name") LIKE lower_text(?) ESCAPE \'\\\''
        params = ['%' + pattern + '%']
    order = ''
    if sort:
        order = ' ORDER BY "%s"%s' % (SORT_COLUMNS[sort.lstrip('-')],
                                      ' DESC' if sort[0] == '-' else '')
    total = database.execute('SELECT COUNT(*) FROM "product"' + where, params).fetchone()[0]
    page = max(1, min(page, -(-total // PER_PAGE)))
    rows = database.execute(
        'SELECT "id", "name", "price", "stock", "category_id", "created_at", "updated_at" '
        'FROM "product"' + where + order + ' LIMIT ? OFFSET ?',
        params + [PER_PAGE, (page - 1) * PER_PAGE]).fetchall()
    return rows, total, page


def page_number(text):
    try:
        return max(1, int(text))
    except ValueError:
        return 1


def list_link(q, sort, page=None):
    return '?' + urlencode([(key, value) for key, value in
                            (('q', q), ('sort', sort), ('page', page)) if value])


def sort_columns(q, sort):
    """(label, href, aria-sort state, is numeric) per sortable column."""
    columns = []
    for name in SORTABLE:
        state = {name: 'ascending', '-' + name: 'descending'}.get(sort)
        href = list_link(q, '-' + name if state == 'ascending' else name)
        columns.append((name.capitalize(), href, state, name in ('price', 'stock')))
    return columns


def page_links(q, sort, page, pages):
    """(text, href or None, is current): Previous, the first and last pages and two each
    side of the current one with '…' between, Next."""
    links = [('Previous', list_link(q, sort, page - 1) if page > 1 else None, False)]
    last = 0
    for number in range(1, pages + 1):
        if number == 1 or number == pages or abs(number - page) <= 2:
            if last and number - last > 1:
                links.append(('…', None, False))
            links.append((str(number), list_link(q, sort, number), number == page))
            last = number
    links.append(('Next', list_link(q, sort, page + 1) if page < pages else None, False))
    return links


# --- timing -----------------------------------------------------------------------------------

def base_environ(path, query):
    return {
        'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': '', 'PATH_INFO': path, 'QUERY_STRING': query,
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '8080', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'HTTP_HOST': 'localhost:8080', 'HTTP_ACCEPT': 'text/html', 'REMOTE_ADDR': '127.0.0.1',
        'wsgi.version': (1, 0), 'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(),
        'wsgi.errors': sys.stderr, 'wsgi.multithread': False, 'wsgi.multiprocess': False,
        'wsgi.run_once': False,
    }


def start_response(status, headers, exc_info=None):
    if status[:3] != '200':
        raise AssertionError('unexpected status %s' % status)


def call(app, environ):
    """The body of one request, iterated and closed as a server does."""
    body = app(environ.copy(), start_response)
    data = b''.join(body)
    if hasattr(body, 'close'):
        body.close()
    return data


def run_once(app, environ, count):
    clock = time.process_time
    started = clock()
    for _ in range(count):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, 'close', None)
        if close is not None:
            close()
    return clock() - started


def calibrate(app, environ, round_seconds):
    count = 10
    while True:
        seconds = run_once(app, environ, count)
        if seconds >= round_seconds / 5:
            return max(10, int(count * round_seconds / seconds))
        count *= 4


def measure(systems, rounds, round_seconds):
    """Best seconds per page for each (case, system), interleaved round after round."""
    best = {}
    for case, path, query in CASES:
        environ = base_environ(path, query)
        pages = [call(app, environ) for _, app in systems]
        if len(set(pages)) != 1:
            report_difference(pages[0], pages[1], case)
        counts = dict((name, calibrate(app, environ, round_seconds)) for name, app in systems)
        for _ in range(rounds):
            for name, app in systems:
                seconds = run_once(app, environ, counts[name]) / counts[name]
                best[(case, name)] = min(best.get((case, name), seconds), seconds)
    return best


def report_difference(ours, theirs, case):
    ours, theirs = ours.decode().splitlines(), theirs.decode().splitlines()
    for number, (line, peer_line) in enumerate(zip(ours, theirs)):
        if line != peer_line:
            sys.exit('%s: the pages differ at line %d:\n  Kokoropy: %r\n  Bottle:   %r'
                     % (case, number + 1, line, peer_line))
    sys.exit('%s: the pages differ in length (%d, %d lines)' % (case, len(ours), len(theirs)))


def print_table(best, names, options):
    print('List page, µs per request (best of %d rounds of ~%d ms); Python %s, %s, %d CPUs, '
          'load %.1f, %s\n' % (options.rounds, options.round_ms, platform.python_version(),
                               platform.machine(), os.cpu_count(), os.getloadavg()[0],
                               time.strftime('%Y-%m-%d')))
    print('| case | ' + ' | '.join(names) + ' | Kokoropy / Bottle |')
    print('|---' * (len(names) + 2) + '|')
    for case, _, _ in CASES:
        cells = ['%.0f' % (best[(case, name)] * 1e6) for name in names]
        ratio = ('%.2fx' % (best[(case, 'Kokoropy')] / best[(case, 'Bottle')])
                 if 'Bottle' in names else '-')
        print('| %s | %s | %s |' % (case, ' | '.join(cells), ratio))


# --- profile ----------------------------------------------------------------------------------

def profile(app, count, top):
    """cProfile of `count` list pages: µs per page of each function (own and with callees)."""
    environ = base_environ(CASES[0][1], CASES[0][2])
    run_once(app, environ, 20)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    run_once(app, environ, count)
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    total = sum(entry[2] for entry in stats.values())
    print('cProfile of %d list pages (%s): %.0f µs per page under the profiler\n'
          % (count, CASES[0][0], total / count * 1e6))
    print('| function | calls per page | own µs | with callees µs |')
    print('|---|---:|---:|---:|')
    rows = sorted(stats.items(), key=lambda item: -item[1][2])[:top]
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        where = '%s:%d' % (os.path.basename(filename), line) if line else '~'
        print('| %s %s | %.1f | %.1f | %.1f |' % (
            name.replace('<', '&lt;').replace('|', '\\|'), where, calls / count,
            own / count * 1e6, cumulative / count * 1e6))


# --- parts of the page -----------------------------------------------------------------------

def parts(app, rounds):
    """CPU µs of the parts of the list page (best of rounds), timed inside a request."""
    import kokoropy
    from applications.shop.controllers import product as controller
    from applications.shop.models.product import Product
    names = dict((action, 'shop.product.' + action) for action in ('show', 'edit', 'delete'))
    timings = {}

    def measure():
        table = kokoropy.Table(Product, detail_url=names['show'], edit_url=names['edit'],
                               delete_url=names['delete'])
        row = table.page.items[0]
        buttons = (table.detail_url, table.edit_url, table.delete_url)
        steps = [
            ('the handler (controller function)', controller.product_list),
            ('the page template: layout + table', lambda: kokoropy.template(
                'shop/product_list', table=table)),
            ('Table.render(): the table, its cells and buttons', table.render),
            ('60 button URLs (3 buttons x 20 rows)', lambda: [
                make(row) for make in buttons for _ in range(20)]),
            ('60 url() calls (what the buttons cost before)', lambda: [
                kokoropy.url(name, product_id=row.id) for name in names.values()
                for _ in range(20)]),
            ('Table(): query and count', lambda: kokoropy.Table(
                Product, detail_url=names['show'], edit_url=names['edit'],
                delete_url=names['delete'])),
            ('the templates alone: layout, page and site menu (the table rendered already)',
             lambda: kokoropy.template('shop/product_list', table=markup)),
            ('the related categories (one query, in Table.render())',
             lambda: kokoropy._prefetch_related(table.page.items, table.fields)),
        ]
        markup = kokoropy.Markup(table.render())
        for _ in range(rounds):
            for label, step in steps:
                seconds = run_steps(step, 20)
                timings[label] = min(timings.get(label, seconds), seconds)
        return 'measured'

    app.route('/bench/parts', 'GET', measure)
    call(app, base_environ('/bench/parts', ''))
    environ = base_environ(CASES[0][1], CASES[0][2])
    whole = min(run_once(app, environ, 20) / 20 for _ in range(rounds))
    print('Parts of the list page (%s), CPU µs, best of %d rounds; load %.1f\n'
          % (CASES[0][0], rounds, os.getloadavg()[0]))
    print('| part | µs |')
    print('|---|---:|')
    print('| the whole WSGI call | %.0f |' % (whole * 1e6))
    for label, seconds in sorted(timings.items(), key=lambda item: -item[1]):
        print('| %s | %.0f |' % (label, seconds * 1e6))


def run_steps(step, count):
    clock = time.process_time
    started = clock()
    for _ in range(count):
        step()
    return (clock() - started) / count


# --- wrk --------------------------------------------------------------------------------------

def wrk_rounds(folder, app, rounds):
    """Best req/s and errors of `wrk -t2 -c32 -d5s` on the list page of `rossian.py start`.

    Before each round the same page is timed in this process, since the machines here change
    speed from one minute to the next: a slow round in both says the machine was slow."""
    wrk = shutil.which('wrk')
    if not wrk:
        sys.exit('bench_page: wrk is not installed (apt-get install wrk)')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen([sys.executable, 'rossian.py', 'start', '--port', str(port),
                               '--quiet'], cwd=folder, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    url = 'http://127.0.0.1:%d/shop/product' % port
    environ = base_environ(CASES[0][1], CASES[0][2])
    count = calibrate(app, environ, 0.2)
    best = None
    try:
        wait_until_serving(port)
        subprocess.run([wrk, '-t2', '-c4', '-d1s', url], stdout=subprocess.DEVNULL)
        for _ in range(rounds):
            in_process = min(run_once(app, environ, count) / count for _ in range(3))
            output = subprocess.run([wrk, '-t2', '-c32', '-d5s', url], stdout=subprocess.PIPE,
                                    timeout=60).stdout.decode()
            rate = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
            errors = sum(int(n) for n in re.findall(r'(?:connect|read|write|timeout) (\d+)',
                                                   output))
            non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
            errors += int(non_2xx.group(1)) if non_2xx else 0
            sys.stderr.write('wrk: %.0f req/s, %d errors; the page in-process just before: '
                             '%.0f µs (%.0f pages/s)\n'
                             % (rate, errors, in_process * 1e6, 1 / in_process))
            if best is None or rate > best[0]:
                best = (rate, errors, in_process)
    finally:
        server.terminate()
        server.wait(10)
    print('wrk -t2 -c32 -d5s on %s (built-in server, best of %d): %.0f req/s, %d errors '
          '(in-process before that round: %.0f µs per page); load %.1f'
          % ('/shop/product', rounds, best[0], best[1], best[2] * 1e6, os.getloadavg()[0]))


def wait_until_serving(port):
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    sys.exit('bench_page: the server did not start')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=7)
    parser.add_argument('--round-ms', type=float, default=200)
    parser.add_argument('--profile', action='store_true')
    parser.add_argument('--parts', action='store_true')
    parser.add_argument('--profile-top', type=int, default=30)
    parser.add_argument('--wrk', action='store_true')
    options = parser.parse_args()
    folder = tempfile.mkdtemp(prefix='kokoropy-bench-page-')
    try:
        make_project(folder)
        systems = [('Kokoropy', load_kokoropy(folder))]
        if options.wrk:
            wrk_rounds(folder, systems[0][1], options.rounds)
            return
        if options.parts:
            parts(systems[0][1], options.rounds * 3)
            return
        if options.profile:
            profile(systems[0][1], 500, options.profile_top)
            return
        try:
            systems.append(('Bottle', build_bottle(folder)))
        except ImportError:
            sys.stderr.write('Bottle is not installed: the peer is skipped\n')
        best = measure(systems, options.rounds, options.round_ms / 1000)
        print_table(best, [name for name, _ in systems], options)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    main()
