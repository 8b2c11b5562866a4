"""url() micro-benchmark: µs per URL built inside a request, Kokoropy against Bottle's get_url.

Two named routes among 50 others, under the site root /site: a static one and one with an int wildcard. Kokoropy's
module-level url() is what templates and the scaffolded controllers call; Bottle's
app.get_url() is its peer. Each timing loop runs inside a request handler (so the site root
comes from the request, as on a real page), and the systems are timed interleaved, best of
many short rounds, in CPU time of this process (time.process_time), which a loaded machine
disturbs less than wall-clock time.

    bench/.venv/bin/python bench/bench_url.py [--rounds 40] [--count 5000]
"""
import argparse
import io
import os
import platform
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402

OTHER_ROUTES = 50
CASES = [
    # (label, route name, params)
    ('static route', 'product.new', {}),
    ('one int parameter', 'product.show', {'product_id': 42}),
]


def timing_handler(build):
    """A handler timing `build(name, **params)` for each case: {label: seconds per call}."""
    def handler():
        count = int(request_count[0])
        results = {}
        for label, name, params in CASES:
            clock = time.process_time
            started = clock()
            for _ in range(count):
                build(name, **params)
            results[label] = (clock() - started) / count
        results['urls'] = tuple(build(name, **params) for _, name, params in CASES)
        timings.append(results)
        return 'done'
    return handler


request_count = [5000]
timings = []


def add_routes(add):
    """The routes of both systems: 50 others, then the two timed ones."""
    for number in range(OTHER_ROUTES):
        add('/other%d/<id:int>' % number, 'other%d' % number)
    add('/product/new', 'product.new')
    add('/product/<product_id:int>', 'product.show')


def build_kokoropy():
    app = kokoropy.Kokoro()
    add_routes(lambda rule, name: app.route(rule, 'GET', lambda **kw: '', name=name))
    app.route('/measure', 'GET', timing_handler(kokoropy.url))
    return app


def build_bottle():
    import bottle
    app = bottle.Bottle()
    add_routes(lambda rule, name: app.route(rule, 'GET', lambda **kw: '', name=name))
    app.route('/measure', 'GET', timing_handler(app.get_url))
    return app


def environ():
    return {
        'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': '/site', 'PATH_INFO': '/measure',
        'QUERY_STRING': '', 'SERVER_NAME': 'localhost', 'SERVER_PORT': '8080',
        'SERVER_PROTOCOL': 'HTTP/1.1', 'HTTP_HOST': 'localhost:8080', 'wsgi.version': (1, 0),
        'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(), 'wsgi.errors': sys.stderr,
        'wsgi.multithread': False, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
    }


def measure_once(app):
    def start_response(status, headers, exc_info=None):
        if status[:3] != '200':
            raise AssertionError(status)
    body = app(environ(), start_response)
    b''.join(body)
    if hasattr(body, 'close'):
        body.close()
    return timings.pop()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=40)
    parser.add_argument('--count', type=int, default=5000)
    options = parser.parse_args()
    request_count[0] = options.count
    systems = [('Kokoropy', build_kokoropy())]
    try:
        systems.append(('Bottle', build_bottle()))
    except ImportError:
        sys.stderr.write('Bottle is not installed: the peer is skipped\n')
    best, urls = {}, set()
    for _ in range(options.rounds):
        for name, app in systems:
            results = measure_once(app)
            urls.add(results.pop('urls'))
            for label, seconds in results.items():
                best[(label, name)] = min(best.get((label, name), seconds), seconds)
    if len(urls) != 1:
        sys.exit('the systems build different URLs: %r' % (urls,))
    names = [name for name, _ in systems]
    print('url() inside a request, µs per call (best of %d rounds of %d calls); Python %s, '
          '%s, %d CPUs, load %.1f, %s\n' % (options.rounds, options.count,
                                            platform.python_version(), platform.machine(),
                                            os.cpu_count(), os.getloadavg()[0],
                                            time.strftime('%Y-%m-%d')))
    print('Each system builds %s.\n' % ', '.join(urls.pop()))
    print('| case | ' + ' | '.join(names) + ' | Kokoropy / Bottle |')
    print('|---' * (len(names) + 2) + '|')
    for label, _, _ in CASES:
        cells = ['%.2f' % (best[(label, name)] * 1e6) for name in names]
        ratio = ('%.2fx' % (best[(label, 'Kokoropy')] / best[(label, 'Bottle')])
                 if 'Bottle' in names else '-')
        print('| %s | %s | %s |' % (label, ' | '.join(cells), ratio))


if __name__ == '__main__':
    main()
