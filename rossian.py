#!/usr/bin/env python3
"""Rossian: the Kokoropy command line (serve, scaffold, migrate).

    python rossian.py help                      the commands, with one example each
    python rossian.py help scaffold-crud        one command's details
    python rossian.py start --port 8080         serve every application
    python rossian.py scaffold-application shop
    python rossian.py scaffold-crud shop product name:string price:float photo:upload
    python rossian.py migration-upgrade

Contents:

1. Command table and dispatcher   Command, the @command decorator, main()
2. Project helpers                 project folder, names, column specs, all-or-nothing writes
3. Templates of generated files    every file the scaffold commands write, in one place
4. Code generation                 fields, migrations, models and CRUD from column specs
5. Commands                        help, start, migration-*, scaffold-*

Rossian imports only the standard library and the kokoropy.py that stands beside it.
"""
import argparse
import ast
import collections
import getpass
import keyword
import os
import re
import socket
import string
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
if sys.path[:1] != [HERE]:
    sys.path.insert(0, HERE)

###############################################################################
# 1. Command table and dispatcher
# One function per command, registered with @command in COMMANDS; `help` reads the
# table, and main() parses a command's arguments with argparse and runs it.
###############################################################################

PROG = 'python rossian.py'


class UsageError(Exception):
    """Bad command-line input: reported in one line with the usage, exit status 2."""


class CommandError(Exception):
    """A command that could not do its work (port in use, failed migration): exit status 1."""


Command = collections.namedtuple(
    'Command', 'name function arguments summary example details')

COMMANDS = collections.OrderedDict()


def argument(*flags, **options):
    """Describe one argparse argument of a command: the arguments of add_argument()."""
    return flags, options


def command(name, summary, example, arguments=(), details=''):
    """Register the decorated function as the command `name` in COMMANDS.

    `arguments` are argument() descriptions, `summary` one line for the list, `example` one
    command line and `details` the text `help NAME` prints below the usage.
    """
    def register(function):
        COMMANDS[name] = Command(name, function, tuple(arguments), summary, example,
                                 details.strip('\n'))
        return function
    return register


class _ArgumentParser(argparse.ArgumentParser):
    """argparse that raises UsageError instead of printing and exiting."""

    def error(self, message):
        raise UsageError(message)


def command_parser(cmd):
    """Return the argparse parser of a Command (every command also accepts --debug)."""
    parser = _ArgumentParser(prog='%s %s' % (PROG, cmd.name), add_help=False,
                             allow_abbrev=False)
    for flags, options in cmd.arguments:
        parser.add_argument(*flags, **options)
    if not any('--debug' in flags for flags, _options in cmd.arguments):
        parser.add_argument('--debug', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('-h', '--help', action='store_true', help=argparse.SUPPRESS)
    return parser


def command_usage(cmd):
    """One line: the command and its arguments, e.g. 'start [--host HOST] [--port PORT] ...'."""
    usage = ' '.join(command_parser(cmd).format_usage().split())
    return usage[len('usage: '):].replace(' [-h]', '')


def main(argv=None):
    """Run the command named by argv (default sys.argv[1:]); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = '--debug' in argv
    if not argv or argv[0] in ('-h', '--help'):
        argv = ['help']
    cmd = COMMANDS.get(argv[0])
    try:
        if cmd is None:
            raise UsageError('unknown command %r; run: %s help' % (argv[0], PROG))
        args = command_parser(cmd).parse_args(argv[1:])
        if args.help:
            return cmd_help(argparse.Namespace(command=cmd.name))
        return cmd.function(args) or 0
    except UsageError as exc:
        if show_traceback:
            traceback.print_exc()
        sys.stderr.write('rossian: error: %s\n' % exc)
        sys.stderr.write('usage: %s\n' % (command_usage(cmd) if cmd else
                                           PROG + ' COMMAND [ARGUMENTS]  (see: %s help)' % PROG))
        return 2
    except CommandError as exc:
        if show_traceback:
            traceback.print_exc()
        sys.stderr.write('rossian: error: %s\n' % exc)
        return 1
    except KeyboardInterrupt:
        sys.stderr.write('rossian: interrupted\n')
        return 130
    except Exception as exc:
        if show_traceback:
            raise
        sys.stderr.write('rossian: error: %s: %s (run again with --debug for a traceback)\n'
                         % (type(exc).__name__, _one_line(exc)))
        return 1


def _one_line(exc):
    """The message of an exception on one line."""
    return ' '.join(str(exc).split()) or type(exc).__name__


###############################################################################
# 2. Project helpers
# Where the project is, which names an application, table or column may take, how a
# `name:type` column spec reads, and FilePlan, which writes a command's files all or none.
###############################################################################

NAME_PATTERN = re.compile(r'^[a-z][a-z0-9_]*$')
# Names an application may not take: they would shadow a module Kokoropy or Python imports,
# or a folder and URL the project already uses.
RESERVED_NAMES = frozenset([
    'kokoropy', 'rossian', 'applications', 'assets', 'db', 'tests', 'test', 'wsgi', 'config',
    'page', 'static', 'migrations', 'models', 'views', 'controllers', 'routes', 'site'])
COLUMN_TYPES = ('string', 'text', 'integer', 'float', 'boolean', 'date', 'datetime', 'upload',
                'password', 'email')
REFERENCE_SYNTAX = 'NAME:ref:TABLE'
COLUMN_OPTIONS = ('required', 'unique')
# Columns every model already has.
IMPLICIT_COLUMNS = ('id', 'created_at', 'updated_at')

Column = collections.namedtuple('Column', 'name type target options')


def project_path():
    """The project folder: rossian.py's own folder when it holds applications/ or kokoropy.py
    (the usual copy-two-files install), else the current folder (an installed `rossian`)."""
    for marker in ('applications', 'kokoropy.py'):
        if os.path.exists(os.path.join(HERE, marker)):
            return HERE
    return os.getcwd()


def applications_path():
    """The applications/ folder of the project."""
    return os.path.join(project_path(), 'applications')


def load_kokoropy():
    """Import kokoropy (rossian.py's folder comes first on sys.path) or fail in one line."""
    if project_path() not in sys.path:
        sys.path.insert(1, project_path())
    try:
        import kokoropy
    except Exception as exc:
        raise CommandError('cannot import kokoropy.py (looked in %s first): %s'
                           % (HERE, _one_line(exc)))
    return kokoropy


def _stdlib_module_names():
    """Top-level module names of the standard library (sys.stdlib_module_names on 3.10+)."""
    names = getattr(sys, 'stdlib_module_names', None)
    if names:
        return set(names)
    import pkgutil
    import sysconfig
    stdlib = sysconfig.get_paths()['stdlib']
    folders = [stdlib, os.path.join(stdlib, 'lib-dynload')]
    return set(sys.builtin_module_names) | set(m.name for m in pkgutil.iter_modules(folders))


def check_identifier(name, what):
    """Raise UsageError unless name is a lowercase Python identifier and not a keyword."""
    if not NAME_PATTERN.match(name or ''):
        raise UsageError('%s %r is not a lowercase Python identifier (letters, digits and _, '
                         'starting with a letter)' % (what, name))
    if keyword.iskeyword(name) or name in ('match', 'case', 'print', 'exec'):
        raise UsageError('%s %r is a Python keyword; choose another name' % (what, name))


def check_new_application_name(name):
    """Raise UsageError when `name` cannot be a new application's name."""
    check_identifier(name, 'application name')
    if name in RESERVED_NAMES:
        raise UsageError('application name %r is reserved by Kokoropy; choose another name' % name)
    if name in _stdlib_module_names():
        raise UsageError('application name %r is a Python standard library module; '
                         'choose another name' % name)
    if os.path.exists(os.path.join(applications_path(), name)):
        raise UsageError('application %r already exists in %s'
                         % (name, _relative(os.path.join(applications_path(), name))))


def existing_application(name):
    """Return the folder of the existing application `name`, or raise UsageError."""
    check_identifier(name, 'application name')
    folder = os.path.join(applications_path(), name)
    if not os.path.isfile(os.path.join(folder, '__init__.py')):
        raise UsageError('no application %r in %s; create it with: %s scaffold-application %s'
                         % (name, _relative(applications_path()), PROG, name))
    return folder


def parse_column(spec):
    """Parse `name:type`, `name:ref:table`, each optionally followed by `:required` and/or
    `:unique`, into a Column; raise UsageError naming the valid types otherwise."""
    parts = spec.split(':')
    options = []
    while len(parts) > 2 and parts[-1] in COLUMN_OPTIONS:
        options.insert(0, parts.pop())
    valid = ', '.join(COLUMN_TYPES) + ', or ' + REFERENCE_SYNTAX
    if len(parts) == 3 and parts[1] == 'ref':
        check_identifier(parts[0], 'column name')
        check_identifier(parts[2], 'referenced table')
        return Column(parts[0], 'ref', parts[2], tuple(options))
    if len(parts) != 2:
        raise UsageError('column %r must read NAME:TYPE or %s (then optionally :%s); '
                         'valid types: %s' % (spec, REFERENCE_SYNTAX, ' :'.join(COLUMN_OPTIONS),
                                              valid))
    name, kind = parts
    check_identifier(name, 'column name')
    if kind not in COLUMN_TYPES:
        raise UsageError('unknown column type %r in %r; valid types: %s' % (kind, spec, valid))
    return Column(name, kind, None, tuple(options))


def parse_columns(specs, model_attributes=()):
    """Parse column specs, refusing duplicates, the columns every model has and names that
    `model_attributes` (Model's own methods) take."""
    columns, seen = [], set()
    for spec in specs:
        column = parse_column(spec)
        if column.name in IMPLICIT_COLUMNS:
            raise UsageError('column %r is added to every model already; leave it out'
                             % column.name)
        if column.name in model_attributes:
            raise UsageError('column %r would hide Model.%s; choose another name'
                             % (column.name, column.name))
        storage = column_name(column)
        if column.name in seen or storage in seen:
            raise UsageError('column %r is given twice' % column.name)
        seen.update([column.name, storage])
        columns.append(column)
    return columns


def column_name(column):
    """The table column a Column uses: a reference `category` is stored in `category_id`."""
    if column.type == 'ref' and not column.name.endswith('_id'):
        return column.name + '_id'
    return column.name


def _relative(path):
    """A path relative to the project folder, for messages."""
    return os.path.relpath(path, project_path())


class FilePlan(object):
    """The files one command writes: checked first, then written together or not at all.

    add() files (new by default; `replace=True` for a file that may exist, like a routes.py
    the command extends), check() refuses existing targets, write() writes every file through
    a temporary copy and undoes everything when one fails.
    """

    def __init__(self):
        self.files = collections.OrderedDict()

    def add(self, path, content, replace=False):
        """Plan to write `content` (text) to `path`."""
        self.files[os.path.abspath(path)] = (content, replace)

    def check(self):
        """Raise UsageError when a planned new file exists already."""
        for path, (_content, replace) in self.files.items():
            if not replace and os.path.exists(path):
                raise UsageError('%s exists already; nothing was written' % _relative(path))

    def write(self, out=None):
        """Write every planned file, report each on `out`, undo all on any failure."""
        self.check()
        created_dirs, temps, done = [], [], []
        try:
            for path, (content, _replace) in self.files.items():
                created_dirs.extend(_make_dirs(os.path.dirname(path)))
                temps.append((_write_temp(path, content), path))
            for temp, path in temps:
                backup = _read(path) if os.path.exists(path) else None
                os.replace(temp, path)
                done.append((path, backup))
        except BaseException:
            self._undo(temps, done, created_dirs)
            raise
        for path, backup in done:
            (out or sys.stdout).write('%s %s\n' % ('updated' if backup is not None else 'created',
                                                   _relative(path)))

    @staticmethod
    def _undo(temps, done, created_dirs):
        for temp, _path in temps:
            if os.path.exists(temp):
                os.remove(temp)
        for path, backup in reversed(done):
            if backup is None:
                os.remove(path)
            else:
                with open(path, 'w', encoding='utf-8', newline='\n') as f:
                    f.write(backup)
        for folder in reversed(created_dirs):
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)


def _make_dirs(folder):
    """Create folder and its missing parents; return the ones created, outermost first."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        os.mkdir(path)
    return list(reversed(missing))


def _write_temp(path, content):
    """Write content to a temporary file beside path and return the temporary file's name."""
    handle, temp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.',
                                    suffix='.tmp', dir=os.path.dirname(path))
    with os.fdopen(handle, 'w', encoding='utf-8', newline='\n') as f:
        f.write(content)
    os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes private files; these are ordinary sources
    return temp


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _read(path):
    with open(path, encoding='utf-8') as f:
        return f.read()


###############################################################################
# 3. Templates of generated files
# Every file a scaffold command writes, as string.Template text: $name (or ${name}) is filled
# in by render(); `$$` is a literal dollar. Nothing else in rossian.py holds generated code.
###############################################################################

TEMPLATES = {}

TEMPLATES['application/__init__.py'] = '''\
"""The $app application: its pages are under /$app.

routes.py lists its URLs, controllers/ holds its request handlers, models/ its tables, views/
its templates, assets/ its static files (served at /$app/assets/...) and migrations/ the
changes to its tables (python rossian.py migration-upgrade $app).
"""
'''

TEMPLATES['application/routes.py'] = '''\
"""URLs of the $app application.

`urls` holds (url, handler[, methods[, route name]]) tuples, `hooks` (hook name, handler) pairs
and `errors` (status, handler) pairs. URLs start at the site root; build links with
url('route name') in code and templates.
"""
from kokoropy import template


def hello(name='world'):
    """Greet someone: /$app greets the world, /$app/hello/<name> greets <name>."""
    return template('$app/index', name=name)


urls = [
    ('/$app', hello, 'GET', '$app.index'),
    ('/$app/hello/<name>', hello, 'GET', '$app.hello'),
]
hooks = []
errors = []
'''

TEMPLATES['application/controllers/__init__.py'] = '''\
"""Controllers of the $app application.

Handlers that routes.py names live in modules here. A subclass of kokoropy.Autoroute_Controller
in a module of this folder is published without routes.py: in controllers/shelf.py, the method
`get_list(self)` answers GET /$app/shelf/list and `action_index(self)` answers /$app/shelf.
"""
'''

TEMPLATES['application/models/__init__.py'] = '''\
"""Models of the $app application: one module per model, each a kokoropy.Model subclass.

Create one with its migration: python rossian.py scaffold-model $app TABLE NAME:TYPE ...
"""
'''

TEMPLATES['application/migrations/__init__.py'] = '''\
"""Migrations of the $app application: files NNNN_name.py with upgrade(db) and downgrade(db).

Apply them with: python rossian.py migration-upgrade $app
"""
'''

TEMPLATES['application/views/index.tpl'] = '''\
% rebase('index/base', title='$title')
<h1>Hello, {{name}}!</h1>
<p>This page belongs to the <strong>$app</strong> application. Change its words in
<code>applications/$app/views/index.tpl</code> and its URLs in
<code>applications/$app/routes.py</code>.</p>
<p>Next steps:</p>
<ul>
<li><code>python rossian.py scaffold-crud $app product name:string price:float</code>
adds pages to list, create, edit and delete products.</li>
<li><code>python rossian.py migration-upgrade $app</code> then creates their table.</li>
</ul>
'''

TEMPLATES['application/assets/.gitkeep'] = ''


def render(template_name, **values):
    """Fill in the named template of TEMPLATES with values."""
    return string.Template(TEMPLATES[template_name]).substitute(values)


###############################################################################
# 5. Commands
# One function per command, in the order `help` lists them.
###############################################################################

@command('help', 'list the commands, or show one command in detail',
         '%s help scaffold-crud' % PROG,
         [argument('command', nargs='?', metavar='COMMAND', help='the command to describe')])
def cmd_help(args):
    """Print the command list, or the usage, details, options and example of one command."""
    if args.command is None:
        sys.stdout.write(_command_list())
        return 0
    cmd = COMMANDS.get(args.command)
    if cmd is None:
        raise UsageError('unknown command %r; the commands are: %s'
                         % (args.command, ', '.join(COMMANDS)))
    parser = command_parser(cmd)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.description = cmd.summary[0].upper() + cmd.summary[1:] + '.' + (
        '\n\n' + cmd.details if cmd.details else '')
    parser.epilog = 'example:\n  %s' % cmd.example
    sys.stdout.write(parser.format_help())
    return 0


def _command_list():
    lines = ['Rossian, the Kokoropy command line.',
             'usage: %s COMMAND [ARGUMENTS] [--debug]' % PROG, '', 'commands:']
    for cmd in COMMANDS.values():
        lines.append('  ' + command_usage(cmd)[len(PROG) + 1:])
        lines.append('      %s' % cmd.summary)
        lines.append('      e.g. %s' % cmd.example)
    lines += ['', 'column types (scaffold-migration, scaffold-model, scaffold-crud): NAME:TYPE '
              'with TYPE one of', '  ' + ' '.join(COLUMN_TYPES) + ', or %s for a reference to '
              'another table' % REFERENCE_SYNTAX, '  (e.g. category:ref:category).',
              '', '%s help COMMAND shows one command in detail; --debug shows a traceback '
              'when a command fails.' % PROG, '']
    return '\n'.join(lines)


SERVERS = ('kokoro', 'wsgiref', 'gunicorn', 'waitress')


def _port_number(text):
    """argparse type for --port: a whole number from 0 to 65535."""
    if not re.match(r'^[0-9]{1,5}$', text) or int(text) > 65535:
        raise argparse.ArgumentTypeError('%r is not a port number (0-65535)' % text)
    return int(text)


@command('start', 'serve every application of the project', '%s start --port 8080' % PROG, [
    argument('--host', default='127.0.0.1',
             help='interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)'),
    argument('--port', type=_port_number, default=8080, help='TCP port (default 8080)'),
    argument('--server', choices=SERVERS, default='kokoro', metavar='SERVER',
             help='kokoro (built in, default), wsgiref, gunicorn or waitress'),
    argument('--baseurl', metavar='PATH', help='serve every page under this path, e.g. /kokoropy/'),
    argument('--runtimepath', metavar='FOLDER',
             help='folder for the generated secret and other runtime files (default .runtime)'),
    argument('--debug', action='store_true',
             help='debug mode: tracebacks in pages and on the console, templates reloaded'),
    argument('--reload', action='store_true',
             help='restart when a .py, .tpl or config file of the project changes'),
    argument('--quiet', action='store_true', help='do not log each request')],
    details="""
Loads applications/config.py, KOKOROPY_* environment variables and these flags (flags win),
loads every application under applications/ and serves them until Ctrl+C.
On a fresh checkout, when the SQLite database file does not exist yet, it is created and every
application's migrations are applied first; when it exists and migrations are pending, a warning
names `python rossian.py migration-upgrade`.""")
def cmd_start(args):
    """Load the configuration and the applications, prepare the database, and serve."""
    kokoropy = load_kokoropy()
    # The reloader watches the current folder, and Bottle-style ./views/ lookups start there.
    os.chdir(project_path())
    overrides = {'base_url': args.baseurl, 'runtime_path': args.runtimepath,
                 'debug': True if args.debug else None}
    config = configure(kokoropy, overrides)
    is_first_process = not _is_reloader_child()
    if is_first_process:
        prepare_database(kokoropy, config)
        if args.port:
            _check_port_free(args.host, args.port)
    app = kokoropy.load_project(project_path(), overrides)
    if is_first_process:
        where = _site_url(args.host, args.port, config['base_url']) if args.port else \
            'the address the server prints below'
        sys.stdout.write('Open %s in a browser.\n' % where)
        sys.stdout.flush()
    try:
        kokoropy.run(app, host=args.host, port=args.port, server=args.server,
                     debug=bool(config.get('debug')), reloader=args.reload, quiet=args.quiet)
    except OSError as exc:
        raise CommandError('cannot serve on %s:%s: %s' % (args.host, args.port, _one_line(exc)))
    return 0


def configure(kokoropy, overrides=None):
    """Configure the default app from the project (load_config) and return the settings.

    Models and migrations then use the project's database; a bad setting is a CommandError.
    """
    try:
        config = kokoropy.load_config(project_path(), overrides)
    except ValueError as exc:
        raise CommandError(_one_line(exc))
    kokoropy.default_app().config.update(config)
    return config


def prepare_database(kokoropy, config):
    """Before serving: on a fresh checkout (no SQLite file yet) create the database and apply
    every migration; otherwise warn, in one line, when migrations are pending."""
    path = database_file(config)
    if path is None:
        return
    migrator = kokoropy.Migrator(kokoropy.default_database(), applications_path())
    if not os.path.exists(path):
        sys.stdout.write('Creating the database %s and applying the migrations:\n'
                         % _relative(path))
        run_migrations(lambda: migrator.apply_pending())
        return
    try:
        pending = migrator.pending()
    except kokoropy.MigrationError as exc:
        raise CommandError(_one_line(exc))
    if pending:
        sys.stderr.write('rossian: warning: %d migration(s) not applied yet (%s); run: %s '
                         'migration-upgrade\n' % (len(pending), ', '.join(
                             m.label for m in pending[:3]) + (', ...' if len(pending) > 3
                                                             else ''), PROG))


def database_file(config):
    """The absolute path of the configured SQLite file, or None for an in-memory database."""
    url = str(config.get('database_url') or '')
    path = url[len('sqlite:///'):].split('?', 1)[0] if url.startswith('sqlite:///') else url
    if path in ('', ':memory:') or url == 'sqlite://':
        return None
    return os.path.join(config.get('project_path') or project_path(), path)


def _is_reloader_child():
    """True in the child process that the reloader restarts on every change."""
    return bool(os.environ.get('KOKOROPY_RELOADER_CHILD'))


def _check_port_free(host, port):
    """Raise CommandError when something already listens on host:port."""
    probe = socket.socket(socket.AF_INET6 if ':' in host else socket.AF_INET, socket.SOCK_STREAM)
    try:
        if os.name != 'nt':
            # Same option as the server, so a port left in TIME_WAIT is not reported as taken.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
    except OSError as exc:
        raise CommandError('cannot listen on %s port %d (%s); is another server running? '
                           'choose another with --port' % (host, port, exc.strerror or exc))
    finally:
        probe.close()


def _site_url(host, port, base_url):
    """The URL a browser should open for a server bound to host:port."""
    if base_url.startswith(('http://', 'https://')):
        return base_url
    shown = {'0.0.0.0': '127.0.0.1', '::': '[::1]', '': '127.0.0.1'}.get(host, host)
    if ':' in shown and not shown.startswith('['):
        shown = '[%s]' % shown
    return 'http://%s:%d%s' % (shown, port, base_url)



@command('scaffold-application', 'create an application folder with a working hello page',
         '%s scaffold-application shop' % PROG,
         [argument('app', metavar='APP', help='name of the new application: a lowercase '
                   'Python identifier, not a keyword, a standard module or a reserved name')],
         details="""
Writes applications/APP/ with __init__.py, routes.py (a hello page at /APP and /APP/hello/NAME),
controllers/, models/, views/index.tpl (extending the index layout), assets/ and migrations/.
Refuses a name that is not a lowercase identifier, a Python keyword or standard library module,
a reserved name (%s) or an existing application.""" % ', '.join(sorted(RESERVED_NAMES)))
def cmd_scaffold_application(args):
    """Write the folder of a new application."""
    check_new_application_name(args.app)
    plan = FilePlan()
    add_application_files(plan, args.app)
    plan.write()
    sys.stdout.write('Application %s is ready: start the server and open /%s\n'
                     % (args.app, args.app))
    return 0


def add_application_files(plan, app):
    """Plan every file of a new application folder."""
    folder = os.path.join(applications_path(), app)
    for name in sorted(TEMPLATES):
        if name.startswith('application/'):
            relative = name[len('application/'):]
            plan.add(os.path.join(folder, *relative.split('/')),
                     render(name, app=app, title=_words(app).capitalize()))


def _words(name):
    """An identifier as words: 'blog_post' -> 'blog post'."""
    return name.replace('_', ' ')



# --- migrations ------------------------------------------------------------------------------

@command('migration-upgrade', 'apply the migrations not applied yet (of every application, '
         'or of APP)', '%s migration-upgrade shop' % PROG, [
             argument('app', nargs='?', metavar='APP', help='only this application'),
             argument('--to', type=int, metavar='VERSION',
                      help='stop after this version (needs APP)')],
         details="""
Runs applications/*/migrations/NNNN_name.py upgrade(db) functions in order, each in its own
transaction, and records them in the kokoropy_migrations table. Prints each migration with the
time it took. A failing migration is rolled back whole; the command then stops with exit status
1 (the ones before it stay applied).""")
def cmd_migration_upgrade(args):
    """Apply the pending migrations."""
    if args.to is not None and args.app is None:
        raise UsageError('--to needs an application: %s migration-upgrade APP --to %d'
                         % (PROG, args.to))
    if args.app is not None:
        existing_application(args.app)
    kokoropy = load_kokoropy()
    configure(kokoropy)
    migrator = kokoropy.Migrator(kokoropy.default_database(), applications_path())
    if not run_migrations(lambda: migrator.apply_pending(args.app, args.to)):
        sys.stdout.write('Nothing to apply: the database is up to date.\n')
    return 0


@command('migration-downgrade', 'undo the last migration of APP (or the last N)',
         '%s migration-downgrade shop --steps 2' % PROG, [
             argument('app', metavar='APP', help='the application whose migrations to undo'),
             argument('--steps', type=int, default=1, metavar='N',
                      help='how many migrations to undo, newest first (default 1)')],
         details="""
Runs the downgrade(db) function of the application's newest applied migrations, each in its own
transaction, and removes them from the kokoropy_migrations table.""")
def cmd_migration_downgrade(args):
    """Undo the newest applied migrations of one application."""
    if args.steps < 1:
        raise UsageError('--steps must be 1 or more, not %d' % args.steps)
    existing_application(args.app)
    kokoropy = load_kokoropy()
    configure(kokoropy)
    migrator = kokoropy.Migrator(kokoropy.default_database(), applications_path())
    if not run_migrations(lambda: migrator.downgrade(args.app, args.steps), 'reverted'):
        sys.stdout.write('Nothing to undo: no migration of %s is applied.\n' % args.app)
    return 0


@command('migration-log', 'list the applied migrations, then the pending ones',
         '%s migration-log' % PROG, [
             argument('app', nargs='?', metavar='APP', help='only this application')])
def cmd_migration_log(args):
    """Print the migration history and what is still pending."""
    if args.app is not None:
        existing_application(args.app)
    kokoropy = load_kokoropy()
    configure(kokoropy)
    migrator = kokoropy.Migrator(kokoropy.default_database(), applications_path())
    try:
        applied, pending = migrator.log(args.app), migrator.pending(args.app)
    except kokoropy.MigrationError as exc:
        raise CommandError(_one_line(exc))
    rows = [('applied at', 'application', 'migration')]
    rows += [(str(row['applied_at'])[:19], row['application'],
              '%04d_%s' % (row['version'], row['name'])) for row in applied]
    rows += [('pending', m.application, '%04d_%s' % (m.version, m.name)) for m in pending]
    if len(rows) == 1:
        sys.stdout.write('No migrations: no application has a migrations/NNNN_name.py file.\n')
        return 0
    widths = [max(len(row[i]) for row in rows) for i in range(2)]
    for row in rows:
        sys.stdout.write('%-*s  %-*s  %s\n' % (widths[0], row[0], widths[1], row[1], row[2]))
    return 0


def run_migrations(run, verb='applied'):
    """Call run() (a Migrator method returning [(Migration, seconds)]), print each migration
    that ran and its duration; a MigrationError becomes a one-line CommandError."""
    kokoropy = load_kokoropy()
    try:
        done = run()
    except kokoropy.MigrationError as exc:
        _print_migrations(getattr(exc, 'completed', ()), verb)
        raise CommandError(_one_line(exc))
    _print_migrations(done, verb)
    return done


def _print_migrations(done, verb):
    for migration, seconds in done:
        sys.stdout.write('%s %s (%.1f ms)\n' % (verb, migration.label, seconds * 1000))


if __name__ == '__main__':
    sys.exit(main())
