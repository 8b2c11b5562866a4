import hmac
import json
import logging
import os
import secrets
import time

###############################################################################
# 6. Sessions, flash and CSRF
# request.session as a dict kept in an HMAC-signed cookie (SignedCookieSessions, installed as
# Kokoro.session_interface), flash messages stored in it, and the CSRF token check installed as
# Kokoro.csrf_check. Uses helpers (sign_value), request/response and Kokoro from above.
###############################################################################

__all__ += ['SignedCookieSessions', 'get_secret', 'flash', 'get_flashed_messages',
            'csrf_token', 'csrf_input', 'csrf_exempt', 'check_csrf']

SESSION_COOKIE_NAME = 'kokoropy.session'
CSRF_FIELD_NAME = 'csrf_token'
CSRF_HEADER_NAME = 'X-CSRF-Token'
CSRF_SESSION_KEY = '_csrf_token'
FLASH_SESSION_KEY = '_flashes'
SECRET_FILE_NAME = 'secret'
UNSAFE_METHODS = frozenset(['POST', 'PUT', 'PATCH', 'DELETE'])
FORM_CONTENT_TYPES = frozenset(['application/x-www-form-urlencoded', 'multipart/form-data',
                                'text/plain'])

_log = logging.getLogger('kokoropy')


class Session(dict):
    """The session dict: remembers whether it was changed, so that the cookie is only re-sent
    when needed. Changes inside nested values are not seen: reassign the key, or set
    `session.modified = True`.

    `had_cookie` tells whether the request carried a session cookie (even an invalid one), and
    `needs_refresh` whether a valid one is past half its life and should be sent again.
    """

    def __init__(self, *args, **kwargs):
        dict.__init__(self, *args, **kwargs)
        self.modified = self.had_cookie = self.needs_refresh = False

    def _changed(method):
        def wrapper(self, *args, **kwargs):
            self.modified = True
            return method(self, *args, **kwargs)
        wrapper.__name__ = method.__name__
        wrapper.__doc__ = method.__doc__
        return wrapper

    __setitem__ = _changed(dict.__setitem__)
    __delitem__ = _changed(dict.__delitem__)
    clear = _changed(dict.clear)
    pop = _changed(dict.pop)
    popitem = _changed(dict.popitem)
    update = _changed(dict.update)

    def setdefault(self, key, default=None):
        """Like dict.setdefault; marks the session modified only when the key was missing."""
        if key not in self:
            self[key] = default
        return dict.__getitem__(self, key)

    del _changed


class SignedCookieSessions:
    """Session interface keeping the whole session as JSON in one HMAC-signed cookie.

    The cookie `kokoropy.session` is HttpOnly, SameSite=Lax, Secure on HTTPS, scoped to the
    site's path, and expires after config['session_max_age'] seconds (0 or None: when the browser
    closes). The expiry is checked against the signed timestamp, so an old cookie replayed by a
    client is refused too. A cookie that does not verify gives an empty session, never an error.
    """

    cookie_name = SESSION_COOKIE_NAME

    def open(self, request):
        """Return the Session stored in the request's cookie, or an empty one."""
        token = request.cookies.get(self.cookie_name)
        if not token:
            return Session()
        app = _app_of(request)
        max_age = _max_age(app)
        data = _json_object(unsign_value(token, get_secret(app), max_age=max_age or None))
        session = Session(data or {})
        session.had_cookie = True
        session.needs_refresh = data is not None and _is_half_expired(token, max_age)
        return session

    def save(self, request, response):
        """Send the session cookie when the session changed (or deleted it when now empty)."""
        session = request.environ.get('kokoropy.session')
        if session is None:
            return
        if not (session.modified or session.needs_refresh):
            return
        app = _app_of(request)
        path = _cookie_path(request)
        if not session:
            if session.had_cookie:
                response.delete_cookie(self.cookie_name, path=path)
            return
        token = sign_value(to_bytes(json_dumps(dict(session))), get_secret(app))
        if not _fits_in_cookie(self.cookie_name, token, app):
            return
        options = dict(path=path, httponly=True, samesite='Lax', secure=_is_https(request))
        max_age = _max_age(app)
        if max_age:
            options['max_age'] = max_age
        response.set_cookie(self.cookie_name, token, **options)


def get_secret(app=None):
    """Return the secret signing sessions and cookies for `app` (default: the app handling the
    current request, else the default app).

    In order: config['secret'], the KOKOROPY_SECRET environment variable, or a random secret
    generated once into `<runtime_path>/secret` (mode 0600) and read back on later starts, so
    sessions survive restarts and are shared by the workers of one site.
    """
    app = app or _app_of()
    config = app.config
    if config.get('secret'):
        return config['secret']
    if os.environ.get('KOKOROPY_SECRET'):
        return os.environ['KOKOROPY_SECRET']
    path = os.path.join(_runtime_path(config), SECRET_FILE_NAME)
    if path not in _secrets_by_file:
        _secrets_by_file[path] = _read_or_create_secret(path)
    return _secrets_by_file[path]


def flash(message, category='info'):
    """Store a message in the session, to be shown once on the next page that reads them."""
    session = request.session
    messages = list(session.get(FLASH_SESSION_KEY, []))
    messages.append([category, message])
    session[FLASH_SESSION_KEY] = messages


def get_flashed_messages(with_categories=False):
    """Return (and remove) the flashed messages: texts, or (category, text) pairs."""
    session = request.session
    if FLASH_SESSION_KEY not in session:
        return []
    messages = session.pop(FLASH_SESSION_KEY)
    if with_categories:
        return [(category, text) for category, text in messages]
    return [text for _, text in messages]


def csrf_token():
    """Return this session's CSRF token, creating it on first use."""
    session = request.session
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = session[CSRF_SESSION_KEY] = secrets.token_urlsafe(32)
    return token


def csrf_input():
    """Return the hidden form field carrying the CSRF token, as Markup for templates."""
    return Markup('<input type="hidden" name="%s" value="%s">'
                  % (CSRF_FIELD_NAME, html_escape(csrf_token())))


def csrf_exempt(func):
    """Decorator: let unsafe requests reach this handler without a CSRF token.

    Only for endpoints that do not rely on the session cookie to authenticate (e.g. an API
    checking a token header or a signature); everything else should keep the check.
    """
    func.csrf_exempt = True
    return func


def check_csrf(request, route):
    """Refuse (HTTPError 403) an unsafe request with a form body that lacks the session's token.

    Checked: POST, PUT, PATCH and DELETE whose body is a form (urlencoded, multipart or
    text/plain: the encodings an HTML form on another site can send). The token comes from the
    form field `csrf_token` or the header `X-CSRF-Token`. Other bodies (such as JSON) pass: a
    browser cannot send them cross-site without a CORS preflight, which Kokoropy never grants.
    Off when config['csrf'] is false or the route's target has `csrf_exempt = True`.
    """
    if request.method not in UNSAFE_METHODS or not _is_form_body(request):
        return
    if getattr(getattr(route, 'target', None), 'csrf_exempt', False):
        return
    if not _app_of(request).config.get('csrf', True):
        return
    expected = request.session.get(CSRF_SESSION_KEY)
    sent = request.headers.get(CSRF_HEADER_NAME) or request.forms.get(CSRF_FIELD_NAME)
    if expected and sent and hmac.compare_digest(to_bytes(expected), to_bytes(sent)):
        return
    raise HTTPError(403, 'The form has expired or was not sent from this site. '
                         'Reload the page and try again.')


_secrets_by_file = {}


def _json_object(payload):
    """The dict encoded as JSON in `payload` (bytes), or None for anything else."""
    if payload is None:
        return None
    try:
        data = json.loads(payload.decode('utf-8'))
    except ValueError:      # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
    return data if isinstance(data, dict) else None


def _max_age(app):
    value = app.config.get('session_max_age', SESSION_MAX_AGE)
    return int(value) if value else 0


def _is_half_expired(token, max_age):
    """True when a verified token is past half its life: re-send it so active users stay in."""
    if not max_age:
        return False
    stamp = _token_timestamp(token)
    return stamp is not None and time.time() - stamp > max_age / 2


def _is_https(request):
    return request.scheme == 'https'


def _cookie_path(request):
    """The site's root path (SCRIPT_NAME): the cookie is not sent to other sites on the host."""
    return request.script_name + '/'


def _is_form_body(request):
    return _parse_options_header(request.content_type)[0] in FORM_CONTENT_TYPES


def _fits_in_cookie(name, token, app):
    """Check the cookie size against MAX_COOKIE_BYTES (section 3: what browsers keep at least,
    RFC 6265 section 6.1); too big is an error in debug mode and a logged warning otherwise."""
    size = len(name) + 1 + len(token) + 120  # room for the attributes
    if size <= MAX_COOKIE_BYTES:
        return True
    message = ('the session cookie would be %d bytes, over the %d that browsers keep: store less '
               'in request.session (keep ids, not records)' % (size, MAX_COOKIE_BYTES))
    if app.config.get('debug'):
        raise ValueError(message)
    _log.warning('kokoropy: %s; the session was not saved', message)
    return False


def _runtime_path(config):
    return _under_project(config, config.get('runtime_path') or '.runtime')


def _read_or_create_secret(path):
    """Read the secret file, or create it (0600) with a random secret; safe between processes."""
    try:
        with open(path, encoding='ascii') as f:
            secret = f.read().strip()
        if secret:
            return secret
    except FileNotFoundError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    secret = secrets.token_urlsafe(48)
    try:
        # O_EXCL: when two workers start together, one writes and the other reads its secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _wait_for_secret(path)
    with os.fdopen(fd, 'w', encoding='ascii') as f:
        f.write(secret + '\n')
    return secret


def _wait_for_secret(path):
    for _ in range(100):
        with open(path, encoding='ascii') as f:
            secret = f.read().strip()
        if secret:
            return secret
        time.sleep(0.01)
    raise RuntimeError('%s is empty: delete it to let Kokoropy create a new secret' % path)


Kokoro.session_interface = SignedCookieSessions()
Kokoro.csrf_check = staticmethod(check_csrf)
