import io
import json
import mimetypes
import os
import re
import tempfile
import threading
import unicodedata
from http import HTTPStatus
from http.cookies import Morsel, SimpleCookie
from urllib.parse import SplitResult, quote

###############################################################################
# 3. Request and response
# Request (a lazy view of one WSGI environ), Response, FileUpload and multipart parsing,
# HTTPResponse/HTTPError with abort() and redirect(), and static_file(). Parsed request data
# is cached in the environ, so every Request over one environ shares it. Uses sections 1-2.
###############################################################################

__all__ += ['Request', 'Response', 'FileUpload', 'HTTPResponse', 'HTTPError', 'abort',
            'redirect', 'static_file']

MAX_FORM_PARTS = 1000                   # multipart parts per request (a cheap DoS otherwise)
MAX_PART_HEADER_BYTES = 16 * 1024       # header block of one multipart part
COPY_CHUNK = 64 * 1024
MAX_COOKIE_BYTES = 4096                 # RFC 6265 section 6.1: what browsers keep at least

# Per-thread state of the request being handled: .request (a Request) and .response (a
# Response, created on first use). Section 4 binds it and exposes the `request`/`response`
# proxies; static_file() and set_cookie() read it here.
_local = threading.local()

# RFC 2046 section 5.1.1: a boundary is 1-70 of these characters, not ending with a space.
_BOUNDARY = re.compile(r"^[0-9A-Za-z'()+_,\-./:=? ]{0,69}[0-9A-Za-z'()+_,\-./:=?]$")
_HOST = re.compile(r'^[0-9A-Za-z.\-_]+(?::[0-9]+)?$|^\[[0-9A-Fa-f:.]+\](?::[0-9]+)?$')
_WINDOWS_RESERVED = frozenset(['CON', 'PRN', 'AUX', 'NUL'] + ['COM%d' % i for i in range(1, 10)]
                              + ['LPT%d' % i for i in range(1, 10)])
_COMPRESSED_TYPES = {'gzip': 'application/gzip', 'bzip2': 'application/x-bzip2',
                     'xz': 'application/x-xz', 'br': 'application/x-brotli'}
_TEXTUAL_TYPES = ('application/javascript', 'application/json', 'application/xml',
                  'image/svg+xml', 'application/xhtml+xml')
# Added to HTML responses unless the application changes or removes them.
_SECURITY_HEADERS = (('X-Content-Type-Options', 'nosniff'), ('X-Frame-Options', 'SAMEORIGIN'))
_NO_BODY_STATUSES = frozenset([204, 304])


def _request_in_thread():
    """The Request being handled by this thread, or None outside a request."""
    return getattr(_local, 'request', None)


class _cached_in_environ(object):
    """Read-only property computed once per request and stored in the environ, so that every
    Request over the same environ shares it (the body can only be read once)."""

    def __init__(self, function):
        self.function = function
        self.key = 'kokoropy.' + function.__name__
        self.__doc__ = function.__doc__

    def __get__(self, instance, owner):
        if instance is None:
            return self
        environ = instance.environ
        try:
            return environ[self.key]
        except KeyError:
            value = environ[self.key] = self.function(instance)
            return value


class Request(object):
    """A lazy view of one WSGI request: nothing is parsed until it is read.

    Text values are decoded from UTF-8 (PEP 3333 carries bytes as latin-1 strings). Reading
    the body, forms, files or json enforces config['max_body_bytes'] (HTTPError 413) and
    answers malformed input with HTTPError 400.
    """

    def __init__(self, environ):
        self.environ = environ

    def __repr__(self):
        return '<Request %s %s>' % (self.method, self.url)

    @property
    def app(self):
        """The Kokoro application handling this request (None outside one)."""
        return self.environ.get('kokoropy.app')

    @property
    def method(self):
        """The request method, upper-cased ('GET')."""
        return self.environ.get('REQUEST_METHOD', 'GET').upper()

    @_cached_in_environ
    def path(self):
        """The decoded path below the application root, always starting with '/'."""
        try:
            path = _wsgi_to_text(self.environ.get('PATH_INFO') or '/')
        except UnicodeError:
            raise HTTPError(400, 'The request path is not valid UTF-8.')
        if path[:1] != '/' or path[1:2] == '/':
            path = '/' + path.lstrip('/')   # '//host' must not read as a network path
        return path

    @property
    def script_name(self):
        """The decoded path of the application root (SCRIPT_NAME), without a trailing '/'."""
        return _wsgi_to_text(self.environ.get('SCRIPT_NAME', '')).rstrip('/')

    @property
    def fullpath(self):
        """script_name + path: the path the client asked for."""
        return self.script_name + self.path

    @property
    def query_string(self):
        """The raw query string (without '?')."""
        return self.environ.get('QUERY_STRING', '')

    @_cached_in_environ
    def query(self):
        """The query string's fields as a FormsDict (`.getall(name)` for repeated ones)."""
        text = self.environ.get('QUERY_STRING', '')
        try:
            text = _wsgi_to_text(text)
        except UnicodeError:
            text = text.encode('latin-1').decode('utf-8', 'replace')
        return _parse_qs(text)

    @_cached_in_environ
    def headers(self):
        """The request header fields as a case-insensitive HeaderDict."""
        headers = HeaderDict()
        for key, value in self.environ.items():
            if key.startswith('HTTP_'):
                headers[key[5:].replace('_', '-').title()] = value
            elif key in ('CONTENT_TYPE', 'CONTENT_LENGTH') and value:
                headers[key.replace('_', '-').title()] = value
        return headers

    def get_header(self, name, default=None):
        """Return one request header field's value, or default."""
        return self.environ.get(_environ_key(name), default)

    @property
    def content_type(self):
        """The Content-Type header ('' when absent)."""
        return self.environ.get('CONTENT_TYPE', '')

    @property
    def content_length(self):
        """The Content-Length as an int, or None when absent; HTTPError 400 when malformed."""
        value = self.environ.get('CONTENT_LENGTH', '')
        if not value:
            return None
        if not value.strip().isdigit():
            raise HTTPError(400, 'Malformed Content-Length header.')
        return int(value)

    @_cached_in_environ
    def cookies(self):
        """The request's cookies as a dict (the first of repeated names wins, RFC 6265 5.4)."""
        return _parse_cookie_header(self.environ.get('HTTP_COOKIE', ''))

    def get_cookie(self, name, default=None, secret=None, max_age=None):
        """Return a cookie's value, or default when absent.

        With `secret`, the cookie must have been set by set_cookie(..., secret=) for this
        name (and be younger than `max_age` seconds when given); a tampered, foreign or
        expired cookie gives `default`. Signed values come back with their JSON type.
        """
        value = self.cookies.get(name)
        if value is None or secret is None:
            return default if value is None else value
        payload = unsign_value(value, secret, max_age=max_age)
        try:
            signed_name, signed_value = json.loads(payload.decode('utf-8'))
        except (AttributeError, ValueError, TypeError, UnicodeError):
            return default
        return signed_value if signed_name == name else default

    @property
    def body(self):
        """The request body as a seekable binary file at position 0, spooled to disk beyond
        config['max_memfile_bytes']. HTTPError 413 beyond config['max_body_bytes']."""
        body = self._body_file
        body.seek(0)
        return body

    @property
    def body_bytes(self):
        """The whole request body as bytes."""
        data = self.body.read()
        self._body_file.seek(0)
        return data

    @_cached_in_environ
    def _body_file(self):
        return _read_body(self.environ, self.content_length, self._config('max_body_bytes'),
                          self._config('max_memfile_bytes'))

    @_cached_in_environ
    def forms(self):
        """The form fields (urlencoded or multipart, files excluded) as a FormsDict."""
        return self._parse_form_body()[0]

    @_cached_in_environ
    def files(self):
        """The uploaded files of a multipart body as a FormsDict of FileUpload."""
        return self._parse_form_body()[1]

    @_cached_in_environ
    def params(self):
        """Query and form fields together (query first) as a FormsDict."""
        params = self.query.copy()
        for key, value in self.forms.allitems():
            params.add(key, value)
        return params

    @_cached_in_environ
    def json(self):
        """The decoded JSON body, or None when the Content-Type is not JSON or the body is
        empty; HTTPError 400 when it is not valid JSON."""
        media_type = _parse_options_header(self.content_type)[0]
        if media_type != 'application/json' and not media_type.endswith('+json'):
            return None
        data = self.body_bytes
        if not data.strip():
            return None
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise HTTPError(400, 'The request body is not valid JSON: %s' % (exc,))

    @property
    def remote_addr(self):
        """The client's address: REMOTE_ADDR, or with config['trusted_proxies'] = N > 0, the
        X-Forwarded-For entry N places from the right (the one the outermost trusted proxy saw).
        """
        forwarded = self._forwarded('HTTP_X_FORWARDED_FOR')
        return forwarded or self.environ.get('REMOTE_ADDR')

    @property
    def scheme(self):
        """'http' or 'https' (X-Forwarded-Proto counts only behind trusted proxies)."""
        forwarded = self._forwarded('HTTP_X_FORWARDED_PROTO')
        if forwarded and forwarded.lower() in ('http', 'https'):
            return forwarded.lower()
        return self.environ.get('wsgi.url_scheme', 'http')

    @property
    def host(self):
        """The host[:port] the client asked for (X-Forwarded-Host only behind trusted proxies);
        a malformed Host falls back to SERVER_NAME and SERVER_PORT."""
        host = self._forwarded('HTTP_X_FORWARDED_HOST') or self.environ.get('HTTP_HOST', '')
        if host and _HOST.match(host):
            return host
        env = self.environ
        host, port = env.get('SERVER_NAME', 'localhost'), env.get('SERVER_PORT', '80')
        default_port = '443' if env.get('wsgi.url_scheme') == 'https' else '80'
        return host if port == default_port else '%s:%s' % (host, port)

    @property
    def urlparts(self):
        """The request URL as a urllib.parse.SplitResult (scheme, netloc, path, query, '')."""
        return SplitResult(self.scheme, self.host, _quote_path(self.fullpath),
                           self.query_string, '')

    @property
    def url(self):
        """The full URL the client asked for, percent-encoded."""
        return self.urlparts.geturl()

    @property
    def is_xhr(self):
        """True for requests marked `X-Requested-With: XMLHttpRequest`."""
        return self.environ.get('HTTP_X_REQUESTED_WITH', '').lower() == 'xmlhttprequest'

    @property
    def accepts_json(self):
        """True when the Accept header prefers application/json over text/html."""
        return _prefers_json(self.environ.get('HTTP_ACCEPT', ''))

    @property
    def route(self):
        """The matched Route, or None (404, 405, or before routing)."""
        return self.environ.get('kokoropy.route')

    @property
    def url_args(self):
        """The matched route's wildcard values as a dict."""
        return self.environ.get('kokoropy.route.args') or {}

    @property
    def app_name(self):
        """The application (folder under applications/) owning the matched route, or None."""
        route = self.environ.get('kokoropy.route')
        return None if route is None else route.config.get('app_name')

    @property
    def session(self):
        """The session dict, opened on first use by the application's session_interface."""
        environ = self.environ
        session = environ.get('kokoropy.session')
        if session is None:
            interface = getattr(self.app, 'session_interface', None)
            if interface is None:
                raise RuntimeError('sessions are off: no Kokoro.session_interface is set')
            session = environ['kokoropy.session'] = interface.open(self)
        return session

    def _config(self, key):
        """A limit from the route's config, else the app's config, else the default."""
        return _request_setting(self.environ, key)

    def _forwarded(self, key):
        """The X-Forwarded-* value set by the outermost of N trusted proxies, or None."""
        trusted = self._config('trusted_proxies')
        value = self.environ.get(key) if trusted else None
        if not value:
            return None
        hops = [hop.strip() for hop in value.split(',')]
        if len(hops) < int(trusted):
            return None         # fewer hops than trusted proxies: the header is not theirs
        return hops[-int(trusted)] or None

    def _parse_form_body(self):
        """Parse the body once into (forms, files), cached in the environ."""
        environ = self.environ
        media_type, options = _parse_options_header(self.content_type)
        forms, files = FormsDict(), FormsDict()
        if media_type == 'application/x-www-form-urlencoded':
            forms = _parse_qs(self.body_bytes.decode('utf-8', 'replace'))
        elif media_type == 'multipart/form-data':
            boundary = options.get('boundary', '')
            if not _BOUNDARY.match(boundary):
                raise HTTPError(400, 'Malformed multipart body: missing or invalid boundary.')
            forms, files = _parse_multipart(self.body, boundary.encode('latin-1'),
                                            self._config('max_memfile_bytes'))
        environ['kokoropy.forms'], environ['kokoropy.files'] = forms, files
        return forms, files


_REQUEST_DEFAULTS = {'max_body_bytes': MAX_BODY_BYTES, 'max_memfile_bytes': MAX_MEMFILE_BYTES,
                     'trusted_proxies': 0}


def _request_setting(environ, key):
    """Setting `key` for this request: the matched route's config, else the serving app's
    config, else _REQUEST_DEFAULTS (a route may lower or raise the app's body limits)."""
    route = environ.get('kokoropy.route')
    value = None if route is None else route.config.get(key)
    if value is None:
        app = environ.get('kokoropy.app')
        value = None if app is None else app.config.get(key)
    return _REQUEST_DEFAULTS[key] if value is None else value


class FileUpload(object):
    """One uploaded file of a multipart form.

    `name` is the form field; `raw_filename` the name the client sent; `filename` a safe
    basename of it (no folders, no '..', no control characters, never empty); `file` a
    binary file positioned at 0; `content_type` the part's declared type.
    """

    def __init__(self, file, name, raw_filename, headers=None):
        self.file, self.name, self.raw_filename = file, name, raw_filename
        self.headers = headers if headers is not None else HeaderDict()
        self.filename = _safe_filename(raw_filename)

    def __repr__(self):
        return '<FileUpload %s=%r>' % (self.name, self.filename)

    @property
    def content_type(self):
        """The part's Content-Type ('application/octet-stream' when not given)."""
        return self.headers.get('Content-Type', 'application/octet-stream')

    @property
    def content_length(self):
        """The size of the uploaded file in bytes."""
        position = self.file.tell()
        size = self.file.seek(0, os.SEEK_END)
        self.file.seek(position)
        return size

    def save(self, destination, overwrite=False):
        """Write the file to `destination`: a file path, a folder (saved as `filename` in it)
        or a writable binary file object. Returns the path written (or the file object).

        Raises FileExistsError when the target exists, unless overwrite=True.
        """
        if hasattr(destination, 'write'):
            self._copy_to(destination)
            return destination
        path = os.fspath(destination)
        if os.path.isdir(path):
            path = os.path.join(path, self.filename)
        with open(path, 'wb' if overwrite else 'xb') as target:
            self._copy_to(target)
        return path

    def _copy_to(self, target):
        position = self.file.tell()
        self.file.seek(0)
        try:
            for chunk in iter(lambda: self.file.read(COPY_CHUNK), b''):
                target.write(chunk)
        finally:
            self.file.seek(position)


class Response(object):
    """The status, headers, cookies and body of an answer.

    `status` may be set to an int (404) or a status line ('404 Not Found'); reading it gives
    the line, `status_code` the int. `body` is what the handler returned. Every response gets
    X-Content-Type-Options: nosniff (an upload must not be sniffed into HTML) and HTML ones
    X-Frame-Options: SAMEORIGIN, unless changed.
    """

    default_status = 200

    def __init__(self, body='', status=None, headers=None, **more_headers):
        self._headers = _ResponseHeaderDict()
        for name, value in _SECURITY_HEADERS:
            self._headers._fields[name.lower()] = [name, value]
        self.body = body
        self.status = status or self.default_status
        if headers:
            pairs = headers.allitems() if hasattr(headers, 'allitems') else \
                headers.items() if hasattr(headers, 'items') else headers
            for name, value in pairs:
                self._headers.add(name, value)
        for name, value in more_headers.items():
            self._headers[name.replace('_', '-')] = value

    def __repr__(self):
        return '<%s %s>' % (type(self).__name__, self._status_line)

    @property
    def status(self):
        """The status line ('200 OK'); set an int or a line ('404 Not Found')."""
        return self._status_line

    @status.setter
    def status(self, value):
        self._status_code, self._status_line = _parse_status(value)

    @property
    def status_code(self):
        """The status as an int."""
        return self._status_code

    @status_code.setter
    def status_code(self, value):
        self.status = value

    @property
    def status_line(self):
        """The status line, e.g. '404 Not Found'."""
        return self._status_line

    @property
    def headers(self):
        """The response header fields (a case-insensitive HeaderDict that refuses CR/LF)."""
        return self._headers

    @property
    def content_type(self):
        """The Content-Type ('' until set; the default depends on the body)."""
        return self._headers.get('Content-Type', '')

    @content_type.setter
    def content_type(self, value):
        if value is None:
            self._headers.pop('Content-Type', None)
        else:
            self._headers['Content-Type'] = value

    @property
    def charset(self):
        """The charset of the Content-Type used to encode text bodies ('utf-8' by default)."""
        return _parse_options_header(self.content_type)[1].get('charset') or 'utf-8'

    @charset.setter
    def charset(self, value):
        media_type = self.content_type.split(';', 1)[0].strip() or 'text/html'
        self.content_type = '%s; charset=%s' % (media_type, value)

    def set_cookie(self, name, value, secret=None, max_age=None, expires=None, path='/',
                   domain=None, secure=None, httponly=True, samesite='Lax'):
        """Add a Set-Cookie header (replacing one for the same name, path and domain).

        With `secret` the value (any JSON value) is signed, see Request.get_cookie().
        `max_age` in seconds (or a timedelta); `expires` a timestamp, datetime or HTTP date.
        `secure` defaults to True when the current request came over HTTPS; `samesite` may be
        'Lax', 'Strict', 'None' or None. Raises ValueError for a bad name or an oversized cookie.
        """
        if secret is not None:
            value = sign_value(to_bytes(json_dumps([name, value])), secret)
        elif not isinstance(value, str):
            raise TypeError('cookie %s: value must be text (or pass secret= to sign '
                            'any JSON value)' % (name,))
        if secure is None:
            current = _request_in_thread()
            secure = current is not None and current.scheme == 'https'
        morsel = Morsel()
        try:
            morsel.set(name, value, SimpleCookie().value_encode(value)[1])
        except Exception as exc:    # http.cookies.CookieError: an illegal name
            raise ValueError('cookie name %r: %s' % (name, exc))
        if len(name) + len(morsel.coded_value) + 1 > MAX_COOKIE_BYTES:
            raise ValueError('cookie %s is over %d bytes, more than browsers keep'
                             % (name, MAX_COOKIE_BYTES))
        _set_morsel_attributes(morsel, max_age, expires, path, domain, secure, httponly,
                               samesite)
        header = morsel.OutputString()
        self._headers._fields.setdefault('set-cookie', ['Set-Cookie'])
        field = self._headers._fields['set-cookie']
        field[1:] = [old for old in field[1:] if not _same_cookie(old, header)]
        self._headers.add('Set-Cookie', header)

    def delete_cookie(self, name, path='/', domain=None, **options):
        """Tell the client to drop a cookie (Max-Age=0) set with the same path and domain."""
        options.setdefault('secure', False)
        self.set_cookie(name, '', max_age=0, expires=0, path=path, domain=domain, **options)

    def copy(self, cls=None):
        """Return a copy (of class `cls`, default the same) with the same status, headers
        and body."""
        cls = cls or type(self)
        new = cls.__new__(cls)
        new.__dict__.update(self.__dict__)
        new._headers = self._headers.copy()
        return new

    def _wsgi_headers(self, body_length, default_type):
        """Return the header list for start_response, completing Content-Type/Length."""
        fields = self._headers._fields
        content_type = fields.get('content-type')
        media = (content_type[-1] if content_type else default_type).lower()
        headers = []
        if self._status_code in _NO_BODY_STATUSES or self._status_code < 200:
            skip = ('content-type', 'content-length')
        else:
            skip = ()
            if not content_type:
                headers.append(('Content-Type', default_type))
            if body_length is not None and 'content-length' not in fields:
                headers.append(('Content-Length', str(body_length)))
        is_html = media.startswith('text/html')
        for key, field in fields.items():
            if key in skip:
                continue
            name, values = field[0], field[1:]
            if not is_html and (name, values[-1:]) == _DEFAULT_FRAME_OPTIONS:
                continue
            headers.extend((name, value) for value in values)
        return headers


_DEFAULT_FRAME_OPTIONS = (_SECURITY_HEADERS[1][0], [_SECURITY_HEADERS[1][1]])


class HTTPResponse(Response, Exception):
    """A Response that can be raised (or returned) to answer at once, from a handler or hook."""

    def __init__(self, body='', status=None, headers=None, **more_headers):
        Response.__init__(self, body, status, headers, **more_headers)
        Exception.__init__(self, self._status_line)


class HTTPError(HTTPResponse):
    """An error answer (status 4xx/5xx by default 500) rendered by the application's error
    handler for the status, or as a short HTML (or JSON) page showing `body` as the message.

    `exception` and `traceback` hold the cause of a 500; the traceback is shown only in debug.
    """

    default_status = 500

    def __init__(self, status=None, body=None, exception=None, traceback=None,
                 **more_headers):
        HTTPResponse.__init__(self, body, status, **more_headers)
        self.exception, self.traceback = exception, traceback


def abort(code=500, text=None):
    """Stop the request now with an HTTPError page (`text` is its message)."""
    raise HTTPError(code, text)


def redirect(url, code=303):
    """Stop the request now and send the client to `url` (303 See Other by default).

    The URL goes into Location percent-encoded: CR, LF, NUL, spaces and non-ASCII become
    %XX, so no URL can split or inject headers. Cookies already set on `response` are kept.
    """
    raise HTTPResponse('', code, Location=_safe_url(to_str(url)))


def static_file(filename, root, mimetype=None, download=False, charset='utf-8',
                headers=None):
    """Return an HTTPResponse serving `filename` from folder `root`, or an HTTPError.

    Never serves anything outside `root`: '..', absolute paths, backslashes, NUL bytes and
    symlinks leading out give 403; a missing file 404. Sends Last-Modified, ETag and
    Accept-Ranges; answers If-None-Match / If-Modified-Since with 304, a single byte Range
    with 206 (416 when unsatisfiable). `mimetype` is guessed from the name when None;
    `download=True` (or a file name) adds Content-Disposition: attachment.
    """
    path = _resolve_static_path(filename, root)
    if isinstance(path, HTTPError):
        return path
    stat = os.stat(path)
    answer = HTTPResponse('', 200, headers)
    answer.headers['Content-Type'] = _guess_mimetype(path, mimetype, charset)
    if download:
        name = os.path.basename(path) if download is True else download
        answer.headers['Content-Disposition'] = _content_disposition(name)
    etag = '"%x-%x"' % (stat.st_mtime_ns, stat.st_size)
    answer.headers['Last-Modified'] = http_date(stat.st_mtime)
    answer.headers['ETag'] = etag
    answer.headers['Accept-Ranges'] = 'bytes'
    environ = getattr(_request_in_thread(), 'environ', {})
    method = environ.get('REQUEST_METHOD', 'GET')
    if method in ('GET', 'HEAD') and _is_not_modified(environ, etag, stat.st_mtime):
        answer.status = 304
        return answer
    ranges = None
    if method == 'GET' and _if_range_holds(environ, etag, stat.st_mtime):
        ranges = parse_range_header(environ.get('HTTP_RANGE'), stat.st_size)
    return _file_answer(answer, path, stat.st_size, ranges)


def _file_answer(answer, path, size, ranges):
    """Attach the file (or the one requested range of it) to answer; 416 when no range fits."""
    if ranges == []:
        return HTTPError(416, 'The requested range is not satisfiable.',
                         Content_Range='bytes */%d' % size)
    file = open(path, 'rb')
    if ranges is None or len(ranges) != 1:   # several ranges: the whole file is allowed
        answer.body = file
        answer.headers['Content-Length'] = str(size)
        return answer
    start, end = ranges[0]
    answer.status = 206
    answer.headers['Content-Range'] = 'bytes %d-%d/%d' % (start, end - 1, size)
    answer.headers['Content-Length'] = str(end - start)
    answer.body = _FileRange(file, start, end - start)
    return answer


# ----------------------------------------------------------------------------- helpers


def _parse_status(value):
    """Return (code, status line) for an int or a status line; ValueError when invalid."""
    if isinstance(value, int):
        code, reason = value, None
    else:
        text = to_str(value).strip()
        code_text, _, reason = text.partition(' ')
        if not code_text.isdigit():
            raise ValueError('invalid status %r' % (value,))
        code, reason = int(code_text), reason.strip() or None
    if not 100 <= code <= 999:
        raise ValueError('invalid status code %r (100-999)' % (code,))
    if reason is None:
        try:
            reason = HTTPStatus(code).phrase
        except ValueError:
            reason = 'Unknown'
    if _UNSAFE_HEADER_VALUE.search(reason) or not reason.isprintable():
        raise ValueError('status reason may not contain CR, LF, NUL or controls: %r' % (reason,))
    try:
        reason.encode('latin-1')
    except UnicodeEncodeError:
        raise ValueError('status reason must be latin-1 text: %r' % (reason,))
    return code, '%d %s' % (code, reason)


def _read_body(environ, length, limit, memfile_limit):
    """Read the request body into a seekable file: BytesIO, or a temporary file beyond
    memfile_limit. Without Content-Length the body is read to EOF only when the server says
    the input is terminated (de-chunked), still counting against `limit`."""
    if length is not None and length > limit:
        raise HTTPError(413, 'The request body is larger than %d bytes.' % limit)
    is_exact = length is not None
    if not is_exact:
        length = limit + 1 if environ.get('wsgi.input_terminated') else 0
    stream = environ.get('wsgi.input')
    body = io.BytesIO() if length <= memfile_limit else tempfile.TemporaryFile()
    received = 0
    try:
        while received < length and stream is not None:
            chunk = _read_input(stream, min(COPY_CHUNK, length - received))
            if not chunk:
                break
            received += len(chunk)
            if received > limit:
                raise HTTPError(413, 'The request body is larger than %d bytes.' % limit)
            if received > memfile_limit and isinstance(body, io.BytesIO):
                body = _spool_to_disk(body)
            body.write(chunk)
        if is_exact and received < length:
            raise HTTPError(400, 'The request body is shorter than its Content-Length.')
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body


def _read_input(stream, size):
    """Read from wsgi.input; a client that vanished mid-body is a 400, not a server error."""
    try:
        return stream.read(size)
    except ConnectionError:
        raise HTTPError(400, 'The client closed the connection before sending the whole body.')


def _spool_to_disk(buffer):
    spooled = tempfile.TemporaryFile()
    spooled.write(buffer.getvalue())
    return spooled


class _MultipartError(ValueError):
    """A multipart/form-data body that does not follow RFC 7578."""


def _parse_multipart(stream, boundary, memfile_limit):
    """Parse a multipart/form-data body (RFC 7578) into (forms, files) FormsDicts.

    Parts stream to memory or, beyond memfile_limit, to a temporary file. HTTPError 400 for a
    truncated or malformed body, 413 for more than MAX_FORM_PARTS parts.
    """
    reader = _MultipartReader(stream, boundary)
    forms, files = FormsDict(), FormsDict()
    try:
        return _read_parts(reader, forms, files, memfile_limit)
    except BaseException as exc:
        for _, upload in files.allitems():
            upload.file.close()
        if isinstance(exc, _MultipartError):
            raise HTTPError(400, 'Malformed multipart body: %s.' % (exc,))
        raise


def _read_parts(reader, forms, files, memfile_limit):
    """Read every part after the preamble into forms (text fields) and files (uploads)."""
    reader.copy_to_delimiter(None)      # the preamble
    count = 0
    while reader.starts_part():
        count += 1
        if count > MAX_FORM_PARTS:
            raise HTTPError(413, 'The form has more than %d parts.' % MAX_FORM_PARTS)
        headers = reader.read_part_headers()
        disposition, options = _parse_options_header(headers.get('Content-Disposition'))
        name, filename = options.get('name'), options.get('filename')
        is_field = disposition == 'form-data' and name is not None  # else ignored (RFC 7578)
        if filename is None or not is_field:
            sink = io.BytesIO()
            reader.copy_to_delimiter(sink.write if is_field else None)
            if is_field:
                charset = _parse_options_header(headers.get('Content-Type'))[1].get('charset')
                forms.add(name, _decode_field(sink.getvalue(), charset))
            continue
        sink = tempfile.SpooledTemporaryFile(memfile_limit)
        try:
            reader.copy_to_delimiter(sink.write)
        except BaseException:
            sink.close()
            raise
        if filename or sink.tell():     # browsers send filename="" for "no file chosen"
            sink.seek(0)
            files.add(name, FileUpload(sink, name, filename, headers))
        else:
            sink.close()
    return forms, files


def _decode_field(data, charset):
    try:
        return data.decode(charset or 'utf-8')
    except (LookupError, UnicodeDecodeError):
        return data.decode('utf-8', 'replace')


class _MultipartReader(object):
    """Splits a multipart stream at its delimiters, holding at most a chunk in memory."""

    def __init__(self, stream, boundary):
        self.stream = stream
        self.delimiter = b'\r\n--' + boundary
        self.buffer = b'\r\n'       # the first delimiter may start the body: no CRLF before it

    def _fill(self):
        chunk = _read_input(self.stream, COPY_CHUNK)
        self.buffer += chunk
        return bool(chunk)

    def copy_to_delimiter(self, write):
        """Pass the data before the next delimiter to write() (None: discard); consume it."""
        delimiter, keep = self.delimiter, len(self.delimiter) - 1
        while True:
            index = self.buffer.find(delimiter)
            if index >= 0:
                if write is not None:
                    write(self.buffer[:index])
                self.buffer = self.buffer[index + len(delimiter):]
                return
            if len(self.buffer) > keep:
                if write is not None:
                    write(self.buffer[:-keep])
                self.buffer = self.buffer[-keep:]
            if not self._fill():
                raise _MultipartError('the body ends before its closing boundary')

    def starts_part(self):
        """After a delimiter: True when a part follows, False at the closing '--'."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer[:2] == b'--':
            return False
        while b'\r\n' not in self.buffer[:256] and len(self.buffer) < 256 and self._fill():
            pass
        padding, crlf, rest = self.buffer.partition(b'\r\n')
        if not crlf or padding.strip(b' \t'):
            raise _MultipartError('a boundary line is malformed or the body is truncated')
        self.buffer = rest
        return True

    def read_part_headers(self):
        """Read a part's header block (up to the empty line) into a HeaderDict."""
        while len(self.buffer) < 2 and self._fill():
            pass
        if self.buffer[:2] == b'\r\n':
            self.buffer = self.buffer[2:]
            return HeaderDict()
        while b'\r\n\r\n' not in self.buffer:
            if len(self.buffer) > MAX_PART_HEADER_BYTES:
                raise _MultipartError('a part has more than %d bytes of headers'
                                      % MAX_PART_HEADER_BYTES)
            if not self._fill():
                raise _MultipartError('the body ends inside part headers')
        block, _, self.buffer = self.buffer.partition(b'\r\n\r\n')
        return _parse_part_headers(block)


def _parse_part_headers(block):
    headers = HeaderDict()
    try:
        text = block.decode('utf-8')
    except UnicodeDecodeError:
        text = block.decode('latin-1')
    for line in text.split('\r\n'):
        if line[:1] in (' ', '\t') and len(headers):
            last = list(headers)[-1]
            headers[last] = headers[last] + ' ' + line.strip()
            continue
        name, colon, value = line.partition(':')
        if not colon or not name.strip():
            raise _MultipartError('a part header line is malformed')
        headers.add(name.strip(), value.strip())
    return headers


def _safe_filename(raw_filename):
    """A safe basename for an uploaded file name: no folders, no '..', no control or format
    characters, no characters Windows forbids, at most 255 bytes, never empty ('upload')."""
    name = unicodedata.normalize('NFKC', raw_filename or '')
    name = name.replace('\\', '/').rsplit('/', 1)[-1]
    name = ''.join(char for char in name if unicodedata.category(char)[0] != 'C')
    name = re.sub(r'[<>:"|?*]', '_', ' '.join(name.split())).strip(' .')
    if name.split('.', 1)[0].upper() in _WINDOWS_RESERVED:
        name = '_' + name
    while len(name.encode('utf-8')) > 255:
        stem, dot, extension = name.rpartition('.')
        name = (stem[:-1] + dot + extension) if stem and len(extension) < 16 else name[:-1]
    return name or 'upload'


def _parse_cookie_header(header):
    cookies = {}
    for item in header.split(';'):
        name, equals, value = item.partition('=')
        name, value = name.strip(), value.strip()
        if not equals or not name or name in cookies:
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _unquote_cookie(value[1:-1])
        cookies[name] = value
    return cookies


def _unquote_cookie(text):
    """Undo http.cookies quoting: \\ooo octal escapes and backslash escapes."""
    return re.sub(r'\\(?:([0-3][0-7][0-7])|(.))',
                  lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2), text)


def _set_morsel_attributes(morsel, max_age, expires, path, domain, secure, httponly,
                           samesite):
    if max_age is not None:
        if hasattr(max_age, 'total_seconds'):
            max_age = max_age.total_seconds()
        morsel['max-age'] = str(int(max_age))
    if expires is not None:
        morsel['expires'] = expires if isinstance(expires, str) else http_date(expires)
    for key, value in (('path', path), ('domain', domain), ('samesite', samesite)):
        if value:
            morsel[key] = value
    morsel['secure'] = bool(secure)
    morsel['httponly'] = bool(httponly)


def _same_cookie(old_header, new_header):
    """True when two Set-Cookie headers set the same cookie (same name, path and domain)."""
    def identity(header):
        parts = [part.strip() for part in header.split(';')]
        attributes = [part.lower() for part in parts[1:]
                      if part.lower().startswith(('path=', 'domain='))]
        return parts[0].split('=', 1)[0], sorted(attributes)
    return identity(old_header) == identity(new_header)


def _resolve_static_path(filename, root):
    """Return the real path of filename under root, or an HTTPError (403 outside, 404)."""
    if '\x00' in filename or '\\' in filename:
        return HTTPError(403, 'Access denied.')
    root = os.path.realpath(root)
    relative = filename.lstrip('/')
    if os.path.splitdrive(relative)[0] or os.path.isabs(relative):
        return HTTPError(403, 'Access denied.')
    path = os.path.realpath(os.path.join(root, relative))
    if not path.startswith(os.path.join(root, '')):
        return HTTPError(403, 'Access denied.')
    if not os.path.isfile(path):
        return HTTPError(404, 'File not found.')
    if not os.access(path, os.R_OK):
        return HTTPError(403, 'You do not have permission to read this file.')
    return path


def _guess_mimetype(path, mimetype, charset):
    if mimetype is None:
        mimetype, encoding = mimetypes.guess_type(path)
        if encoding:
            mimetype = _COMPRESSED_TYPES.get(encoding, 'application/octet-stream')
        mimetype = mimetype or 'application/octet-stream'
    is_textual = mimetype.startswith('text/') or mimetype in _TEXTUAL_TYPES
    if charset and is_textual and 'charset=' not in mimetype:
        mimetype += '; charset=' + charset
    return mimetype


def _content_disposition(name):
    """attachment with an ASCII fallback name and the exact UTF-8 one (RFC 6266, RFC 8187)."""
    fallback = unicodedata.normalize('NFKD', name).encode('ascii', 'ignore').decode('ascii')
    fallback = re.sub(r'[^A-Za-z0-9._ -]', '_', fallback) or 'download'
    value = 'attachment; filename="%s"' % fallback
    if fallback != name:
        value += "; filename*=UTF-8''" + quote(name, safe='')
    return value


def _is_not_modified(environ, etag, mtime):
    """RFC 9110 section 13.1.2-13.1.3: If-None-Match (weak comparison) wins over
    If-Modified-Since."""
    if_none_match = environ.get('HTTP_IF_NONE_MATCH')
    if if_none_match is not None:
        tags = [tag.strip() for tag in if_none_match.split(',')]
        return '*' in tags or etag in [tag[2:] if tag.startswith('W/') else tag for tag in tags]
    since = parse_http_date(environ.get('HTTP_IF_MODIFIED_SINCE', ''))
    return since is not None and int(mtime) <= since


def _if_range_holds(environ, etag, mtime):
    """RFC 9110 section 13.1.5: a Range applies only if If-Range (when sent) still matches."""
    if_range = environ.get('HTTP_IF_RANGE')
    if not if_range:
        return True
    if if_range.startswith('"'):
        return if_range.strip() == etag
    return parse_http_date(if_range) == int(mtime)


class _FileRange(object):
    """Iterates `length` bytes of an open file from `start`; close() closes the file."""

    def __init__(self, file, start, length):
        self.file, self.remaining = file, length
        file.seek(start)

    def __iter__(self):
        return self

    def __next__(self):
        if self.remaining <= 0:
            raise StopIteration
        chunk = self.file.read(min(COPY_CHUNK, self.remaining))
        if not chunk:
            raise StopIteration
        self.remaining -= len(chunk)
        return chunk

    def close(self):
        self.file.close()


class _Chunks(object):
    """A handler's iterable as bytes chunks (text encoded); close() reaches the source."""

    def __init__(self, first, iterator, source, charset):
        self.first, self.iterator, self.source, self.charset = first, iterator, source, charset

    def __iter__(self):
        return self

    def __next__(self):
        first = self.first
        if first is not None:
            self.first = None
            return first
        while True:
            chunk = _chunk_bytes(next(self.iterator), self.charset)
            if chunk:
                return chunk

    def close(self):
        close = getattr(self.source, 'close', None)
        if close is not None:
            close()


def _chunk_bytes(chunk, charset):
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode(charset)
    if isinstance(chunk, (bytearray, memoryview)):
        return bytes(chunk)
    raise TypeError('a response iterable yielded %s; yield str or bytes' % type(chunk).__name__)


_HTML_TYPE = 'text/html; charset=utf-8'
_JSON_TYPE = 'application/json'


def _body_to_wsgi(body, charset, environ):
    """Return (iterable of bytes, length or None, default Content-Type) for a body.

    Text is encoded with `charset`, dict and list become JSON, files are streamed (with
    wsgi.file_wrapper when the server offers it) and other iterables are read up to their
    first non-empty chunk now, so that an error there still becomes an error page.
    """
    if isinstance(body, str):
        data = body.encode(charset)
        return [data], len(data), _HTML_TYPE
    if isinstance(body, (bytes, bytearray, memoryview)):
        data = bytes(body)
        return [data], len(data), _HTML_TYPE
    if isinstance(body, (dict, list)):
        data = json_dumps(body).encode('utf-8')
        return [data], len(data), _JSON_TYPE
    if body is None:
        return [], 0, _HTML_TYPE
    if hasattr(body, 'read'):
        return _file_to_wsgi(body, charset, environ)
    try:
        iterator = iter(body)
    except TypeError:
        raise TypeError('a handler returned %s; return str, bytes, dict, list, None, a file, '
                        'an iterable or an HTTPResponse' % type(body).__name__)
    try:
        for chunk in iterator:
            first = _chunk_bytes(chunk, charset)
            if first:
                return _Chunks(first, iterator, body, charset), None, _HTML_TYPE
    except BaseException:
        _close_quietly(body)
        raise
    _close_quietly(body)
    return [], 0, _HTML_TYPE


def _file_to_wsgi(file, charset, environ):
    """A file body: its remaining size when known; binary files go to wsgi.file_wrapper."""
    length = None
    try:
        if isinstance(file, io.BytesIO):
            length = len(file.getbuffer()) - file.tell()
        elif not isinstance(file, io.TextIOBase):
            length = os.fstat(file.fileno()).st_size - file.tell()
    except (AttributeError, OSError, ValueError):
        pass
    wrapper = environ.get('wsgi.file_wrapper')
    if wrapper is not None and not isinstance(file, io.TextIOBase):
        return wrapper(file, COPY_CHUNK), length, 'application/octet-stream'
    chunks = iter(lambda: file.read(COPY_CHUNK), file.read(0))
    return _Chunks(None, chunks, file, charset), length, 'application/octet-stream'


def _close_quietly(iterable):
    close = getattr(iterable, 'close', None)
    if close is not None:
        close()


class _ClosingBody(object):
    """The response iterable of a request that read its body: close() also closes the
    request's spooled body and uploaded files (PEP 3333 calls it when the response is sent)."""

    def __init__(self, iterable, environ):
        self.iterable, self.environ = iterable, environ

    def __iter__(self):
        return iter(self.iterable)

    def close(self):
        try:
            _close_quietly(self.iterable)
        finally:
            _close_request_files(self.environ)


def _close_request_files(environ):
    files = environ.get('kokoropy.files')
    for _, upload in (files.allitems() if files is not None else ()):
        upload.file.close()
    body = environ.get('kokoropy._body_file')
    if body is not None:
        body.close()
