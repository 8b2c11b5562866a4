"""In-process WSGI dispatch cost: microseconds per request, Kokoropy against Bottle and Flask.

Each system gets the same four endpoints, called as app(environ, start_response) with the body
iterated and closed, as a server would. A bare WSGI function is the floor (environ copy, call,
iteration). Systems are timed interleaved, round after round, and each keeps its best round,
which filters out noise from the machine. Bottle and Flask are skipped when not installed.

    bench/.venv/bin/python bench/bench_dispatch.py [--rounds 9] [--round-ms 60]

Each system's request count is calibrated so that one round lasts about --round-ms.
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

ROUTE_COUNT = 200
CASES = [
    ('hello world', '/hello'),
    ('two typed params', '/add/3/4.5'),
    ('JSON response', '/json'),
    ('last of %d dynamic routes' % ROUTE_COUNT, '/resource%d/42' % (ROUTE_COUNT - 1)),
]
PAYLOAD = {'id': 42, 'name': 'pikachu', 'types': ['electric'], 'stats': {'hp': 35, 'speed': 90}}


def hello():
    return 'Hello World!'


def add(a, b):
    return '%d + %s = %s' % (a, b, a + b)


def as_json():
    return PAYLOAD


def make_resource(number):
    def resource(id):
        return 'resource %d item %d' % (number, id)
    resource.__name__ = 'resource%d' % number
    return resource


def build_kokoropy():
    app = kokoropy.Kokoro()
    app.get('/hello', hello)
    app.get('/add/<a:int>/<b:float>', add)
    app.get('/json', as_json)
    for number in range(ROUTE_COUNT):
        app.get('/resource%d/<id:int>' % number, make_resource(number))
    return app


def build_bottle():
    import bottle
    app = bottle.Bottle()
    app.get('/hello', callback=hello)
    app.get('/add/<a:int>/<b:float>', callback=add)
    app.get('/json', callback=as_json)
    for number in range(ROUTE_COUNT):
        app.get('/resource%d/<id:int>' % number, callback=make_resource(number))
    return app


def build_flask():
    import flask
    app = flask.Flask('bench')
    app.add_url_rule('/hello', 'hello', hello)
    app.add_url_rule('/add/<int:a>/<float:b>', 'add', add)
    app.add_url_rule('/json', 'json', as_json)
    for number in range(ROUTE_COUNT):
        app.add_url_rule('/resource%d/<int:id>' % number, 'resource%d' % number,
                         make_resource(number))
    return app


def build_floor():
    """The cheapest possible WSGI app: what any framework costs at least."""
    body = [b'Hello World!']
    headers = [('Content-Type', 'text/plain'), ('Content-Length', '12')]

    def app(environ, start_response):
        start_response('200 OK', headers)
        return body
    return app


def base_environ(path):
    return {
        'REQUEST_METHOD': 'GET', 'SCRIPT_NAME': '', 'PATH_INFO': path, 'QUERY_STRING': '',
        'SERVER_NAME': 'localhost', 'SERVER_PORT': '8080', 'SERVER_PROTOCOL': 'HTTP/1.1',
        'HTTP_HOST': 'localhost:8080', 'HTTP_ACCEPT': '*/*', 'REMOTE_ADDR': '127.0.0.1',
        'wsgi.version': (1, 0), 'wsgi.url_scheme': 'http', 'wsgi.input': io.BytesIO(),
        'wsgi.errors': sys.stderr, 'wsgi.multithread': False, 'wsgi.multiprocess': False,
        'wsgi.run_once': False,
    }


def start_response(status, headers, exc_info=None):
    if status[:3] != '200':
        raise AssertionError('unexpected status %s' % status)


def run_once(app, environ, count):
    """Seconds for `count` requests: copy the environ, call, iterate and close the body."""
    clock = time.perf_counter
    started = clock()
    for _ in range(count):
        body = app(environ.copy(), start_response)
        for _chunk in body:
            pass
        close = getattr(body, 'close', None)
        if close is not None:
            close()
    return clock() - started


def check(app, environ):
    """Make sure an app answers the case with a 200 and a body before timing it."""
    chunks = []

    def keep(status, headers, exc_info=None):
        start_response(status, headers)
    body = app(environ.copy(), keep)
    chunks.extend(body)
    if hasattr(body, 'close'):
        body.close()
    if not b''.join(chunks):
        raise AssertionError('empty body')


def available_systems():
    systems = [('bare WSGI (floor)', build_floor()), ('Kokoropy', build_kokoropy())]
    for name, build in (('Bottle', build_bottle), ('Flask', build_flask)):
        try:
            systems.append((name, build()))
        except ImportError:
            sys.stderr.write('%s is not installed: skipped\n' % name)
    return systems


def calibrate(app, environ, round_seconds):
    """How many requests make a round of about round_seconds (after warming caches)."""
    count = 100
    while True:
        seconds = run_once(app, environ, count)
        if seconds >= round_seconds / 10:
            return max(100, int(count * round_seconds / seconds))
        count *= 4


def measure(systems, rounds, round_seconds):
    """Best seconds per request for each (case, system), timed interleaved."""
    best = {}
    for case, path in CASES:
        environ = base_environ(path)
        counts = {}
        for name, app in systems:
            if name != 'bare WSGI (floor)':
                check(app, environ)
            counts[name] = calibrate(app, environ, round_seconds)
        for _ in range(rounds):
            for name, app in systems:
                seconds = run_once(app, environ, counts[name]) / counts[name]
                key = (case, name)
                best[key] = min(best.get(key, seconds), seconds)
    return best


def table(systems, best):
    names = [name for name, _ in systems]
    lines = ['| case | ' + ' | '.join(names) + ' | Kokoropy / Bottle |',
             '|---' * (len(names) + 2) + '|']
    for case, _ in CASES:
        cells = ['%.2f' % (best[(case, name)] * 1e6) for name in names]
        ratio = ''
        if ('Bottle' in names):
            ratio = '%.2fx' % (best[(case, 'Kokoropy')] / best[(case, 'Bottle')])
        lines.append('| %s | %s | %s |' % (case, ' | '.join(cells), ratio))
    return '\n'.join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--rounds', type=int, default=9)
    parser.add_argument('--round-ms', type=float, default=60)
    options = parser.parse_args()
    systems = available_systems()
    best = measure(systems, options.rounds, options.round_ms / 1000)
    print('In-process WSGI dispatch, µs per request (best of %d rounds of ~%d ms each); '
          'Python %s, %s, %s' % (options.rounds, options.round_ms, platform.python_version(),
                                 platform.machine(), time.strftime('%Y-%m-%d')))
    print()
    print(table(systems, best))


if __name__ == '__main__':
    main()
