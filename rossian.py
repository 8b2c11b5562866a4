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
5. Commands                        help, start, scaffold-*, migration-*

Rossian imports only the standard library and the kokoropy.py that stands beside it.
"""
import argparse
import ast
import collections
import contextlib
import getpass
import importlib
import importlib.util
import io
import keyword
import os
import re
import socket
import string
import sys
import tempfile
import textwrap
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
                             allow_abbrev=False, usage=command_usage(cmd))
    for flags, options in cmd.arguments:
        parser.add_argument(*flags, **options)
    if not any('--debug' in flags for flags, _options in cmd.arguments):
        parser.add_argument('--debug', action='store_true', help=argparse.SUPPRESS)
    parser.add_argument('-h', '--help', action='store_true', help=argparse.SUPPRESS)
    return parser


def command_usage(cmd):
    """The command and its arguments in declared order, e.g.
    'python rossian.py scaffold-view APP TABLE VIEW [--force]'."""
    words = [PROG, cmd.name]
    for flags, options in cmd.arguments:
        metavar = options.get('metavar') or flags[-1].lstrip('-').upper()
        if not flags[0].startswith('-'):
            words.append({'?': '[%s]', '*': '[%s ...]'}.get(options.get('nargs'), '%s')
                         % metavar)
        elif options.get('action') in ('store_true', 'store_false'):
            words.append('[%s]' % flags[0])
        else:
            words.append('[%s %s]' % (flags[0], metavar))
    return ' '.join(words)


def main(argv=None):
    """Run the command named by argv (default sys.argv[1:]); return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    show_traceback = '--debug' in argv
    while argv[:1] == ['--debug']:
        argv.pop(0)
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
# Columns the ORM adds itself (position and trashed_at for ordered and soft-delete models).
IMPLICIT_COLUMNS = ('id', 'created_at', 'updated_at', 'position', 'trashed_at')

Column = collections.namedtuple('Column', 'name type target options')


def project_path():
    """The project folder: rossian.py's own folder when it holds applications/ (the usual
    copy-the-files install), else the current folder (a `rossian` installed with pip)."""
    if os.path.isdir(os.path.join(HERE, 'applications')):
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
    if keyword.iskeyword(name):
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


def application_folder(plan, name):
    """The folder of application `name`. A new application is planned in full, so that
    scaffold-model and scaffold-crud can start one in a single command."""
    folder = os.path.join(applications_path(), name)
    if os.path.isfile(os.path.join(folder, '__init__.py')):
        return folder
    check_new_application_name(name)
    add_application_files(plan, name)
    return folder


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
            raise UsageError('column %r is added by Kokoropy itself; leave it out'
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
        self.notes = []             # lines for the user, printed after the files
        self.done = []              # (path, previous text or None) of the files written
        self.created_dirs = []

    def add(self, path, content, replace=False):
        """Plan to write `content` (text) to `path`."""
        self.files[os.path.abspath(path)] = (content, replace)

    def text(self, path):
        """The planned content of `path`, else the file's text, else None."""
        planned = self.files.get(os.path.abspath(path))
        if planned is not None:
            return planned[0]
        return _read(path) if os.path.exists(path) else None

    def check(self):
        """Raise UsageError when a planned new file exists already."""
        for path, (_content, replace) in self.files.items():
            if not replace and os.path.exists(path):
                raise UsageError('%s exists already; nothing was written' % _relative(path))

    def write(self, out=None):
        """Write every planned file, report each on `out`, undo all on any failure."""
        self.check()
        temps = []
        try:
            for path, (content, _replace) in self.files.items():
                self.created_dirs.extend(_make_dirs(os.path.dirname(path)))
                temps.append((_write_temp(path, content), path))
            for temp, path in temps:
                backup = _read(path) if os.path.exists(path) else None
                os.replace(temp, path)
                self.done.append((path, backup))
        except BaseException:
            for temp, _path in temps:
                if os.path.exists(temp):
                    os.remove(temp)
            self.undo()
            raise
        for path, backup in self.done:
            (out or sys.stdout).write('%s %s\n' % ('updated' if backup is not None else 'created',
                                                   _relative(path)))
        for note in self.notes:
            (out or sys.stdout).write('note: %s\n' % note)

    def undo(self):
        """Remove the files write() created and restore the ones it replaced."""
        for path, backup in reversed(self.done):
            if backup is None:
                os.remove(path)
            else:
                with open(path, 'w', encoding='utf-8', newline='\n') as f:
                    f.write(backup)
        for folder in reversed(self.created_dirs):
            if os.path.isdir(folder) and not os.listdir(folder):
                os.rmdir(folder)
        self.done, self.created_dirs = [], []


def _make_dirs(folder):
    """Create folder and its missing parents; return the ones created, outermost first."""
    missing = []
    while folder and not os.path.isdir(folder):
        missing.append(folder)
        folder = os.path.dirname(folder)
    for path in reversed(missing):
        os.mkdir(path)
    return list(reversed(missing))


# The process's umask (read by setting it, then put back): written files get the usual modes.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _write_temp(path, content):
    """Write content to a temporary file beside path and return the temporary file's name."""
    handle, temp = tempfile.mkstemp(prefix='.' + os.path.basename(path) + '.',
                                    suffix='.tmp', dir=os.path.dirname(path))
    with os.fdopen(handle, 'w', encoding='utf-8', newline='\n') as f:
        f.write(content)
    os.chmod(temp, 0o666 & ~_UMASK)  # mkstemp makes private files; these are ordinary sources
    return temp


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
hooks = []      # ('before_request' or 'after_request', function)
errors = []     # (status, function): the site's page for that status, e.g. (404, lost)
menu = []       # views whose <li> items join the site menu, e.g. ['$app/menu']
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
% extends('index/base')
{% block title %}$title{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Hello, {{name}}!</h1>
  <p class="lead">This page belongs to the <strong>$app</strong> application.</p>
</div>
<p>Change its words in <code>applications/$app/views/index.tpl</code> and its URLs in
<code>applications/$app/routes.py</code>. Next steps:</p>
<ul>
<li><code>python rossian.py scaffold-crud $app product name:string:required price:float</code>
writes the pages to list, create, edit and delete products;</li>
<li><code>python rossian.py migration-upgrade $app</code> then creates their table.</li>
</ul>
{% endblock %}
'''

TEMPLATES['crud/application_index.tpl'] = '''\
% extends('index/base')
{% block title %}$title{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Hello, {{name}}!</h1>
  <p class="lead">This page belongs to the <strong>$app</strong> application.</p>
</div>
<h2>Pages</h2>
<ul class="links">
% include('$app/menu')
</ul>
{% endblock %}
'''

TEMPLATES['application/assets/.gitkeep'] = ''

TEMPLATES['migration/empty.py'] = '''\
"""$description"""


def upgrade(db):
    """Change the schema: db.create_table, add_column, rename_column, drop_column,
    create_index or execute (SQL with bound parameters)."""


def downgrade(db):
    """Undo upgrade(), in the reverse order."""
'''

TEMPLATES['migration/create_table.py'] = '''\
"""$description"""
${imports}def upgrade(db):
    db.create_table('$table', {
$fields    })


def downgrade(db):
    db.drop_table('$table')
'''

TEMPLATES['migration/add_columns.py'] = '''\
"""$description"""
${imports}def upgrade(db):
$additions

def downgrade(db):
$removals'''

TEMPLATES['model.py'] = '''\
"""The $Model model of the $app application: rows of the `$table` table."""
${imports}class $Model(Model):
    """One row of the $table table (created by migrations/$migration)."""
$body'''

TEMPLATES['crud/controller.py'] = '''\
"""Pages for $plural at /$app/$table: list, show, create, edit and delete.

Written by `python rossian.py scaffold-crud`; it is yours to change. The pages are the views
${table}_list, ${table}_show, ${table}_form and ${table}_delete in applications/$app/views/.
List and show answer JSON for ?format=json or an Accept: application/json header.
"""
from kokoropy import (DeleteImpact, Form, Table, ValidationError, abort, flash, redirect,
                      render_detail, request, response, template, url)

${guard_import}from applications.$app.models.$table import $Model


${guard}def ${table}_list():
    """The $plural, paginated, searchable and sortable by column."""
    table = Table($Model, detail_url='$app.$table.show', edit_url='$app.$table.edit',
                  delete_url='$app.$table.delete')
    if _wants_json():
        page = table.page
        return {'items': [$var.as_dict() for $var in page.items],
                'page': page.page, 'pages': page.pages, 'total': page.total}
    return template('$app/${table}_list', table=table)


${guard}def ${table}_show(${table}_id):
    """One $label."""
    $var = _get_or_404(${table}_id)
    if _wants_json():
        return $var.as_dict()
    return template('$app/${table}_show', $var=$var,
                    detail=render_detail($var))


${guard}def ${table}_create():
    """The form for a new $label (GET) and its submission (POST)."""
    form = Form($Model, *_submission(), cancel_url=url('$app.$table.list'))
    if _is_saved(form):
        flash('Created $label %s.' % form.instance, 'success')
        redirect(url('$app.$table.show', ${table}_id=form.instance.id))
    return template('$app/${table}_form', form=form, title='New $label')


${guard}def ${table}_edit(${table}_id):
    """The form to change a $label (GET) and its submission (POST)."""
    form = Form(_get_or_404(${table}_id), *_submission(),
                cancel_url=url('$app.$table.show', ${table}_id=${table}_id))
    if _is_saved(form):
        flash('Saved $label %s.' % form.instance, 'success')
        redirect(url('$app.$table.show', ${table}_id=${table}_id))
    title = 'Edit $label %s' % form.instance
    return template('$app/${table}_form', form=form, title=title)


${guard}def ${table}_delete(${table}_id):
    """A confirmation page naming what else the delete removes or what blocks it (GET), then
    the delete itself (POST), refused with 409 while other rows still use this one."""
    $var = _get_or_404(${table}_id)
    impact = DeleteImpact($var)
    if request.method == 'POST' and not impact.blocking:
        $var.delete()
        flash('Deleted $label %s.' % $var, 'success')
        redirect(url('$app.$table.list'))
    if request.method == 'POST':
        response.status = 409
    form = None if impact.blocking else Form(
        $var, fields=[], submit_label='Delete', submit_style='danger',
        cancel_url=url('$app.$table.show', ${table}_id=$var.id))
    return template('$app/${table}_delete', $var=$var, form=form, impact=impact,
                    detail=render_detail($var))


urls = [
$urls]


def _get_or_404(${table}_id):
    $var = $Model.get(${table}_id)
    if $var is None:
        abort(404, 'There is no $label %d.' % ${table}_id)
    return $var


def _submission():
    """The submitted fields and files of a POST, as arguments of Form(); none for a GET."""
    return (request.forms, request.files) if request.method == 'POST' else ()


def _is_saved(form):
    """Save a valid submitted form; False when it has errors (shown beside its fields)."""
    if not form.is_valid():
        return False
    try:
        form.save()
    except ValidationError:  # refused by the database, e.g. a duplicate unique value
        return False
    return True


def _wants_json():
    return request.query.get('format') == 'json' or request.accepts_json

'''

TEMPLATES['crud/routes_addition.py'] = '''\

# Pages for $plural, written by `python rossian.py scaffold-crud`.
from applications.$app.controllers import $table as ${table}_pages  # noqa: E402
urls = list(urls) + ${table}_pages.urls
'''

TEMPLATES['crud/menu_item.tpl'] = '''\
% is_current = (request.path + '/').startswith('/$app/$table/')
<li><a href="{{url('$app.$table.list')}}"{{!' class="active"' if is_current else ''}}>$Plural</a></li>
'''

TEMPLATES['crud/list.tpl'] = '''\
% extends('index/base')
{% block title %}$Plural{% endblock %}
{% block content %}
<div class="page-header page-header-row">
  <h1>$Plural</h1>
  <div class="button-group">
    <a class="button button-primary" href="{{url('$app.$table.create')}}">New $label</a>
    <a class="button" href="{{url('$app.$table.list')}}?format=json">JSON</a>
  </div>
</div>
{{table}}
{% endblock %}
'''

TEMPLATES['crud/show.tpl'] = '''\
% extends('index/base')
{% block title %}{{$var}} · $Plural{% endblock %}
{% block content %}
<div class="page-header page-header-row">
  <h1>{{$var}}</h1>
  <div class="button-group">
    <a class="button button-primary"
       href="{{url('$app.$table.edit', ${table}_id=$var.id)}}">Edit</a>
    <a class="button button-danger"
       href="{{url('$app.$table.delete', ${table}_id=$var.id)}}">Delete</a>
    <a class="button" href="{{url('$app.$table.list')}}">Back to $plural</a>
  </div>
</div>
{{detail}}
{% endblock %}
'''

TEMPLATES['crud/form.tpl'] = '''\
% extends('index/base')
{% block title %}{{title}} · $Plural{% endblock %}
{% block content %}
<div class="page-header">
  <h1>{{title}}</h1>
</div>
{{form}}
{% endblock %}
'''

TEMPLATES['crud/delete.tpl'] = '''\
% extends('index/base')
{% block title %}Delete {{$var}} · $Plural{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Delete $label {{$var}}?</h1>
</div>
{{impact}}
% if form:
<p class="lead">This cannot be undone.</p>
{{form}}
% else:
<p><a class="button" href="{{url('$app.$table.show', ${table}_id=$var.id)}}">Back to {{$var}}</a></p>
% end
{{detail}}
{% endblock %}
'''

TEMPLATES['crud/test_invalid.py'] = '''
    def test_a_${table}_${what}_is_refused_with_a_message(self):
        answer = self.submit('/$app/$table/new', self.valid_fields($name=$bad)$files)
        self.assertEqual(answer.status, 200)
        self.assertIn($message, answer.text)
        self.assertEqual($Model.all().count(), 0)
'''

TEMPLATES['crud/tests_init.py'] = '''\
\"\"\"Tests of the $app application: python rossian.py test $app\"\"\"
'''

TEMPLATES['crud/test.py'] = '''\
\"\"\"Tests of the $plural pages, written by `python rossian.py scaffold-crud`.

Run them with `python rossian.py test $app`: it gives them a temporary database with every
migration applied (never the site's own) and a temporary uploads folder. Each test starts
from empty tables and uses the pages as a person with a browser would: it opens a form,
fills it in and sends it.
\"\"\"
import os
import re
import unittest

from kokoropy import TestClient, default_app
$imports

def setUpModule():
    if not os.environ.get('KOKOROPY_TEST_DATABASE_URL'):
        raise unittest.SkipTest('these tests write to the database: run them with '
                                'python rossian.py test $app')


class ${Model}PagesTest(unittest.TestCase):
    def setUp(self):
        self.empty_tables()
        self.addCleanup(self.empty_tables)
        self.client = TestClient(default_app())
$setup
    def empty_tables(self):
        for model in $cleared:
            model.all().delete()

    def valid_fields(self, **changes):
        \"\"\"What a person would type into the form, with `changes` over it.\"\"\"
        fields = {$fields}
        fields.update(changes)
        return fields

    def submit(self, path, fields, files=None):
        \"\"\"Open the form at `path`, then send it back with `fields` and its CSRF token.\"\"\"
        form = self.client.get(path)
        self.assertEqual(form.status, 200, form.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
        return self.client.post(path, data=dict(fields, csrf_token=token), files=files)

    def create_$var(self):
        \"\"\"Create a $label through its form; return it as the database has it.\"\"\"
        answer = self.submit('/$app/$table/new', self.valid_fields()$files)
        self.assertEqual(answer.status, 303, answer.text)
        return $Model.all().order_by('-id').first()

    def test_a_valid_${table}_is_created_and_shown(self):
        answer = self.submit('/$app/$table/new', self.valid_fields()$files)
        self.assertEqual(answer.status, 303, answer.text)
        $var = $Model.all().first()
        self.assertTrue(answer.headers['Location'].endswith('/$app/$table/%d' % $var.id))
        page = self.client.get('/$app/$table/%d' % $var.id)
        self.assertEqual(page.status, 200)
$shown$invalid
    def test_the_list_shows_the_${table}_and_gives_it_as_json(self):
        $var = self.create_$var()
        page = self.client.get('/$app/$table')
        self.assertEqual(page.status, 200)
        self.assertIn('/$app/$table/%d' % $var.id, page.text)
        data = self.client.get('/$app/$table?format=json').json
        self.assertEqual((data['total'], data['items'][0]['id']), (1, $var.id))

    def test_editing_a_${table}_saves_the_change(self):
        $var = self.create_$var()
        changed = self.valid_fields($change)
        answer = self.submit('/$app/$table/%d/edit' % $var.id, changed)
        self.assertEqual(answer.status, 303, answer.text)
$changed
    def test_deleting_a_${table}_asks_first_then_removes_it(self):
        $var = self.create_$var()
        answer = self.submit('/$app/$table/%d/delete' % $var.id, {})
        self.assertEqual(answer.status, 303, answer.text)
        self.assertIsNone($Model.get($var.id))
        self.assertEqual(self.client.get('/$app/$table/%d' % $var.id).status, 404)

    def test_a_missing_${table}_is_not_found(self):
        self.assertEqual(self.client.get('/$app/$table/999999').status, 404)
'''

# --- the cms application (scaffold-cms) -------------------------------------------------------

TEMPLATES['cms/__init__.py'] = '''\
"""The cms application: users and groups, login and logout, and pages shown at /page/<slug>.

Any application can protect its handlers with it:

    from applications.cms.auth import group_required, login_required

    @login_required
    def orders():
        ...

    @group_required('admin')
    def settings():
        ...

Published pages and the login/logout links appear in the site menu: views/menu.tpl, which
routes.py names in `menu`, so the index layout includes it while this application is installed.
"""

title = 'CMS'   # the site menu's name for this application
'''

TEMPLATES['cms/auth.py'] = '''\
\"\"\"Session authentication for every application: current_user(), login_required,
group_required, and log_in() that slows down password guessing.

Logins are kokoropy's login_user() / logout_user() / current_user(): logging out, or a
password change, ends every earlier session of the user, also copies of the cookie.
\"\"\"
import functools
import math
import threading
import time
from urllib.parse import urlencode

from kokoropy import abort, current_user, flash, login_user, logout_user, redirect, request, url

from applications.cms.models.user import User

# Password guessing (OWASP Authentication Cheat Sheet, "Account lockout"): after MAX_FAILURES
# wrong passwords for one username, or MAX_ADDRESS_FAILURES from one address, log_in() refuses
# that username or address for LOCK_SECONDS, doubling with every later failure (at most
# MAX_LOCK_SECONDS). Failures older than FORGET_SECONDS are forgotten. The counters live in
# this process: each worker of a multi-process server counts on its own.
MAX_FAILURES = 5
MAX_ADDRESS_FAILURES = 20
LOCK_SECONDS = 30
MAX_LOCK_SECONDS = 3600
FORGET_SECONDS = 24 * 3600
PRUNE_ABOVE = 10000     # keys kept before forgetting those that lock nothing


class LoginRefused(Exception):
    \"\"\"log_in() refused: a wrong username or password.\"\"\"


class TooManyAttempts(LoginRefused):
    \"\"\"log_in() refused without checking: too many recent failures for the username or address.\"\"\"


def login_required(handler):
    \"\"\"Decorator: send visitors who are not logged in to the login page, and back after.\"\"\"
    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            flash('Please log in to see that page.', 'warning')
            redirect(url('cms.login') + '?' + urlencode({'next': request.fullpath}))
        return handler(*args, **kwargs)
    return wrapper


def group_required(*groups):
    \"\"\"Decorator: like login_required, then 403 unless the user is in one of `groups`.\"\"\"
    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            if not in_group(current_user(), *groups):
                abort(403, 'This page is for the %s group.' % ' or '.join(groups))
            return handler(*args, **kwargs)
        return login_required(wrapper)
    return decorator


def in_group(user, *groups):
    \"\"\"True when `user` belongs to one of the named groups.\"\"\"
    group = user.group if user is not None else None
    return group is not None and group.name in groups


def is_trusted_author():
    \"\"\"True when what is being saved may keep raw HTML: for an admin, or outside a request
    (a script run by the site's owner).\"\"\"
    if getattr(request, 'environ', None) is None:
        return True
    return in_group(current_user(), 'admin')


def log_in(username, password):
    \"\"\"Check a username and password and start the session; return the User.

    Raises TooManyAttempts while the username or the client's address is locked, and
    LoginRefused for a wrong username or password.
    \"\"\"
    keys = ('user:' + username.strip().lower(), 'address:%s' % request.remote_addr)
    wait = _failures.reserve(keys)
    if wait:
        raise TooManyAttempts('Too many failed attempts: try again in %d seconds.' % wait)
    user = User.where(username=username.strip()).first() if username.strip() else None
    if user is None:
        _spend_password_time(password)  # as long as a real check: names do not leak
    if user is None or not user.is_active or not user.check_password('password', password):
        raise LoginRefused('Wrong username or password.')
    _failures.succeeded(keys)
    return login_user(user)


def log_out():
    \"\"\"End the login, and every other session of the same user.\"\"\"
    logout_user()


class _FailureCounter(object):
    \"\"\"Recent login failures per key ('user:name' or 'address:ip'), shared by the threads.

    An attempt is counted as a failure before its password is checked (reserve), and taken
    back when it succeeds: so 40 guesses at once get MAX_FAILURES checks, not 40.
    \"\"\"

    def __init__(self):
        self.lock = threading.Lock()
        self.failures = {}  # key -> (count, time of the last failure)
        self.prune_at = PRUNE_ABOVE

    def reserve(self, keys):
        \"\"\"Seconds the most locked of `keys` stays locked; when 0, count an attempt for each.\"\"\"
        now = time.time()
        with self.lock:
            wait = max(self._wait(key, now) for key in keys)
            if not wait:
                for key in keys:
                    count, last = self.failures.get(key, (0, now))
                    self.failures[key] = (1 if now - last > FORGET_SECONDS else count + 1, now)
                if len(self.failures) > self.prune_at:
                    self._prune(now)
            return wait

    def succeeded(self, keys):
        \"\"\"A login succeeded: forget the username's failures, take back the address's attempt.\"\"\"
        with self.lock:
            self.failures.pop(keys[0], None)
            for key in keys[1:]:
                count, last = self.failures.get(key, (0, 0))
                if count > 1:
                    self.failures[key] = (count - 1, last)
                else:
                    self.failures.pop(key, None)

    def _prune(self, now):
        \"\"\"Keep memory bounded under a wide attack, never forgetting a lock in force.\"\"\"
        self.failures = dict((key, value) for key, value in self.failures.items()
                             if self._wait(key, now))
        self.prune_at = max(PRUNE_ABOVE, 2 * len(self.failures))

    def _wait(self, key, now):
        count, last = self.failures.get(key, (0, now))
        limit = MAX_ADDRESS_FAILURES if key.startswith('address:') else MAX_FAILURES
        if count < limit or now - last > FORGET_SECONDS:
            return 0
        lock = min(LOCK_SECONDS * 2 ** (count - limit), MAX_LOCK_SECONDS)
        return max(0, int(math.ceil(last + lock - now)))


_failures = _FailureCounter()
_decoy_hash = []


def _spend_password_time(password):
    if not _decoy_hash:
        _decoy_hash.append(User.password.hash('decoy password'))
    User.password.check_password(_decoy_hash[0], password)
'''

TEMPLATES['cms/routes.py'] = '''\
"""URLs of the cms application: login, logout, the dashboard, the public pages at
/page/<slug>, and the CRUD of pages, users and groups. `menu` adds views/menu.tpl
(published pages, log in/out) to the site menu of the index layout.
"""
from applications.cms.controllers import account, group, page, user

urls = [
    ('/cms', account.dashboard, 'GET', 'cms.dashboard'),
    ('/cms/login', account.login, ['GET', 'POST'], 'cms.login'),
    ('/cms/logout', account.logout, 'POST', 'cms.logout'),
    ('/page/<slug>', account.show_page, 'GET', 'cms.page'),
] + page.urls + user.urls + group.urls
hooks = []
errors = []
menu = ['cms/menu']
'''

TEMPLATES['cms/controllers/account.py'] = '''\
"""Login, logout, the CMS dashboard, and the public pages at /page/<slug>."""
from kokoropy import abort, flash, redirect, request, response, template, url

from applications.cms.auth import (LoginRefused, TooManyAttempts, current_user, in_group, log_in,
                                   log_out, login_required)
from applications.cms.models.page import Page

# Pages need no inline script (bodies of non-admins are sanitised, and an admin's script belongs
# in a file of the site): a second line of defence should a script slip into a page anyway.
PAGE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
               "img-src 'self' https: data:; object-src 'none'; base-uri 'self'; "
               "form-action 'self'; frame-ancestors 'self'")


def login():
    """The login form (GET) and its submission (POST); back to ?next= after a login."""
    next_url = _local_path(request.params.get('next')) or url('cms.dashboard')
    username, error = request.forms.get('username', ''), None
    if request.method == 'POST':
        try:
            user = log_in(username, request.forms.get('password', ''))
        except LoginRefused as exc:
            error = str(exc)
            response.status = 429 if isinstance(exc, TooManyAttempts) else 200
        else:
            flash('Welcome, %s.' % user, 'success')
            redirect(next_url)
    return template('cms/login', username=username, error=error, next_url=next_url)


def logout():
    """End the login (a POST, so that no link on another site can log anyone out)."""
    log_out()
    flash('You are logged out.', 'info')
    redirect(url('index.home'))


@login_required
def dashboard():
    """The start page of the CMS: links to the pages, users and groups."""
    return template('cms/dashboard', user=current_user(), pages=Page.all().count())


def show_page(slug):
    """A published page (unpublished ones only to admins and editors, as a preview)."""
    page = Page.where(slug=slug).first()
    if page is None or not (page.published or in_group(current_user(), 'admin', 'editor')):
        abort(404, 'There is no page %s.' % slug)
    response.headers['Content-Security-Policy'] = PAGE_POLICY
    return template('cms/page', page=page)


def _local_path(path):
    """`path` when it is a path on this site: never an address elsewhere (open redirect)."""
    if path and path.startswith('/') and not path.startswith(('//', '/\\\\')):
        return path
    return None
'''

TEMPLATES['cms/models/__init__.py'] = '''\
"""Models of the cms application: Group, User and Page."""
'''

TEMPLATES['cms/models/group.py'] = '''\
"""The Group model: users belong to one group (admin, editor ...) that decides what they may do."""
from kokoropy import Model, String


class Group(Model):
    """A named group of users."""

    table_name = 'cms_group'
    name = String(max_length=40, required=True, unique=True)
'''

TEMPLATES['cms/models/user.py'] = '''\
"""The User model: who may log in, with a password stored only as a salted hash."""
from kokoropy import AuthEpoch, Boolean, Email, ForeignKey, Model, Password, String

from applications.cms.models.group import Group


class User(Model):
    """A person who logs in with a username and a password.

    `auth_epoch` counts the user's logouts: raising it ends every session started before
    (kokoropy.end_sessions(user) does, e.g. after the account was misused).
    """

    table_name = 'cms_user'
    username = String(max_length=40, required=True, unique=True)
    email = Email()
    password = Password(min_length=8, required=True)
    group = ForeignKey(Group, on_delete='SET NULL')
    is_active = Boolean(default=True, label='Active')
    auth_epoch = AuthEpoch()
'''

TEMPLATES['cms/models/page.py'] = '''\
"""The Page model: an HTML page of the site, shown at /page/<slug> once published."""
import re

from kokoropy import Boolean, Model, String, Text, sanitize_html, url

from applications.cms.auth import is_trusted_author

SLUG = re.compile(r'^[a-z0-9]+(?:-[a-z0-9]+)*$')


class Page(Model):
    """A page: its body is HTML, shown as it is once saved.

    A body saved by anyone but an admin goes through sanitize_html() first: an editor's HTML
    must not run script in the browsers of visitors and admins.
    """

    table_name = 'cms_page'
    title = String(max_length=200, required=True)
    slug = String(max_length=100, required=True, unique=True,
                  help_text='The address: /page/<slug>, e.g. about-us.')
    body = Text(label='Body (HTML)')
    published = Boolean(default=False)
    default_order = ('title',)

    def validate(self):
        errors = Model.validate(self)
        if self.slug and not SLUG.match(self.slug):
            errors.setdefault('slug', 'Use lowercase letters, digits and hyphens, e.g. about-us.')
        return errors

    def before_save(self):
        if self.body and not is_trusted_author():
            self.body = str(sanitize_html(self.body))


def menu_pages():
    """(title, url) of the published pages, for the site menu."""
    return [(page.title, url('cms.page', slug=page.slug))
            for page in Page.where(published=True)]
'''

TEMPLATES['cms/migrations/0001_create_cms_tables.py'] = '''\
"""Create the cms tables (groups, users, pages) and the admin and editor groups."""
import datetime

from kokoropy import Boolean, Email, ForeignKey, Integer, Password, String, Text

GROUPS = ('admin', 'editor')


def upgrade(db):
    db.create_table('cms_group', {
        'name': String(max_length=40, required=True, unique=True),
    })
    db.create_table('cms_user', {
        'username': String(max_length=40, required=True, unique=True),
        'email': Email(),
        'password': Password(min_length=8, required=True),
        'group': ForeignKey('cms_group', on_delete='SET NULL'),
        'is_active': Boolean(default=True),
        'auth_epoch': Integer(default=0),
    })
    db.create_table('cms_page', {
        'title': String(max_length=200, required=True),
        'slug': String(max_length=100, required=True, unique=True),
        'body': Text(),
        'published': Boolean(default=False),
    })
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')
    db.executemany('INSERT INTO cms_group (name, created_at, updated_at) VALUES (?, ?, ?)',
                   [(name, now, now) for name in GROUPS])


def downgrade(db):
    db.drop_table('cms_page')
    db.drop_table('cms_user')
    db.drop_table('cms_group')
'''

TEMPLATES['cms/views/login.tpl'] = '''\
% extends('index/base')
{% block title %}Log in{% endblock %}
{% block content %}
<div class="page-header">
  <h1>Log in</h1>
</div>
<form class="form" method="post" action="{{url('cms.login')}}">
{{csrf_input()}}
<input type="hidden" name="next" value="{{next_url}}">
% if error:
<div class="alert alert-error" role="alert">{{error}}</div>
% end
<div class="field">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{{username}}" autocomplete="username"
       required autofocus>
</div>
<div class="field">
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
</div>
<div class="form-actions">
<button type="submit" class="button button-primary">Log in</button>
</div>
</form>
{% endblock %}
'''

TEMPLATES['cms/views/dashboard.tpl'] = '''\
% extends('index/base')
{% block title %}CMS{% endblock %}
{% block content %}
<div class="page-header">
  <h1>CMS</h1>
  <p class="lead">Logged in as {{user}}{{' (%s)' % user.group if user.group else ''}}.</p>
</div>
<div class="card-grid">
  <div class="card">
    <h2 class="card-title">Pages</h2>
    <p class="muted">{{pages}} {{'page' if pages == 1 else 'pages'}}: published ones are in
    the site menu.</p>
    <div class="button-group">
      <a class="button button-primary" href="{{url('cms.page.list')}}">Pages</a>
      <a class="button" href="{{url('cms.page.create')}}">New page</a>
    </div>
  </div>
% if user.group and user.group.name == 'admin':
  <div class="card">
    <h2 class="card-title">Users</h2>
    <p class="muted">Who may log in, and the group each one is in.</p>
    <a class="button" href="{{url('cms.user.list')}}">Users</a>
  </div>
  <div class="card">
    <h2 class="card-title">Groups</h2>
    <p class="muted">admin manages everything; editor writes pages.</p>
    <a class="button" href="{{url('cms.group.list')}}">Groups</a>
  </div>
% end
</div>
{% endblock %}
'''

TEMPLATES['cms/views/page.tpl'] = '''\
% extends('index/base')
{% block title %}{{page.title}}{% endblock %}
{% block content %}
% if not page.published:
<div class="alert alert-warning">A preview: this page is not published.</div>
% end
<article class="page">
<h1>{{page.title}}</h1>
{{!page.body or ''}}
</article>
{% endblock %}
'''

TEMPLATES['cms/views/menu.tpl'] = '''\
% from applications.cms.auth import current_user
% from applications.cms.models.page import menu_pages
% for title, href in menu_pages():
        <li><a href="{{href}}"{{!' class="active"' if request.fullpath == href else ''}}>{{title}}</a></li>
% end
% if current_user():
        <li><form method="post" action="{{url('cms.logout')}}">{{csrf_input()}}<button
              type="submit">Log out</button></form></li>
% else:
        <li><a href="{{url('cms.login')}}">Log in</a></li>
% end
'''

def render(template_name, **values):
    """Fill in the named template of TEMPLATES with values."""
    return string.Template(TEMPLATES[template_name]).substitute(values)


###############################################################################
# 4. Code generation
# From parsed columns to field declarations, migrations, models and CRUD files: the values
# the templates above are filled with. The ORM renders each field (Field.declaration()).
###############################################################################

FIELD_CLASSES = {'string': 'String', 'text': 'Text', 'integer': 'Integer', 'float': 'Float',
                 'boolean': 'Boolean', 'date': 'Date', 'datetime': 'DateTime',
                 'upload': 'Upload', 'password': 'Password', 'email': 'Email',
                 'ref': 'ForeignKey'}
CRUD_VIEWS = ('list', 'show', 'form', 'delete')
# Names the CRUD code and views already use: a row variable must not shadow them.
CRUD_NAMES = frozenset(['form', 'table', 'page', 'title', 'detail', 'impact', 'request',
                        'response', 'url', 'template',
                        'flash', 'redirect', 'abort', 'action', 'get', 'include', 'rebase',
                        'extends', 'base', 'defined', 'setdefault'])
MAX_LINE = 99
SCAFFOLDED_ON_DELETE = 'RESTRICT'


def field_declaration(kokoropy, column):
    """A column as Python source, rendered by the ORM: "String(required=True)",
    "ForeignKey('category', on_delete='RESTRICT')"."""
    return column_field(kokoropy, column).declaration()


def column_field(kokoropy, column):
    """The ORM field a column spec stands for, named but bound to no model. A reference
    restricts deletes (SCAFFOLDED_ON_DELETE): a row still used elsewhere is not deleted, and
    takes nothing with it, unless the model says otherwise ('CASCADE' or 'SET NULL')."""
    field_class = getattr(kokoropy, FIELD_CLASSES[column.type])
    options = dict((name, True) for name in column.options)
    arguments = ()
    if column.type == 'ref':
        arguments, options['on_delete'] = (column.target,), SCAFFOLDED_ON_DELETE
    field = field_class(*arguments, **options)
    field.name = column.name
    return field


def model_class_name(table):
    """The model class of a table: 'blog_post' -> 'BlogPost'."""
    return ''.join(part.capitalize() for part in table.split('_'))


def _default_table_name(class_name):
    """The table Kokoropy's Model gives a class by default (its snake_case name)."""
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', class_name).lower()


def import_line(module, names):
    """`from module import a, b`, wrapped in parentheses when longer than MAX_LINE."""
    names = sorted(set(names), key=lambda name: (name.lower(), name))
    line = 'from %s import %s' % (module, ', '.join(names))
    if len(line) <= MAX_LINE:
        return line + '\n'
    opening = 'from %s import (' % module
    lines, current = [], opening
    for name in names:
        piece = name + ', '
        if len(current) + len(piece.rstrip()) > MAX_LINE:
            lines.append(current.rstrip())
            current = ' ' * len(opening)
        current += piece
    lines.append(current.rstrip(', ') + ')')
    return '\n'.join(lines) + '\n'


def _field_class(declaration):
    return declaration.split('(', 1)[0]


def next_migration_file(app_folder, name):
    """The path of the next numbered migration `NNNN_name.py` of an application."""
    folder = os.path.join(app_folder, 'migrations')
    versions = [int(match.group(1)) for match in
                (re.match(r'^(\d{4,})_\w+\.py$', entry) for entry in _listdir(folder)) if match]
    return os.path.join(folder, '%04d_%s.py' % (max(versions or [0]) + 1, name))


def _listdir(folder):
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def create_table_migration(table, declarations, description):
    """A migration creating `table` with (name, declaration) pairs, and dropping it."""
    fields = ''.join("        '%s': %s,\n" % pair for pair in declarations)
    classes = [_field_class(declaration) for _name, declaration in declarations]
    return render('migration/create_table.py', description=description, table=table,
                  imports=_kokoropy_imports(classes), fields=fields)


def add_columns_migration(table, additions, description):
    """A migration adding (name, column, declaration) triples to `table`, and dropping them."""
    add = ''.join("    db.add_column('%s', '%s', %s)\n" % (table, name, declaration)
                  for name, _column, declaration in additions)
    drop = ''.join("    db.drop_column('%s', '%s')\n" % (table, column)
                   for _name, column, _declaration in reversed(additions))
    classes = [_field_class(declaration) for _name, _column, declaration in additions]
    return render('migration/add_columns.py', description=description,
                  imports=_kokoropy_imports(classes), additions=add, removals=drop)


def _kokoropy_imports(classes):
    """The import block of a migration: the field classes it uses, then two blank lines."""
    return ('\n' + import_line('kokoropy', classes) if classes else '') + '\n\n'


def model_module(kokoropy, app, table, columns, migration_file):
    """The source of models/<table>.py for the given columns."""
    class_name = model_class_name(table)
    body, classes, imports = [], set(['Model']), []
    if _default_table_name(class_name) != table:
        body.append("    table_name = '%s'" % table)
    for column in columns:
        declaration = field_declaration(kokoropy, column)
        classes.add(_field_class(declaration))
        if column.type == 'ref' and column.target != table:
            target_class = model_class_name(column.target)
            declaration = declaration.replace(repr(column.target), target_class, 1)
            imports.append(import_line('applications.%s.models.%s' % (app, column.target),
                                       [target_class]))
        body.append('    %s = %s' % (column.name, declaration))
    text = '\n' + import_line('kokoropy', classes)
    if imports:
        text += '\n' + ''.join(sorted(set(imports)))
    return render('model.py', Model=class_name, app=app, table=table, imports=text + '\n\n',
                  migration=os.path.basename(migration_file),
                  body=('\n' + '\n'.join(body) + '\n') if body else '')


def crud_values(app, table, guard=None):
    """Template values of the CRUD files: names, labels and an optional access check
    (`guard`: (import line, decorator) to put before every handler)."""
    label = table.replace('_', ' ')
    plural = _plural(label)
    return dict(app=app, table=table, Model=model_class_name(table), label=label,
                plural=plural, Plural=plural.capitalize(),
                var='row' if table in CRUD_NAMES else table, urls=_crud_urls(app, table),
                guard_import=guard[0] if guard else '', guard=guard[1] if guard else '')


def crud_test_module(kokoropy, app, table, fields, values):
    """The source of tests/test_<table>.py for a CRUD whose form shows `fields` (name, Field
    pairs): TestClient tests of the list, create (valid and invalid), show, edit and delete."""
    references = _reference_rows(kokoropy, app, table, fields)
    model_import = 'applications.%s.models.%s' % (app, table)
    imports = [import_line(model_import, [values['Model']])]
    imports += [import_line(model.__module__, [model.__name__])
                for _var, model, _source in references if model.__module__ != model_import]
    setup = ''.join('        self.%s = %s\n' % (var, source) for var, _m, source in references)
    form = [(name, field, _sample_form_source(field, name)) for name, field in fields]
    uploads = [(name, field) for name, field, _s in form if _is_upload(field) and field.required]
    return render('crud/test.py', imports=''.join(sorted(set(imports))), setup=setup,
                  cleared=_tuple_source([values['Model']] + [model.__name__ for _v, model, _s
                                                             in reversed(references)]),
                  fields=_dict_source([(name, source) for name, _f, source in form
                                       if source is not None], 18),
                  files=', files=self.files()' if uploads else '',
                  shown=_shown_check(form, values), invalid=_invalid_test(form, values, uploads),
                  change=_change_source(form, values)[0], changed=_change_source(form, values)[1],
                  **values) + (_files_method(uploads) if uploads else '')


def _reference_rows(kokoropy, app, table, fields, seen=()):
    """(attribute, Model, creating source) for the rows the form's references need, the ones
    they need themselves first."""
    rows = []
    for name, field in fields:
        if not isinstance(field, kokoropy.ForeignKey) or field.related_table in seen + (table,):
            continue
        model = find_model(kokoropy, app, field.related_table)
        if model is None:
            continue
        required = [(n, f) for n, f in model._meta.fields.items() if f.editable and f.required]
        rows += _reference_rows(kokoropy, app, model._meta.table, required, seen + (table,))
        arguments = ', '.join('%s=%s' % (n, _sample_python_source(f, '%s %s' % (
            model._meta.table.replace('_', ' '), n), rows)) for n, f in required)
        rows.append((model._meta.table, model, '%s.create(%s)' % (model.__name__, arguments)))
    return rows


def _is_upload(field):
    return field.type_name == 'upload'


# Values a person might type, by field type (strings, as a browser sends them).
_SAMPLE_TEXT = {'email': 'ann@example.com', 'password': 'correct horse battery staple',
                'date': '2024-12-31', 'datetime': '2024-12-31T23:59', 'boolean': 'on',
                'float': '2.5'}


def _sample_form_source(field, name):
    """Python source of what a person would type into the field (None: leave it out)."""
    if field.type_name == 'foreignkey':
        return 'str(self.%s.id)' % field.related_table
    if _is_upload(field):
        return None
    if field.choices:
        return repr(str(field.choices[0][0]))
    if field.type_name == 'integer':
        return repr(str(_sample_number(field, 1)))
    if field.type_name in _SAMPLE_TEXT:
        return repr(_SAMPLE_TEXT[field.type_name])
    return repr(_sample_string(field, name))


def _sample_python_source(field, name, rows):
    """Python source of a valid value for Model.create() (references: the row made before)."""
    if field.type_name == 'foreignkey':
        return 'self.%s' % field.related_table
    if _is_upload(field):
        return repr('uploads/sample.png')
    if field.type_name in ('boolean', 'integer', 'float'):
        return {'boolean': 'True', 'float': '2.5'}.get(field.type_name) or \
            repr(_sample_number(field, 1))
    return _sample_form_source(field, name)


def _sample_number(field, preferred):
    low, high = getattr(field, 'min_value', None), getattr(field, 'max_value', None)
    if low is not None and preferred < low:
        return low
    return high if high is not None and preferred > high else preferred


def _sample_string(field, name):
    text = 'Sample ' + name.replace('_', ' ')
    low = getattr(field, 'min_length', None) or 0
    high = getattr(field, 'max_length', None) or len(text)
    return text.ljust(low, 'x')[:high]


def _tuple_source(names):
    return '(%s)' % (names[0] + ',' if len(names) == 1 else ', '.join(names))


def _dict_source(pairs, indent):
    """A dict display of (key, source) pairs, wrapped at MAX_LINE."""
    items = ['%r: %s' % (key, source) for key, source in pairs]
    lines, line = [], ''
    for item in items:
        if line and len(line) + len(item) + indent + 3 > MAX_LINE:
            lines.append(line + ',')
            line = item
        else:
            line = line + ', ' + item if line else item
    lines.append(line)
    return ('\n' + ' ' * indent).join(lines)


def _shown_check(form, values):
    """The show page holds the first typed text (nothing when the form has no plain text)."""
    for name, field, source in form:
        if field.type_name in ('string', 'text', 'email') and not field.choices:
            return '        self.assertIn(%s, page.text)\n' % source
    return ''


def _invalid_test(form, values, uploads):
    """A test sending a value the form refuses: a required text left empty, else a number,
    date or email that is not one; none when no field can be refused."""
    for name, field, source in form:
        if source is None:
            continue
        if field.required and field.type_name not in ('boolean', 'foreignkey'):
            bad, message = '', field.messages['required']
        elif field.type_name in ('integer', 'float', 'date', 'datetime', 'email') and \
                not field.choices:
            bad, message = 'not-%s' % field.type_name, field.messages['type']
        else:
            continue
        what = 'without_its_' + name if bad == '' else 'with_a_wrong_' + name
        return render('crud/test_invalid.py', name=name, bad=repr(bad), what=what,
                      message=repr(message.format(label=field.label)),
                      files=', files=self.files()' if uploads else '', **values)
    return ''


def _change_source(form, values):
    """(the edit test's changes, its check) on the first field holding text or a number."""
    stored = '        self.assertEqual(%s.get(%s.id).%%s, %%r)\n' % (values['Model'], values['var'])
    for name, field, source in form:
        if field.choices or source is None:
            continue
        if field.type_name in ('string', 'text'):
            new = _sample_string(field, 'changed ' + name)
            return '%s=%r' % (name, new), stored % (name, new)
        if field.type_name == 'integer':
            new = _sample_number(field, 2)
            return '%s=%r' % (name, str(new)), stored % (name, new)
    return '', '        self.assertIsNotNone(%s.get(%s.id))\n' % (values['Model'], values['var'])


def _files_method(uploads):
    """The test class's files() method: a small PNG for each required upload."""
    lines = ['', '    def files(self):',
             '        """A file for each required upload (a 1x1 PNG)."""',
             "        png = (b'\\x89PNG\\r\\n\\x1a\\n\\x00\\x00\\x00\\rIHDR\\x00\\x00\\x00\\x01'",
             "               b'\\x00\\x00\\x00\\x01\\x08\\x06\\x00\\x00\\x00\\x1f\\x15\\xc4\\x89')",
             '        return {%s}' % ', '.join("%r: ('%s.png', png, 'image/png')" % (name, name)
                                            for name, _field in uploads), '']
    return '\n'.join(lines)


def _crud_urls(app, table):
    """The `urls` entries of a CRUD controller, one per line (wrapped when too long)."""
    rule = '/%s/%s' % (app, table)
    item = '%s/<%s_id:int>' % (rule, table)
    entries = [(rule, 'list', "'GET'"), (rule + '/new', 'create', "['GET', 'POST']"),
               (item, 'show', "'GET'"), (item + '/edit', 'edit', "['GET', 'POST']"),
               (item + '/delete', 'delete', "['GET', 'POST']")]
    lines = []
    for path, action, methods in entries:
        head = "    ('%s', %s_%s, %s," % (path, table, action, methods)
        name = "'%s.%s.%s')," % (app, table, action)
        lines.append(head + ' ' + name if len(head) + len(name) < MAX_LINE else
                     head + '\n     ' + name)
    return '\n'.join(lines) + '\n'


def _plural(words):
    """English plural of the last word: 'blog post' -> 'blog posts', 'category' -> 'categories'."""
    if re.search(r'[^aeiou]y$', words):
        return words[:-1] + 'ies'
    if re.search(r'(s|x|z|ch|sh)$', words):
        return words + 'es'
    return words + 's'


def add_crud_files(plan, app_folder, values, routes_text, tests=None):
    """Plan the controller, the four views and the routes.py lines of a CRUD, its tests
    (tests/test_<table>.py) when their source is given, and the links to its list page
    (add_crud_links)."""
    table = values['table']
    plan.add(os.path.join(app_folder, 'controllers', table + '.py'),
             render('crud/controller.py', **values))
    if tests is not None:
        tests_folder = os.path.join(app_folder, 'tests')
        if not os.path.exists(os.path.join(tests_folder, '__init__.py')):
            plan.add(os.path.join(tests_folder, '__init__.py'),
                     render('crud/tests_init.py', **values))
        plan.add(os.path.join(tests_folder, 'test_%s.py' % table), tests)
    for view in CRUD_VIEWS:
        plan.add(view_file(app_folder, table, view), render('crud/%s.tpl' % view, **values))
    addition = render('crud/routes_addition.py', **values) + _menu_addition(values['app'],
                                                                            routes_text)
    plan.add(os.path.join(app_folder, 'routes.py'), routes_text.rstrip('\n') + '\n' + addition,
             replace=True)
    add_crud_links(plan, app_folder, values)


def _menu_addition(app, routes_text):
    """The routes.py line naming the application's menu view in `menu`, unless it does."""
    view_name = "'%s/menu'" % app
    code = re.sub(r'#[^\n]*', '', routes_text)      # the commented example does not count
    if view_name in code:
        return ''
    if re.search(r'^menu\s*=', code, re.MULTILINE):
        return 'menu = list(menu) + [%s]\n' % view_name
    return 'menu = [%s]\n' % view_name


def add_crud_links(plan, app_folder, values):
    """Link the CRUD's list page from the site menu (views/menu.tpl, one <li> per CRUD) and
    from the application's index page: a scaffolded index.tpl still unchanged becomes one
    listing the menu's pages; a changed one is left alone, with a note to add the link."""
    menu_path = os.path.join(app_folder, 'views', 'menu.tpl')
    item = render('crud/menu_item.tpl', **values)
    menu = plan.text(menu_path) or ''
    if item not in menu:
        plan.add(menu_path, menu + item, replace=True)
    index_path = os.path.join(app_folder, 'views', 'index.tpl')
    index = plan.text(index_path)
    names = dict(app=values['app'], title=_words(values['app']).capitalize())
    if index == render('application/views/index.tpl', **names):
        plan.add(index_path, render('crud/application_index.tpl', **names), replace=True)
    elif index is not None and "'%s/menu'" % values['app'] not in index:
        plan.notes.append("views/index.tpl was changed, so it is left alone: add %% include("
                          "'%s/menu') to it to link the list page" % values['app'])


def view_file(app_folder, table, view):
    """The path of one CRUD view: views/<table>_<view>.tpl."""
    return os.path.join(app_folder, 'views', '%s_%s.tpl' % (table, view))


def routes_source(app_folder, plan):
    """The text of an application's routes.py (as planned, else on disk), checked to define
    `urls` (UsageError if not)."""
    path = os.path.join(app_folder, 'routes.py')
    text = plan.text(path) or ''
    try:
        tree = ast.parse(text, path)
    except SyntaxError as exc:
        raise UsageError('%s does not parse (line %s: %s); fix it first'
                         % (_relative(path), exc.lineno, exc.msg))
    assigned = [target.id for node in tree.body if isinstance(node, (ast.Assign, ast.AugAssign))
                for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
                if isinstance(target, ast.Name)]
    if 'urls' not in assigned:
        raise UsageError('%s must define urls = [...] for the CRUD to add its URLs to'
                         % _relative(path))
    return text


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
        lines.extend(textwrap.wrap(command_usage(cmd)[len(PROG) + 1:], 96,
                                   initial_indent='  ', subsequent_indent='      ',
                                   break_on_hyphens=False))
        lines.append('      %s' % cmd.summary)
        lines.append('      e.g. %s' % cmd.example)
    lines += ['', 'columns (scaffold-migration, scaffold-model, scaffold-crud): NAME:TYPE with '
              'TYPE one of', '  ' + ' '.join(COLUMN_TYPES) + ',',
              '  or %s for a reference to another table (e.g. category:ref:category);'
              % REFERENCE_SYNTAX,
              '  add :required and/or :unique (e.g. email:email:required:unique).', '',
              '%s help COMMAND shows one command in detail;' % PROG,
              'add --debug to any command to see a traceback when it fails.', '']
    return '\n'.join(lines)


SERVERS = ('kokoro', 'wsgiref', 'gunicorn', 'waitress')


def _port_number(text):
    """argparse type for --port: a whole number from 0 to 65535."""
    if not re.match(r'^[0-9]{1,5}$', text) or int(text) > 65535:
        raise argparse.ArgumentTypeError('%r is not a port number (0-65535)' % text)
    return int(text)


def _cpu_choice(text):
    """argparse type for --cpu: 'auto', 'any' (None) or a CPU number."""
    if text in ('auto', 'any'):
        return None if text == 'any' else text
    if not re.match(r'^[0-9]{1,4}$', text):
        raise argparse.ArgumentTypeError('%r is not auto, any or a CPU number' % text)
    return int(text)


@command('start', 'serve every application of the project', '%s start --port 8080' % PROG, [
    argument('--host', default='127.0.0.1',
             help='interface to listen on (default 127.0.0.1; 0.0.0.0 for every interface)'),
    argument('--port', type=_port_number, default=8080, help='TCP port (default 8080)'),
    argument('--server', choices=SERVERS, default='kokoro', metavar='SERVER',
             help='kokoro (built in, default), wsgiref, gunicorn or waitress'),
    argument('--baseurl', metavar='PATH',
             help='serve every page under this path, e.g. /kokoropy/'),
    argument('--runtimepath', metavar='FOLDER',
             help='folder for the generated secret and other runtime files (default .runtime)'),
    argument('--debug', action='store_true',
             help='debug mode: tracebacks in pages and on the console, templates reloaded'),
    argument('--reload', action='store_true',
             help='restart when a .py, .tpl or config file of the project changes'),
    argument('--quiet', action='store_true', help='do not log each request'),
    argument('--cpu', type=_cpu_choice, default='auto',
             help="the CPU the built-in server's threads keep to: auto (default), a number, "
                  "or any to let them spread")],
    details="""
Loads applications/config.py, KOKOROPY_* environment variables and these flags (flags win),
loads every application under applications/ and serves them until Ctrl+C.
On a fresh checkout, when the SQLite database file does not exist yet (or the PostgreSQL
database of DATABASE_URL has no tables), it is created and every application's migrations are
applied first; when it exists and migrations are pending, a warning
names `python rossian.py migration-upgrade`.""")
def cmd_start(args):
    """Load the configuration and the applications, prepare the database, and serve."""
    kokoropy = load_kokoropy()
    # The reloader watches the current folder, and Bottle-style ./views/ lookups start there.
    os.chdir(project_path())
    overrides = {'base_url': args.baseurl, 'runtime_path': args.runtimepath,
                 'debug': True if args.debug else None}
    config = configure(kokoropy, overrides)
    if not _is_reloader_child():
        check_server_installed(args.server)
        check_cpu(kokoropy, args)
        prepare_database(kokoropy, config)
        if args.port:
            _check_port_free(args.host, args.port)
        where = _site_url(args.host, args.port, config['base_url']) if args.port else \
            'the address the server prints below'
        sys.stdout.write('Open %s in a browser.\n' % where)
        sys.stdout.flush()
    # With --reload this first process only watches: the child it starts loads and serves.
    app = None if args.reload and not _is_reloader_child() else \
        kokoropy.load_project(project_path(), overrides)
    options = {'cpu': args.cpu} if args.server == 'kokoro' else {}
    kokoropy.run(app, host=args.host, port=args.port, server=args.server,
                 debug=bool(config.get('debug')), reloader=args.reload, quiet=args.quiet,
                 **options)
    return 0


def check_server_installed(server):
    """Raise CommandError when the optional server asked for cannot be imported, so that the
    error comes before any "Open ... in a browser" line."""
    if server in ('gunicorn', 'waitress') and importlib.util.find_spec(server) is None:
        raise CommandError('the %s server is not installed: pip install %s, or leave out '
                           '--server to use the built-in one' % (server, server))


def check_cpu(kokoropy, args):
    """Raise CommandError when --cpu names a CPU this process may not use."""
    if args.server == 'kokoro':
        try:
            kokoropy._choose_cpu(args.cpu)
        except ValueError as exc:
            raise CommandError('--cpu %s: %s' % (args.cpu, exc))


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
    """Before serving: on a fresh checkout (no SQLite file yet, or one without tables) create
    the database and apply every migration; otherwise warn in one line about pending ones."""
    path = database_file(config)
    if path is None and not is_server_database(config):
        return
    is_fresh = path is not None and not os.path.exists(path)
    migrator = project_migrator(kokoropy, config)
    if is_fresh or not migrator.database.tables():
        sys.stdout.write('%s the database %s and applying the migrations:\n' % (
            'Creating' if is_fresh else 'Preparing',
            _relative(path) if path else repr(migrator.database)))
        for failure in upgrade_each_application(kokoropy, migrator)[1]:
            sys.stderr.write('rossian: warning: %s; the other applications are served\n'
                             % failure)
        return
    warn_pending_migrations(kokoropy, migrator)


def warn_pending_migrations(kokoropy, migrator):
    """One line on stderr when migrations are not applied yet (CommandError when a migration
    file is broken)."""
    try:
        pending = migrator.pending()
    except kokoropy.MigrationError as exc:
        raise CommandError(_one_line(exc))
    if pending:
        shown = ', '.join(m.label for m in pending[:3]) + (', ...' if len(pending) > 3 else '')
        sys.stderr.write('rossian: warning: %d migration(s) not applied yet (%s); run: %s '
                         'migration-upgrade\n' % (len(pending), shown, PROG))


def database_file(config):
    """The absolute path of the configured SQLite file, or None for an in-memory database or
    a database server."""
    if is_server_database(config):
        return None
    url = str(config.get('database_url') or '')
    path = url[len('sqlite:///'):].split('?', 1)[0] if url.startswith('sqlite:///') else url
    if path in ('', ':memory:') or url == 'sqlite://':
        return None
    return os.path.join(config.get('project_path') or project_path(), path)


def is_server_database(config):
    """True when database_url names a database server (PostgreSQL), not a SQLite file."""
    url = str(config.get('database_url') or '')
    return '://' in url and not url.startswith('sqlite:')


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


COLUMNS_HELP = ('columns NAME:TYPE, TYPE one of %s, or %s; add :required and/or :unique'
                % (' '.join(COLUMN_TYPES), REFERENCE_SYNTAX))
COLUMN_DETAILS = """
Columns read NAME:TYPE, with TYPE one of
    %s,
or %s for a reference to a row of another table (stored in NAME_id, shown as a
select). Add :required and/or :unique after a column: title:string:required,
email:email:required:unique. Every table also gets id, created_at and updated_at.""" % (
    ' '.join(COLUMN_TYPES), REFERENCE_SYNTAX)


@command('scaffold-migration', 'write the next numbered migration of APP',
         '%s scaffold-migration shop create_tag tag name:string' % PROG, [
             argument('app', metavar='APP', help='an existing application'),
             argument('name', metavar='NAME', help='what the migration does, e.g. add_stock'),
             argument('table', nargs='?', metavar='TABLE', help='the table it changes'),
             argument('columns', nargs='*', default=[], metavar='NAME:TYPE', help=COLUMNS_HELP)],
         details="""
Writes applications/APP/migrations/NNNN_NAME.py with upgrade(db) and downgrade(db):
- without TABLE, both are empty for you to fill in;
- with TABLE and columns, upgrade creates the table (or, when the table exists already, adds
  the columns) and downgrade drops it (or them);
- with TABLE alone, the columns come from the application's model of that table: the ones the
  database lacks are added (the ORM's schema diff), or the whole table is created.
""" + COLUMN_DETAILS)
def cmd_scaffold_migration(args):
    """Write one migration file."""
    app_folder = existing_application(args.app)
    if not re.match(r'^[a-z0-9_]+$', args.name):
        raise UsageError('migration name %r must use lowercase letters, digits and _' % args.name)
    kokoropy = load_kokoropy()
    config = configure(kokoropy)
    if args.table is not None:
        check_table_name(kokoropy, args.table)
        check_table_owner(args.app, args.table)
    columns = parse_columns(args.columns, _model_attributes(kokoropy))
    path = next_migration_file(app_folder, args.name)
    description = '%s (applications/%s).' % (_words(args.name).capitalize(), args.app)
    if args.table is None:
        source = render('migration/empty.py', description=description)
    elif columns:
        source = _migration_for_columns(kokoropy, config, args.app, args.table, columns,
                                        description)
    else:
        source = _migration_from_model(kokoropy, config, args.app, args.table, description)
    plan = FilePlan()
    plan.add(path, source)
    plan.write()
    sys.stdout.write('Apply it with: %s migration-upgrade %s\n' % (PROG, args.app))
    return 0


def _migration_for_columns(kokoropy, config, app, table, columns, description):
    """Create `table` with the columns, or add them when the table exists already."""
    database = application_existing_database(kokoropy, config, app)
    exists = (database is not None and database.table_exists(table)) or \
        table_migration(table, app)
    if not exists:
        declarations = [(c.name, field_declaration(kokoropy, c)) for c in columns]
        return create_table_migration(table, declarations, description)
    present = set(database.columns(table)) if database is not None else set()
    taken = [c.name for c in columns if column_name(c) in present]
    if taken:
        raise UsageError('table %r has column %s already' % (table, ', '.join(taken)))
    additions = [(c.name, column_name(c), field_declaration(kokoropy, c)) for c in columns]
    return add_columns_migration(table, additions, description)


def _migration_from_model(kokoropy, config, app, table, description):
    """The migration bringing `table` in line with its model (the ORM's schema diff)."""
    model = find_model(kokoropy, app, table)
    if model is None:
        raise UsageError('no model of table %r in applications/%s/models/; give the columns '
                         '(NAME:TYPE ...) or create the model first' % (table, app))
    check_no_pending(kokoropy, config, app)
    database = application_existing_database(kokoropy, config, app)
    if database is None or not database.table_exists(table):
        declarations = [(f.name, f.declaration()) for f in model._meta.fields.values()
                        if f.editable]
        return create_table_migration(table, declarations, description)
    missing = [f for f in model.schema_diff(database) if f.editable]
    if not missing:
        raise CommandError('table %r already has every column of %s.%s: nothing to migrate'
                           % (table, model.__module__, model.__name__))
    additions = [(f.name, f.column, f.declaration()) for f in missing]
    return add_columns_migration(table, additions, description)


@command('scaffold-model', 'write a model module and the migration creating its table',
         '%s scaffold-model shop category name:string:required' % PROG, [
             argument('app', metavar='APP', help='an application; '
                      'created (as scaffold-application does) when it does not exist'),
             argument('table', metavar='TABLE', help='the table (singular: product, '
                      'blog_post); the class is its CamelCase name'),
             argument('columns', nargs='*', default=[], metavar='NAME:TYPE', help=COLUMNS_HELP)],
         details="""
Writes applications/APP/models/TABLE.py (class Table(Model) with one field per column) and
applications/APP/migrations/NNNN_create_TABLE.py, and nothing else (but the application's own
files, as scaffold-application writes them, when APP does not exist yet).
""" + COLUMN_DETAILS)
def cmd_scaffold_model(args):
    """Write a model and its migration (and the application when it is new)."""
    plan, app_folder, kokoropy, columns = plan_table_command(args)
    add_model_files(plan, kokoropy, args.app, app_folder, args.table, columns)
    plan.write()
    sys.stdout.write('Create its table with: %s migration-upgrade %s\n' % (PROG, args.app))
    return 0


def plan_table_command(args):
    """The start of scaffold-model and scaffold-crud: (plan, application folder, the kokoropy
    module, parsed columns), with the application planned when it is new and the table name
    and columns checked."""
    plan = FilePlan()
    app_folder = application_folder(plan, args.app)
    kokoropy = load_kokoropy()
    configure(kokoropy)
    check_table_name(kokoropy, args.table)
    return plan, app_folder, kokoropy, parse_columns(args.columns, _model_attributes(kokoropy))


def add_model_files(plan, kokoropy, app, app_folder, table, columns):
    """Plan models/<table>.py and the migration creating its table (checked first)."""
    if os.path.exists(model_file(app_folder, table)):
        raise UsageError('%s exists already' % _relative(model_file(app_folder, table)))
    check_references(app_folder, table, columns)
    check_table_owner(app, table)
    creator = table_migration(table, app)
    if creator:
        raise UsageError('table %r is created by %s already' % (table, _relative(creator)))
    migration = next_migration_file(app_folder, 'create_' + table)
    plan.add(model_file(app_folder, table),
             model_module(kokoropy, app, table, columns, migration))
    declarations = [(c.name, field_declaration(kokoropy, c)) for c in columns]
    description = 'Create the %s table of the %s application.' % (table, app)
    plan.add(migration, create_table_migration(table, declarations, description))


@command('scaffold-crud', 'write model, migration, controller, views and routes of a complete '
         'CRUD under /APP/TABLE', '%s scaffold-crud shop product name:string:required '
         'price:float photo:upload category:ref:category' % PROG, [
             argument('app', metavar='APP', help='an application; '
                      'created (as scaffold-application does) when it does not exist'),
             argument('table', metavar='TABLE', help='the table (singular: product)'),
             argument('columns', nargs='*', default=[], metavar='NAME:TYPE',
                      help=COLUMNS_HELP + '; leave them out to use an existing model')],
         details="""
Creates the application first when APP does not exist (as scaffold-application does). Writes
the model and its migration (unless models/TABLE.py exists: then give no columns),
controllers/TABLE.py, views/TABLE_list.tpl, TABLE_show.tpl, TABLE_form.tpl, TABLE_delete.tpl,
and adds the URLs to routes.py:
  /APP/TABLE                 list: pages, search box, sort by column (JSON: ?format=json)
  /APP/TABLE/new             create form (GET) and its submission (POST)
  /APP/TABLE/ID              detail (JSON: ?format=json or Accept: application/json)
  /APP/TABLE/ID/edit         edit form
  /APP/TABLE/ID/delete       confirmation page; the delete itself is a POST
Forms have a widget per type, keep the input and show messages beside invalid fields, carry a
CSRF token, store uploads under applications/APP/assets/uploads/ and never show passwords.
Run migration-upgrade APP afterwards to create the table.
""" + COLUMN_DETAILS)
def cmd_scaffold_crud(args):
    """Write a complete CRUD (and the application when it is new)."""
    plan, app_folder, kokoropy, columns = plan_table_command(args)
    values = crud_values(args.app, args.table)
    if os.path.exists(model_file(app_folder, args.table)):
        if columns:
            raise UsageError('%s exists already: leave out the columns to build the CRUD on it'
                             % _relative(model_file(app_folder, args.table)))
        model = model_class_in(kokoropy, args.app, args.table)
        check_table_owner(args.app, model._meta.table)
        values['Model'] = model.__name__
        fields = [(name, field) for name, field in model._meta.fields.items() if field.editable]
    elif not columns:
        raise UsageError('give the columns of the new table %r, e.g. name:string price:float'
                         % args.table)
    else:
        add_model_files(plan, kokoropy, args.app, app_folder, args.table, columns)
        fields = [(column.name, column_field(kokoropy, column)) for column in columns]
    add_crud_files(plan, app_folder, values, routes_source(app_folder, plan),
                   crud_test_module(kokoropy, args.app, args.table, fields, values))
    plan.write()
    sys.stdout.write('Next: %s migration-upgrade %s, then open /%s/%s; its tests: %s test %s\n'
                     % (PROG, args.app, args.app, args.table, PROG, args.app))
    return 0


@command('scaffold-view', "write one of a CRUD's views (list, show, form, delete) to customise",
         '%s scaffold-view shop product form --force' % PROG, [
             argument('app', metavar='APP', help='an existing application'),
             argument('table', metavar='TABLE', help='a table with a model in APP'),
             argument('view', metavar='VIEW', choices=CRUD_VIEWS,
                      help='one of %s' % ', '.join(CRUD_VIEWS)),
             argument('--force', action='store_true', help='overwrite the view if it exists')],
         details="""
Writes applications/APP/views/TABLE_VIEW.tpl as scaffold-crud writes it. An existing view is
left alone unless --force is given.""")
def cmd_scaffold_view(args):
    """Write one CRUD view."""
    app_folder = existing_application(args.app)
    check_identifier(args.table, 'table name')
    if not os.path.exists(model_file(app_folder, args.table)):
        raise UsageError('no model %s; create the CRUD first: %s scaffold-crud %s %s NAME:TYPE ...'
                         % (_relative(model_file(app_folder, args.table)), PROG, args.app,
                            args.table))
    path = view_file(app_folder, args.table, args.view)
    if os.path.exists(path) and not args.force:
        raise UsageError('%s exists; add --force to overwrite it' % _relative(path))
    plan = FilePlan()
    plan.add(path, render('crud/%s.tpl' % args.view, **crud_values(args.app, args.table)),
             replace=args.force)
    plan.write()
    return 0


CMS_CRUDS = (('page', ('admin', 'editor')), ('user', ('admin',)), ('group', ('admin',)))
USERNAME_PATTERN = re.compile(r'^[A-Za-z0-9_.@-]{1,40}$')
MIN_PASSWORD_LENGTH = 8


@command('scaffold-cms', 'write the cms application: users, groups, login, pages at '
         '/page/SLUG and a site menu', '%s scaffold-cms --admin-password "long secret"' % PROG, [
             argument('--admin-username', default='admin', metavar='NAME',
                      help='username of the first admin account (default admin)'),
             argument('--admin-password', metavar='PASSWORD',
                      help='its password, at least %d characters (asked for when left out '
                           'and a terminal is attached)' % MIN_PASSWORD_LENGTH)],
         details="""
Writes applications/cms/: Group, User (password stored as a salted hash) and Page (title,
slug, HTML body, published) models and their migration; /cms/login and /cms/logout
(session-based; after 5 wrong passwords for a username, or 20 from one address, further
attempts wait, longer after each new failure); the dashboard /cms; the CRUD of pages
(/cms/page, groups admin and editor), users and groups (/cms/user, /cms/group, group admin);
published pages at /page/SLUG, and a site menu of published pages and log in/out (the `menu`
of its routes.py). Applies the migrations and creates the admin account.
Other applications protect their pages with:
    from applications.cms.auth import login_required, group_required""")
def cmd_scaffold_cms(args):
    """Write the cms application, migrate it and create the first admin account."""
    check_new_application_name('cms')
    if not USERNAME_PATTERN.match(args.admin_username):
        raise UsageError('admin username %r must be 1 to 40 letters, digits or _ . @ -'
                         % args.admin_username)
    password = admin_password(args.admin_password)
    kokoropy = load_kokoropy()
    config = configure(kokoropy)
    for table in ('cms_group', 'cms_user', 'cms_page'):
        creator = table_migration(table, 'cms')
        if creator:
            raise UsageError('table %s is created by %s already' % (table, _relative(creator)))
    plan = FilePlan()
    add_cms_files(plan)
    migrator = project_migrator(kokoropy, config)
    # On a fresh checkout every application is migrated, as `start` would do.
    is_fresh_database = not migrator.database.tables()
    plan.write()
    try:
        run_migrations(lambda: migrator.apply_pending(None if is_fresh_database else 'cms'))
        create_admin(kokoropy, args.admin_username, password)
    except BaseException:
        _forget_cms(migrator)
        plan.undo()
        raise
    sys.stdout.write('Log in as %s at /cms/login once the server runs.\n' % args.admin_username)
    return 0


def admin_password(given):
    """The admin password: --admin-password, else asked twice on the terminal."""
    if given is None:
        if not sys.stdin.isatty():
            raise UsageError('give --admin-password PASSWORD (there is no terminal to ask on)')
        given = getpass.getpass('Password for the admin account: ')
        if getpass.getpass('The same password again: ') != given:
            raise UsageError('the two passwords differ')
    if len(given) < MIN_PASSWORD_LENGTH:
        raise UsageError('the admin password needs at least %d characters'
                         % MIN_PASSWORD_LENGTH)
    return given


def add_cms_files(plan):
    """Plan the cms application's files."""
    folder = os.path.join(applications_path(), 'cms')
    for name in sorted(TEMPLATES):
        if name.startswith('cms/'):
            plan.add(os.path.join(folder, *name.split('/')[1:]), TEMPLATES[name])
    for relative in ('controllers/__init__.py', 'migrations/__init__.py', 'assets/.gitkeep'):
        source = 'application/' + relative
        if source in TEMPLATES:
            plan.add(os.path.join(folder, *relative.split('/')), render(source, app='cms'))
    for table, groups in CMS_CRUDS:
        guard = ('from applications.cms.auth import group_required\n',
                 '@group_required(%s)\n' % ', '.join(repr(group) for group in groups))
        values = crud_values('cms', table, guard)
        plan.add(os.path.join(folder, 'controllers', table + '.py'),
                 render('crud/controller.py', **values))
        for view in CRUD_VIEWS:
            plan.add(view_file(folder, table, view), render('crud/%s.tpl' % view, **values))


def create_admin(kokoropy, username, password):
    """Create the first admin account (in the admin group)."""
    import importlib
    importlib.invalidate_caches()
    group_model = importlib.import_module('applications.cms.models.group').Group
    user_model = importlib.import_module('applications.cms.models.user').User
    try:
        user_model.create(username=username, password=password,
                          group=group_model.where(name='admin').first())
    except kokoropy.ValidationError as exc:
        raise CommandError('cannot create the admin account: %s' % _one_line(exc))
    sys.stdout.write('created the admin account %s\n' % username)


def _forget_cms(migrator):
    """After a failed scaffold-cms: undo the cms migrations that were applied."""
    try:
        applied = migrator.log('cms')
        if applied:
            migrator.downgrade('cms', len(applied))
    except Exception as exc:
        sys.stderr.write('rossian: warning: could not undo the cms migrations: %s\n'
                         % _one_line(exc))


def check_table_name(kokoropy, table):
    """Raise UsageError when `table` cannot name a new table and model class."""
    if ':' in table:
        raise UsageError('expected a table name before the columns, got %r' % table)
    check_identifier(table, 'table name')
    if table.startswith('kokoropy_'):
        raise UsageError('table names starting with kokoropy_ are reserved')
    class_name = model_class_name(table)
    if hasattr(kokoropy, class_name):
        raise UsageError('table %r would give a model class %s, a name kokoropy already uses; '
                         'choose another table name' % (table, class_name))


def check_references(app_folder, table, columns):
    """Raise UsageError when a reference column names a table without a model in the app."""
    for column in columns:
        if column.type == 'ref' and column.target != table and \
                not os.path.exists(model_file(app_folder, column.target)):
            raise UsageError('column %s refers to table %r, which has no model %s; create it '
                             'first: %s scaffold-model %s %s NAME:TYPE ...' % (
                                 column.name, column.target,
                                 _relative(model_file(app_folder, column.target)), PROG,
                                 os.path.basename(app_folder), column.target))


def model_file(app_folder, table):
    """The path of the model module of `table`: models/<table>.py."""
    return os.path.join(app_folder, 'models', table + '.py')


def check_table_owner(app, table):
    """Raise UsageError when another application's migration creates `table` in the database
    `app` uses: a table belongs to the application whose migration creates it, and no other
    application's command writes onto it."""
    creator = table_migration(table, app)
    owner = creator and os.path.basename(os.path.dirname(os.path.dirname(creator)))
    if creator and owner != app:
        raise UsageError('table %r belongs to application %s (%s): choose another name, set '
                         'table_name, or give %s its own DATABASE_URL'
                         % (table, owner, _relative(creator), app))


def table_migration(table, app):
    """The migration file that creates `table` in the database application `app` uses (of
    any application on that database), or None."""
    creates = re.compile(r'''create_table\(\s*['"]%s['"]''' % re.escape(table))
    root = applications_path()
    kokoropy = load_kokoropy()
    database = kokoropy.application_database(app, root)
    for other in _listdir(root):
        if kokoropy.application_database(other, root) is not database:
            continue
        folder = os.path.join(root, other, 'migrations')
        for name in _listdir(folder):
            path = os.path.join(folder, name)
            if name.endswith('.py') and creates.search(_read(path)):
                return path
    return None


def application_existing_database(kokoropy, config, app):
    """The database of application `app` (its own DATABASE_URL's, else the project's) when it
    exists already; None when looking would create it."""
    own = kokoropy.application_database(app, applications_path())
    if own is None:
        return existing_database(kokoropy, config)
    return own if own.path is None or os.path.exists(own.path) else None


def existing_database(kokoropy, config):
    """The project's Database when its file exists or it is a server's (None: do not create
    a SQLite file just to look)."""
    if is_server_database(config):
        return kokoropy.default_database()
    path = database_file(config)
    if path is None or not os.path.exists(path):
        return None
    return kokoropy.default_database()


def check_no_pending(kokoropy, config, app):
    """Refuse a schema diff while the application has migrations not applied yet."""
    pending = project_migrator(kokoropy, config, create=False).pending(app)
    if pending:
        raise CommandError('%s is not applied yet, so the database does not show the current '
                           'tables; run %s migration-upgrade %s first'
                           % (pending[0].label, PROG, app))


def find_model(kokoropy, app, table):
    """The Model class of `table` among the application's model modules, or None."""
    folder = os.path.join(applications_path(), app, 'models')
    for name in _listdir(folder):
        if name.endswith('.py') and name != '__init__.py':
            for model in _models_of(kokoropy, app, name[:-3]):
                if model._meta.table == table:
                    return model
    return None


def model_class_in(kokoropy, app, module_name):
    """The first Model class defined in applications/<app>/models/<module_name>.py."""
    models = _models_of(kokoropy, app, module_name)
    if not models:
        raise UsageError('applications/%s/models/%s.py defines no Model class'
                         % (app, module_name))
    return models[0]


def _models_of(kokoropy, app, module_name):
    """The Model classes a model module defines (not the ones it imports), in order."""
    import importlib
    module_path = 'applications.%s.models.%s' % (app, module_name)
    try:
        module = importlib.import_module(module_path)
    except Exception as exc:
        raise CommandError('cannot import applications/%s/models/%s.py: %s: %s'
                           % (app, module_name, type(exc).__name__, _one_line(exc)))
    return [value for value in vars(module).values()
            if isinstance(value, type) and issubclass(value, kokoropy.Model) and
            value.__module__ == module_path and value._meta is not None]


def _model_attributes(kokoropy):
    """Names a column may not take: the attributes of Model itself."""
    return set(name for name in dir(kokoropy.Model) if not name.startswith('_'))


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
    migrator = project_migrator(kokoropy, configure(kokoropy))
    done, failures = upgrade_each_application(kokoropy, migrator, args.app, args.to)
    for failure in failures:
        sys.stderr.write('rossian: error: %s\n' % failure)
    if failures:
        return 1
    if not done:
        sys.stdout.write('Nothing to apply: the database is up to date.\n')
    return 0


@command('migration-log', 'list the applied migrations, then the pending ones',
         '%s migration-log' % PROG, [
             argument('app', nargs='?', metavar='APP', help='only this application')])
def cmd_migration_log(args):
    """Print the migration history and what is still pending."""
    if args.app is not None:
        existing_application(args.app)
    kokoropy = load_kokoropy()
    migrator = project_migrator(kokoropy, configure(kokoropy), create=False)
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


def project_migrator(kokoropy, config, create=True):
    """A Migrator of the project's database. With create=False a database file that does not
    exist yet is left uncreated (an empty in-memory database stands in for it)."""
    database = kokoropy.default_database() if create else existing_database(kokoropy, config)
    return kokoropy.Migrator(database or kokoropy.Database(':memory:'), applications_path())


def upgrade_each_application(kokoropy, migrator, app=None, target=None):
    """Apply the pending migrations application by application, printing each one: a failing
    migration (rolled back whole) stops its own application only. Returns (the migrations
    applied, one message per application that failed)."""
    done, failures = [], []
    for name in [app] if app else migrator.applications():
        try:
            applied = migrator.apply_pending(name, target)
        except kokoropy.MigrationError as exc:
            applied = getattr(exc, 'completed', ())
            failures.append(_one_line(exc))
        _print_migrations(applied, 'applied')
        done.extend(applied)
    return done, failures


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



# --- the everyday toolbox: shell, routes, check, test ---------------------------------------

@command('shell', 'a Python prompt with the site loaded: models by class name, db, url, client',
         '%s shell -c "print(Product.all().count())"' % PROG, [
             argument('-c', dest='code', metavar='CODE',
                      help='run this Python code instead of a prompt')],
         details="""
Loads the configuration and every application, then opens an interactive prompt (the standard
library's `code` module) where every model of the applications is there by its class name
(Product.all()), with `db` (the database), `url`, `app`, `client` (a TestClient of the site) and
the kokoropy module. When standard input is not a terminal, the code it holds is run instead:
  echo "print(Product.all().count())" | %s shell""" % PROG)
def cmd_shell(args):
    """Open a prompt, or run -c or standard input, in the loaded site's namespace."""
    import code
    kokoropy = load_kokoropy()
    namespace = shell_namespace(kokoropy, load_site(kokoropy))
    if args.code is not None:
        return _run_user_code(args.code, '<shell -c>', namespace)
    if not sys.stdin.isatty():
        return _run_user_code(sys.stdin.read(), '<stdin>', namespace)
    models = sorted(name for name, value in namespace.items()
                    if isinstance(value, type) and issubclass(value, kokoropy.Model))
    banner = ('Kokoropy shell, Python %s. Models: %s.\nAlso: db, url, app, client, kokoropy. '
              'Ctrl+D leaves.' % (sys.version.split()[0], ', '.join(models) or 'none yet'))
    code.interact(banner=banner, local=namespace, exitmsg='')
    return 0


def load_site(kokoropy):
    """Configure kokoropy from the project and load every application; return the app.
    Applications that fail to load are reported on stderr by the loader, and left out;
    pending migrations get a one-line warning (the database is not created just to look)."""
    os.chdir(project_path())
    config = configure(kokoropy)
    warn_pending_migrations(kokoropy, project_migrator(kokoropy, config, create=False))
    return kokoropy.load_project(project_path())


def shell_namespace(kokoropy, app):
    """What the shell offers: the models by class name, db, url, app, client, kokoropy.
    Two applications' models with one class name are there as <app>_<Class> instead."""
    namespace = {'kokoropy': kokoropy, 'app': app, 'db': kokoropy.default_database(),
                 'url': kokoropy.url, 'client': kokoropy.TestClient(app),
                 '__name__': '__console__'}
    owners = collections.defaultdict(list)
    for app_name, model in site_models(kokoropy, app):
        owners[model.__name__].append((app_name, model))
    for class_name, found in owners.items():
        for app_name, model in found:
            namespace[class_name if len(found) == 1 else
                      '%s_%s' % (app_name, class_name)] = model
    return namespace


def site_models(kokoropy, app):
    """(application, Model class) for every model module of the loaded applications."""
    found = []
    for loaded in getattr(app, 'applications', ()):
        if not loaded.ok:
            continue
        for name in sorted(_listdir(os.path.join(loaded.path, 'models'))):
            if name.endswith('.py') and name != '__init__.py':
                found.extend((loaded.name, model)
                             for model in _models_of(kokoropy, loaded.name, name[:-3]))
    return found


def _model_database(model):
    """The database a model's rows live in: its binding (an application's own DATABASE_URL
    binds it), else the site's."""
    import kokoropy
    return model._database or kokoropy.default_database()


def _run_user_code(source, filename, namespace):
    """Run the user's code; its exception is printed as Python prints it (exit status 1),
    without this function's own frame."""
    try:
        compiled = compile(source, filename, 'exec')
    except SyntaxError as exc:
        traceback.print_exception(SyntaxError, exc, None)
        return 1
    try:
        exec(compiled, namespace)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception as exc:
        traceback.print_exception(type(exc), exc, exc.__traceback__.tb_next)
        return 1
    return 0


@command('routes', 'list every route: methods, path, name, application and handler',
         '%s routes --app shop' % PROG, [
             argument('--app', metavar='APP', help='only the routes of this application'),
             argument('--json', action='store_true', help='print the routes as JSON')],
         details="""
Lists the routes of the loaded site in the order they are matched: the routes.py urls, the
Autoroute_Controller actions and each application's assets. HEAD is answered by every GET
route and OPTIONS by every path, so they are not listed.""")
def cmd_routes(args):
    """Print the site's routes as a table or as JSON."""
    if args.app is not None:
        existing_application(args.app)
    kokoropy = load_kokoropy()
    rows = [row for row in route_rows(load_site(kokoropy))
            if args.app is None or row['application'] == args.app]
    if args.json:
        import json
        sys.stdout.write(json.dumps(rows, indent=2) + '\n')
        return 0
    header = {'methods': 'METHODS', 'path': 'PATH', 'name': 'NAME',
              'application': 'APPLICATION', 'handler': 'HANDLER'}
    table = [header] + [dict(row, methods=','.join(row['methods']), name=row['name'] or '-',
                             application=row['application'] or '-') for row in rows]
    keys = ['methods', 'path', 'name', 'application', 'handler']
    widths = [max(len(line[key]) for line in table) for key in keys[:-1]]
    for line in table:
        sys.stdout.write('  '.join(line[key].ljust(width) for key, width in
                                   zip(keys, widths)) + '  ' + line['handler'] + '\n')
    return 0


def route_rows(app):
    """One dict per route rule (its methods together), in matching order."""
    rows, by_key = [], {}
    for route in app.router.routes:
        key = (route.rule, id(route.config), route.target)
        if key in by_key:
            by_key[key]['methods'].append(route.method)
            continue
        by_key[key] = row = {'methods': [route.method], 'path': route.rule, 'name': route.name,
                             'application': route.config.get('app_name'),
                             'handler': _handler_name(route.target)}
        rows.append(row)
    return rows


def _handler_name(target):
    """'module.function' of a route's target."""
    name = getattr(target, '__qualname__', None) or getattr(target, '__name__', None)
    if name is None or '<locals>' in name:
        name = getattr(target, '__name__', None) or repr(target)
    module = getattr(target, '__module__', None)
    return '%s.%s' % (module, name) if module else name


@command('check', 'tell whether the site is ready to serve; exit status 1 when it is not',
         '%s check' % PROG, [
             argument('--host', default='127.0.0.1',
                      help='the address the site will listen on (default 127.0.0.1)')],
         details="""
Reports, each on a line with its fix: applications that fail to import, pending or broken
migrations, models whose table lacks columns, a PostgreSQL URL without its driver installed,
DEBUG on, no SECRET while the site is public (a BASE_URL with a host, or --host other than
a loopback address), TRUSTED_PROXIES unset while a BASE_URL says a proxy is in front, and
upload folders that can't be written. Exits 0 when all is well, 1 otherwise, so that a deploy
script can stop on it.""")
def cmd_check(args):
    """Run every readiness check; print problems with their fixes."""
    kokoropy = load_kokoropy()
    os.chdir(project_path())
    config = configure(kokoropy)
    problems = []
    for check in (_check_settings, _check_applications_and_schema):
        problems.extend(check(kokoropy, config, args))
    for problem, fix in problems:
        sys.stdout.write('problem: %s\n    fix: %s\n' % (problem, fix))
    if problems:
        sys.stdout.write('%d problem(s): the site is not ready to serve.\n' % len(problems))
        return 1
    sys.stdout.write('All checks passed: the site is ready to serve.\n')
    return 0


def _check_settings(kokoropy, config, args):
    """(problem, fix) pairs about the configuration alone."""
    problems = []
    url = str(config.get('database_url') or '')
    if url.split(':', 1)[0].split('+', 1)[0] in ('postgresql', 'postgres'):
        import importlib.util
        if not any(importlib.util.find_spec(name) for name in ('psycopg', 'pg8000')):
            problems.append(('DATABASE_URL is a PostgreSQL URL but neither driver is installed',
                             'pip install "psycopg[binary]" (or pip install pg8000, pure Python)'))
    if config.get('debug'):
        problems.append(('DEBUG is on: tracebacks and source lines are shown to visitors',
                         'remove DEBUG = True from applications/config.py and unset '
                         'KOKOROPY_DEBUG'))
    base_url = config.get('base_url') or '/'
    is_public = base_url.startswith(('http://', 'https://')) or \
        args.host not in ('127.0.0.1', 'localhost', '::1')
    if is_public and not (config.get('secret') or os.environ.get('KOKOROPY_SECRET')):
        problems.append(('no SECRET is set for a public site: each host would sign sessions '
                         'with its own generated .runtime/secret',
                         'set KOKOROPY_SECRET (the same on every host) or SECRET in '
                         'applications/config.py'))
    if base_url != '/' and not config.get('trusted_proxies'):
        problems.append(('BASE_URL %s suggests a reverse proxy, but TRUSTED_PROXIES is 0: '
                         'client addresses and https are not taken from it' % base_url,
                         'set KOKOROPY_TRUSTED_PROXIES to the number of proxies in front'))
    return problems


def _check_applications_and_schema(kokoropy, config, args):
    """(problem, fix) pairs about the applications, the migrations and the tables."""
    app = kokoropy.Kokoro(**config)
    with contextlib.redirect_stderr(io.StringIO()):    # reported below, with the fixes
        loaded = kokoropy.load_applications(app, applications_path())
    problems = [('application %s fails to load: %s: %s' % (
        application.name, type(application.error).__name__, _one_line(application.error)),
        'fix applications/%s (see: %s start --debug)' % (application.name, PROG))
        for application in loaded if not application.ok]
    try:
        pending = project_migrator(kokoropy, config, create=False).pending()
    except kokoropy.MigrationError as exc:
        return problems + [('a migration is broken: %s' % _one_line(exc),
                            'fix the migration file it names')]
    except ImportError:
        return problems  # no PostgreSQL driver: _check_settings() reported it
    except kokoropy.DatabaseUnavailable as exc:
        return problems + [(_one_line(exc), 'start the database server, or fix DATABASE_URL')]
    problems += [('migration %s is not applied' % migration.label,
                  '%s migration-upgrade %s' % (PROG, migration.application))
                 for migration in pending]
    models = site_models(kokoropy, app)
    migrating = set(migration.application for migration in pending)
    problems += _check_tables(kokoropy, [(app_name, model) for app_name, model in models
                                         if app_name not in migrating])
    return problems + _check_upload_folders(kokoropy, config, models)


def _check_tables(kokoropy, models):
    """A problem for each model whose table lacks some of its columns (the schema diff)."""
    problems = []
    for app_name, model in models:
        missing = [field.column for field in model.schema_diff(_model_database(model))]
        if missing:
            table = model._meta.table
            problems.append(('table %s lacks column(s) %s of %s.%s' % (
                table, ', '.join(missing), model.__module__, model.__name__),
                '%s scaffold-migration %s add_%s_columns %s, then migration-upgrade'
                % (PROG, app_name, table, table)))
    return problems


def _check_upload_folders(kokoropy, config, models):
    """A problem for each application with Upload fields whose uploads folder can't be written."""
    problems = []
    for app_name in sorted(set(app_name for app_name, model in models
                               if any(isinstance(field, kokoropy.Upload)
                                      for field in model._meta.fields.values()))):
        folder = kokoropy._uploads_folder(config, app_name)
        existing = folder
        while not os.path.exists(existing) and os.path.dirname(existing) != existing:
            existing = os.path.dirname(existing)      # the folder is made on the first upload
        if not os.path.isdir(existing) or not os.access(existing, os.W_OK):
            problems.append(('uploads of %s can\'t be written to %s' % (app_name, folder),
                             'make %s writable by the server\'s user, or set UPLOAD_FOLDER'
                             % existing))
    return problems


@command('test', "run the applications' tests on a temporary database", '%s test shop' % PROG, [
    argument('app', nargs='?', metavar='APP', help='only this application'),
    argument('-v', '--verbose', action='store_true', help='name each test as it runs')],
    details="""
Runs the tests in applications/*/tests/ (or APP's) with the standard library's unittest, on a
temporary SQLite database with every migration applied and a temporary uploads folder, so they
never touch the site's own data. scaffold-crud writes tests/test_TABLE.py for each CRUD.
Exits 0 when every test passes, 1 otherwise.""")
def cmd_test(args):
    """Run the applications' tests on a temporary copy of the schema."""
    import unittest
    folders = test_folders(args.app)
    if not folders:
        sys.stdout.write('No tests: no application has a tests/ folder (scaffold-crud writes '
                         'one).\n')
        return 0
    kokoropy = load_kokoropy()
    with temporary_site(kokoropy):
        loader = unittest.TestLoader()
        suite = unittest.TestSuite(loader.discover(folder, top_level_dir=project_path())
                                   for folder in folders)
        result = unittest.TextTestRunner(stream=sys.stdout, verbosity=2 if args.verbose else 1
                                         ).run(suite)
    return 0 if result.wasSuccessful() else 1


def test_folders(app):
    """The tests/ packages of APP, or of every application that has one."""
    names = [app] if app else sorted(_listdir(applications_path()))
    if app:
        existing_application(app)
    folders = [os.path.join(applications_path(), name, 'tests') for name in names]
    found = [folder for folder in folders if os.path.isfile(os.path.join(folder, '__init__.py'))]
    if app and not found:
        raise UsageError('applications/%s/tests/ has no tests (a package with __init__.py); '
                         'scaffold-crud writes one' % app)
    return found


@contextlib.contextmanager
def temporary_site(kokoropy):
    """The project configured on a temporary database (every migration applied), uploads and
    runtime folder, its applications loaded; the environment and the files restored afterwards."""
    import shutil
    folder = tempfile.mkdtemp(prefix='rossian-test-')
    url = 'sqlite:///' + os.path.join(folder, 'test.db')
    settings = {'KOKOROPY_DATABASE_URL': url, 'KOKOROPY_TEST_DATABASE_URL': url,
                'KOKOROPY_UPLOAD_FOLDER': os.path.join(folder, 'uploads'),
                'KOKOROPY_RUNTIME_PATH': os.path.join(folder, 'runtime')}
    saved = dict((name, os.environ.get(name)) for name in settings)
    os.environ.update(settings)
    try:
        os.chdir(project_path())
        config = configure(kokoropy)
        migrator = project_migrator(kokoropy, config)
        try:
            migrator.apply_pending()
        except kokoropy.MigrationError as exc:
            raise CommandError('the migrations fail on a fresh database: %s' % _one_line(exc))
        kokoropy.load_project(project_path())
        yield
    finally:
        kokoropy.default_database().close()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(folder, ignore_errors=True)


# --- moving a site's data: db-dump and db-load ---------------------------------------------

DUMP_FORMAT = 'kokoropy-dump 1'


@command('db-dump', "write every row of the applications' tables as JSON (to standard output)",
         '%s db-dump > site.json' % PROG, [
             argument('apps', nargs='*', metavar='APP', help='only these applications')],
         details="""
Writes one JSON document: for each application, the migration versions the database is at
and every row of its models' tables (dates as ISO text, uploads as their stored names, the ids
kept). db-load puts it into another database: this is how a site moves from db/kokoropy.db to
PostgreSQL (see the README, "Outgrowing one machine").""")
def cmd_db_dump(args):
    """Print the applications' rows and migration versions as JSON."""
    for app in args.apps:
        existing_application(app)
    kokoropy = load_kokoropy()
    app = load_site(kokoropy)
    migrator = project_migrator(kokoropy, configure(kokoropy), create=False)
    dump = {'format': DUMP_FORMAT, 'applications': {}}
    for app_name, models in _models_by_application(kokoropy, app, args.apps):
        dump['applications'][app_name] = {
            'migrations': sorted(row['version'] for row in migrator.log(app_name)),
            'tables': dict((model._meta.table, _dump_table(model)) for model in models)}
    _write_dump(dump, sys.stdout)
    return 0


def _write_dump(dump, out):
    """The dump as JSON with one line per row, so that a large one stays readable."""
    import json
    text = json.dumps
    out.write('{"format": %s,\n "applications": {' % text(dump['format']))
    for i, (app_name, content) in enumerate(sorted(dump['applications'].items())):
        out.write('%s\n  %s: {"migrations": %s, "tables": {'
                  % (',' if i else '', text(app_name), text(content['migrations'])))
        for j, (table, data) in enumerate(content['tables'].items()):
            out.write('%s\n   %s: {"columns": %s, "rows": [' % (',' if j else '', text(table),
                                                              text(data['columns'])))
            out.write(','.join('\n    ' + text(row) for row in data['rows']))
            out.write(']}')
        out.write('}}')
    out.write('}}\n')


def _models_by_application(kokoropy, app, only=()):
    """[(application, [Model ...])] of the loaded applications (or of `only`), each model's
    table once, referenced tables before the tables referring to them."""
    grouped = collections.OrderedDict()
    for app_name, model in site_models(kokoropy, app):
        if not only or app_name in only:
            grouped.setdefault(app_name, collections.OrderedDict()).setdefault(
                model._meta.table, model)
    return [(name, _referenced_first(kokoropy, list(models.values())))
            for name, models in grouped.items()]


def _referenced_first(kokoropy, models):
    """The models ordered so that each comes after the models its ForeignKeys refer to."""
    by_table = dict((model._meta.table, model) for model in models)
    ordered, visiting = [], set()

    def visit(model):
        if model in ordered or model in visiting:
            return
        visiting.add(model)
        for field in model._meta.fields.values():
            if isinstance(field, kokoropy.ForeignKey) and field.related_table in by_table:
                visit(by_table[field.related_table])
        ordered.append(model)
    for model in models:
        visit(model)
    return ordered


def _dump_table(model):
    """{'columns': [...], 'rows': [[...], ...]} of every row of the model's table, by id."""
    database = _model_database(model)
    columns = database.columns(model._meta.table)
    fields = dict((field.column, field) for field in model._meta.fields.values())
    sql = database.dialect.select(model._meta.table, database.dialect.column_list(columns),
                                  order=database.dialect.order_term('id', False))
    rows = [[_json_value(fields.get(column), value) for column, value in zip(columns, row)]
            for row in database.execute(sql).fetchall()]
    return {'columns': columns, 'rows': rows}


def _json_value(field, value):
    """A stored value as JSON: dates and times as ISO text, booleans as true/false."""
    if field is not None and value is not None:
        value = field.from_db(value)
    if hasattr(value, 'isoformat'):
        return value.isoformat(' ') if hasattr(value, 'hour') else value.isoformat()
    return value


@command('db-load', 'load a db-dump into the configured database, in one transaction',
         '%s db-load site.json --replace' % PROG, [
             argument('file', metavar='FILE', help='a file written by db-dump'),
             argument('--replace', action='store_true',
                      help='delete the rows the tables hold first (else they must be empty)')],
         details="""
The configured database must be migrated to the versions the dump was taken at (else nothing
is loaded and the differences are named). Rows keep their ids, so references stay; on
PostgreSQL the id sequences move past the loaded ids. Tables that hold rows are refused unless
--replace is given. Everything happens in one transaction: an error loads nothing.""")
def cmd_db_load(args):
    """Load a dump written by db-dump."""
    dump = _read_dump(args.file)
    kokoropy = load_kokoropy()
    app = load_site(kokoropy)
    migrator = project_migrator(kokoropy, configure(kokoropy), create=False)
    plan = _load_plan(kokoropy, app, migrator, dump)
    _refuse_rows_present(plan, args.replace)
    databases = []      # the site's, and those of applications with their own DATABASE_URL
    for model, _table in plan:
        if _model_database(model) not in databases:
            databases.append(_model_database(model))
    try:
        with contextlib.ExitStack() as transactions:
            for database in databases:
                transactions.enter_context(database.transaction())
            if args.replace:
                for model, _table in reversed(plan):
                    database = _model_database(model)
                    database.execute(database.dialect.delete(model._meta.table))
            count = sum(_load_table(model, table) for model, table in plan)
    except Exception as exc:
        raise CommandError('nothing was loaded: %s: %s' % (type(exc).__name__, _one_line(exc)))
    sys.stdout.write('Loaded %d rows into %d tables.\n' % (count, len(plan)))
    return 0


def _read_dump(path):
    import json
    try:
        with open(path, encoding='utf-8') as f:
            dump = json.load(f)
    except OSError as exc:
        raise UsageError('cannot read %s: %s' % (path, exc.strerror or exc))
    except ValueError as exc:
        raise UsageError('%s is not JSON: %s' % (path, exc))
    if not isinstance(dump, dict) or dump.get('format') != DUMP_FORMAT:
        raise UsageError('%s is not a file written by %s db-dump' % (path, PROG))
    return dump


def _load_plan(kokoropy, app, migrator, dump):
    """[(Model, its table in the dump)] in loading order, after checking that every
    application of the dump is here, at the same migrations, with those tables."""
    models = dict(_models_by_application(kokoropy, app))
    plan = []
    for app_name, content in sorted(dump['applications'].items()):
        if app_name not in models:
            raise CommandError('the dump holds application %s, which is not in %s'
                               % (app_name, _relative(applications_path())))
        here = sorted(row['version'] for row in migrator.log(app_name))
        if here != content['migrations']:
            raise CommandError(
                '%s is at migrations %s here but the dump was taken at %s: run %s '
                'migration-upgrade (or -downgrade) %s to match it first'
                % (app_name, _versions(here), _versions(content['migrations']), PROG, app_name))
        for model in models[app_name]:
            if model._meta.table in content['tables']:
                plan.append((model, content['tables'][model._meta.table]))
    return plan


def _versions(versions):
    return ', '.join('%04d' % version for version in versions) or 'none'


def _refuse_rows_present(plan, replace):
    if replace:
        return
    for model, _table in plan:
        database = _model_database(model)
        dialect = database.dialect
        count = database.execute(dialect.count(dialect.select(
            model._meta.table, dialect.column_list(['id'])))).fetchone()[0]
        if count:
            raise CommandError('table %s holds %d rows already: load into empty tables, or '
                               'give --replace to delete them first' % (model._meta.table, count))


def _load_table(model, table):
    """Insert the dump's rows of one table, converted by the model's fields; the row count."""
    database = _model_database(model)
    fields = dict((field.column, field) for field in model._meta.fields.values())
    columns = table['columns']
    sql = database.dialect.insert(model._meta.table, columns)
    for row in table['rows']:
        database.execute(sql, [_stored_value(fields.get(column), value)
                               for column, value in zip(columns, row)])
    reset = getattr(database.dialect, 'reset_sequence', None)
    if reset is not None and table['rows']:
        database.execute(reset(model._meta.table))
    return len(table['rows'])


def _stored_value(field, value):
    """A JSON value as the database stores it for the field."""
    if field is None or value is None:
        return value
    return field.to_db(field.to_python(value))


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
    migrator = project_migrator(kokoropy, configure(kokoropy), create=False)
    if not run_migrations(lambda: migrator.downgrade(args.app, args.steps), 'reverted'):
        sys.stdout.write('Nothing to undo: no migration of %s is applied.\n' % args.app)
    return 0


if __name__ == '__main__':
    sys.exit(main())
