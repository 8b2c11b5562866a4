"""HTTP server benchmark: requests per second with `wrk -t2 -c64 -d10s` on a hello route.

Serves the same application under the built-in server (run(server='kokoro')), waitress
(4 threads) and gunicorn (2 workers, sync and gthread with 4 threads), one server at a time,
interleaved over several rounds; reports the best round of each and prints a Markdown table.
Applications: a bare WSGI hello function and a Kokoro app with one hello route.

    bench/.venv/bin/python bench/bench_server.py [--rounds 2] [--duration 10] [--connections 64]

Servers that are not installed in the running Python are skipped. Needs wrk
(apt-get install wrk). Each server runs in its own process; access logs are off.
"""
import argparse
import os
import platform
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

SERVERS = [
    # (label, run() server name, run() options)
    ('kokoropy built-in', 'kokoro', {}),
    ('waitress, 4 threads', 'waitress', {'threads': 4}),
    ('gunicorn sync, 2 workers', 'gunicorn', {'workers': 2, 'worker_class': 'sync'}),
    ('gunicorn gthread, 2 workers x 4 threads', 'gunicorn',
     {'workers': 2, 'worker_class': 'gthread', 'threads': 4}),
]
APPS = ['wsgi', 'kokoro']


def make_app(name):
    """The hello application called `name`."""
    if name == 'wsgi':
        def hello(environ, start_response):
            start_response('200 OK', [('Content-Type', 'text/plain; charset=utf-8'),
                                      ('Content-Length', '12')])
            return [b'Hello World!']
        return hello
    import kokoropy
    app = kokoropy.Kokoro()

    @app.get('/')
    def index():
        return 'Hello World!'
    return app


def serve(server, app_name, port, options):
    """Child process: serve the app quietly until terminated."""
    import logging
    import kokoropy
    logging.getLogger('waitress').setLevel(logging.ERROR)  # no "Task queue depth" warnings
    kokoropy.run(make_app(app_name), port=port, server=server, quiet=True, **options)


def is_installed(server):
    if server == 'kokoro':
        return True
    try:
        __import__(server)
        return True
    except ImportError:
        return False


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_until_serving(port, process):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
                sock.sendall(b'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n')
                if sock.recv(100).startswith(b'HTTP/1.1 200'):
                    return True
        except OSError:
            time.sleep(0.1)
    return False


def measure(wrk, server, app_name, options, args):
    """Start a server process, run wrk once against it; return (req/s, errors) or None."""
    port = free_port()
    command = [sys.executable, os.path.abspath(__file__), '--serve', server, app_name,
               str(port), repr(options)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_until_serving(port, process):
            return None
        subprocess.run([wrk, '-t2', '-c4', '-d1s', 'http://127.0.0.1:%d/' % port],
                       stdout=subprocess.DEVNULL)  # warm up
        output = subprocess.run(
            [wrk, '-t2', '-c%d' % args.connections, '-d%ds' % args.duration,
             'http://127.0.0.1:%d/' % port], stdout=subprocess.PIPE, timeout=args.duration + 60
        ).stdout.decode()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    rate = float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1))
    errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',
                       output)
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    failed = sum(int(n) for n in errors.groups()) if errors else 0
    return rate, failed + (int(non_2xx.group(1)) if non_2xx else 0)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--duration', type=int, default=10)
    parser.add_argument('--connections', type=int, default=64)
    parser.add_argument('--apps', default=','.join(APPS))
    parser.add_argument('--serve', nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        server, app_name, port, options = args.serve
        serve(server, app_name, int(port), eval(options))
        return
    wrk = shutil.which('wrk')
    if not wrk:
        sys.exit('bench_server: wrk is not installed (apt-get install wrk)')
    apps = args.apps.split(',')
    best = {}
    for round_number in range(args.rounds):
        for app_name in apps:
            for label, server, options in SERVERS:
                if not is_installed(server):
                    continue
                result = measure(wrk, server, app_name, options, args)
                sys.stderr.write('round %d %-6s %-40s %s\n' % (round_number + 1, app_name, label,
                                                               result))
                key = (app_name, label)
                if result and (key not in best or result[0] > best[key][0]):
                    best[key] = result
    print_table(best, apps, args)


def print_table(best, apps, args):
    print('\nwrk -t2 -c%d -d%ds, best of %d rounds; Python %s, %s, %d CPUs, %s\n' % (
        args.connections, args.duration, args.rounds, platform.python_version(),
        platform.system(), os.cpu_count(), time.strftime('%Y-%m-%d')))
    print('| app | server | req/s | errors | vs waitress |')
    print('|---|---|---:|---:|---:|')
    for app_name in apps:
        baseline = best.get((app_name, SERVERS[1][0]))
        for label, server, _ in SERVERS:
            result = best.get((app_name, label))
            if result is None:
                print('| %s | %s | not installed or failed | | |' % (app_name, label))
                continue
            ratio = '%.2fx' % (result[0] / baseline[0]) if baseline else '-'
            print('| %s | %s | %.0f | %d | %s |' % (app_name, label, result[0], result[1], ratio))
    for label, server, _ in SERVERS:
        if not is_installed(server):
            print('\n%s: not installed in this Python, skipped.' % label)


if __name__ == '__main__':
    main()
