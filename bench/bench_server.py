"""HTTP server benchmark: requests per second and latency with `wrk -t2 --latency` on a hello route.

Serves the same application under the built-in server (run(server='kokoro')), waitress
(4 threads) and gunicorn (2 workers, sync and gthread with 4 threads), one server at a time,
interleaved over several rounds and connection counts; reports the best round (by req/s) of
each and prints a Markdown table with p50, p99 and the maximum latency, wrk's timeouts (answers
later than 2 s) and how many connections the server had not even accepted in the middle of the
run (the listener's accept queue: clients that wait, unseen by wrk's latency figures).
Applications: a bare WSGI hello function and a Kokoro app with one hello route.

    bench/.venv/bin/python bench/bench_server.py [--rounds 2] [--duration 10]
        [--connections 64,256,512] [--apps wsgi,kokoro]
        [--servers kokoro,kokoro-anycpu,waitress,waitress-1cpu,waitress-all,sync,gthread]

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
    # (short name, label, run() server name, run() options)
    ('kokoro', 'kokoropy built-in', 'kokoro', {}),
    # The built-in server keeps its threads to one CPU unless cpu=None lets them spread.
    ('kokoro-anycpu', 'kokoropy built-in, cpu=None', 'kokoro', {'cpu': None}),
    ('waitress', 'waitress, 4 threads', 'waitress', {'threads': 4}),
    # waitress's threads kept to one CPU as the built-in server's are (taskset -c 0).
    ('waitress-1cpu', 'waitress, 4 threads, one CPU', 'waitress', {'threads': 4, 'one_cpu': True}),
    # waitress accepts at most 100 connections unless told otherwise: this one serves them all.
    ('waitress-all', 'waitress, 4 threads, connection_limit=1000', 'waitress',
     {'threads': 4, 'connection_limit': 1000}),
    ('sync', 'gunicorn sync, 2 workers', 'gunicorn', {'workers': 2, 'worker_class': 'sync'}),
    ('gthread', 'gunicorn gthread, 2 workers x 4 threads', 'gunicorn',
     {'workers': 2, 'worker_class': 'gthread', 'threads': 4}),
]
APPS = ['wsgi', 'kokoro']
WAITRESS_LABEL = dict((short, label) for short, label, _, _ in SERVERS)['waitress']


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
    if options.pop('one_cpu', False):
        os.sched_setaffinity(0, (min(os.sched_getaffinity(0)),))
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


def measure(wrk, server, app_name, options, connections, args):
    """Start a server process, run wrk once against it; return a dict of figures or None."""
    port = free_port()
    command = [sys.executable, os.path.abspath(__file__), '--serve', server, app_name,
               str(port), repr(options)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if not wait_until_serving(port, process):
            return None
        subprocess.run([wrk, '-t2', '-c4', '-d1s', 'http://127.0.0.1:%d/' % port],
                       stdout=subprocess.DEVNULL)  # warm up
        load = subprocess.Popen(
            [wrk, '-t2', '-c%d' % connections, '-d%ds' % args.duration, '--latency',
             'http://127.0.0.1:%d/' % port], stdout=subprocess.PIPE)
        time.sleep(args.duration / 2.0)
        unaccepted = accept_queue_length(port)
        output = load.communicate(timeout=args.duration + 60)[0].decode()
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    figures = parse_wrk(output)
    figures['unaccepted'] = unaccepted
    return figures


def parse_wrk(output):
    """req/s, errors (socket errors but timeouts, and non-2xx), timeouts, p50, p99, max (ms)."""
    errors = re.search(r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)',
                       output)
    counts = [int(n) for n in errors.groups()] if errors else [0, 0, 0, 0]
    non_2xx = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    return {'rate': float(re.search(r'Requests/sec:\s+([\d.]+)', output).group(1)),
            'errors': sum(counts[:3]) + (int(non_2xx.group(1)) if non_2xx else 0),
            'timeouts': counts[3],
            'p50': milliseconds(re.search(r'^\s+50%\s+(\S+)', output, re.M).group(1)),
            'p99': milliseconds(re.search(r'^\s+99%\s+(\S+)', output, re.M).group(1)),
            'max': milliseconds(re.search(r'^\s+Latency\s+\S+\s+\S+\s+(\S+)', output,
                                          re.M).group(1))}


def milliseconds(text):
    """wrk's '812.00us', '9.61ms' or '1.25s' in milliseconds."""
    number, unit = re.match(r'([\d.]+)(us|ms|s|m)\Z', text).groups()
    return float(number) * {'us': 0.001, 'ms': 1.0, 's': 1000.0, 'm': 60000.0}[unit]


def accept_queue_length(port):
    """Connections completed by the kernel but not accepted by the server (Linux: the Recv-Q
    of a listening socket in /proc/net/tcp is its accept queue); None elsewhere."""
    try:
        with open('/proc/net/tcp') as table:
            lines = table.read().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if fields[1].endswith(':%04X' % port) and fields[3] == '0A':  # 0A: LISTEN
            return int(fields[4].split(':')[1], 16)
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rounds', type=int, default=2)
    parser.add_argument('--duration', type=int, default=10)
    parser.add_argument('--connections', default='64,256,512')
    parser.add_argument('--apps', default=','.join(APPS))
    parser.add_argument('--servers', default='kokoro,waitress,sync,gthread')
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
    counts = [int(n) for n in args.connections.split(',')]
    servers = [entry for entry in SERVERS if entry[0] in args.servers.split(',')]
    best = {}
    for round_number in range(args.rounds):
        for connections in counts:
            for app_name in apps:
                for _, label, server, options in servers:
                    if not is_installed(server):
                        continue
                    result = measure(wrk, server, app_name, options, connections, args)
                    sys.stderr.write('round %d -c%d %-6s %-40s %s\n' % (
                        round_number + 1, connections, app_name, label, result))
                    key = (connections, app_name, label)
                    if result and (key not in best or result['rate'] > best[key]['rate']):
                        best[key] = result
    print_table(best, counts, apps, servers, args)


def print_table(best, counts, apps, servers, args):
    print('\nwrk -t2 -d%ds --latency, best of %d rounds by req/s; Python %s, %s, %d CPUs, %s\n' % (
        args.duration, args.rounds, platform.python_version(), platform.system(),
        os.cpu_count(), time.strftime('%Y-%m-%d')))
    print('| connections | app | server | req/s | vs waitress | p50 ms | p99 ms | max ms '
          '| timeouts | errors | not accepted |')
    print('|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for connections in counts:
        for app_name in apps:
            baseline = best.get((connections, app_name, WAITRESS_LABEL))
            for _, label, server, _ in servers:
                result = best.get((connections, app_name, label))
                if result is None:
                    print('| %d | %s | %s | not installed or failed | | | | | | | |'
                          % (connections, app_name, label))
                    continue
                ratio = '%.2fx' % (result['rate'] / baseline['rate']) if baseline else '-'
                print('| %d | %s | %s | %.0f | %s | %.1f | %.1f | %.1f | %d | %d | %s |' % (
                    connections, app_name, label, result['rate'], ratio, result['p50'],
                    result['p99'], result['max'], result['timeouts'], result['errors'],
                    '-' if result['unaccepted'] is None else result['unaccepted']))
    for _, label, server, _ in servers:
        if not is_installed(server):
            print('\n%s: not installed in this Python, skipped.' % label)


if __name__ == '__main__':
    main()
