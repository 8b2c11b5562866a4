"""Time Kokoropy's Router against bottle.Router (when installed): match() only, no WSGI.

usage: bench/.venv/bin/python bench/bench_router.py [rounds]
The main router of each system has the same 200 static (`/s{i}/page`) and 200 dynamic routes
(`/r{i}/<id:int>/<name>`). A second router holds 200 rules that start with a wildcard
(`/<lang>/w{i}/<id:int>`), the worst case for Kokoropy's first-segment index.
Systems are timed interleaved; the best round counts.
"""
import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kokoropy  # noqa: E402

try:
    import bottle
except ImportError:
    bottle = None

ROUTES = 200
CASES = [   # (label, router, method, path)
    ('static route among 400', 'main', 'GET', '/s100/page'),
    ('first of 200 dynamic', 'main', 'GET', '/r0/42/alice'),
    ('last of 200 dynamic', 'main', 'GET', '/r199/42/alice'),
    ('HEAD on a GET static route', 'main', 'HEAD', '/s100/page'),
    ('404', 'main', 'GET', '/nothing/here/at/all'),
    ('405 (POST on a GET dynamic route)', 'main', 'POST', '/r199/42/alice'),
    ('first of 200 wildcard-first', 'wild', 'GET', '/en/w0/42'),
    ('last of 200 wildcard-first', 'wild', 'GET', '/en/w199/42'),
    ('404 among 200 wildcard-first', 'wild', 'GET', '/nothing/here/at/all'),
]


def add_routes(kind, add):
    for i in range(ROUTES):
        if kind == 'main':
            add('/s%d/page' % i, 'GET', 'static%d' % i)
            add('/r%d/<id:int>/<name>' % i, 'GET', 'dynamic%d' % i)
        else:
            add('/<lang>/w%d/<id:int>' % i, 'GET', 'wild%d' % i)


def kokoropy_matcher(kind):
    router = kokoropy.Router()
    add_routes(kind, router.add)
    match = router.match

    def run(method, path):
        try:
            return match(method, path)
        except LookupError:
            return None
    return run


def bottle_matcher(kind):
    router = bottle.Router()
    add_routes(kind, lambda rule, method, target: router.add(rule, method, target))
    match, error = router.match, bottle.HTTPError

    def run(method, path):
        try:
            return match({'REQUEST_METHOD': method, 'PATH_INFO': path})
        except error:
            return None
    return run


def time_case(run, method, path, number):
    return timeit.Timer(lambda: run(method, path)).timeit(number) / number * 1e6


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    systems = [('kokoropy', {kind: kokoropy_matcher(kind) for kind in ('main', 'wild')})]
    if bottle is not None:
        systems.append(('bottle %s' % bottle.__version__,
                        {kind: bottle_matcher(kind) for kind in ('main', 'wild')}))
    for _, runs in systems:      # compile lazily built indexes outside the timing
        for _, kind, method, path in CASES:
            runs[kind](method, path)
    best = {}
    for _ in range(rounds):
        for label, kind, method, path in CASES:
            for name, runs in systems:
                took = time_case(runs[kind], method, path, 20000)
                best[label, name] = min(best.get((label, name), took), took)
    names = [name for name, _ in systems]
    print('Router.match, best of %d rounds, microseconds per call (Python %s)\n'
          % (rounds, sys.version.split()[0]))
    print('| case | ' + ' | '.join(names) + (' | ratio |' if len(names) > 1 else ''))
    print('|---' * (len(names) + 1 + (len(names) > 1)) + '|')
    for label, _, _, _ in CASES:
        cells = ['%.3f' % best[label, name] for name in names]
        if len(names) > 1:
            cells.append('%.2fx' % (best[label, names[0]] / best[label, names[1]]))
        print('| %s | %s |' % (label, ' | '.join(cells)))


if __name__ == '__main__':
    main()
