import importlib
import inspect
import os
import re
import sys
import traceback
import types

###############################################################################
# 11. Applications and config
# load_config() reads applications/config.py, KOKOROPY_* variables and command-line overrides;
# load_applications() imports every application under applications/ and wires its routes.py,
# its Autoroute_Controller classes and its assets into a Kokoro app. Uses everything above.
###############################################################################

__all__ += ['load_config', 'load_applications', 'load_project', 'LoadedApplication',
            'Autoroute_Controller', 'AutorouteController', 'installed_applications', 'menu_views']


# Every setting, its default and its type; applications/config.py names them in CAPITALS.
CONFIG_DEFAULTS = {name: value for name, value in Config.DEFAULTS.items()
                   if name not in ('project_path', 'applications_path')}
CONFIG_FILE_NAME = 'config.py'
CONFIG_ENV_PREFIX = 'KOKOROPY_'
_TRUE_WORDS = ('1', 'true', 'yes', 'on')
_FALSE_WORDS = ('0', 'false', 'no', 'off', '')
# Method-name prefix -> HTTP method; the specific ones come first so they win over action_.
ACTION_PREFIXES = (('get_', 'GET'), ('post_', 'POST'), ('put_', 'PUT'), ('patch_', 'PATCH'),
                   ('delete_', 'DELETE'), ('action_', 'ANY'))


def load_config(project_path, overrides=None):
    """Return the settings of the project at `project_path` as a dict with lowercase keys.

    Sources, each overriding the one before: the defaults (CONFIG_DEFAULTS),
    `applications/config.py` (UPPERCASE names such as DEBUG = True), environment variables
    `KOKOROPY_<NAME>` (typed like the default: booleans from 1/0/true/false/yes/no, integers
    from digits), then `overrides` (command-line flags; None values are ignored). Settings not
    in CONFIG_DEFAULTS pass through unchecked. Raises ValueError naming the setting and the
    source for a value of the wrong type.
    """
    project_path = os.path.abspath(project_path)
    config = dict(CONFIG_DEFAULTS, project_path=project_path)
    config_file = os.path.join(project_path, 'applications', CONFIG_FILE_NAME)
    for name, value in _read_config_file(config_file).items():
        config[name.lower()] = _checked_setting(name.lower(), value, 'applications/config.py')
    for name in CONFIG_DEFAULTS:
        variable = CONFIG_ENV_PREFIX + name.upper()
        if variable in os.environ:
            config[name] = _checked_setting(name, os.environ[variable],
                                            'environment variable ' + variable)
    for name, value in (overrides or {}).items():
        if value is not None:
            config[name] = _checked_setting(name, value, 'the command line')
    return config


class LoadedApplication(object):
    """One application found under applications/: its name, folder, package and what it added.

    `title` is what menus show: a `title = '...'` in the package's __init__.py or in routes.py,
    else the name made readable ('blog_posts' -> 'Blog posts'). `error` is None when it
    loaded, else the exception (with `traceback` its text); an application that failed adds no
    routes of its own (see load_applications()).
    """

    def __init__(self, name, path, module=None, routes=(), controllers=(), error=None,
                 traceback_text=None, menu=(), title=None):
        self.name, self.path, self.module = name, path, module
        self.title = title or _label_from_name(name)
        self.routes, self.controllers = list(routes), list(controllers)
        self.menu = list(menu)
        self.error, self.traceback = error, traceback_text

    @property
    def ok(self):
        """True when the application loaded without error."""
        return self.error is None

    def __repr__(self):
        state = 'ok' if self.ok else 'error: %s' % (self.error,)
        return '<LoadedApplication %s (%s)>' % (self.name, state)


def load_applications(app=None, applications_path=None):
    """Load every application under `applications_path` into `app`; return LoadedApplications.

    Each package (a folder with __init__.py) is imported as `applications.<name>`, in name
    order with `index` last (its catch-alls must not shadow the others). From it come
    `routes.py` (`urls`, `hooks`, `errors`, `menu`), the Autoroute_Controller subclasses of
    `controllers/*.py`, and `/<name>/assets/<path>` serving its assets/ folder. Routes get
    `app_name=<name>`. An application that fails (ImportError, SyntaxError, a bad urls entry)
    is reported on stderr and adds none of its routes; its URLs `/<name>...` then answer 500,
    showing the traceback in debug mode. Defaults: the default app, config['applications_path']
    or <project_path>/applications.
    """
    app = app or default_app()
    folder = (os.path.abspath(applications_path) if applications_path
              else _applications_folder(app.config))
    app.config['applications_path'] = folder     # where templates look for views too
    package = _import_applications_package(folder)
    loaded = []
    for name in _application_names(folder):
        try:
            plan, module = _plan_application(package, name, folder)
            routes = _apply_plan(app, plan, name)
            loaded.append(LoadedApplication(name, os.path.join(folder, name), module,
                                            routes, plan['controllers'], menu=plan['menu'],
                                            title=plan['title']))
        except Exception as exc:
            text = traceback.format_exc()
            sys.stderr.write('kokoropy: application %r failed to load: %s: %s\n'
                             % (name, type(exc).__name__, exc))
            _add_broken_application_routes(app, name, exc, text)
            loaded.append(LoadedApplication(name, os.path.join(folder, name), error=exc,
                                            traceback_text=text))
    app.applications = loaded
    return loaded


def load_project(project_path=None, overrides=None, app=None):
    """Configure `app` (default: the default app) from the project at `project_path` (default:
    the current folder) with load_config(), load its applications and return the app.

    This is what wsgi.py and `python rossian.py start` do.
    """
    app = app or default_app()
    app.config.update(load_config(project_path or os.getcwd(), overrides))
    load_applications(app)
    return app


def menu_views(app=None):
    """Names of the views the loaded applications add to the site menu (routes.py `menu`),
    in load order; the layout includes each one inside its menu list."""
    app = app or _app_of()
    return [view_name for loaded in getattr(app, 'applications', ()) if loaded.ok
            for view_name in loaded.menu]


def installed_applications(app=None):
    """Names of the loaded applications (but index) that answer GET /<name>: what a
    navigation menu lists. `app` defaults to the current request's app, else the default app."""
    app = app or _app_of()
    names = []
    for loaded in getattr(app, 'applications', ()):
        if loaded.ok and loaded.name != 'index' and _answers_get(app, '/' + loaded.name):
            names.append(loaded.name)
    return names


def application_title(name, app=None):
    """The title menus show for the loaded application `name` (see LoadedApplication.title);
    an unknown name is made readable the same way."""
    app = app or _app_of()
    for loaded in getattr(app, 'applications', ()):
        if loaded.name == name:
            return loaded.title
    return LoadedApplication(name, None).title


class Autoroute_Controller(object):
    """Base class of controllers whose methods are published by name (no routes.py needed).

    In applications/<app>/controllers/<module>.py, a subclass named by `name` (default: the
    module name) publishes `action_NAME` for any method and `get_NAME`, `post_NAME`,
    `put_NAME`, `patch_NAME`, `delete_NAME` for that method only, at /<app>/<controller>/NAME.
    Path segments after NAME are its positional arguments (converted by `int`/`float`
    annotations; 404 when they don't fit or are too many), query parameters fill the keyword
    arguments it declares. `*_index` answers /<app>/<controller> and /<app>/<controller>/ (and
    with `default = True`, or when the controller is named like the app, /<app> too); when it
    takes positional arguments, /<app>/<controller>/<args> fills them for any first segment
    that is not another action's name. Only plain functions with those prefixes are published.
    One instance serves one request: `self.request`, `self.response`, `self.app_name` (set
    before `__init__()` runs) and `self.render(view, **vars)`.
    """

    name = None         # URL name of the controller; None: the module name
    default = False     # True: also answer /<app> with the index action

    def render(self, view_name, **variables):
        """Render view `view_name` of this controller's application with `variables`."""
        return load_view(self.app_name, view_name, **variables)


AutorouteController = Autoroute_Controller


# --- configuration helpers ------------------------------------------------------------


def _read_config_file(path):
    """Return the UPPERCASE names defined by a config file ({} when there is none)."""
    if not os.path.isfile(path):
        return {}
    namespace = {'__file__': path, '__name__': '_kokoropy_config'}
    try:
        with open(path, encoding='utf-8') as f:
            exec(compile(f.read(), path, 'exec'), namespace)
    except Exception as exc:
        line = getattr(exc, 'lineno', None) or _error_line(exc, path)
        raise ValueError('%s%s: %s: %s' % (path, ', line %s' % line if line else '',
                                           type(exc).__name__, exc))
    return {name: value for name, value in namespace.items()
            if name.isupper() and not name.startswith('_')}


def _error_line(exc, path):
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename == path:
            return frame.lineno
    return None


def _checked_setting(name, value, source):
    """Return value converted to the type of the setting's default; ValueError if it can't be."""
    if name not in CONFIG_DEFAULTS:
        return value
    default = CONFIG_DEFAULTS[name]
    try:
        if isinstance(default, bool):
            return _as_bool(value)
        if isinstance(default, int):
            return _as_count(value)
        if name == 'base_url':
            return _as_base_url(value)
        if value is None and default is None:
            return None
        if not isinstance(value, str):
            raise ValueError('expected text')
        return value
    except ValueError as exc:
        raise ValueError('bad setting %s in %s: %s, got %r' % (name.upper(), source, exc, value))


def _as_bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS + _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    raise ValueError('expected true or false (1/0/yes/no)')


def _as_count(value):
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and re.match(r'^\s*[0-9]+\s*$', value):
        return int(value)
    raise ValueError('expected a whole number >= 0')


def _as_base_url(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError('expected a path such as /kokoropy/')
    value = value.strip()
    if '://' in value or '?' in value or '#' in value:
        raise ValueError('expected a path such as /kokoropy/')
    if not value.startswith('/'):
        value = '/' + value
    return value if value.endswith('/') else value + '/'


# --- discovery helpers ----------------------------------------------------------------


def _application_names(folder):
    """The application packages in `folder`, sorted, with 'index' last."""
    names = sorted(name for name in os.listdir(folder)
                   if name.isidentifier() and
                   os.path.isfile(os.path.join(folder, name, '__init__.py')))
    if 'index' in names:
        names.remove('index')
        names.append('index')
    return names


def _import_applications_package(folder):
    """Import the folder as a package (named after it), forgetting another one of that name.

    Raises FileNotFoundError when the folder does not exist, ValueError when its name cannot be
    a package name.
    """
    parent, package = os.path.split(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError('no applications folder at %s' % folder)
    if not package.isidentifier():
        raise ValueError('the applications folder %s must have a Python name, such as '
                         'applications' % folder)
    existing = sys.modules.get(package)
    paths = [os.path.abspath(p) for p in getattr(existing, '__path__', ())]
    if existing is not None and folder not in paths:
        # Another project's (or test's) applications package: drop it and its modules.
        for module_name in [m for m in sys.modules if m == package or
                            m.startswith(package + '.')]:
            del sys.modules[module_name]
    if parent not in sys.path:
        sys.path.insert(0, parent)
    importlib.invalidate_caches()
    return package


def _plan_application(package, name, folder):
    """Import application `name` and collect what it adds, without adding anything yet.

    Returns (plan, module): plan is {'routes': [(rule, methods, target, route name)],
    'hooks': [...], 'errors': [...], 'controllers': [...], 'menu': [view names]}. The rules are tried on a scratch
    Router first, so a bad entry leaves no half-loaded application behind.
    """
    module = importlib.import_module('%s.%s' % (package, name))
    routes_module = None
    if os.path.isfile(os.path.join(folder, name, 'routes.py')):
        routes_module = importlib.import_module('%s.%s.routes' % (package, name))
    where = 'applications/%s/routes.py' % name
    routes = [('/%s/assets/<path:path>' % name, ['GET'], _assets_handler(folder, name),
               '%s.assets' % name)]
    routes.extend(_url_plans(getattr(routes_module, 'urls', ()), where))
    controllers = _find_controllers(package, name, folder)
    planned = set((rule, method) for rule, methods, _, _ in routes for method in methods)
    for controller, module_name in controllers:
        for rule, methods, target, route_name in _controller_plans(controller, name, module_name):
            # An explicit url in routes.py wins over the same autorouted one.
            if (rule, methods[0]) not in planned:
                routes.append((rule, methods, target, route_name))
    scratch = Router()
    for rule, methods, target, _ in routes:
        scratch.add(rule, methods, target)
    plan = {'routes': routes, 'controllers': [controller for controller, _ in controllers],
            'hooks': _pair_plans(getattr(routes_module, 'hooks', ()), 'hooks', where,
                                 HOOK_NAMES),
            'errors': _pair_plans(getattr(routes_module, 'errors', ()), 'errors', where, int),
            'menu': _menu_plan(getattr(routes_module, 'menu', ()), where),
            'title': _title_plan(module, routes_module)}
    return plan, module


def _title_plan(module, routes_module):
    """The `title` string the package's __init__.py or its routes.py gives, else None. Only a
    non-blank str counts: a routes.py may well have a handler named `title`."""
    for source in (module, routes_module):
        title = getattr(source, 'title', None)
        if isinstance(title, str) and title.strip():
            return title.strip()
    return None


def _menu_plan(menu, where):
    """Check a routes.py `menu` sequence: names of views that render site menu items."""
    views = list(_as_sequence(menu, 'menu', where))
    for index, view_name in enumerate(views):
        if not isinstance(view_name, str) or not view_name:
            raise ValueError('%s: menu[%d] must be a view name such as "cms/menu", got %r'
                             % (where, index, view_name))
    return views


def _url_plans(urls, where):
    """Check a routes.py `urls` sequence; return route plans (rule, methods, target, name)."""
    plans = []
    for index, entry in enumerate(_as_sequence(urls, 'urls', where)):
        if not isinstance(entry, (tuple, list)) or not 2 <= len(entry) <= 4:
            raise ValueError('%s: urls[%d] must be (url, callable[, methods[, name]]), got %r'
                             % (where, index, entry))
        rule, target = entry[0], entry[1]
        methods = entry[2] if len(entry) > 2 and entry[2] is not None else 'GET'
        name = entry[3] if len(entry) > 3 else None
        methods = [methods] if isinstance(methods, str) else list(methods)
        if not isinstance(rule, str) or not rule.startswith('/'):
            raise ValueError('%s: urls[%d]: the url must be text starting with /, got %r'
                             % (where, index, rule))
        if not callable(target):
            raise ValueError('%s: urls[%d] (%s): %r is not callable'
                             % (where, index, rule, target))
        if not methods or not all(isinstance(m, str) and m for m in methods):
            raise ValueError('%s: urls[%d] (%s): bad methods %r' % (where, index, rule, entry[2]))
        if name is not None and not isinstance(name, str):
            raise ValueError('%s: urls[%d] (%s): the route name must be text, got %r'
                             % (where, index, rule, name))
        plans.append((rule, [m.upper() for m in methods], target, name))
    return plans


def _pair_plans(pairs, label, where, keys):
    """Check routes.py `hooks` or `errors`: a sequence of (hook name or status, callable);
    `keys` is the tuple of hook names, or int for statuses."""
    checked = []
    for index, entry in enumerate(_as_sequence(pairs, label, where)):
        key_fits = isinstance(entry, (tuple, list)) and len(entry) == 2 and (
            isinstance(entry[0], int) if keys is int else entry[0] in keys)
        if not key_fits or not callable(entry[1]):
            shape = ('(hook name, callable) with a hook name in %s' % (keys,)
                     if label == 'hooks' else '(status, callable)')
            raise ValueError('%s: %s[%d] must be %s, got %r' % (where, label, index, shape, entry))
        checked.append((entry[0], entry[1]))
    return checked


def _as_sequence(value, label, where):
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, '__iter__'):
        raise ValueError('%s: %s must be a list or tuple, got %r' % (where, label, value))
    return list(value)


def _apply_plan(app, plan, name):
    """Add a checked plan to the app; return the application's Routes."""
    for rule, methods, target, route_name in plan['routes']:
        app.route(rule, methods, target, name=route_name, app_name=name)
    for hook_name, function in plan['hooks']:
        app.add_hook(hook_name, function)
    for status, function in plan['errors']:
        app.error(status, function)
    return [route for route in app.router.routes if route.config.get('app_name') == name]


def _assets_handler(folder, name):
    root = os.path.join(folder, name, 'assets')

    def serve_asset(path):
        return static_file(path, root=root)
    serve_asset.__name__ = '%s_assets' % name
    return serve_asset


def _add_broken_application_routes(app, name, error, text):
    """Make /<name> and below answer 500 for an application that failed to load."""
    def application_failed(path=None):
        raise HTTPError(500, 'Application %r failed to load: %s: %s'
                        % (name, type(error).__name__, error), exception=error, traceback=text)
    rules = ['/%s' % name, '/%s/<path:path>' % name] + (['/'] if name == 'index' else [])
    app.route(rules, 'ANY', application_failed, app_name=name)


def _find_controllers(package, name, folder):
    """Import applications/<name>/controllers/*.py; return [(controller class, module name)]
    for every Autoroute_Controller subclass defined in those modules, in file and class order."""
    controllers_folder = os.path.join(folder, name, 'controllers')
    if not os.path.isdir(controllers_folder):
        return []
    found = []
    for file_name in sorted(os.listdir(controllers_folder)):
        module_name = file_name[:-3]
        if not file_name.endswith('.py') or not module_name.isidentifier() or \
                module_name == '__init__':
            continue
        module = importlib.import_module('%s.%s.controllers.%s' % (package, name, module_name))
        for value in list(vars(module).values()):
            if (isinstance(value, type) and issubclass(value, Autoroute_Controller) and
                    value.__module__ == module.__name__):
                found.append((value, module_name))
    return found


def _answers_get(app, path):
    try:
        app.router.match('GET', path)
    except (RouteNotFound, MethodNotAllowed):
        return False
    return True


# --- Autoroute_Controller helpers -----------------------------------------------------


def _controller_plans(controller, app_name, module_name):
    """Route plans (rule, [method], target, route name) for a controller's published methods."""
    controller_name = controller.name or module_name
    base = '/%s/%s' % (app_name, controller_name)
    actions = _controller_actions(controller)
    others = sorted(set(action for action, _, _ in actions if action != 'index'))
    plans, named = [], set()
    for action, method, attribute in actions:
        target = _action_target(controller, attribute, app_name)
        takes_arguments = target.takes_path_arguments
        if action == 'index':
            rules = [base, base + '/']
            if controller.default or controller_name == app_name:
                rules += ['/' + app_name, '/%s/' % app_name]
            if takes_arguments:
                rules.append(base + '/<args:%s>' % _index_arguments_filter(others))
        else:
            rules = [base + '/' + action]
            if takes_arguments:
                rules.append(base + '/' + action + '/<args:path>')
        route_name = '%s.%s.%s' % (app_name, controller_name, action)
        for rule in rules:
            plans.append((rule, [method], target, None if route_name in named else route_name))
            named.add(route_name)
    return plans


def _controller_actions(controller):
    """[(action, HTTP method, attribute)] for the plain methods with a published prefix,
    the method-specific ones before action_, index last (its catch-all must come after)."""
    actions = []
    for prefix, method in ACTION_PREFIXES:
        for attribute in sorted(dir(controller)):
            action = attribute[len(prefix):]
            if (attribute.startswith(prefix) and action and
                    isinstance(inspect.getattr_static(controller, attribute), types.FunctionType)):
                actions.append((action, method, attribute))
    return sorted(actions, key=lambda entry: entry[0] == 'index')


def _index_arguments_filter(other_actions):
    """A route filter taking the rest of the path, except paths that start with another
    action's name (those belong to that action, whatever the method)."""
    if not other_actions:
        return 'path'
    names = '|'.join(re.escape(action) for action in other_actions)
    return 're:(?!(?:%s)(?:/|$)).+' % names


def _action_target(controller, attribute, app_name):
    """The route target calling `controller().attribute(...)` with arguments from the URL."""
    function = getattr(controller, attribute)
    parameters = list(inspect.signature(function).parameters.values())[1:]   # without self

    def call_action(args=''):
        positional, keywords = _bind_action_arguments(parameters, _path_segments(args),
                                                      request.query)
        instance = controller.__new__(controller)
        instance.request, instance.response, instance.app_name = request, response, app_name
        instance.__init__()
        return getattr(instance, attribute)(*positional, **keywords)

    call_action.__name__ = '%s.%s' % (controller.__name__, attribute)
    call_action.__doc__ = function.__doc__
    call_action.csrf_exempt = getattr(function, 'csrf_exempt', False)
    call_action.takes_path_arguments = any(
        p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
        for p in parameters)
    return call_action


def _path_segments(args):
    segments = args.split('/') if args else []
    if segments and segments[-1] == '':
        segments.pop()          # '/show/5/' is '/show/5'
    return segments


def _bind_action_arguments(parameters, segments, query):
    """Match path segments and query fields to an action's parameters: (args, kwargs).

    Raises HTTPError 404 for segments that don't fit (too many, missing, wrong type) and
    400 for a query value of the wrong type.
    """
    positional, keywords, remaining = [], {}, list(segments)
    for parameter in parameters:
        if parameter.kind == parameter.VAR_POSITIONAL:
            positional.extend(_convert_argument(parameter, s, 404) for s in remaining)
            remaining = []
        elif parameter.kind == parameter.VAR_KEYWORD:
            for key in query:
                if key not in keywords and all(p.name != key for p in parameters):
                    keywords[key] = query.get(key)
        elif remaining and parameter.kind != parameter.KEYWORD_ONLY:
            positional.append(_convert_argument(parameter, remaining.pop(0), 404))
        elif parameter.name in query and parameter.kind != parameter.POSITIONAL_ONLY:
            keywords[parameter.name] = _convert_argument(parameter, query.get(parameter.name), 400)
        elif parameter.default is parameter.empty:
            raise HTTPError(404, 'Missing argument %r.' % parameter.name)
    if remaining:
        raise HTTPError(404, 'Too many path segments.')
    return positional, keywords


_INT_ARGUMENT = (int, re.compile(_INT_PATTERN + '$'))        # the router's <x:int> syntax
_FLOAT_ARGUMENT = (float, re.compile(_FLOAT_PATTERN + '$'))
_ARGUMENT_TYPES = {int: _INT_ARGUMENT, 'int': _INT_ARGUMENT,
                   float: _FLOAT_ARGUMENT, 'float': _FLOAT_ARGUMENT}


def _convert_argument(parameter, text, status):
    """Convert by the parameter's int/float annotation; HTTPError(status) when it does not fit."""
    converter = _ARGUMENT_TYPES.get(parameter.annotation)
    if converter is None:
        return text
    convert, pattern = converter
    if not pattern.match(text):
        raise HTTPError(status, 'Argument %r must be a number.' % parameter.name)
    return convert(text)


# Menu helpers every template can call (section 7 adds the web ones).
TEMPLATE_GLOBALS.update(installed_applications=installed_applications, menu_views=menu_views,
                        application_title=application_title)
