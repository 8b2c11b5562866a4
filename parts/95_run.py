import _thread
import errno
import os
import signal
import subprocess
import sys
import sysconfig
import threading
import time

###############################################################################
# 12. Running
# run() serves an application with the built-in KokoroServer or with wsgiref, gunicorn or
# waitress, stops gracefully on SIGINT/SIGTERM and can restart itself when a source file
# changes (the reloader). Uses the server (section 5) and the default app (section 4).
###############################################################################

__all__ += ['run']

SERVER_NAMES = ('kokoro', 'wsgiref', 'gunicorn', 'waitress')
RELOADER_CHILD_ENV = 'KOKOROPY_RELOADER_CHILD'
RELOAD_EXIT_STATUS = 3
RELOAD_POLL_SECONDS = 1.0
WATCHED_SUFFIXES = ('.py', '.tpl', '.ini', '.cfg')
MAX_WATCHED_FILES = 5000


def run(app=None, host='127.0.0.1', port=8080, server='kokoro', debug=False, reloader=False,
        quiet=False, **options):
    """Serve `app` (default: default_app()) on host:port until Ctrl-C or SIGTERM.

    `server` is 'kokoro' (the built-in server; `options` go to KokoroServer, e.g. threads=64),
    'wsgiref', 'gunicorn' or 'waitress' (options go to those). `debug` sets
    app.config['debug']; `reloader` restarts the program when a .py, .tpl, .ini or .cfg file
    of the project or a loaded module changes; `quiet` turns the access log off. Port 0 picks
    a free port. When the address cannot be bound, prints one line and exits with status 1.
    Raises ValueError for an unknown server name.
    """
    if server not in SERVER_NAMES:
        raise ValueError('unknown server %r: choose one of %s'
                         % (server, ', '.join(repr(name) for name in SERVER_NAMES)))
    if reloader and os.environ.get(RELOADER_CHILD_ENV) != '1':
        sys.exit(_run_reloader_parent())
    app = default_app() if app is None else app
    config = getattr(app, 'config', None)
    if debug and config is not None:
        config['debug'] = True
    if server == 'kokoro' and config is not None and config.get('max_body_bytes'):
        options.setdefault('max_body_bytes', config['max_body_bytes'])
    adapter = _open_server(server, app, host, port, quiet, options)
    if not quiet:
        sys.stderr.write('Kokoropy serving on http://%s:%d/ (Ctrl-C to stop)\n'
                         % (_url_host(host), adapter.port))
        sys.stderr.flush()
    watcher = _ReloadWatcher(adapter) if reloader else None
    _serve_until_signal(adapter)
    if watcher is not None and watcher.changed_file:
        sys.exit(RELOAD_EXIT_STATUS)


def _open_server(name, app, host, port, quiet, options):
    """Bind the chosen server; on failure print one line and exit 1 (no traceback)."""
    adapter_class = {'kokoro': _KokoroAdapter, 'wsgiref': _WsgirefAdapter,
                     'gunicorn': _GunicornAdapter, 'waitress': _WaitressAdapter}[name]
    try:
        return adapter_class(app, host, port, quiet, options)
    except _ServerNotInstalled:
        sys.stderr.write('kokoropy: the %s server is not installed (pip install %s)\n'
                         % (name, name))
    except OSError as exc:
        reason = 'address already in use' if exc.errno == errno.EADDRINUSE else \
            (exc.strerror or str(exc)).lower()
        sys.stderr.write('kokoropy: cannot listen on %s:%s: %s\n' % (host, port, reason))
    sys.exit(1)


def _serve_until_signal(adapter):
    """Serve; SIGINT and SIGTERM stop gracefully when we are in the main thread."""
    if not adapter.wants_signal_handlers or \
            threading.current_thread() is not threading.main_thread():
        adapter.serve()
        return
    previous = {}

    def stop(signum, frame):
        adapter.stop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, stop)
    try:
        adapter.serve()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _url_host(host):
    host = host or '0.0.0.0'
    return '[%s]' % host if ':' in host else host


class _KokoroAdapter(object):
    """The built-in KokoroServer behind the adapter interface run() uses."""

    wants_signal_handlers = True

    def __init__(self, app, host, port, quiet, options):
        self.server = KokoroServer(app, host, port, quiet=quiet, **options)
        self.port = self.server.port

    def serve(self):
        if not self.server.serve_forever():
            # A handler still running would keep the interpreter from ever exiting.
            sys.stderr.write('kokoropy: requests still running %g s after the shutdown '
                             'signal; exiting\n' % self.server.shutdown_timeout)
            sys.stderr.flush()
            os._exit(1)

    def stop(self):
        """Graceful stop, from a signal handler or from another thread."""
        self.server.shutdown()


class _WsgirefAdapter(object):
    """The standard library's wsgiref server, with a thread per request."""

    wants_signal_handlers = True

    def __init__(self, app, host, port, quiet, options):
        import socketserver
        from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

        class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
            daemon_threads = True

        class QuietHandler(WSGIRequestHandler):
            def log_message(self, *args):
                pass
        handler = QuietHandler if quiet else WSGIRequestHandler
        self.server = make_server(host, port, app, ThreadingWSGIServer, handler)
        self.port = self.server.server_port

    def serve(self):
        try:
            self.server.serve_forever()
        finally:
            self.server.server_close()

    def stop(self):
        # socketserver's shutdown() waits for serve_forever(): never call it in its thread.
        threading.Thread(target=self.server.shutdown, daemon=True).start()


class _WaitressAdapter(object):
    """waitress (pip install waitress); it stops on KeyboardInterrupt."""

    wants_signal_handlers = False

    def __init__(self, app, host, port, quiet, options):
        try:
            import waitress
        except ImportError:
            raise _ServerNotInstalled('waitress')
        self.server = waitress.create_server(app, host=host, port=port, **options)
        self.port = int(self.server.effective_port)

    def serve(self):
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            self.server.run()
        except KeyboardInterrupt:
            pass
        finally:
            self.server.close()
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def stop(self):
        _thread.interrupt_main()


class _GunicornAdapter(object):
    """gunicorn (pip install gunicorn), which binds, forks and handles signals itself."""

    wants_signal_handlers = False

    def __init__(self, app, host, port, quiet, options):
        try:
            from gunicorn.app.base import BaseApplication
        except ImportError:
            raise _ServerNotInstalled('gunicorn')
        settings = {'bind': '%s:%d' % (_url_host(host), port)}
        if not quiet:
            settings['accesslog'] = '-'
        settings.update(options)

        class Application(BaseApplication):
            def load_config(self):
                for key, value in settings.items():
                    self.cfg.set(key.lower(), value)

            def load(self):
                return app
        self.application = Application()
        self.port = port

    def serve(self):
        self.application.run()

    def stop(self):
        os._exit(RELOAD_EXIT_STATUS)  # only the reloader calls this; workers follow the arbiter


class _ServerNotInstalled(Exception):
    """The optional server run() was asked for cannot be imported."""


def _raise_keyboard_interrupt(signum, frame):
    raise KeyboardInterrupt()


# -- the reloader ---------------------------------------------------------------------------

class _ReloadWatcher(object):
    """In the reloader's child: polls the watched files' mtimes once a second in a thread and
    stops the server when one changes, so that the child exits with RELOAD_EXIT_STATUS."""

    def __init__(self, adapter):
        self.adapter = adapter
        self.changed_file = None
        self.snapshot = _watched_mtimes()
        thread = threading.Thread(target=self._watch, name='kokoropy-reloader')
        thread.daemon = True
        thread.start()

    def _watch(self):
        while True:
            time.sleep(RELOAD_POLL_SECONDS)
            current = _watched_mtimes()
            if current != self.snapshot:
                changed = set(current.items()) ^ set(self.snapshot.items())
                self.changed_file = sorted(path for path, _ in changed)[0]
                sys.stderr.write('kokoropy: %s changed; reloading\n' % self.changed_file)
                self.adapter.stop()
                return


def _watched_mtimes():
    """Map each watched file to its mtime: project files under the current folder with a
    watched suffix, and the source files of loaded modules outside the Python installation."""
    paths = set()
    for folder, subfolders, names in os.walk(os.getcwd()):
        subfolders[:] = [name for name in subfolders if not name.startswith('.')
                         and name not in ('__pycache__', 'node_modules')]
        paths.update(os.path.join(folder, name) for name in names
                     if name.endswith(WATCHED_SUFFIXES))
        if len(paths) > MAX_WATCHED_FILES:
            break
    installed = tuple(path for path in set(sysconfig.get_paths().values()) if path)
    for module in list(sys.modules.values()):
        path = getattr(module, '__file__', None)
        if path and path.endswith('.py') and not path.startswith(installed):
            paths.add(path)
    mtimes = {}
    for path in paths:
        try:
            mtimes[path] = os.stat(path).st_mtime
        except OSError:
            pass
    return mtimes


def _run_reloader_parent():
    """Run this program again as a child that serves; start it again each time it exits with
    RELOAD_EXIT_STATUS. Returns the exit status of the last child."""
    env = dict(os.environ)
    env[RELOADER_CHILD_ENV] = '1'
    arguments = _child_arguments()
    stopping = []
    while True:
        child = subprocess.Popen(arguments, env=env)
        status = _wait_forwarding_signals(child, stopping)
        if status != RELOAD_EXIT_STATUS or stopping:
            return 128 - status if status < 0 else status


def _wait_forwarding_signals(child, stopping):
    """Wait for the child; SIGINT/SIGTERM to this process are passed on to it (a Ctrl-C in a
    terminal reaches both; the child then shuts down gracefully once)."""
    if threading.current_thread() is not threading.main_thread():
        return child.wait()

    def forward(signum, frame):
        stopping.append(signum)
        try:
            child.send_signal(signum)
        except OSError:
            pass
    previous = dict((signum, signal.signal(signum, forward))
                    for signum in (signal.SIGINT, signal.SIGTERM))
    try:
        return child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _child_arguments():
    """The command line that started this program, to start it again."""
    if getattr(sys, 'orig_argv', None):  # Python 3.10+: exactly what was typed
        return [sys.executable] + list(sys.orig_argv[1:])
    options = ['-W' + option for option in sys.warnoptions]
    spec = getattr(sys.modules.get('__main__'), '__spec__', None)
    if spec is not None and spec.name:  # started with python -m
        name = spec.name[:-len('.__main__')] if spec.name.endswith('.__main__') else spec.name
        return [sys.executable] + options + ['-m', name] + sys.argv[1:]
    if sys.argv[0] in ('-c', ''):
        raise RuntimeError('the reloader cannot restart "python -c"; put the code in a file')
    return [sys.executable] + options + sys.argv
