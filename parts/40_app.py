import io
import json
import os
import secrets
import sys
import time
import traceback
import wsgiref.util
import wsgiref.validate
from http import HTTPStatus
from urllib.parse import quote, unquote_to_bytes, urlencode, urlsplit

###############################################################################
# 4. Application
# Kokoro, the WSGI application: routes, hooks, error pages, base URL, the thread-local
# `request` and `response`, the default app with its module-level decorators, url() and
# base_url(), and TestClient to drive any WSGI app in-process. Uses sections 1-3.
###############################################################################

__all__ += ['Config', 'Kokoro', 'default_app', 'route', 'get', 'post', 'put', 'patch',
            'delete', 'hook', 'error', 'url', 'base_url', 'request', 'response', 'TestClient',
            'TestResponse']

HOOK_NAMES = ('before_request', 'after_request')
SESSION_MAX_AGE = 14 * 24 * 3600                # default config['session_max_age']: 14 days
MAX_REDIRECTS = 10


class Config(dict):
    """An application's settings: a dict holding a default for every documented key.

    debug (False): tracebacks on error pages. secret (None): signs cookies and sessions.
    base_url ('/'): serve every route under this prefix. project_path (the working folder at
    creation), applications_path (None: project_path/applications), runtime_path ('.runtime'),
    database_url ('sqlite:///db/kokoropy.db'), max_body_bytes (10 MiB), max_memfile_bytes
    (1 MiB), trusted_proxies (0: ignore X-Forwarded-*), reload_templates (False),
    session_max_age (14 days), csrf (True: check the CSRF token of form posts).
    """

    DEFAULTS = {
        'debug': False, 'secret': None, 'base_url': '/', 'project_path': None,
        'applications_path': None, 'runtime_path': '.runtime',
        'database_url': 'sqlite:///db/kokoropy.db', 'max_body_bytes': MAX_BODY_BYTES,
        'max_memfile_bytes': MAX_MEMFILE_BYTES, 'trusted_proxies': 0,
        'reload_templates': False, 'session_max_age': SESSION_MAX_AGE, 'csrf': True,
    }

    def __init__(self, values=None, **overrides):
        dict.__init__(self, self.DEFAULTS)
        self['project_path'] = os.getcwd()
        if values:
            self.update(values)
        self.update(overrides)


class Kokoro(object):
    """The WSGI application: `app = Kokoro(debug=True)`; `app(environ, start_response)`.

    Register handlers with app.route() / get() / post() ..., hooks with app.hook(), error
    pages with app.error(code). Handlers receive the route's wildcards as keyword arguments
    and return str, bytes, dict/list (JSON), None, an iterable, a file or an HTTPResponse.

    Trailing slashes: routes match exactly ('/a' and '/a/' differ). When a GET or HEAD request
    finds no route and the other form of its path (trailing slash added or removed) matches a
    GET route, the answer is a 308 redirect to that form, query string kept.

    Base URL: with config['base_url'] = '/site/' every route is served under /site/ (the
    prefix moves from PATH_INFO to SCRIPT_NAME), '/' redirects to '/site/' and other paths
    outside it are 404. A server-given SCRIPT_NAME plays the same role.

    Plug-ins (section 6): `session_interface` (open(request), save(request, response)) and
    `csrf_check(request, route)`, called before the handler unless the target is csrf_exempt.
    """

    session_interface = None
    csrf_check = None

    def __init__(self, config=None, **overrides):
        self.config = Config(config, **overrides)
        self.router = Router()
        self.error_handler = {}
        self.hooks = {name: [] for name in HOOK_NAMES}
        self._before_request = self.hooks['before_request']
        self._after_request = self.hooks['after_request']

    def __repr__(self):
        return '<Kokoro with %d routes>' % len(self.router.routes)

    # -- registration ------------------------------------------------------

    def route(self, path, method='GET', callback=None, name=None, app_name=None, **config):
        """Route `path` (a rule or a list of rules) for `method` (or a list, or 'ANY') to
        `callback`; used as a decorator when callback is None. `name` makes the route
        buildable by url(); `app_name` and other keywords land in route.config, where
        `max_body_bytes` and `max_memfile_bytes` override the config for this route.
        """
        def register(callback):
            rules = [path] if isinstance(path, str) else list(path)
            for rule in rules:
                added = self.router.add(rule, method, callback, name=name)
                added.config.update(config, app_name=app_name)
            return callback
        return register if callback is None else register(callback)

    def get(self, path, callback=None, **options):
        """Route GET (and so HEAD) requests for `path`; see route()."""
        return self.route(path, 'GET', callback, **options)

    def post(self, path, callback=None, **options):
        """Route POST requests for `path`; see route()."""
        return self.route(path, 'POST', callback, **options)

    def put(self, path, callback=None, **options):
        """Route PUT requests for `path`; see route()."""
        return self.route(path, 'PUT', callback, **options)

    def patch(self, path, callback=None, **options):
        """Route PATCH requests for `path`; see route()."""
        return self.route(path, 'PATCH', callback, **options)

    def delete(self, path, callback=None, **options):
        """Route DELETE requests for `path`; see route()."""
        return self.route(path, 'DELETE', callback, **options)

    def error(self, code, callback=None):
        """Register callback(error) to render the page of HTTP status `code` (decorator when
        callback is None). Its return value is the body; `response` is the error answer."""
        def register(callback):
            self.error_handler[int(code)] = callback
            return callback
        return register if callback is None else register(callback)

    def add_hook(self, name, func):
        """Run func() at `before_request` (after routing, before the handler; it may raise
        an HTTPResponse) or `after_request` (always, also for errors; it may alter `response`).
        """
        if name not in self.hooks:
            raise ValueError('unknown hook %r (known: %s)' % (name, ', '.join(HOOK_NAMES)))
        self.hooks[name].append(func)
        return func

    def remove_hook(self, name, func):
        """Remove a hook added with add_hook(); True when it was there."""
        if func in self.hooks.get(name, ()):
            self.hooks[name].remove(func)
            return True
        return False

    def hook(self, name):
        """Decorator form of add_hook()."""
        return lambda func: self.add_hook(name, func)

    def url(self, name, /, **params):
        """The path (with the site's root) of the named route; extra params become a query."""
        current = _request_in_thread()
        if current is not None and current.environ.get('kokoropy.app') is self:
            root = _quote_path(current.script_name)
        else:
            root = _quote_path(_prefix_of(self.config))
        return root + self.router.build(name, **params)

    # -- WSGI --------------------------------------------------------------

    def __call__(self, environ, start_response):
        environ['kokoropy.app'] = self
        local = _local
        local.request = current = Request(environ)
        local.response = None
        try:
            route, args = self._match(environ)
            for before in self._before_request:
                before()
            if route is None:
                raise args
            if self.csrf_check is not None and not getattr(route.target, 'csrf_exempt', False):
                self.csrf_check(current, route)
            result = route.target(**args)
        except HTTPResponse as answer:
            result = answer
        except Exception as exc:
            result = self._internal_error(environ, exc)
            local.response = None   # headers and cookies of a failed handler are not sent
        if local.response is None and not self._after_request and \
                'kokoropy.session' not in environ and 'kokoropy._body_file' not in environ:
            # Fast path: a plain body and nothing else touched; no Response object needed.
            kind = type(result)
            try:
                if kind is str or kind is bytes:
                    body = result.encode('utf-8') if kind is str else result
                    headers = [('Content-Type', _HTML_TYPE),
                               ('Content-Length', str(len(body))),
                               _SECURITY_HEADERS[0], _SECURITY_HEADERS[1]]
                elif kind is dict or kind is list:
                    body = json_dumps(result).encode('utf-8')
                    headers = [('Content-Type', _JSON_TYPE),
                               ('Content-Length', str(len(body))), _SECURITY_HEADERS[0]]
                else:
                    return self._respond(environ, current, result, start_response)
            except Exception as exc:    # unencodable text, a value JSON cannot encode
                result = self._internal_error(environ, exc)
            else:
                start_response('200 OK', headers)
                return [] if environ['REQUEST_METHOD'] == 'HEAD' else [body]
        return self._respond(environ, current, result, start_response)

    def _match(self, environ):
        """Return (route, args), or (None, HTTPResponse) to answer without a handler."""
        path = environ.get('PATH_INFO') or '/'
        base = self.config.get('base_url')
        if (base and base != '/') or not path.isascii() or path[:1] != '/' or \
                path[1:2] == '/':
            try:
                path = self._app_path(environ, path, base)
            except HTTPResponse as answer:
                return None, answer
        environ['kokoropy.path'] = path
        method = environ['REQUEST_METHOD']
        try:
            found = self.router.match(method, path)
        except RouteNotFound:
            return None, self._not_found(environ, method, path)
        except MethodNotAllowed as exc:
            if method == 'OPTIONS':     # RFC 9110 section 9.3.7
                return None, HTTPResponse(None, 204, Allow=', '.join(exc.allowed))
            return None, HTTPError(405, None, Allow=', '.join(exc.allowed))
        environ['kokoropy.route'], environ['kokoropy.route.args'] = found
        if environ.get('CONTENT_LENGTH'):
            refusal = self._check_content_length(environ)
            if refusal is not None:
                return None, refusal
        return found

    def _app_path(self, environ, raw_path, base):
        """Decode PATH_INFO (PEP 3333 latin-1 -> UTF-8) and move the base_url prefix to
        SCRIPT_NAME. Raises HTTPError 400 (not UTF-8), 404 (outside the prefix), or a 307
        redirect from '/' to the prefix."""
        try:
            path = _wsgi_to_text(raw_path)
        except UnicodeError:
            raise HTTPError(400, 'The request path is not valid UTF-8.')
        if path[:1] != '/' or path[1:2] == '/':
            path = '/' + path.lstrip('/')   # '//host' must not read as a network path
        prefix = _prefix_of(self.config)
        script_name = environ.get('SCRIPT_NAME', '').rstrip('/')
        if not prefix or _wsgi_to_text(script_name).endswith(prefix):
            return path
        if path == prefix or path.startswith(prefix + '/'):
            environ['SCRIPT_NAME'] = script_name + _text_to_wsgi(prefix)
            path = path[len(prefix):] or '/'
            environ['PATH_INFO'] = _text_to_wsgi(path)
            return path
        if path == '/':
            location = _quote_path(_wsgi_to_text(script_name) + prefix + '/')
            raise HTTPResponse('', 307, Location=location)
        raise HTTPError(404, None)

    def _check_content_length(self, environ):
        """HTTPError 413 (or 400) for a declared body over max_body_bytes (the matched route's
        own, else the config's), before anything reads it."""
        value = environ['CONTENT_LENGTH']
        if not value.strip().isdigit():
            return HTTPError(400, 'Malformed Content-Length header.')
        limit = _request_setting(environ, 'max_body_bytes')
        if int(value) > limit:
            return HTTPError(413, 'The request body is larger than %d bytes.' % limit)
        return None

    def _not_found(self, environ, method, path):
        """404, or a 308 to the other trailing-slash form of path when a GET route has it."""
        if method in ('GET', 'HEAD') and path != '/':
            other = path[:-1] if path.endswith('/') else path + '/'
            try:
                self.router.match('GET', other)
            except (RouteNotFound, MethodNotAllowed):
                pass
            else:
                root = _wsgi_to_text(environ.get('SCRIPT_NAME', '').rstrip('/'))
                location = _quote_path(root + other)
                query = environ.get('QUERY_STRING')
                if query:
                    location += '?' + quote(query.encode('latin-1'), safe=_URL_SAFE)
                return HTTPResponse('', 308, Location=location)
        return HTTPError(404, None)

    def _internal_error(self, environ, exc):
        """A 500 for an exception; the traceback goes to wsgi.errors (and the page in debug)."""
        text = traceback.format_exc()
        errors = environ.get('wsgi.errors') or sys.stderr
        try:
            errors.write('kokoropy: error in %s %s\n%s' % (
                environ.get('REQUEST_METHOD'), environ.get('PATH_INFO'), text))
            errors.flush()
        except Exception:
            pass
        return HTTPError(500, None, exception=exc, traceback=text)

    def _respond(self, environ, current, result, start_response):
        """The general path: error pages, after_request hooks, session, body conversion."""
        final = self._finish(environ, current, self._adopt(result))
        try:
            body, length, default_type = _body_to_wsgi(final.body, final.charset, environ)
            headers = final._wsgi_headers(length, default_type)
        except Exception as exc:
            final = self._failure_page(environ, current, exc)
            body, length, default_type = _body_to_wsgi(final.body, 'utf-8', environ)
            headers = final._wsgi_headers(length, default_type)
        code = final._status_code
        if environ['REQUEST_METHOD'] == 'HEAD' or code in _NO_BODY_STATUSES or code < 200:
            _close_quietly(body)
            body = []
        start_response(final._status_line, headers)
        if 'kokoropy._body_file' in environ:
            body = _ClosingBody(body, environ)
        return body

    def _adopt(self, result):
        """Make `result` the response: an HTTPResponse (keeping cookies set on `response`)
        or the body of the thread's Response."""
        local = _local
        current = local.response
        if isinstance(result, Response):
            if current is not None and current is not result:
                for cookie in current._headers.getall('Set-Cookie'):
                    result._headers.add('Set-Cookie', cookie)
            local.response = result
            return result
        if current is None:
            current = local.response = Response()
        current.body = result
        return current

    def _finish(self, environ, current, final):
        """Render error pages, run after_request hooks and save the session."""
        try:
            if isinstance(final, HTTPError):
                self._render_error(final, current)
            for after in self._after_request:
                after()
            final = _local.response
        except HTTPResponse as answer:
            final = self._adopt(answer)
            if isinstance(final, HTTPError):
                final.body = self._error_page(final, current)
        except Exception as exc:
            final = self._adopt(self._failure_page(environ, current, exc))
        if 'kokoropy.session' in environ and self.session_interface is not None:
            try:
                self.session_interface.save(current, final)
            except Exception as exc:
                final = self._failure_page(environ, current, exc)
        return final

    def _failure_page(self, environ, current, exc):
        """The 500 for an exception raised while finishing a response, its page rendered
        directly (the error handlers are not run again)."""
        error = self._internal_error(environ, exc)
        error.body = self._error_page(error, current)
        return error

    def _render_error(self, error, current):
        """Fill the error's body from the handler for its status, or the default page."""
        handler = self.error_handler.get(error._status_code)
        if handler is None:
            error.body = self._error_page(error, current)
            return
        try:
            error.body = handler(error)
        except HTTPResponse:
            raise
        except Exception as exc:
            failed = self._internal_error(current.environ, exc)
            error.status, error.traceback, error.body = 500, failed.traceback, None
            error.body = self._error_page(error, current)

    def _error_page(self, error, current):
        """The default error page: short HTML, or JSON when the client prefers it."""
        code = error._status_code
        message = error.body if isinstance(error.body, str) and error.body else \
            _default_message(code)
        shows_traceback = self.config.get('debug') and error.traceback
        if current.accepts_json:
            error.headers['Content-Type'] = _JSON_TYPE
            page = {'error': {'status': code, 'message': message}}
            if shows_traceback:
                page['error']['traceback'] = error.traceback
            return json_dumps(page)
        error.headers['Content-Type'] = _HTML_TYPE
        title = html_escape(error._status_line)
        details = '<pre>%s</pre>' % html_escape(error.traceback) if shows_traceback else ''
        return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%s</title></head>'
                '<body><h1>%s</h1><p>%s</p>%s</body></html>\n'
                % (title, title, html_escape(message), details))


_ERROR_MESSAGES = {
    400: 'The request could not be understood.',
    401: 'You need to sign in to see this page.',
    403: 'You are not allowed to see this page.',
    404: 'The page you asked for was not found.',
    405: 'This page does not accept that method.',
    413: 'The request is too large.',
    500: 'The server could not complete the request.',
}


def _default_message(code):
    if code in _ERROR_MESSAGES:
        return _ERROR_MESSAGES[code]
    try:
        return HTTPStatus(code).description or HTTPStatus(code).phrase
    except ValueError:
        return 'The request could not be completed.'


def _prefix_of(config):
    """config['base_url'] as a prefix without trailing slash: '/site/' -> '/site', '/' -> ''."""
    base = (config.get('base_url') or '/').strip('/')
    return '/' + base if base else ''


# ----------------------------------------------------------------------------- thread-local

class _RequestContextError(RuntimeError, AttributeError):
    """`request` used outside a request (an AttributeError too, so getattr() defaults work)."""


class _LocalRequest(object):
    """`request`: the Request of the request this thread is handling."""

    __slots__ = ()

    def __getattr__(self, name):
        current = getattr(_local, 'request', None)
        if current is None:
            _thread_request(name)
        return getattr(current, name)

    def __setattr__(self, name, value):
        setattr(_thread_request(name), name, value)

    def __repr__(self):
        return '<request %r>' % (getattr(_local, 'request', None),)


class _LocalResponse(object):
    """`response`: the Response being built for this thread's request (set status, headers,
    cookies on it)."""

    __slots__ = ()

    def __getattr__(self, name):
        current = getattr(_local, 'response', None)
        return getattr(current if current is not None else _thread_response(), name)

    def __setattr__(self, name, value):
        setattr(_thread_response(), name, value)

    def __repr__(self):
        return '<response %r>' % (getattr(_local, 'response', None),)


def _thread_request(name):
    current = getattr(_local, 'request', None)
    if current is None:
        raise _RequestContextError('request.%s is only available while a request is handled'
                                   % name)
    return current


def _thread_response():
    current = getattr(_local, 'response', None)
    if current is None:
        current = _local.response = Response()
    return current


request = _LocalRequest()
response = _LocalResponse()


# ----------------------------------------------------------------------------- default app

_default_app = []


def default_app():
    """The application the module-level route(), get(), hook(), error()... register on."""
    if not _default_app:
        _default_app.append(Kokoro())
    return _default_app[-1]


def _app_of(current=None):
    """The Kokoro app serving `current` (a Request; default: this thread's), else default_app()."""
    if current is None:
        current = _request_in_thread()
    app = getattr(current, 'app', None)
    return app if app is not None else default_app()


def _under_project(config, path):
    """A path named in `config`, relative to its project_path (an absolute path stays)."""
    return os.path.join(config.get('project_path') or os.getcwd(), path)


def _applications_folder(config):
    """The absolute applications folder of `config`: applications_path, else
    project_path/applications (a relative applications_path is under project_path)."""
    return os.path.abspath(_under_project(config, config.get('applications_path') or
                                          'applications'))


def route(path, method='GET', callback=None, name=None, app_name=None, **config):
    """Route on the default app; see Kokoro.route()."""
    return default_app().route(path, method, callback, name, app_name, **config)


def get(path, callback=None, **options):
    """Route GET requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'GET', callback, **options)


def post(path, callback=None, **options):
    """Route POST requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'POST', callback, **options)


def put(path, callback=None, **options):
    """Route PUT requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'PUT', callback, **options)


def patch(path, callback=None, **options):
    """Route PATCH requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'PATCH', callback, **options)


def delete(path, callback=None, **options):
    """Route DELETE requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'DELETE', callback, **options)


def hook(name):
    """Decorator adding a hook to the default app; see Kokoro.add_hook()."""
    return default_app().hook(name)


def error(code, callback=None):
    """Register an error page on the default app; see Kokoro.error()."""
    return default_app().error(code, callback)


def url(name, /, **params):
    """Build the path of a named route of the current (or default) app, with the site root:
    `url('user', id=3)` -> '/site/user/3'. Raises RouteBuildError."""
    return _app_of().url(name, **params)


def base_url(path=''):
    """The absolute URL of `path` under the site root: inside a request
    scheme://host[:port]/root/path (root from SCRIPT_NAME and base_url); outside one
    /root/path from the default app's config['base_url']."""
    current = _request_in_thread()
    if current is not None:
        root = _quote_path(current.script_name + '/')
        return '%s://%s%s%s' % (current.scheme, current.host, root, path.lstrip('/'))
    return _prefix_of(default_app().config) + '/' + path.lstrip('/')


# ----------------------------------------------------------------------------- TestClient

class TestResponse(object):
    """What TestClient returns: status (int), status_line, headers (HeaderDict), body
    (bytes), text, json, cookies (set by this response) and errors (text in wsgi.errors)."""

    __test__ = False    # not a test class, whatever pytest thinks of the name

    def __init__(self, status_line, headers, body, errors=''):
        self.status_line, self.body, self.errors = status_line, body, errors
        self.status = int(status_line.split(' ', 1)[0])
        self.headers = HeaderDict()
        for name, value in headers:
            self.headers.add(name, value)

    def __repr__(self):
        return '<TestResponse %s>' % self.status_line

    @property
    def text(self):
        """The body decoded with the Content-Type's charset (UTF-8 by default)."""
        charset = _parse_options_header(self.headers.get('Content-Type'))[1].get('charset')
        return self.body.decode(charset or 'utf-8', 'replace')

    @property
    def json(self):
        """The body parsed as JSON (None when empty); ValueError when it is not JSON."""
        return json.loads(self.body.decode('utf-8')) if self.body else None

    @property
    def cookies(self):
        """{name: value} of the cookies this response sets (deleted ones have value '')."""
        return {cookie['name']: cookie['value'] for cookie in
                (_parse_set_cookie(header, '/') for header in self.headers.getall('Set-Cookie'))}


class TestClient(object):
    """Call a WSGI application in-process as a browser would, keeping cookies between calls.

    `client = TestClient(app, validate=True)` also checks every exchange with
    wsgiref.validate (PEP 3333). Paths may include a query string; see request().
    """

    __test__ = False

    def __init__(self, app, validate=False, host='localhost', scheme='http'):
        self.app = wsgiref.validate.validator(app) if validate else app
        self.host, self.scheme = host, scheme
        self.cookie_jar = {}    # (name, path) -> {'name', 'value', 'path', 'secure'}

    def request(self, method, path, query=None, data=None, json=None, files=None,
                headers=None, follow_redirects=False, environ=None):
        """Send one request and return a TestResponse.

        query: dict or pairs added to the query string. data: dict/pairs (a form: urlencoded,
        or multipart with files), str or bytes (the raw body). json: a value sent as JSON.
        files: {'field': ('name.txt', b'data', 'text/plain')} (or a list of such tuples).
        headers: extra request headers. environ: extra WSGI environ keys.
        follow_redirects: follow 301/302/303/307/308 (at most MAX_REDIRECTS).
        """
        answer = self._send(method.upper(), path, query, data, json, files, headers, environ)
        for _ in range(MAX_REDIRECTS if follow_redirects else 0):
            if answer.status not in (301, 302, 303, 307, 308):
                break
            location = urlsplit(answer.headers['Location'])
            next_path = (location.path or '/') + ('?' + location.query if location.query else '')
            if answer.status in (307, 308):
                answer = self._send(method.upper(), next_path, None, data, json, files, headers,
                                    environ)
            else:
                answer = self._send('GET', next_path, None, None, None, None, headers, environ)
        return answer

    def get(self, path, **options):
        """Send a GET request; see request()."""
        return self.request('GET', path, **options)

    def post(self, path, **options):
        """Send a POST request; see request()."""
        return self.request('POST', path, **options)

    def put(self, path, **options):
        """Send a PUT request; see request()."""
        return self.request('PUT', path, **options)

    def patch(self, path, **options):
        """Send a PATCH request; see request()."""
        return self.request('PATCH', path, **options)

    def delete(self, path, **options):
        """Send a DELETE request; see request()."""
        return self.request('DELETE', path, **options)

    def head(self, path, **options):
        """Send a HEAD request; see request()."""
        return self.request('HEAD', path, **options)

    def options(self, path, **options):
        """Send an OPTIONS request; see request()."""
        return self.request('OPTIONS', path, **options)

    def _send(self, method, path, query, data, json_value, files, headers, extra_environ):
        environ = self._environ(method, path, query, headers, extra_environ)
        body, content_type = _encode_test_body(data, json_value, files)
        if body or method in ('POST', 'PUT', 'PATCH'):
            environ['CONTENT_LENGTH'] = str(len(body))
        if content_type and 'CONTENT_TYPE' not in environ:
            environ['CONTENT_TYPE'] = content_type
        environ['wsgi.input'] = io.BytesIO(body)
        errors = environ['wsgi.errors']     # the validator wraps the environ's copy
        cookie = self._cookie_header(environ)
        if cookie and 'HTTP_COOKIE' not in environ:
            environ['HTTP_COOKIE'] = cookie
        environ.update(extra_environ or {})
        captured = []

        def start_response(status, response_headers, exc_info=None):
            captured[:] = [status, list(response_headers)]
            return lambda data: captured.append(data)

        iterable = self.app(environ, start_response)
        try:
            chunks = list(iterable)
        finally:
            close = getattr(iterable, 'close', None)
            if close is not None:
                close()
            _local.request = _local.response = None
        answer = TestResponse(captured[0], captured[1], b''.join(captured[2:] + chunks),
                              errors.getvalue())
        self._store_cookies(answer, environ)
        return answer

    def _environ(self, method, path, query, headers, extra_environ):
        parts = urlsplit(path)
        scheme = parts.scheme or self.scheme
        host = parts.netloc or self.host
        query_string = parts.query
        if query:
            extra = urlencode(_pairs(query), doseq=True)
            query_string = query_string + '&' + extra if query_string else extra
        server_name, _, port = host.partition(':')
        environ = {
            'REQUEST_METHOD': method, 'SCRIPT_NAME': '', 'QUERY_STRING': query_string,
            'PATH_INFO': unquote_to_bytes(parts.path or '/').decode('latin-1'),
            'SERVER_NAME': server_name, 'SERVER_PORT': port or
            ('443' if scheme == 'https' else '80'), 'SERVER_PROTOCOL': 'HTTP/1.1',
            'REMOTE_ADDR': '127.0.0.1', 'HTTP_HOST': host, 'wsgi.version': (1, 0),
            'wsgi.url_scheme': scheme, 'wsgi.errors': io.StringIO(),
            'wsgi.multithread': False, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
            'wsgi.file_wrapper': wsgiref.util.FileWrapper,
        }
        for name, value in (headers or {}).items():
            environ[_environ_key(name)] = value
        return environ

    def _cookie_header(self, environ):
        path = _wsgi_to_text(environ['SCRIPT_NAME'] + environ['PATH_INFO'])
        is_https = environ['wsgi.url_scheme'] == 'https'
        matching = [cookie for cookie in self.cookie_jar.values()
                    if _cookie_path_matches(path, cookie['path'])
                    and (is_https or not cookie['secure'])]
        matching.sort(key=lambda cookie: -len(cookie['path']))   # RFC 6265 5.4
        return '; '.join('%s=%s' % (cookie['name'], cookie['value']) for cookie in matching)

    def _store_cookies(self, answer, environ):
        request_path = _wsgi_to_text(environ['SCRIPT_NAME'] + environ['PATH_INFO'])
        default_path = request_path[:request_path.rfind('/')] or '/'
        for header in answer.headers.getall('Set-Cookie'):
            cookie = _parse_set_cookie(header, default_path)
            key = (cookie['name'], cookie['path'])
            if cookie['expired']:
                self.cookie_jar.pop(key, None)
            else:
                self.cookie_jar[key] = cookie


def _parse_set_cookie(header, default_path):
    """Parse a Set-Cookie header into {'name', 'value', 'path', 'secure', 'expired'}."""
    first, _, rest = header.partition(';')
    name, _, value = first.partition('=')
    cookie = {'name': name.strip(), 'value': value.strip(), 'path': default_path,
              'secure': False, 'expired': False}
    for attribute in rest.split(';'):
        key, _, attribute_value = attribute.strip().partition('=')
        key = key.lower()
        if key == 'path' and attribute_value.startswith('/'):
            cookie['path'] = attribute_value
        elif key == 'secure':
            cookie['secure'] = True
        elif key == 'max-age':
            cookie['expired'] = attribute_value.strip().lstrip('-').isdigit() and \
                int(attribute_value) <= 0
        elif key == 'expires' and 'max-age=' not in rest.lower():
            stamp = parse_http_date(attribute_value)
            cookie['expired'] = stamp is not None and stamp <= time.time()
    return cookie


def _cookie_path_matches(request_path, cookie_path):
    """RFC 6265 section 5.1.4 path-match."""
    if request_path == cookie_path:
        return True
    return request_path.startswith(cookie_path) and \
        (cookie_path.endswith('/') or request_path[len(cookie_path)] == '/')


def _encode_test_body(data, json_value, files):
    """Return (body bytes, content type) for TestClient.request()'s data/json/files."""
    if json_value is not None:
        return json_dumps(json_value).encode('utf-8'), 'application/json'
    if files:
        return _encode_multipart(data or {}, files)
    if data is None:
        return b'', None
    if isinstance(data, (bytes, str)):
        return to_bytes(data), None
    return urlencode(_pairs(data), doseq=True).encode('ascii'), 'application/x-www-form-urlencoded'


def _encode_multipart(data, files):
    """Encode fields and files as multipart/form-data, the way browsers do (RFC 7578)."""
    boundary = 'kokoropy-' + secrets.token_hex(16)
    quote_name = lambda text: text.replace('"', '%22').replace('\r', '%0D').replace('\n', '%0A')
    out = io.BytesIO()
    for name, value in _pairs(data):
        for item in (value if isinstance(value, (list, tuple)) else [value]):
            out.write(('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                       % (boundary, quote_name(name))).encode('utf-8'))
            out.write(to_bytes(item) + b'\r\n')
    for name, specs in files.items():
        for spec in (specs if isinstance(specs, list) else [specs]):
            filename, content = spec[0], spec[1]
            content_type = spec[2] if len(spec) > 2 else 'application/octet-stream'
            if hasattr(content, 'read'):
                content = content.read()
            out.write(('--%s\r\nContent-Disposition: form-data; name="%s"; filename="%s"\r\n'
                       'Content-Type: %s\r\n\r\n' % (boundary, quote_name(name),
                                                     quote_name(filename), content_type)
                       ).encode('utf-8'))
            out.write(to_bytes(content) + b'\r\n')
    out.write(('--%s--\r\n' % boundary).encode('ascii'))
    return out.getvalue(), 'multipart/form-data; boundary=' + boundary
