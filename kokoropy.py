"""Kokoropy: a full-stack MVC web framework in one file, using only the standard library.

Hello world::

    from kokoropy import get, run

    @get('/hello/<name>')
    def hello(name):
        return 'Hello, %s!' % name

    run(port=8080)

For a whole site with applications, views, models and migrations, use ``python rossian.py start``.

Contents, in dependency order (each section uses only those above it):

1. Helpers and HTTP utilities   escaping, markup, JSON, signing, header and form dicts
2. Routing                      Router: rules, wildcards, named routes, url building
3. Request and response         Request, Response, FileUpload, HTTPError, static_file
4. Application                  Kokoro (the WSGI app), hooks, default app, TestClient
5. HTTP server                  the built-in threaded HTTP/1.1 server
6. Sessions, flash and CSRF     signed-cookie sessions, flash messages, CSRF tokens
7. Templates                    SimpleTemplate compiler with block inheritance
8. Fields                       Field and its kinds: declarations, conversions, validation
8b. Database and dialects       Database, SqliteDialect, PostgresDialect, transactions
8c. Models and queries          Model, Query, Q, Page
9. Migrations                   per-application schema migrations
9b. Logins                      login_user(), logout_user(), current_user(), revocable sessions
10. Model forms and tables      Form, tables and details from a model, DeleteImpact
11. Applications and config     Config loading, application discovery, Autoroute_Controller
12. Running                     run() and server adapters
13. Bottle compatibility        Bottle (Kokoro with Bottle's defaults), its plugins and names
"""

import _thread
import ast
import base64
import builtins
import calendar
import collections
import contextlib
import copy
import datetime
import decimal
import email.utils
import errno
import functools
import hashlib
import hmac
import html
import html.parser
import http.client
import importlib
import importlib.util
import inspect
import io
import itertools
import keyword
import json
import logging
import math
import mimetypes
import operator
import os
import queue
import re
import secrets
import select as _select_module
import selectors
import signal
import socket
import sqlite3
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
import traceback
import types
import unicodedata
import uuid
import weakref
import wsgiref.util
import wsgiref.validate
from collections.abc import MutableMapping
from http import HTTPStatus
from http.cookies import Morsel, SimpleCookie
from urllib.parse import (SplitResult, parse_qsl, quote, unquote, unquote_to_bytes, urlencode,
                          urljoin, urlsplit)


__version__ = '0.1.0'

# The public API (DESIGN.md). Each section appends its names where it is defined below.
__all__ = ['__version__']


###############################################################################
# 1. Helpers and HTTP utilities
# Small pure functions and classes used everywhere below: markup and escaping,
# text/bytes conversion, JSON encoding, HMAC signing. Uses only the stdlib.
###############################################################################

__all__ += ['Markup', 'html_escape', 'html_quote', 'sanitize_html']


class Markup(str):
    """A string of HTML that is already safe: templates and html_escape() leave it as it is."""

    def __html__(self):
        return self


def html_escape(value):
    """Escape a value for HTML text or a quoted attribute; None becomes '' and Markup is kept.

    Escapes & < > " and ' so that the result is safe in element content and in attribute values
    delimited by either quote.
    """
    if type(value) is str:      # fast path for the most common value (every {{x}} comes here)
        # Five `in` scans (measured faster than one regex search) spare most values the five
        # replace() calls; the result equals html.escape(value, quote=True).
        if '&' in value or '<' in value or '>' in value or '"' in value or "'" in value:
            return (value.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
                    .replace('"', '&quot;').replace("'", '&#x27;'))
        return value
    if type(value) is int:
        return str(value)
    if value is None:
        return ''
    if isinstance(value, Markup):
        return value
    if hasattr(value, '__html__'):
        return Markup(value.__html__())
    if isinstance(value, bytes):
        value = value.decode('utf-8')
    return html.escape(str(value), quote=True)


def html_quote(value):
    """Escape and double-quote a value for an HTML attribute, keeping newlines and tabs as
    character references (Bottle's html_quote)."""
    text = html_escape(value).replace('\n', '&#10;').replace('\r', '&#13;').replace('\t', '&#9;')
    return '"%s"' % text


def to_bytes(value, encoding='utf-8'):
    """Return value as bytes, encoding text with `encoding`."""
    return value if isinstance(value, bytes) else str(value).encode(encoding)


def to_str(value, encoding='utf-8', errors='strict'):
    """Return value as text, decoding bytes with `encoding`; None becomes ''."""
    if value is None:
        return ''
    return value.decode(encoding, errors) if isinstance(value, bytes) else str(value)


def json_default(value):
    """JSON encoder fallback: dates as ISO 8601 text, Decimals as floats, objects by as_dict()
    or to_dict()."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if callable(getattr(type(value), 'to_dict', None)):   # MultiDict: each key's last value
        return value.to_dict()
    if hasattr(value, 'as_dict'):
        return value.as_dict()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError('%r is not JSON serialisable' % (value,))


# One shared encoder: json.dumps() with options builds a new encoder on every call.
_JSON_ENCODER = json.JSONEncoder(default=json_default, separators=(',', ':'), ensure_ascii=False)


def json_dumps(value):
    """Encode value as compact JSON text, handling dates, Decimals and models."""
    return _JSON_ENCODER.encode(value)


def _remember(cache, key, value, limit):
    """cache[key] = value, the cache emptied first when it holds `limit` entries (what a cache
    keyed by requests' values holds stays bounded); returns value."""
    if len(cache) >= limit:
        cache.clear()
    cache[key] = value
    return value


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _b64decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def sign_value(payload, secret, timestamp=None):
    """Return a token `payload.timestamp.mac` that proves `payload` (bytes) was signed with secret.

    The timestamp lets unsign_value() refuse tokens older than a maximum age. `secret` may be
    a list of secrets (newest first, to rotate them): the first one signs.
    """
    stamp = '%x' % int(time.time() if timestamp is None else timestamp)
    body = _b64encode(payload) + '.' + stamp
    return body + '.' + _b64encode(_mac(_secret_list(secret)[0], body))


def unsign_value(token, secret, max_age=None):
    """Return the payload bytes of a token made by sign_value(), or None when the token is
    malformed, tampered with, signed with another secret or older than `max_age` seconds.

    `secret` may be a list of secrets: a token signed with any of them is accepted, so that
    tokens signed before a rotation stay valid while the old secret is still listed."""
    try:
        body, mac = to_str(token).rsplit('.', 1)
        encoded, stamp = body.split('.', 1)
        # Compare the text, not its decoding: base64 decoding skips stray characters, so a
        # signature with junk appended would still verify (one token, one spelling).
        if not any(hmac.compare_digest(_b64encode(_mac(one, body)), mac)
                   for one in _secret_list(secret)):
            return None
        if max_age is not None and time.time() - int(stamp, 16) > max_age:
            return None
        return _b64decode(encoded)
    except (ValueError, TypeError, UnicodeError):
        return None


def _mac(secret, body):
    return hmac.new(to_bytes(secret), body.encode('ascii'), hashlib.sha256).digest()


def _secret_list(secret):
    """One secret, or a list or tuple of them, as a list; ValueError for an empty list."""
    secrets_given = list(secret) if isinstance(secret, (list, tuple)) else [secret]
    if not secrets_given:
        raise ValueError('no signing secret given')
    return secrets_given


def _token_timestamp(token):
    """When sign_value() made `token` (seconds since the epoch), or None when malformed."""
    try:
        return int(to_str(token).rsplit('.', 2)[1], 16)
    except (ValueError, IndexError, TypeError, UnicodeError):
        return None


def sanitize_html(text):
    """Return HTML from an untrusted author as Markup that cannot run script in a reader's
    browser: an allow-list of elements and attributes, rebuilt from html.parser's events.

    Kept: text formatting, headings, lists, tables, links and images (SANITIZE_TAGS with the
    attributes of SANITIZE_ATTRIBUTES). URLs must be relative or http, https, mailto or tel.
    Dropped with their content: script, style and the other SANITIZE_DROPPED elements; dropped
    alone (their text kept): every other element, comments, event handler and style
    attributes. Open elements are closed at the end, so that the text cannot close the page's
    own elements.
    """
    cleaner = _HtmlCleaner()
    cleaner.feed(to_str(text))
    cleaner.close()
    return Markup(cleaner.finish())


SANITIZE_TAGS = frozenset(
    'a abbr article aside b blockquote br caption cite code col colgroup dd del details dfn '
    'div dl dt em figcaption figure footer h1 h2 h3 h4 h5 h6 header hr i img ins kbd li mark '
    'ol p pre q s samp section small span strong sub summary sup table tbody td tfoot th '
    'thead time tr u ul var'.split())
SANITIZE_ATTRIBUTES = {
    '*': frozenset(['title', 'lang', 'dir', 'class']),
    'a': frozenset(['href']), 'img': frozenset(['src', 'alt', 'width', 'height']),
    'blockquote': frozenset(['cite']), 'q': frozenset(['cite']), 'ol': frozenset(['start']),
    'td': frozenset(['colspan', 'rowspan']), 'th': frozenset(['colspan', 'rowspan', 'scope']),
    'col': frozenset(['span']), 'colgroup': frozenset(['span']),
    'time': frozenset(['datetime']),
}
SANITIZE_DROPPED = frozenset(
    'script style iframe frame frameset object embed applet template noscript noembed '
    'noframes textarea select option title head xmp plaintext math svg base link meta '
    'form button input'.split())
_URL_ATTRIBUTES = frozenset(['href', 'src', 'cite'])
_SAFE_URL_SCHEMES = frozenset(['http', 'https', 'mailto', 'tel'])
_VOID_TAGS = frozenset(['br', 'col', 'hr', 'img'])
# Browsers ignore ASCII tab, newline and controls inside a URL's scheme ("java\tscript:").
_URL_IGNORED = re.compile(r'[\x00-\x20\x7f]+')


class _HtmlCleaner(html.parser.HTMLParser):
    """The parser behind sanitize_html(): writes allowed markup, escapes all text."""

    def __init__(self):
        html.parser.HTMLParser.__init__(self, convert_charrefs=True)
        self.out, self.open_tags, self.dropping = [], [], []

    def handle_starttag(self, tag, attrs):
        if self.dropping or tag in SANITIZE_DROPPED:
            if tag not in _VOID_TAGS and tag not in ('base', 'link', 'meta', 'input'):
                self.dropping.append(tag)
            return
        if tag not in SANITIZE_TAGS:
            return
        allowed = SANITIZE_ATTRIBUTES['*'] | SANITIZE_ATTRIBUTES.get(tag, frozenset())
        kept = ''.join(' %s="%s"' % (name, html_escape(value)) for name, value in attrs
                       if name in allowed and value is not None and _is_safe_attribute(name,
                                                                                      value))
        self.out.append('<%s%s>' % (tag, kept))
        if tag not in _VOID_TAGS:
            self.open_tags.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_endtag(self, tag):
        if self.dropping:
            if tag in self.dropping:    # also closes what was left open inside it
                del self.dropping[len(self.dropping) - 1 - self.dropping[::-1].index(tag):]
            return
        if tag in self.open_tags:
            while self.open_tags:
                name = self.open_tags.pop()
                self.out.append('</%s>' % name)
                if name == tag:
                    break

    def handle_data(self, data):
        if not self.dropping:
            self.out.append(html_escape(data))

    def finish(self):
        """The cleaned text, with the elements still open closed."""
        self.out.extend('</%s>' % name for name in reversed(self.open_tags))
        self.open_tags = []
        return ''.join(self.out)


def _is_safe_attribute(name, value):
    if name not in _URL_ATTRIBUTES:
        return True
    url = _URL_IGNORED.sub('', value).lower()
    scheme, colon, rest = url.partition(':')
    return not colon or '/' in scheme or '?' in scheme or '#' in scheme or \
        scheme in _SAFE_URL_SCHEMES


###############################################################################
# 1b. HTTP utilities
# Pure helpers for HTTP text: a case-insensitive multi-value HeaderDict, MultiDict and
# FormsDict for query and form fields, HTTP dates, Range and option-header parsing, and the
# PEP 3333 re-decoding of paths. No WSGI and no I/O here. Uses section 1.
###############################################################################

__all__ += ['HeaderDict', 'MultiDict', 'FormsDict', 'http_date', 'parse_http_date',
            'parse_range_header', 'parse_auth', 'path_shift', 'PathShiftError']

# Request body limits, shared by Request (section 3), Config (4) and KokoroServer (5).
MAX_BODY_BYTES = 10 * 1024 * 1024       # default config['max_body_bytes']
MAX_MEMFILE_BYTES = 1024 * 1024         # default config['max_memfile_bytes']

# RFC 9110 section 5.5: a field value may not hold CR, LF or NUL (they would split headers).
_UNSAFE_HEADER_VALUE = re.compile(r'[\r\n\x00]')
# RFC 9110 section 5.1: a field name is a token.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_OPTION = re.compile(r';\s*([^\s;=]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?', re.DOTALL)
# A decimal number as HTTP writes it (RFC 9110 section 8.6, 14.1.1): ASCII digits only, since
# str.isdigit() also accepts '²', which int() then refuses.
_ASCII_DIGITS = re.compile(r'[0-9]+\Z')
# An urlencoded form or query with more fields is refused (413): parsing 3.5 million empty
# fields of a 10 MB body would cost seconds of CPU and gigabytes of memory.
MAX_FORM_FIELDS = 1000


class MultiDict(MutableMapping):
    """A dict whose keys may hold several values, as query strings and forms do.

    `d[key]` and `d.get(key)` give the last value; `d.getall(key)` gives all of them in order;
    `d[key] = value` replaces them; `d.add(key, value)` appends one.
    """

    def __init__(self, *args, **kwargs):
        self._values = {}
        for key, value in _pairs(*args, **kwargs):
            self.add(key, value)

    def __getitem__(self, key):
        return self._values[key][-1]

    def __setitem__(self, key, value):
        self._values[key] = [value]

    def __delitem__(self, key):
        del self._values[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)

    def __contains__(self, key):
        return key in self._values

    def __repr__(self):
        return '%s(%r)' % (type(self).__name__, self.allitems())

    def add(self, key, value):
        """Append a value to those of `key`."""
        self._values.setdefault(key, []).append(value)

    append = add

    def get(self, key, default=None, type=None, index=-1):
        """Return the value of `key` (the last one, or the one at `index`), or `default`.

        With `type` (a callable such as int), return type(value), or `default` when it raises
        ValueError or TypeError: `request.query.get('page', 1, type=int)`.
        """
        try:
            value = self._values[key][index]
        except (KeyError, IndexError):
            return default
        if type is None:
            return value
        try:
            return type(value)
        except (ValueError, TypeError):
            return default

    def getall(self, key):
        """Return the list of all values of `key` (empty when absent)."""
        return list(self._values.get(key, ()))

    getlist = getall

    def allitems(self):
        """Return every (key, value) pair, keys repeated for multiple values."""
        return [(key, value) for key, values in self._values.items() for value in values]

    def copy(self):
        """Return a shallow copy keeping every value."""
        new = type(self)()
        new._values = {key: list(values) for key, values in self._values.items()}
        return new

    def to_dict(self):
        """Return a plain dict of each key's last value."""
        return {key: values[-1] for key, values in self._values.items()}


class FormsDict(MultiDict):
    """MultiDict for query and form fields; attribute access reads a field, '' when missing.

    `request.query.page` is `request.query.get('page', '')`: handy in templates.
    """

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return self.get(name, '')

    # Bottle's names: there values arrive as latin-1 and need decoding; here they are
    # decoded from UTF-8 already, so these only keep Bottle code working.

    def decode(self, encoding=None):
        """Return a copy (the values are text already)."""
        return self.copy()

    def getunicode(self, name, default=None, encoding=None):
        """Return the value of `name` as text, or `default` when missing."""
        value = self.get(name, default)
        return value if value is default or isinstance(value, str) else to_str(value)


class HeaderDict(MutableMapping):
    """Case-insensitive, multi-value mapping of HTTP header fields keeping names as first given.

    `h['content-type']` gives the last value; `h.getall('Set-Cookie')` all of them;
    `h[name] = value` replaces; `h.add(name, value)` appends. Values are text.
    """

    def __init__(self, *args, **kwargs):
        self._fields = {}   # lower-cased name -> [name as given, value, value, ...]
        for name, value in _pairs(*args, **kwargs):
            self.add(name, value)

    def __getitem__(self, name):
        return self._fields[name.lower()][-1]

    def __setitem__(self, name, value):
        self._fields[name.lower()] = [name, self._check(name, value)]

    def __delitem__(self, name):
        del self._fields[name.lower()]

    def __iter__(self):
        return (field[0] for field in list(self._fields.values()))

    def __len__(self):
        return len(self._fields)

    def __contains__(self, name):
        return isinstance(name, str) and name.lower() in self._fields

    def __repr__(self):
        return '%s(%r)' % (type(self).__name__, self.allitems())

    def add(self, name, value):
        """Append a value to the field `name` (for Set-Cookie and other repeatable fields)."""
        value = self._check(name, value)
        field = self._fields.get(name.lower())
        if field is None:
            self._fields[name.lower()] = [name, value]
        else:
            field.append(value)

    append = add

    def getall(self, name):
        """Return all values of field `name` in order (empty list when absent)."""
        field = self._fields.get(name.lower())
        return field[1:] if field else []

    def allitems(self):
        """Return every (name, value) pair, names repeated for multiple values."""
        return [(field[0], value) for field in self._fields.values() for value in field[1:]]

    def copy(self):
        """Return a copy keeping every value."""
        new = type(self)()
        new._fields = {key: list(field) for key, field in self._fields.items()}
        return new

    def _check(self, name, value):
        """Hook for subclasses that validate fields; the plain dict stores text as given."""
        return value if isinstance(value, str) else str(value)


class _ResponseHeaderDict(HeaderDict):
    """HeaderDict for responses: names must be tokens and values latin-1 text without CR, LF or
    NUL, so that no value can split the header section (response splitting)."""

    def _check(self, name, value):
        if not isinstance(value, str):
            value = str(value)
        if not _HEADER_NAME.match(name):
            raise ValueError('invalid header name %r' % (name,))
        if _UNSAFE_HEADER_VALUE.search(value):
            raise ValueError('header %s: value may not contain CR, LF or NUL: %r' % (name, value))
        try:
            value.encode('latin-1')
        except UnicodeEncodeError:
            raise ValueError('header %s: value must be latin-1 text (percent-encode URLs, '
                             'RFC 5987-encode file names): %r' % (name, value))
        return value


def _pairs(source=(), **kwargs):
    """(key, value) pairs of a multi-value dict, a mapping or an iterable of pairs, then
    kwargs: repeated keys are all kept."""
    if hasattr(source, 'allitems'):
        pairs = source.allitems()
    elif hasattr(source, 'keys'):
        pairs = [(key, source[key]) for key in source.keys()]
    else:
        pairs = list(source)
    return pairs + list(kwargs.items())


def http_date(value):
    """Format a timestamp, datetime or date as an HTTP date (RFC 9110 section 5.6.7)."""
    if hasattr(value, 'utctimetuple'):
        value = calendar.timegm(value.utctimetuple())
    return email.utils.formatdate(value, usegmt=True)


def parse_http_date(text):
    """Return the timestamp (int seconds) of an HTTP date, or None when it does not parse."""
    try:
        parsed = email.utils.parsedate_tz(text)
        return None if parsed is None else int(email.utils.mktime_tz(parsed))
    except (TypeError, ValueError, OverflowError, IndexError):
        return None


def parse_range_header(header, size):
    """Parse a `Range: bytes=...` header for a resource of `size` bytes (RFC 9110 section 14).

    Returns None when the header is absent, malformed or not about bytes (serve the whole
    resource), [] when no range is satisfiable (answer 416), else a list of (start, end)
    pairs with `end` exclusive, clipped to the size.
    """
    if not header:
        return None
    unit, _, specs = header.partition('=')
    if unit.strip().lower() != 'bytes' or not specs.strip():
        return None
    ranges = []
    for spec in specs.split(','):
        spec = spec.strip()
        if not spec:
            continue
        first, dash, last = spec.partition('-')
        first, last = first.strip(), last.strip()
        if not (first or last) or not dash or (first and not _is_digits(first)) or \
                (last and not _is_digits(last)):
            return None
        if not first:                      # suffix range: the last N bytes
            if int(last) > 0 and size > 0:
                ranges.append((max(0, size - int(last)), size))
        elif last and int(last) < int(first):
            return None                    # invalid: the whole header is ignored
        elif int(first) < size:
            end = size if not last else min(int(last) + 1, size)
            ranges.append((int(first), end))
    return ranges


def _is_digits(text):
    """True when text is one or more ASCII digits (what int() reads as a plain number)."""
    return _ASCII_DIGITS.match(text) is not None


def parse_auth(header):
    """Return (user, password) from an HTTP Basic Authorization header (RFC 7617), or None
    when it is absent, of another scheme or malformed."""
    scheme, _, data = (header or '').strip().partition(' ')
    if scheme.lower() != 'basic':
        return None
    try:
        user, colon, password = base64.b64decode(data.strip(), validate=True).decode(
            'utf-8').partition(':')
    except (ValueError, UnicodeError):     # binascii.Error is a ValueError
        return None
    return (user, password) if colon else None


class PathShiftError(ValueError, AssertionError):
    """path_shift() was asked to move more segments than there are (an AssertionError too, as
    Bottle raises)."""


def path_shift(script_name, path_info, shift=1):
    """Move `shift` path segments from PATH_INFO to SCRIPT_NAME (negative: back); return the
    new (script_name, path_info), as a mounted application sees them. Raises PathShiftError
    when there are not enough segments to move."""
    if shift == 0:
        return script_name, path_info
    script = [part for part in script_name.strip('/').split('/') if part]
    path = [part for part in path_info.strip('/').split('/') if part]
    if 0 < shift <= len(path):
        script, path = script + path[:shift], path[shift:]
    elif 0 < -shift <= len(script):
        script, path = script[:shift], script[shift:] + path
    else:
        raise PathShiftError('cannot shift %d segments of %r and %r'
                             % (shift, script_name, path_info))
    new_path = '/' + '/'.join(path)
    if path_info.endswith('/') and path:
        new_path += '/'
    return '/' + '/'.join(script), new_path


def _parse_options_header(value):
    """Split `type/subtype; key=value; key="quoted"` into (lower-cased main value, options).

    Option names are lower-cased; RFC 8187 `key*=UTF-8''percent-encoded` values are decoded
    and win over the plain `key`.
    """
    if not value:
        return '', {}
    main, semicolon, rest = value.partition(';')
    options, extended = {}, {}
    for match in _OPTION.finditer(semicolon + rest):
        key, raw = match.group(1).lower(), (match.group(2) or '').strip()
        if raw[:1] == '"' and raw[-1:] == '"' and len(raw) >= 2:
            raw = re.sub(r'\\(.)', r'\1', raw[1:-1])
        if key.endswith('*'):
            charset, _, encoded = raw.partition("'")
            _, _, encoded = encoded.partition("'")
            try:
                extended[key[:-1]] = unquote(encoded, encoding=charset or 'utf-8',
                                             errors='strict')
            except (LookupError, UnicodeDecodeError):
                continue
        else:
            options[key] = raw
    options.update(extended)
    return main.strip().lower(), options


def _parse_accept(header):
    """Parse an Accept header into [(media_range, q)], ignoring malformed q values."""
    result = []
    for item in header.split(','):
        media, options = _parse_options_header(item)
        if not media:
            continue
        try:
            quality = float(options.get('q', 1))
        except ValueError:
            quality = 0.0
        result.append((media, min(max(quality, 0.0), 1.0)))
    return result


def _accept_quality(accepted, media):
    """Return (q, specificity) for `media` under parsed Accept ranges: specificity 2 for an
    exact match, 1 for `type/*`, 0 for `*/*`, -1 when nothing matches (RFC 9110 12.5.1)."""
    main = media.split('/', 1)[0] + '/*'
    best = (0.0, -1)
    for media_range, quality in accepted:
        specificity = 2 if media_range == media else 1 if media_range == main else \
            0 if media_range == '*/*' else -1
        if specificity > best[1]:
            best = (quality, specificity)
    return best


def _prefers_json(accept_header):
    """True when the Accept header ranks application/json above text/html (ties go to the
    more specific match, so `application/json, */*` asks for JSON and `*/*` for HTML)."""
    if not accept_header or 'json' not in accept_header:
        return False
    accepted = _parse_accept(accept_header)
    json_q, json_specific = _accept_quality(accepted, 'application/json')
    html_q, html_specific = _accept_quality(accepted, 'text/html')
    if json_q <= 0 or json_specific < 0:
        return False
    return json_q > html_q or (json_q == html_q and json_specific > html_specific)


def _environ_key(name):
    """The WSGI environ key of request header `name` (PEP 3333: HTTP_NAME, but CONTENT_TYPE and
    CONTENT_LENGTH without the prefix)."""
    key = name.upper().replace('-', '_')
    return key if key in ('CONTENT_TYPE', 'CONTENT_LENGTH') else 'HTTP_' + key


def _is_ascii_before_37(text):
    """str.isascii() for Python 3.6."""
    try:
        text.encode('ascii')
    except UnicodeEncodeError:
        return False
    return True


# The method itself where it exists (3.7+): these checks sit on every request's path.
_is_ascii = getattr(str, 'isascii', _is_ascii_before_37)


def _wsgi_to_text(value):
    """Re-decode a PEP 3333 native string (bytes carried as latin-1) as UTF-8.

    Raises UnicodeError when the bytes are not UTF-8.
    """
    if _is_ascii(value):
        return value
    return value.encode('latin-1').decode('utf-8')


def _text_to_wsgi(value):
    """The inverse of _wsgi_to_text: UTF-8 bytes carried as a latin-1 native string."""
    return value if _is_ascii(value) else value.encode('utf-8').decode('latin-1')


class _TooManyFields(ValueError):
    """An urlencoded query or form has more than MAX_FORM_FIELDS fields."""


def _parse_qs(text, max_fields=MAX_FORM_FIELDS):
    """Parse an urlencoded query or form body (text) into a FormsDict.

    Fields are split on '&' only (the WHATWG URL standard; ';' is data), '+' is a space and
    bad escapes are kept. Raises _TooManyFields beyond `max_fields`, having split no further.
    """
    fields = FormsDict()
    if not text:
        return fields
    if text.count('&') >= max_fields:
        text = text[:_end_of_fields(text, max_fields)]
    values = fields._values
    for piece in text.split('&'):
        if piece:
            key, _, value = piece.partition('=')
            if '+' in piece or '%' in piece:
                key, value = _unquote_plus(key), _unquote_plus(value)
            if key in values:
                values[key].append(value)
            else:
                values[key] = [value]
    return fields


def _end_of_fields(data, max_fields):
    """Where the first `max_fields` fields of urlencoded `data` (text or bytes) end; raises
    _TooManyFields when another field follows. Copies nothing: a huge body costs a scan."""
    end = _nth_separator(data, max_fields)
    if end < 0:
        return len(data)
    if _has_field(data, end + 1):
        raise _TooManyFields('more than %d fields' % max_fields)
    return end


def _nth_separator(data, count):
    """The index of the count-th '&' in data (text or bytes), or -1 when there are fewer."""
    separator = '&' if isinstance(data, str) else b'&'
    end = -1
    for _ in range(count):
        end = data.find(separator, end + 1)
        if end < 0:
            return -1
    return end


def _has_field(data, start=0):
    """True when data[start:] holds more than '&' separators (empty fields do not count)."""
    separator = '&' if isinstance(data, str) else b'&'
    return data.count(separator, start) != len(data) - start


def _unquote_plus(text):
    if '+' in text:
        text = text.replace('+', ' ')
    return unquote(text, errors='replace') if '%' in text else text


def _quote_path(path):
    """Percent-encode a decoded path for a URL, keeping the characters RFC 3986 allows."""
    return quote(path, safe="/:@!$&'()*+,;=~")


# Everything but printable ASCII (and the % of escapes already present) is percent-encoded.
_URL_SAFE = "!#$%&'()*+,-./:;=?@[]_~" + ''.join(
    chr(code) for code in range(0x30, 0x7f) if chr(code).isalnum())


def _safe_url(url):
    """Return url with CR, LF, NUL, spaces, controls and non-ASCII percent-encoded, so that it
    can go in a Location header as is (RFC 3986; no header splitting)."""
    return quote(url, safe=_URL_SAFE)


###############################################################################
# 2. Routing
# Router maps (method, decoded path) to a target and its converted arguments, and builds paths
# from named routes. It knows nothing of WSGI. Uses only section 1 (to_str).
###############################################################################

__all__ += ['Router', 'Route', 'RouteError', 'RouteNotFound', 'MethodNotAllowed',
            'RouteBuildError']

# Methods a route added for 'ANY' answers, as reported by Router.allowed_methods().
STANDARD_METHODS = ('DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT')
# Dynamic rules are joined into alternation regexes of at most this many rules each.
RULES_PER_REGEX = 50
_INT_PATTERN = '-?[0-9]+'                      # <x:int>, and int-annotated action arguments
_FLOAT_PATTERN = r'-?[0-9]+(?:\.[0-9]+)?'     # <x:float>, and float-annotated ones
_ALWAYS = float('inf')     # an add position later than any rule's


class RouteError(ValueError):
    """A route rule is malformed: unbalanced '<', unknown filter or bad regex. Names the rule."""


class RouteNotFound(LookupError):
    """No route matches the path, whatever the method (HTTP 404)."""

    def __init__(self, method, path):
        LookupError.__init__(self, 'no route matches %s %r' % (method, path))
        self.method, self.path = method, path


class MethodNotAllowed(LookupError):
    """A route matches the path but not the method (HTTP 405).

    `.allowed` is the sorted list of methods the path answers, for the Allow header
    (RFC 9110 section 15.5.6); it includes HEAD when GET is allowed, and OPTIONS.
    """

    def __init__(self, method, path, allowed):
        LookupError.__init__(self, '%s is not allowed for %r (allowed: %s)'
                             % (method, path, ', '.join(allowed)))
        self.method, self.path, self.allowed = method, path, allowed


class RouteBuildError(LookupError):
    """Router.build() got an unknown route name, or a missing or unfit parameter."""


class Route:
    """One rule bound to one method and a target; `.config` is free for other sections to fill.

    Routes made by one Router.add() call (a list of methods) share one config dict. Bottle's
    form `Route(app, rule, method, callback, name=None, plugins=None, skiplist=None,
    **config)` is accepted too.
    """

    __slots__ = ('rule', 'method', 'target', 'name', 'config')

    def __init__(self, rule, method, target, name=None, config=None, *bottle_args,
                 **bottle_config):
        if hasattr(rule, 'router'):     # Bottle's form: the application comes first
            rule, method, target, name, config = _bottle_route_arguments(
                (rule, method, target, name, config) + bottle_args, bottle_config)
        self.rule, self.method, self.target, self.name = rule, method, target, name
        self.config = {} if config is None else config

    def __repr__(self):
        return '<Route %s %r -> %r>' % (self.method, self.rule, self.target)

    # Bottle's Route names, for plugins written for Bottle (see Kokoro.install()).

    @property
    def callback(self):
        """The handler as registered, before plugins wrapped it."""
        return self.config.get('callback', self.target)

    @property
    def call(self):
        """The handler with the plugins applied: what a request calls."""
        return self.target

    @property
    def app(self):
        """The application the route was registered on (None when added to a bare Router)."""
        return self.config.get('app')

    @property
    def plugins(self):
        """The plugins given to this route with apply=."""
        return self.config.get('apply', [])

    @property
    def skiplist(self):
        """The plugins (objects, classes or names, True for all) this route skips."""
        return self.config.get('skip', [])

    def get_undecorated_callback(self):
        """The handler without the decorators wrapped around it: through __wrapped__, then,
        as Bottle does, through the first function each closure holds."""
        function = inspect.unwrap(self.callback)
        function = getattr(function, '__func__', function)
        while getattr(function, '__closure__', None):
            inner = [cell.cell_contents for cell in function.__closure__
                     if isinstance(cell.cell_contents, types.FunctionType)]
            if not inner:
                break
            function = inspect.unwrap(inner[0])
        return function

    def get_callback_args(self):
        """The names of the handler's parameters."""
        return list(inspect.signature(self.get_undecorated_callback()).parameters)

    def __getitem__(self, key):
        # Bottle's first plugin API read a route as a dict: route['config'], route['rule'] ...
        names = {'apply': 'plugins', 'skip': 'skiplist'}
        if key not in ('rule', 'method', 'callback', 'name', 'app', 'config', 'apply', 'skip'):
            raise KeyError(key)
        return getattr(self, names.get(key, key))

    def get_config(self, key, default=None):
        """A setting from the route's config, else the application's, else `default`."""
        if key in self.config:
            return self.config[key]
        app = self.app
        return app.config.get(key, default) if app is not None else default


def _bottle_route_arguments(arguments, options):
    """(rule, method, target, name, config) from Bottle's Route(app, rule, method, callback,
    name, plugins, skiplist, **config) arguments."""
    padded = list(arguments) + [None] * (7 - len(arguments))
    app, rule, method, callback, name, plugins, skiplist = padded[:7]
    config = dict(options, app=app, callback=callback)
    for key, value in (('apply', plugins), ('skip', skiplist)):
        if value is not None:
            config[key] = list(value) if isinstance(value, (list, tuple)) else [value]
    return rule, method, callback, name if name is not None else options.get('name'), config


class Router:
    """Match (method, path) to a Route and build paths from named routes.

    Rules: `/user/<id:int>`, `<name>` (one segment), `<x:float>`, `<p:path>` (the rest of the
    path), `<c:re:[a-z]+>`, plus filters added with add_filter(). Static rules are found with
    one dict lookup and always beat dynamic ones; among dynamic rules the first added wins.
    HEAD falls back to GET, and 'ANY' routes answer every method after the exact method's own
    (a static 'ANY' route still beats a dynamic one for the exact method).
    Matching is exact: '/a' and '/a/' are different rules.
    """

    def __init__(self):
        self.routes = []
        self._filters = {
            'default': ('[^/]+', str, to_str),
            'int': (_INT_PATTERN, int, to_str),
            'float': (_FLOAT_PATTERN, float, _float_to_url),
            'path': ('(?s:.+)', str, to_str),
        }
        self._static = {}      # rule -> {method: Route}
        self._dynamic = {}     # method -> {rule: (_ParsedRule, Route)}, in add order
        # Read-only for callers: {route name: function(params) giving its path}; the function
        # consumes the dict it is given (see _path_builder). url() calls them directly.
        self.path_builders = {}
        self._parsed = {}      # rule -> _ParsedRule, for rules added with the current filters
        self._index = {}       # method -> (buckets, wild); see _index_rules()
        self._dirty = False
        self._lock = threading.Lock()

    def add_filter(self, name, regex, to_python=str, to_url=to_str):
        """Register `<arg:name>` for rules added from now on: `regex` matches the text,
        to_python converts it for the target, to_url turns a value back into text for build().
        Groups in `regex` are fine.

        Raises RouteError for a bad regex. to_python must accept any text the regex matches.
        """
        try:
            regex = _without_captures(regex)
        except (re.error, ValueError) as exc:
            raise RouteError('filter %r: bad regex %r: %s' % (name, regex, exc))
        self._filters[name] = (regex, to_python, to_url)
        self._parsed.clear()

    def add(self, rule, method, target, name=None, config=None):
        """Add a rule for one method ('GET', 'POST', ... or 'ANY') or a list of them; return the
        (first) Route. Adding a rule and method again replaces the target and keeps its place.

        Raises RouteError when the rule is malformed.
        """
        parsed = self._parse(rule)
        methods = [method] if isinstance(method, str) else list(method)
        if not methods:
            raise RouteError('route %r: no method given' % (rule,))
        shared_config = dict(config or {})
        added = [self._add_route(parsed, m.upper(), target, name, shared_config)
                 for m in methods]
        return added[0]

    def match(self, method, path):
        """Return (route, args) for a method and a decoded path; args maps wildcard names to
        converted values. Raises RouteNotFound (404) or MethodNotAllowed (405).
        """
        # Fast path: a static route for the exact method costs one dict lookup and one get.
        by_method = self._static.get(path)
        if by_method is not None:
            route = by_method.get(method)
            if route is not None:
                return route, {}
        return self._match_slowly(method, path, by_method)

    def allowed_methods(self, path):
        """Return the sorted methods `path` answers (with HEAD when GET is allowed, and
        OPTIONS), or [] when no rule matches it. An 'ANY' route allows STANDARD_METHODS."""
        return self._allowed_methods(path, ())

    def _allowed_methods(self, path, known_unmatched):
        methods = set(self._static.get(path, ()))
        for method in self._current_index():
            if method in methods or method in known_unmatched:
                continue
            if self._match_dynamic(method, path) is not None:
                methods.add(method)
        if not methods:
            return []
        if 'ANY' in methods:
            methods.discard('ANY')
            methods.update(STANDARD_METHODS)
        if 'GET' in methods:
            methods.add('HEAD')
        methods.add('OPTIONS')
        return sorted(methods)

    def build(self, _name, **params):
        """Return the path of the route named `name` with wildcards filled from params.

        Values pass through the filter's to_url and are percent-encoded ('/' is kept only for
        path wildcards); params not in the rule become a sorted query string (None values are
        left out). Raises RouteBuildError for an unknown name or a missing or unfit value.
        """
        try:
            builder = self.path_builders[_name]
        except KeyError:
            raise RouteBuildError('no route named %r' % (_name,))
        return builder(params)

    def _add_route(self, parsed, method, target, name, config):
        route = Route(parsed.rule, method, target, name, config)
        if parsed.is_static:
            by_method = self._static.setdefault(parsed.rule, {})
            replaced = by_method.get(method)
            by_method[method] = route
        else:
            by_rule = self._dynamic.setdefault(method, {})
            replaced = by_rule.get(parsed.rule, (None, None))[1]
            by_rule[parsed.rule] = (parsed, route)  # a replaced key keeps its place (priority)
            self._dirty = True
        if replaced is None:
            self.routes.append(route)
        else:
            self.routes[self.routes.index(replaced)] = route
        if name is not None:
            self.path_builders[name] = _path_builder(parsed, route)
        return route

    def _parse(self, rule):
        parsed = self._parsed.get(rule)
        if parsed is None:
            if not isinstance(rule, str):
                raise RouteError('route rule must be text, not %r' % (rule,))
            parsed = self._parsed[rule] = _ParsedRule(rule, self._filters)
        return parsed

    def _match_slowly(self, method, path, static_by_method):
        candidates = ('HEAD', 'GET', 'ANY') if method == 'HEAD' else (method, 'ANY')
        if static_by_method is not None:
            for candidate in candidates:
                route = static_by_method.get(candidate)
                if route is not None:
                    return route, {}
        if self._dirty:
            self._compile_index()
        for candidate in candidates:
            found = self._match_dynamic(candidate, path)
            if found is not None:
                return found
        allowed = self._allowed_methods(path, candidates)
        if allowed:
            raise MethodNotAllowed(method, path, allowed)
        raise RouteNotFound(method, path)

    def _match_dynamic(self, method, path):
        """Return (route, args) from the dynamic rules of exactly `method`, or None."""
        index = self._index.get(method)
        if index is None:
            return None
        buckets, wild = index
        slash = path.find('/', 1)
        bucket = buckets.get(path[1:slash] if slash > 0 else path[1:])
        best = _search_chunks(bucket, path, _ALWAYS) if bucket else None
        if wild:
            earlier = _search_chunks(wild, path, best[0][0] if best else _ALWAYS)
            best = earlier or best
        if best is None:
            return None
        (_, route, rule_regex, conversions), found = best
        if rule_regex is not None:
            found = rule_regex.fullmatch(path)
        args = found.groupdict()    # wildcards are named groups; the marker group is not
        try:
            for name, convert in conversions:
                args[name] = convert(args[name])
        except ValueError:  # e.g. int() of more than 4300 digits (Python 3.11's limit)
            raise RouteNotFound(method, path)
        return route, args

    def _current_index(self):
        """Return the dynamic index, compiling it first if rules were added since."""
        if self._dirty:
            self._compile_index()
        return self._index

    def _compile_index(self):
        with self._lock:
            if self._dirty:     # another thread may have compiled while this one waited
                self._index = {method: _index_rules(list(by_rule.values()))
                               for method, by_rule in list(self._dynamic.items())}
                self._dirty = False     # only now: a thread seeing False uses self._index


class _ParsedRule:
    """A rule split into its regex, its wildcards and the pieces build() joins."""

    __slots__ = ('rule', 'is_static', 'pattern', 'flat_pattern', 'regex', 'wildcards',
                 'first_segment', 'build_pieces')

    def __init__(self, rule, filters):
        self.rule = rule
        self.pattern, self.flat_pattern, self.wildcards, self.build_pieces = '', '', [], []
        for piece in _split_rule(rule):
            if isinstance(piece, str):
                self.pattern += re.escape(piece)
                self.flat_pattern += re.escape(piece)
                self.build_pieces.append(quote(piece, safe="/:@!$&'()*+,;="))
            else:
                self._add_wildcard(piece, filters)
        self.is_static = all(isinstance(piece, str) for piece in self.build_pieces)
        # Dynamic rules whose first segment is literal are indexed by it (see _index_rules).
        head = rule.split('/', 2)
        is_literal = len(head) == 3 and head[0] == '' and '<' not in head[1]
        self.first_segment = head[1] if is_literal else None
        try:
            self.regex = re.compile(self.pattern)
        except re.error as exc:
            raise RouteError('route %r: bad regex: %s' % (rule, exc))

    def _add_wildcard(self, piece, filters):
        name, filter_name, config = piece
        if filter_name == 're':
            try:
                regex, to_python, to_url = _without_captures(config), str, to_str
            except (re.error, ValueError) as exc:
                raise RouteError('route %r: bad regex %r: %s' % (self.rule, config, exc))
        elif filter_name in filters and config is None:
            regex, to_python, to_url = filters[filter_name]
        elif filter_name in filters:
            raise RouteError('route %r: filter %r takes no configuration'
                             % (self.rule, filter_name))
        else:
            raise RouteError('route %r: unknown filter %r (known: %s)' % (
                self.rule, filter_name, ', '.join(sorted(set(filters) - {'default'}) + ['re'])))
        if not name:        # Bottle's anonymous wildcard <:re:...>: matched, not passed on
            self.pattern += '(?:%s)' % regex
            self.flat_pattern += '(?:%s)' % regex
            self.build_pieces.append((name, to_url, '', re.compile(regex).fullmatch))
            return
        if any(name == known for known, _ in self.wildcards):
            raise RouteError('route %r: wildcard <%s> appears twice' % (self.rule, name))
        self.pattern += '(?P<%s>%s)' % (name, regex)
        self.flat_pattern += '(?:%s)' % regex
        self.wildcards.append((name, to_python))
        safe = '/' if filter_name == 'path' else ''
        self.build_pieces.append((name, to_url, safe, re.compile(regex).fullmatch, regex))


def _split_rule(rule):
    """Return the rule as literal strings and (name, filter, config) wildcard triples."""
    pieces, position = [], 0
    while position < len(rule):
        opening = rule.find('<', position)
        literal = rule[position:] if opening < 0 else rule[position:opening]
        if '>' in literal:
            raise RouteError("route %r: '>' without a matching '<'" % (rule,))
        if literal:
            pieces.append(literal)
        if opening < 0:
            break
        closing = _wildcard_end(rule, opening + 1)
        name, named_colon, spec = rule[opening + 1:closing].partition(':')
        filter_name, colon, config = spec.partition(':')
        # An empty name is Bottle's anonymous wildcard, as in <:re:[0-9]+>; '<>' is a typo.
        if (name or not named_colon) and not name.isidentifier():
            raise RouteError('route %r: wildcard name %r is not an identifier' % (rule, name))
        pieces.append((name, filter_name or 'default', config if colon else None))
        position = closing + 1
    return pieces


def _wildcard_end(rule, position):
    """Return the index of the '>' closing a wildcard; a '>' inside the wildcard's regex
    (escaped, in a [class] or in parentheses, as in (?<=x)) does not close it."""
    depth, in_class = 0, False
    while position < len(rule):
        char = rule[position]
        if char == '\\':
            position += 1
        elif in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            position += _class_opening_length(rule, position) - 1
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        elif char == '>' and depth <= 0:
            return position
        position += 1
    raise RouteError("route %r: unbalanced '<'" % (rule,))


def _class_opening_length(text, position):
    """Length of the '[' at `position` with a '^' and a ']' that follow it: a ']' first in a
    character class is literal and does not close it."""
    end = position + 1
    end += text.startswith('^', end)
    end += text.startswith(']', end)
    return end - position


_INLINE_GLOBAL_FLAGS = re.compile(r'\(\?[aiLmsux]+\)')


def _without_captures(regex):
    """Return `regex` with its capturing groups made non-capturing, so that a rule's regex
    joined with others still numbers its wildcards' groups as the router expects.

    Raises ValueError for backreferences and global inline flags, which would change the
    meaning of the combined regex, and re.error for a regex that does not compile.
    """
    out, position, in_class = [], 0, False
    while position < len(regex):
        char, step = regex[position], 1
        if char == '\\':
            if regex[position + 1:position + 2] in set('123456789'):
                raise ValueError('backreferences are not supported')
            step = 2
        elif in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            step = _class_opening_length(regex, position)
        elif regex.startswith('(?P<', position):
            out.append('(?:')
            position = regex.index('>', position) + 1
            continue
        elif regex.startswith('(?P=', position):
            raise ValueError('backreferences are not supported')
        elif _INLINE_GLOBAL_FLAGS.match(regex, position):
            raise ValueError('global inline flags are not supported; use a group like (?i:...)')
        elif char == '(' and not regex.startswith('(?', position):
            out.append('(?:')
            position += 1
            continue
        out.append(regex[position:position + step])
        position += step
    flat = ''.join(out)
    if re.compile(flat).groups:
        raise ValueError('could not make its groups non-capturing')
    return flat


def _index_rules(rules):
    """Index one method's dynamic rules, [(parsed, route)] in add order: return (buckets, wild).

    Rules whose first segment is literal go to the bucket of that segment, the others to
    `wild`; both hold chunks of alternation regexes (see _combine_rules). A match looks in the
    bucket named by the path's first segment, then in `wild` only among rules added earlier
    than the bucket's match, so it costs a dict lookup and one regex call or two however many
    rules there are, and each rule is compiled once.
    """
    entries = [(position, parsed, route) for position, (parsed, route) in enumerate(rules)]
    by_segment = {}
    for entry in entries:
        if entry[1].first_segment is not None:
            by_segment.setdefault(entry[1].first_segment, []).append(entry)
    wild = [entry for entry in entries if entry[1].first_segment is None]
    buckets = {segment: _combine_rules(bucket) for segment, bucket in by_segment.items()}
    return buckets, _combine_rules(wild)


def _combine_rules(entries):
    """Join rules (in add order) into chunks of alternation regexes:
    [(first rule's add position, regex, {marker group: (position, route, regex, conversions)})].

    Each alternative is a rule with non-capturing wildcards and an empty marker group at its
    end, so a failing alternative sets no group (sre's group bookkeeping grows with the number
    of groups passed) and the match's lastindex names the rule. The rule's own regex, with a
    named group per wildcard, then captures the arguments; a chunk of one rule uses that regex
    directly (and stores None instead of it).
    """
    combined = []
    for start in range(0, len(entries), RULES_PER_REGEX):
        chunk = entries[start:start + RULES_PER_REGEX]
        alternatives, rules_by_marker = [], {}
        for position, parsed, route in chunk:
            conversions = tuple((name, convert) for name, convert in parsed.wildcards
                                if convert is not str)
            if len(chunk) == 1:
                alternatives.append(parsed.pattern + '()')
                marker, rule_regex = len(parsed.wildcards) + 1, None
            else:
                alternatives.append(parsed.flat_pattern + '()')
                marker, rule_regex = len(alternatives), parsed.regex
            rules_by_marker[marker] = (position, route, rule_regex, conversions)
        combined.append((chunk[0][0], re.compile('|'.join(alternatives)), rules_by_marker))
    return combined


def _search_chunks(chunks, path, added_before):
    """Return (rule data, match) for the first-added rule in chunks that matches path and was
    added before position `added_before`, or None."""
    for first_position, regex, rules_by_marker in chunks:
        if first_position >= added_before:
            return None
        found = regex.fullmatch(path)
        if found is not None:
            rule = rules_by_marker[found.lastindex]
            return (rule, found) if rule[0] < added_before else None
    return None


def _path_builder(parsed, route):
    """A function(params) giving the path of a named route, with the params its wildcards do
    not take as a query string. Made once per route, so that url() does no parsing: the path
    is its leading literal text, then per wildcard its value's text and the literal after it.
    `params` is consumed (a caller passes a dict of its own, such as its **kwargs)."""
    head, steps = _build_steps(parsed.build_pieces)
    if not steps:
        return lambda params: head + _query_string(params) if params else head

    texts = {}      # a str value -> its checked, quoted text (an asset's path, say)

    def build(params):
        path = head
        for name, is_plain_int, piece, literal in steps:
            value = params.pop(name, None)
            if is_plain_int and value.__class__ is int:
                path += str(value) + literal    # '-' and digits: matches, nothing to escape
            elif value.__class__ is str and piece[1] is to_str:     # no filter's own to_url
                text = texts.get((name, value))
                if text is None:
                    text = _remember(texts, (name, value),
                                     _build_wildcard(route, piece, value), 256)
                path += text + literal
            else:
                path += _build_wildcard(route, piece, value) + literal
        return path + _query_string(params) if params else path
    build.wildcards = [step[0] for step in steps]
    if len(steps) == 1 and steps[0][1]:
        build.around_int = (head, steps[0][3])    # the path is head + str(the int) + this
    return build


def _build_steps(build_pieces):
    """(leading literal, [(name, is plain int, piece, literal after it)]) of a rule's pieces.
    A plain int is the built-in int filter's: str() of an int is its text, already safe."""
    head, steps = '', []
    for piece in build_pieces:
        if isinstance(piece, str):
            if steps:
                steps[-1][3] += piece
            else:
                head += piece
        else:
            is_plain_int = piece[4] == _INT_PATTERN and piece[1] is to_str
            steps.append([piece[0], is_plain_int, piece, ''])
    return head, [tuple(step) for step in steps]


def _query_string(params):
    """'?a=1&b=2' of the params that are not None, sorted by name ('' when there are none)."""
    query = sorted((key, value) for key, value in params.items() if value is not None)
    return '?' + urlencode(query, doseq=True) if query else ''


def _build_wildcard(route, piece, value):
    """Return the percent-encoded text of one wildcard value for Router.build()."""
    name, to_url, safe, fits = piece[:4]
    if value is None:
        raise RouteBuildError('route %r (%s) needs the parameter %r'
                              % (route.name, route.rule, name))
    try:
        text = to_str(to_url(value))
    except (TypeError, ValueError) as exc:
        raise RouteBuildError('route %r: cannot convert %s=%r: %s'
                              % (route.name, name, value, exc))
    # A value its own rule would not match gives a path that leads elsewhere: refuse it.
    if not fits(text):
        raise RouteBuildError('route %r (%s): %s=%r does not match the rule'
                              % (route.name, route.rule, name, value))
    return quote(text, safe=safe)


def _float_to_url(value):
    """Text for a float wildcard, written without an exponent so that it matches again."""
    text = to_str(value)
    if isinstance(value, float) and 'e' in text:
        text = ('%.20f' % value).rstrip('0').rstrip('.')
    return text


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

_UNSET = object()     # an argument not given (where None is a meaningful value)

# Per-thread state of the request being handled: .request (a Request) and .response (a
# Response, created on first use). Section 4 binds it and exposes the `request`/`response`
# proxies; static_file() and set_cookie() read it here.
class _RequestLocal(threading.local):
    # None (no request) as class attributes: getattr(_local, 'request', None) outside a request
    # then finds the default at once instead of raising and catching an AttributeError, which
    # cost templates rendered outside a request (tests, scripts, mail) about 0.7 µs per lookup.
    request = response = None


_local = _RequestLocal()

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
    answers malformed input with HTTPError 400. `request['KEY']` reads the environ.
    """

    def __init__(self, environ=None):
        self.environ = {} if environ is None else environ

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
    def url_root(self):
        """script_name percent-encoded for a URL: what url() puts before each route's path.
        Kept in the environ while SCRIPT_NAME stays the same: a page builds many URLs."""
        environ = self.environ
        raw = environ.get('SCRIPT_NAME', '')
        cached = environ.get('kokoropy.url_root')
        if cached is None or cached[0] is not raw:
            cached = environ['kokoropy.url_root'] = (raw, _quote_path(self.script_name))
        return cached[1]

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
        try:
            return _parse_qs(text)
        except _TooManyFields:
            raise HTTPError(414, 'The query string has more than %d fields.' % MAX_FORM_FIELDS)

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
        if not _is_digits(value.strip()):
            raise HTTPError(400, 'Malformed Content-Length header.')
        return int(value)

    @_cached_in_environ
    def cookies(self):
        """The request's cookies as a dict, a missing one reading '' as an attribute
        (`request.cookies.theme`). Of repeated names the first wins (RFC 6265 5.4 sends the
        most specific path first); a Bottle app takes the last, as Bottle does."""
        last_wins = getattr(self.app, 'last_cookie_wins', False)
        return _parse_cookie_header(self.environ.get('HTTP_COOKIE', ''), last_wins)

    def get_cookie(self, name, default=None, secret=None, max_age=None, digestmod=None):
        """Return a cookie's value, or default when absent.

        With `secret`, the cookie must have been set by set_cookie(..., secret=) for this
        name (and be younger than `max_age` seconds when given); a tampered, foreign or
        expired cookie gives `default`. Signed values come back with their JSON type.
        (`digestmod` is accepted for Bottle code; signatures are always HMAC-SHA256.)
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
        return FormsDict(self.query.allitems() + self.forms.allitems())

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
            # UTF-8 only; a byte order mark may be ignored (RFC 8259 section 8.1).
            value = _STRICT_JSON.decode(data.decode('utf-8-sig'))
            if b'\\u' in data or b'\\U' in data:
                _check_json_text(value)
            return value
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
        host, port = env.get('SERVER_NAME', '127.0.0.1'), env.get('SERVER_PORT', '80')
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

    is_ajax = is_xhr

    @property
    def chunked(self):
        """True when the body came with Transfer-Encoding: chunked."""
        return 'chunked' in self.environ.get('HTTP_TRANSFER_ENCODING', '').lower()

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

    # -- Bottle's names ---------------------------------------------------

    def bind(self, environ):
        """Read another environ from now on."""
        self.environ = environ

    def copy(self):
        """A Request over a copy of the environ."""
        return Request(dict(self.environ))

    def get(self, key, default=None):
        """The environ value of `key`, or default."""
        return self.environ.get(key, default)

    def keys(self):
        """The environ keys."""
        return self.environ.keys()

    def __getitem__(self, key):
        return self.environ[key]

    def __setitem__(self, key, value):
        self.environ[key] = value
        self._forget(key)

    def __delitem__(self, key):
        del self.environ[key]
        self._forget(key)

    def __contains__(self, key):
        return key in self.environ

    def __iter__(self):
        return iter(self.environ)

    def __len__(self):
        return len(self.environ)

    @property
    def GET(self):
        """The query fields (Bottle's name for `query`)."""
        return self.query

    @_cached_in_environ
    def POST(self):
        """Form fields and uploaded files together, as a FormsDict."""
        return FormsDict(self.forms.allitems() + self.files.allitems())

    @property
    def auth(self):
        """(user, password) of HTTP Basic authentication, (REMOTE_USER, None) when the server
        authenticated the request, else None."""
        credentials = parse_auth(self.environ.get('HTTP_AUTHORIZATION', ''))
        if credentials is None and self.environ.get('REMOTE_USER'):
            return self.environ['REMOTE_USER'], None
        return credentials

    def path_shift(self, shift=1):
        """Move `shift` path segments from PATH_INFO to SCRIPT_NAME (negative: back)."""
        script_name, path_info = path_shift(self.environ.get('SCRIPT_NAME', ''),
                                            self.environ.get('PATH_INFO', '/'), shift)
        self['SCRIPT_NAME'], self['PATH_INFO'] = script_name, path_info

    def _forget(self, key):
        """Drop what was parsed from environ[key], so that it is read again."""
        for name in _PARSED_FROM.get(key, ('headers', 'cookies') if key.startswith('HTTP_')
                                     else ()):
            self.environ.pop('kokoropy.' + name, None)

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
            forms = _parse_urlencoded_form(self.body)
        elif media_type == 'multipart/form-data':
            boundary = options.get('boundary', '')
            if not _BOUNDARY.match(boundary):
                raise HTTPError(400, 'Malformed multipart body: missing or invalid boundary.')
            forms, files = _parse_multipart(self.body, boundary.encode('latin-1'),
                                            self._config('max_memfile_bytes'))
        environ['kokoropy.forms'], environ['kokoropy.files'] = forms, files
        return forms, files


def _refuse_json_constant(name):
    raise ValueError('%s is not JSON (RFC 8259 section 6)' % name)


def _finite_float(text):
    value = float(text)
    if not math.isfinite(value):
        raise ValueError('the number %s is out of range' % text[:40])
    return value


# RFC 8259: no NaN or Infinity, and no number so big that it would become one (1e999), since
# answering it back would send text that is not JSON.
_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_json_constant, parse_float=_finite_float)


def _check_json_text(value):
    """ValueError when a decoded JSON value holds a lone surrogate ("\\ud800"): RFC 8259
    section 8.2 text that no UTF-8 answer or database could store."""
    if isinstance(value, str):
        try:
            value.encode('utf-8')
        except UnicodeEncodeError:
            raise ValueError('a string holds an unpaired surrogate escape')
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json_text(key)
            _check_json_text(item)
    elif isinstance(value, list):
        for item in value:
            _check_json_text(item)


def _parse_urlencoded_form(body):
    """The fields of an urlencoded body (a binary file), read in chunks; HTTPError 413 when
    more than MAX_FORM_FIELDS fields are sent, found without holding what follows them."""
    kept, missing = [], MAX_FORM_FIELDS     # separators still allowed
    for chunk in iter(functools.partial(body.read, COPY_CHUNK), b''):
        if missing:
            end = _nth_separator(chunk, missing)
            if end < 0:
                kept.append(chunk)
                missing -= chunk.count(b'&')
                continue
            kept.append(chunk[:end])
            missing, chunk = 0, chunk[end + 1:]
        if _has_field(chunk):
            raise HTTPError(413, 'The form has more than %d fields.' % MAX_FORM_FIELDS)
    return _parse_qs(b''.join(kept).decode('utf-8', 'replace'))


# What Request parses from an environ key (and caches in the environ as 'kokoropy.<name>').
_PARSED_FROM = {
    'wsgi.input': ('_body_file', 'forms', 'files', 'params', 'json', 'POST'),
    'CONTENT_TYPE': ('headers', 'forms', 'files', 'params', 'json', 'POST'),
    'CONTENT_LENGTH': ('headers', '_body_file', 'forms', 'files', 'params', 'json', 'POST'),
    'QUERY_STRING': ('query', 'params'),
    'PATH_INFO': ('path',), 'SCRIPT_NAME': ('path',),
}

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
    cookie_defaults = None      # outside a request: set_cookie()'s defaults (None: Kokoro's)

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
        content_type = self._headers._fields.get('content-type')
        if content_type is None:
            return 'utf-8'
        return _parse_options_header(content_type[-1])[1].get('charset') or 'utf-8'

    @charset.setter
    def charset(self, value):
        media_type = self.content_type.split(';', 1)[0].strip() or 'text/html'
        self.content_type = '%s; charset=%s' % (media_type, value)

    def set_cookie(self, name, value, secret=None, max_age=None, expires=None, path=_UNSET,
                   domain=None, secure=None, httponly=None, samesite=_UNSET, same_site=_UNSET,
                   digestmod=None):
        """Add a Set-Cookie header (replacing one for the same name, path and domain).

        With `secret` the value (any JSON value) is signed, see Request.get_cookie().
        `max_age` in seconds (or a timedelta); `expires` a timestamp, datetime or HTTP date.
        `samesite` (or Bottle's `same_site`) may be 'Lax', 'Strict', 'None' or None. Flags not
        given take the serving app's `cookie_defaults`: for Kokoro Path=/, HttpOnly, SameSite=Lax
        and Secure when the request came over HTTPS; for a Bottle app none (Bottle's defaults).
        Raises ValueError for a bad name or an oversized cookie.
        """
        path, httponly, samesite, secure = _cookie_flags(
            path, httponly, same_site if samesite is _UNSET else samesite, secure,
            self.cookie_defaults)
        if secret is not None:
            value = sign_value(to_bytes(json_dumps([name, value])), secret)
        elif not isinstance(value, str):
            raise TypeError('cookie %s: value must be text (or pass secret= to sign '
                            'any JSON value)' % (name,))
        morsel = Morsel()
        try:
            morsel.set(name, value, SimpleCookie().value_encode(value)[1])
        except Exception as exc:    # http.cookies.CookieError: an illegal name
            raise ValueError('cookie name %r: %s' % (name, exc))
        if len(name) + len(morsel.coded_value) + 1 > MAX_COOKIE_BYTES:
            raise ValueError('cookie %s is over %d bytes, more than browsers keep'
                             % (name, MAX_COOKIE_BYTES))
        header = '; '.join([morsel.OutputString()] + _cookie_attributes(
            max_age, expires, path, domain, secure, httponly, samesite))
        self._headers._fields.setdefault('set-cookie', ['Set-Cookie'])
        field = self._headers._fields['set-cookie']
        field[1:] = [old for old in field[1:] if not _same_cookie(old, header)]
        self._headers.add('Set-Cookie', header)

    @property
    def expires(self):
        """The Expires header as a naive UTC datetime (None when absent); set a datetime or a
        timestamp."""
        stamp = parse_http_date(self._headers.get('Expires', ''))
        if stamp is None:
            return None
        return datetime.datetime.fromtimestamp(stamp, datetime.timezone.utc).replace(tzinfo=None)

    @expires.setter
    def expires(self, value):
        self._headers['Expires'] = http_date(value)

    # -- Bottle's names ---------------------------------------------------

    def set_header(self, name, value):
        """Set header `name`, replacing its values."""
        self._headers[name] = value

    def add_header(self, name, value):
        """Add a value to header `name` (for repeatable headers)."""
        self._headers.add(name, value)

    def get_header(self, name, default=None):
        """The (last) value of header `name`, or default."""
        return self._headers.get(name, default)

    @property
    def headerlist(self):
        """The (name, value) header pairs as sent, Content-Type completed."""
        return self._wsgi_headers(None, _HTML_TYPE)

    def iter_headers(self):
        """Iterate over the (name, value) pairs of headerlist."""
        return iter(self.headerlist)

    def __getitem__(self, name):
        return self._headers[name]

    def __setitem__(self, name, value):
        self._headers[name] = value

    def __delitem__(self, name):
        del self._headers[name]

    def __contains__(self, name):
        return name in self._headers

    def delete_cookie(self, name, path=_UNSET, domain=None, **options):
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
# Cookie flags set_cookie() uses when not given, unless the serving app has its own.
_COOKIE_DEFAULTS = {'path': '/', 'httponly': True, 'samesite': 'Lax', 'secure': None}


def _cookie_flags(path, httponly, samesite, secure, own_defaults=None):
    """(path, httponly, samesite, secure) with those not given taken from the serving app's
    cookie_defaults, else `own_defaults`, else Kokoro's; secure None means 'when the request
    came over HTTPS'."""
    current = _request_in_thread()
    defaults = getattr(getattr(current, 'app', None), 'cookie_defaults', None) or \
        own_defaults or _COOKIE_DEFAULTS
    if path is _UNSET:
        path = defaults['path']
    if httponly is None:
        httponly = defaults['httponly']
    if samesite is _UNSET:
        samesite = defaults['samesite']
    if secure is None:
        secure = defaults['secure']
    if secure is None:
        secure = current is not None and current.scheme == 'https'
    return path, httponly, samesite, secure


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


def redirect(url, code=None):
    """Stop the request now and send the client to `url`: 303 See Other by default, 302 Found
    for HTTP/1.0 clients (which do not know 303).

    The URL goes into Location percent-encoded: CR, LF, NUL, spaces and non-ASCII become
    %XX, so no URL can split or inject headers. Cookies already set on `response` are kept.
    The URL is made absolute first unless the serving app says otherwise (Kokoro does not,
    Bottle does, as does a request bound without an app).
    """
    current = _request_in_thread()
    environ = getattr(current, 'environ', {})
    if code is None:
        code = 302 if environ.get('SERVER_PROTOCOL') == 'HTTP/1.0' else 303
    url = to_str(url)
    if current is not None and getattr(current.app, 'absolute_redirects', True):
        url = urljoin(current.url, url)
    raise HTTPResponse('', code, Location=_safe_url(url))


def static_file(filename, root, mimetype=None, download=False, charset='UTF-8',
                headers=None, etag=None):
    """Return an HTTPResponse serving `filename` from folder `root`, or an HTTPError.

    Never serves anything outside `root`: '..', absolute paths, backslashes, NUL bytes and
    symlinks leading out give 403; a missing file 404. Sends Last-Modified, ETag and
    Accept-Ranges; answers If-None-Match / If-Modified-Since with 304, a single byte Range
    with 206 (416 when unsatisfiable). `mimetype` is guessed (None, True or 'auto') from the
    name, or from the download name when `download` is one; `download=True` (or a file name)
    adds Content-Disposition: attachment. A Date header is added, as Bottle does. `etag` is
    a precomputed ETag, or False for none (default: from the file's mtime and size).
    """
    path = _resolve_static_path(filename, root)
    if isinstance(path, HTTPError):
        return path
    stat = os.stat(path)
    answer = HTTPResponse('', 200, headers)
    named = download if isinstance(download, str) else path
    if mimetype is True or mimetype == 'auto':
        mimetype = None
    answer.headers['Content-Type'] = _guess_mimetype(named, mimetype, charset)
    answer.headers['Date'] = http_date(time.time())
    if download:
        name = os.path.basename(path) if download is True else download
        answer.headers['Content-Disposition'] = _content_disposition(name)
    if etag is None:
        etag = '"%x-%x"' % (stat.st_mtime_ns, stat.st_size)
    answer.headers['Last-Modified'] = http_date(stat.st_mtime)
    if etag:
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


_STATUS_LINES = dict((status.value, (status.value, '%d %s' % (status.value, status.phrase)))
                     for status in HTTPStatus)


def _parse_status(value):
    """Return (code, status line) for an int or a status line; ValueError when invalid."""
    if value.__class__ is int:
        known = _STATUS_LINES.get(value)
        if known is not None:       # every Response() gets one: 200
            return known
    if isinstance(value, int):
        code, reason = value, None
    else:
        text = to_str(value).strip()
        code_text, _, reason = text.partition(' ')
        if not _is_digits(code_text):
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
    stream = environ.get('wsgi.input')
    if not is_exact:
        length = limit + 1 if environ.get('wsgi.input_terminated') else 0
        if not length and 'chunked' in environ.get('HTTP_TRANSFER_ENCODING', '').lower():
            return _read_chunked_body(stream, limit, memfile_limit)
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


def _read_chunked_body(stream, limit, memfile_limit):
    """Decode a chunked body (RFC 9112 section 7.1) that a server passed through as it came,
    into a seekable file. HTTPError 400 when malformed, 413 beyond `limit`."""
    body = io.BytesIO()
    received = 0
    try:
        while True:
            size = _chunk_size(stream)
            if size == 0:
                break
            received += size
            if received > limit:
                raise HTTPError(413, 'The request body is larger than %d bytes.' % limit)
            if received > memfile_limit and isinstance(body, io.BytesIO):
                body = _spool_to_disk(body)
            _copy_exactly(stream, body, size)
            if _read_input(stream, 2) != b'\r\n':
                raise HTTPError(400, 'Malformed chunked body: a chunk does not end with CRLF.')
        while _chunk_line(stream) not in (b'', b'\r\n', b'\n'):
            pass    # trailer fields: ignored
    except BaseException:
        body.close()
        raise
    body.seek(0)
    return body


def _chunk_size(stream):
    size, _, _ = _chunk_line(stream).partition(b';')     # chunk extensions are ignored
    size = size.strip()
    if not size or len(size) > 16 or size.strip(b'0123456789abcdefABCDEF'):
        raise HTTPError(400, 'Malformed chunked body: bad chunk size %r.' % size[:20])
    return int(size, 16)


def _chunk_line(stream):
    line = stream.readline(1024)
    if line and not line.endswith(b'\n'):
        raise HTTPError(400, 'Malformed chunked body: a chunk line is too long or cut short.')
    return line


def _copy_exactly(stream, target, size):
    while size > 0:
        chunk = _read_input(stream, min(COPY_CHUNK, size))
        if not chunk:
            raise HTTPError(400, 'Malformed chunked body: it ends inside a chunk.')
        target.write(chunk)
        size -= len(chunk)


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


class _Cookies(dict):
    """The request's cookies: a dict whose attributes read cookies ('' when missing)."""

    def __getattr__(self, name):
        if name.startswith('__') and name.endswith('__'):
            raise AttributeError(name)
        return self.get(name, '')


def _parse_cookie_header(header, last_wins=False):
    cookies = _Cookies()
    for item in header.split(';'):
        name, equals, value = item.partition('=')
        name, value = name.strip(), value.strip()
        if not equals or not name or (name in cookies and not last_wins):
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = _unquote_cookie(value[1:-1])
        cookies[name] = value
    return cookies


def _unquote_cookie(text):
    """Undo http.cookies quoting: \\ooo octal escapes and backslash escapes."""
    return re.sub(r'\\(?:([0-3][0-7][0-7])|(.))',
                  lambda m: chr(int(m.group(1), 8)) if m.group(1) else m.group(2), text)


def _cookie_attributes(max_age, expires, path, domain, secure, httponly, samesite):
    """The Set-Cookie attributes (RFC 6265 section 4.1) in the order http.cookies writes them.

    Written here rather than through Morsel, whose SameSite support starts at Python 3.8.
    Raises ValueError for a value that would end the attribute or the header early.
    """
    if hasattr(max_age, 'total_seconds'):
        max_age = max_age.total_seconds()
    if expires is not None and not isinstance(expires, str):
        expires = http_date(expires)
    attributes = []
    for label, value in (('Domain', domain), ('expires', expires)):
        if value:
            attributes.append('%s=%s' % (label, value))
    if httponly:
        attributes.append('HttpOnly')
    if max_age is not None:
        attributes.append('Max-Age=%d' % int(max_age))
    for label, value in (('Path', path), ('SameSite', samesite)):
        if value:
            attributes.append('%s=%s' % (label, value))
    if secure:
        attributes.append('Secure')
    if _COOKIE_ATTRIBUTE_BREAK.search(''.join(attributes)):
        raise ValueError('cookie attribute with ";" or a control character: %r' % (attributes,))
    return attributes


# A ';' would start a new attribute and CR or LF a new header (response splitting).
_COOKIE_ATTRIBUTE_BREAK = re.compile(r'[;\x00-\x1f\x7f]')


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
    if chunk is None:       # Bottle lets generators yield None: nothing to send
        return b''
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


###############################################################################
# 4. Application
# Kokoro, the WSGI application: routes, hooks, error pages, base URL, the thread-local
# `request` and `response`, the default app with its module-level decorators, url() and
# base_url(), and TestClient to drive any WSGI app in-process. Uses sections 1-3.
###############################################################################

__all__ += ['ConfigDict', 'Config', 'Kokoro', 'default_app', 'install', 'uninstall', 'mount',
            'yieldroutes', 'route', 'get', 'post', 'put', 'patch',
            'delete', 'hook', 'error', 'url', 'base_url', 'request', 'response', 'TestClient',
            'TestResponse']

HOOK_NAMES = ('before_request', 'after_request')
SESSION_MAX_AGE = 14 * 24 * 3600                # default config['session_max_age']: 14 days
MAX_REDIRECTS = 10


class ConfigDict(dict):
    """A dict of settings whose dotted keys form namespaces ('db.host'), loadable from INI
    files, nested dicts and modules, with metadata per key (Bottle's ConfigDict).

    Meta field 'filter' (a callable) converts every value set for its key.
    """

    def __init__(self, *args, **kwargs):
        dict.__init__(self)
        self._meta = {}
        self.update(*args, **kwargs)

    def load_config(self, filename, **options):
        """Load an INI file (or a list of them): `[section]` keys become 'section.key',
        keys of `[bottle]` and `[ROOT]` stay at the top; names are lower-cased. `options` go
        to configparser.ConfigParser (default: values may be empty, ${section:key}
        interpolation)."""
        import configparser
        options.setdefault('allow_no_value', True)
        options.setdefault('interpolation', configparser.ExtendedInterpolation())
        parser = configparser.ConfigParser(**options)
        parser.read(filename)
        for section in parser.sections():
            for key in parser.options(section):
                name = key if section in ('bottle', 'ROOT') else section + '.' + key
                self[name.lower()] = parser.get(section, key)
        return self

    def load_dict(self, source, namespace=''):
        """Load a dict; nested dicts become namespaces: {'db': {'host': 'x'}} sets 'db.host'.
        Raises TypeError for a key that is not text."""
        for key, value in source.items():
            if not isinstance(key, str):
                raise TypeError('config key %r is not text' % (key,))
            name = (namespace + '.' + key).strip('.')
            if isinstance(value, dict):
                self.load_dict(value, name)
            else:
                self[name] = value
        return self

    def load_module(self, name, squash=True):
        """Load the upper-case names of the module `name` (nested dicts as namespaces unless
        squash is false)."""
        module = importlib.import_module(name)
        values = {key: getattr(module, key) for key in dir(module) if key.isupper()}
        if squash:
            return self.load_dict(values)
        self.update(values)
        return self

    def update(self, *args, **kwargs):
        """dict.update(); a first argument that is text is a namespace for the keys:
        `config.update('db', host='x')` sets 'db.host'."""
        prefix = ''
        if args and isinstance(args[0], str):
            prefix, args = args[0].strip('.') + '.', args[1:]
        for key, value in dict(*args, **kwargs).items():
            self[prefix + key] = value

    def setdefault(self, key, value=None):
        """Set `key` to value unless present; return its value."""
        if key not in self:
            self[key] = value
        return self[key]

    def __setitem__(self, key, value):
        if not isinstance(key, str):
            raise TypeError('config key %r is not text' % (key,))
        convert = self._meta.get(key, {}).get('filter')
        dict.__setitem__(self, key, value if convert is None else convert(value))

    def meta_get(self, key, metafield, default=None):
        """The meta field `metafield` of `key` (such as 'help' or 'filter'), or default."""
        return self._meta.get(key, {}).get(metafield, default)

    def meta_set(self, key, metafield, value):
        """Set the meta field `metafield` of `key`."""
        self._meta.setdefault(key, {})[metafield] = value

    def meta_list(self, key):
        """The names of the meta fields set for `key`."""
        return self._meta.get(key, {}).keys()


class Config(ConfigDict):
    """An application's settings: a ConfigDict holding a default for every documented key.

    debug (False): tracebacks on error pages. secret (None): signs cookies and sessions.
    base_url ('/'): serve every route under this prefix. project_path (the working folder at
    creation), applications_path (None: project_path/applications), runtime_path ('.runtime'),
    database_url ('sqlite:///db/kokoropy.db'), max_body_bytes (10 MiB), max_memfile_bytes
    (1 MiB), trusted_proxies (0: ignore X-Forwarded-*), reload_templates (False),
    session_max_age (14 days), csrf (True: check the CSRF token of form posts), upload_folder
    (None: each application's assets/uploads/; else <upload_folder>/<application>).
    """

    DEFAULTS = {
        'debug': False, 'secret': None, 'base_url': '/', 'project_path': None,
        'applications_path': None, 'runtime_path': '.runtime',
        'database_url': 'sqlite:///db/kokoropy.db', 'max_body_bytes': MAX_BODY_BYTES,
        'max_memfile_bytes': MAX_MEMFILE_BYTES, 'trusted_proxies': 0,
        'reload_templates': False, 'session_max_age': SESSION_MAX_AGE, 'csrf': True,
        'upload_folder': None,
    }

    def __init__(self, values=None, **overrides):
        ConfigDict.__init__(self, self.DEFAULTS)
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

    config['catchall'] = False (not set: True) lets a handler's exception reach the server
    or a debugging middleware instead of becoming a 500 page.

    Plug-ins (section 6): `session_interface` (open(request), save(request, response)) and
    `csrf_check(request, route)`, called before the handler unless the target is csrf_exempt.
    Section 11 sets `error_view(error, message, traceback_text)`: the HTML of an error page in
    the site's layout, or None; when it fails, the short built-in page is sent instead.
    """

    session_interface = None
    csrf_check = None
    error_view = None
    # Behaviours a Bottle app (section 13) changes: Request.cookies, redirect(), set_cookie().
    last_cookie_wins = False
    absolute_redirects = False
    cookie_defaults = _COOKIE_DEFAULTS

    def __init__(self, config=None, **overrides):
        self.config = Config(config, **overrides)
        self.plugins = []
        self.router = Router()
        self.error_handler = {}
        self.hooks = {name: [] for name in HOOK_NAMES}
        self._before_request = self.hooks['before_request']
        self._after_request = self.hooks['after_request']

    def __repr__(self):
        return '<Kokoro with %d routes>' % len(self.router.routes)

    # -- registration ------------------------------------------------------

    def route(self, path=None, method='GET', callback=None, name=None, apply=None, skip=None,
              app_name=None, **config):
        """Route `path` (a rule or a list of rules; None: rules from the callback's
        signature, see yieldroutes()) for `method` (or a list, or 'ANY') to `callback`; used
        as a decorator when callback is None (also bare: `@app.route`). `name` makes the route
        buildable by url(). `apply` is a plugin (or list) for this route besides the installed
        ones, `skip` plugins (objects, classes or names; True: all) not to apply; see
        install(). `app_name` and other keywords land in route.config, where
        `max_body_bytes` and `max_memfile_bytes` override the config for this route.
        """
        if callable(path):
            path, callback = None, path

        def register(callback):
            rules = [path] if isinstance(path, str) else list(path or yieldroutes(callback))
            for rule in rules:
                added = self.router.add(rule, method, callback, name=name)
                added.config.update(config, app_name=app_name)   # shared by its methods
                self._plug(added, apply, skip)
            return callback
        return register if callback is None else register(callback)

    def get(self, path=None, callback=None, **options):
        """Route GET (and so HEAD) requests for `path`; see route()."""
        return self.route(path, 'GET', callback, **options)

    def post(self, path=None, callback=None, **options):
        """Route POST requests for `path`; see route()."""
        return self.route(path, 'POST', callback, **options)

    def put(self, path=None, callback=None, **options):
        """Route PUT requests for `path`; see route()."""
        return self.route(path, 'PUT', callback, **options)

    def patch(self, path=None, callback=None, **options):
        """Route PATCH requests for `path`; see route()."""
        return self.route(path, 'PATCH', callback, **options)

    def delete(self, path=None, callback=None, **options):
        """Route DELETE requests for `path`; see route()."""
        return self.route(path, 'DELETE', callback, **options)

    def error(self, code=500, callback=None):
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

    def url(self, _name, **params):
        """The path (with the site's root) of the named route; extra params become a query."""
        current = _request_in_thread()
        if current is not None and current.environ.get('kokoropy.app') is self:
            root = current.url_root
        else:
            root = _quote_path(_prefix_of(self.config))
        return root + self.router.build(_name, **params)

    get_url = url

    @property
    def routes(self):
        """Every Route of the application, in the order added."""
        return self.router.routes

    @property
    def catchall(self):
        """config['catchall']: False lets a handler's exception reach the server."""
        return self.config.get('catchall', True)

    # -- plugins and other applications ------------------------------------

    def install(self, plugin):
        """Apply `plugin` to every route, now and added later; return it.

        A plugin is a decorator (callback -> callback) or an object with apply(callback,
        route) and optionally setup(app), called here, close(), called by uninstall(), and a
        `name` (a later plugin with the same name replaces it). The first installed is the
        outermost. Raises TypeError for anything else.
        """
        if hasattr(plugin, 'setup'):
            plugin.setup(self)
        if not callable(plugin) and not hasattr(plugin, 'apply'):
            raise TypeError('a plugin must be callable or have an apply() method: %r'
                            % (plugin,))
        self.plugins.append(plugin)
        self.reset()
        return plugin

    def uninstall(self, plugin):
        """Remove plugins: this object, every instance of this class, every plugin with this
        name, or all of them for True; close() each. Return the list removed."""
        removed = [installed for installed in self.plugins if plugin is True or
                   installed is plugin or type(installed) is plugin or
                   (isinstance(plugin, str) and getattr(installed, 'name', None) == plugin)]
        for installed in removed:
            self.plugins.remove(installed)
            if hasattr(installed, 'close'):
                installed.close()
        if removed:
            self.reset()
        return removed

    def reset(self, route=None):
        """Apply the plugins again to every route (or to one Route, or the route at an index)."""
        routes = self.routes if route is None else \
            [route if isinstance(route, Route) else self.routes[route]]
        for each in routes:
            each.target = self._apply_plugins(each)

    def close(self):
        """Close every installed plugin that has close()."""
        for plugin in self.plugins:
            if hasattr(plugin, 'close'):
                plugin.close()

    def mount(self, prefix, app, **options):
        """Serve the WSGI application `app` (another Kokoro or Bottle, or any WSGI app) under
        the path `prefix`: it sees the prefix in SCRIPT_NAME and the rest in PATH_INFO, and
        answers with its own routes, hooks, error pages and plugins. Options go to route().
        Raises ValueError unless prefix starts with '/' and is not '/'."""
        segments = [segment for segment in prefix.split('/') if segment]
        if not prefix.startswith('/') or not segments:
            raise ValueError('mount prefix %r must start with "/" and not be "/"' % (prefix,))
        rule = '/' + '/'.join(segments)
        options.setdefault('skip', True)
        options.setdefault('method', 'ANY')
        options.setdefault('mountpoint.prefix', prefix)      # in route.config, as in Bottle
        options.setdefault('mountpoint.target', app)
        handler = _MountPoint(app, len(segments))
        rules = [rule + '/', rule + '/<_mounted_path:path>']
        self.route(rules if prefix.endswith('/') else rules + [rule], callback=handler, **options)

    def merge(self, routes):
        """Add the routes of another application (or a list of Routes) to this one; they keep
        their handlers, plugins and owner."""
        for route in getattr(routes, 'routes', routes):
            self.add_route(route)

    def add_route(self, route):
        """Add a Route (from another Router or application) as it is."""
        added = self.router.add(route.rule, route.method, route.target, route.name, route.config)
        return added

    def _plug(self, route, apply, skip):
        """Record the app and the route's own plugins; apply plugins (none: nothing to do)."""
        config = route.config
        config['app'] = self
        if apply is not None:
            config['apply'] = list(apply) if isinstance(apply, (list, tuple)) else [apply]
        if skip is not None:
            config['skip'] = list(skip) if isinstance(skip, (list, tuple)) else [skip]
        if self._has_plugins(config):
            # Every method of the rule (one add() call) shares this config.
            for sibling in self.routes:
                if sibling.config is config:
                    sibling.target = self._apply_plugins(sibling)

    def _has_plugins(self, route_config):
        return bool(self.plugins) or 'apply' in route_config

    def _apply_plugins(self, route):
        """The route's callback wrapped by its plugins (Bottle's order and skip rules)."""
        original = route.config.setdefault('callback', route.target)
        callback = original
        for plugin in _selected_plugins(self.plugins + route.plugins, route.skiplist):
            callback = plugin.apply(callback, route) if hasattr(plugin, 'apply') else \
                plugin(callback)
        if callback is not original:
            try:
                functools.update_wrapper(callback, original)   # keeps csrf_exempt and names
            except (AttributeError, TypeError):
                pass
        return callback

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
            if not self.config.get('catchall', True):
                raise       # to the server, or a debugging middleware around the app
            result = self._internal_error(environ, exc)
            local.response = None   # headers and cookies of a failed handler are not sent
        if local.response is None and not self._after_request and \
                'kokoropy._body_file' not in environ and self._session_unchanged(environ):
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

    def _session_unchanged(self, environ):
        """True when the request opened no session, or one its interface need not save (a
        page reading flashed messages from none, say)."""
        session = environ.get('kokoropy.session')
        if session is None:
            return True
        interface = self.session_interface
        is_unchanged = getattr(interface, 'is_unchanged', None)
        return is_unchanged is not None and _answers_for_save(interface) and \
            is_unchanged(session)

    def _match(self, environ):
        """Return (route, args), or (None, HTTPResponse) to answer without a handler."""
        path = environ.get('PATH_INFO') or '/'
        base = self.config.get('base_url')
        if (base and base != '/') or not _is_ascii(path) or path[:1] != '/' or \
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
        if not _is_digits(value.strip()):
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
        if self.error_view is not None:
            page = self._error_in_layout(error, message, shows_traceback, current)
            if page is not None:
                return page
        title = html_escape(error._status_line)
        details = '<pre>%s</pre>' % html_escape(error.traceback) if shows_traceback else ''
        return ('<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>%s</title></head>'
                '<body><h1>%s</h1><p>%s</p>%s</body></html>\n'
                % (title, title, html_escape(message), details))

    def _error_in_layout(self, error, message, shows_traceback, current):
        """The page error_view renders, or None; a failing layout is logged (to wsgi.errors)
        and must not hide the error being reported."""
        try:
            return self.error_view(error, message, error.traceback if shows_traceback else None)
        except Exception:
            self._internal_error(current.environ, sys.exc_info()[1])
            return None


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


def _selected_plugins(plugins, skiplist):
    """The plugins to apply, innermost first: the last installed first, a name only once (the
    latest), none of those the route skips by object, class or name, none at all for True."""
    if True in skiplist:
        return []
    selected, names = [], set()
    for plugin in reversed(plugins):
        name = getattr(plugin, 'name', None)
        if (name and (name in skiplist or name in names)) or plugin in skiplist or \
                type(plugin) in skiplist:
            continue
        if name:
            names.add(name)
        selected.append(plugin)
    return selected


class _MountPoint(object):
    """The handler of a mounted WSGI application: calls it with `depth` path segments moved
    to SCRIPT_NAME and returns its answer as an HTTPResponse."""

    def __init__(self, app, depth):
        self.app, self.depth = app, depth
        # The mounted application checks its own requests (an instance attribute, so that a
        # wrapper made with functools.wraps keeps it).
        self.csrf_exempt = True

    def __call__(self, **wildcards):
        parent_request, parent_response = _local.request, _local.response
        environ = {key: value for key, value in parent_request.environ.items()
                   if not key.startswith('kokoropy.') or key in _SHARED_BODY_KEYS}
        environ['SCRIPT_NAME'], environ['PATH_INFO'] = path_shift(
            environ.get('SCRIPT_NAME', ''), environ.get('PATH_INFO', '/'), self.depth)
        started, written = [], []

        def start_response(status, headers, exc_info=None):
            if exc_info and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [status, headers]
            return written.append
        try:
            body = self.app(environ, start_response)
            if not started:     # PEP 3333 allows start_response at the first iteration
                body = itertools.chain([next(iter(body), b'')], body)
        finally:
            _local.request, _local.response = parent_request, parent_response
        return _mounted_answer(started, itertools.chain(written, body) if written else body)


# What a mounted application reuses of a body its parent already read.
_SHARED_BODY_KEYS = frozenset(['kokoropy._body_file', 'kokoropy.forms', 'kokoropy.files'])


def _mounted_answer(started, body):
    # As an iterator (closing the mounted app's iterable): a list body would read as JSON.
    answer = HTTPResponse(_Chunks(None, iter(body), body, 'utf-8'), started[0])
    answer._headers = _ResponseHeaderDict()     # exactly the mounted app's headers
    for name, value in started[1]:
        answer._headers.add(name, value)
    return answer


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

    def bind(self, environ=None):
        """Make this thread's request a new Request over `environ` (Bottle's request.bind)."""
        _local.request = Request(environ)

    # `request['KEY']` and the rest of the environ access (special methods skip __getattr__).
    def __getitem__(self, key):
        return _thread_request('environ')[key]

    def __setitem__(self, key, value):
        _thread_request('environ')[key] = value

    def __delitem__(self, key):
        del _thread_request('environ')[key]

    def __contains__(self, key):
        return key in _thread_request('environ')

    def __iter__(self):
        return iter(_thread_request('environ'))

    def __len__(self):
        return len(_thread_request('environ'))


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

    def bind(self, body='', status=None, headers=None, **more_headers):
        """Make this thread's response a new Response (Bottle's response.bind)."""
        _local.response = Response(body, status, headers, **more_headers)

    # `response['X-Name']` (special methods skip __getattr__).
    def __getitem__(self, name):
        return _thread_response()[name]

    def __setitem__(self, name, value):
        _thread_response()[name] = value

    def __delitem__(self, name):
        del _thread_response()[name]

    def __contains__(self, name):
        return name in _thread_response()


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
        if current is None:     # getattr(None, 'app', None) would raise and catch: slow
            return default_app()
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


UPLOADS_FOLDER = 'uploads'     # uploads are stored as 'uploads/<name>', served under assets/


def _uploads_folder(config, app_name):
    """The folder holding application `app_name`'s uploaded files: upload_folder/<app_name>
    when that is set (a volume the hosts share), else the application's assets/uploads/."""
    shared = config.get('upload_folder')
    if shared:
        return os.path.abspath(os.path.join(_under_project(config, shared), app_name))
    return os.path.join(_applications_folder(config), app_name, 'assets', UPLOADS_FOLDER)


def route(path=None, method='GET', callback=None, name=None, apply=None, skip=None,
          app_name=None, **config):
    """Route on the default app; see Kokoro.route()."""
    return default_app().route(path, method, callback, name, apply, skip, app_name, **config)


def get(path=None, callback=None, **options):
    """Route GET requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'GET', callback, **options)


def post(path=None, callback=None, **options):
    """Route POST requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'POST', callback, **options)


def put(path=None, callback=None, **options):
    """Route PUT requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'PUT', callback, **options)


def patch(path=None, callback=None, **options):
    """Route PATCH requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'PATCH', callback, **options)


def delete(path=None, callback=None, **options):
    """Route DELETE requests on the default app; see Kokoro.route()."""
    return default_app().route(path, 'DELETE', callback, **options)


def hook(name):
    """Decorator adding a hook to the default app; see Kokoro.add_hook()."""
    return default_app().hook(name)


def error(code=500, callback=None):
    """Register an error page on the default app; see Kokoro.error()."""
    return default_app().error(code, callback)


def install(plugin):
    """Install a plugin on the default app; see Kokoro.install()."""
    return default_app().install(plugin)


def uninstall(plugin):
    """Uninstall plugins from the default app; see Kokoro.uninstall()."""
    return default_app().uninstall(plugin)


def mount(prefix, app, **options):
    """Mount a WSGI application on the default app; see Kokoro.mount()."""
    return default_app().mount(prefix, app, **options)


def yieldroutes(func):
    """Yield the rules a handler answers by its signature, as route() with no path does:
    `def show(id, page=1)` gives '/show/<id>' and '/show/<id>/<page>'; '__' in the name
    is a '/'."""
    path = '/' + func.__name__.replace('__', '/').lstrip('/')
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    parameters = [parameter for parameter in inspect.signature(func).parameters.values()
                  if parameter.kind in positional]
    required = [p.name for p in parameters if p.default is p.empty]
    path += ''.join('/<%s>' % name for name in required)
    yield path
    for parameter in parameters[len(required):]:
        path += '/<%s>' % parameter.name
        yield path


def url(_name, **params):
    """Build the path of a named route of the current (or default) app, with the site root:
    `url('user', id=3)` -> '/site/user/3'. Raises RouteBuildError."""
    # Kokoro.url() inlined, and Router.build() too: a page builds dozens of URLs, and each
    # call passing **params on would copy them again.
    current = getattr(_local, 'request', None)
    app = current.environ.get('kokoropy.app') if current is not None else None
    if app is None:
        return default_app().url(_name, **params)
    builder = app.router.path_builders.get(_name)
    if builder is None:
        raise RouteBuildError('no route named %r' % (_name,))
    return current.url_root + builder(params)


def base_url(path=''):
    """The absolute URL of `path` under the site root: inside a request
    scheme://host[:port]/root/path (root from SCRIPT_NAME and base_url); outside one
    /root/path from the default app's config['base_url']."""
    current = _request_in_thread()
    if current is not None:
        root = _quote_path(current.script_name + '/')
        return '%s://%s%s%s' % (current.scheme, current.host, root, path.lstrip('/'))
    return _prefix_of(default_app().config) + '/' + path.lstrip('/')


# The module-level shortcuts say what the methods they call say.
for _name in ('route', 'get', 'post', 'put', 'patch', 'delete', 'error', 'hook', 'install',
              'uninstall', 'mount', 'url'):
    globals()[_name].__doc__ = getattr(Kokoro, _name).__doc__
del _name


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

    CSRF: client.csrf_token() returns the session's token once a page created one (called
    csrf_token() or csrf_input(), as any page with a form does). With `send_csrf_token=True`
    every POST, PUT, PATCH and DELETE sends it (header X-CSRF-Token) as a browser submitting
    the site's own form would, unless the request gives its own header or `csrf_token` field.
    """

    __test__ = False
    # Plug-in (section 6): _csrf_token_to_send(cookie header, data) -> the session's CSRF
    # token to send, or None.
    _csrf_token_to_send = None

    def __init__(self, app, validate=False, host='localhost', scheme='http',
                 send_csrf_token=False):
        self.app = wsgiref.validate.validator(app) if validate else app
        self.host, self.scheme = host, scheme
        self.send_csrf_token = send_csrf_token
        self.cookie_jar = {}    # (name, path) -> {'name', 'value', 'path', 'secure'}

    def csrf_token(self, path='/'):
        """The CSRF token of this client's session (cookies sent to `path`), or None before a
        page created one."""
        environ = self._environ('GET', path, None, None, None)
        return self._csrf_token_to_send(self._cookie_header(environ), None)

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
        if self.send_csrf_token and method in ('POST', 'PUT', 'PATCH', 'DELETE') and \
                'HTTP_X_CSRF_TOKEN' not in environ:
            token = self._csrf_token_to_send(environ.get('HTTP_COOKIE', ''), data)
            if token:
                environ['HTTP_X_CSRF_TOKEN'] = token
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
            cookie['expired'] = _is_digits(attribute_value.strip().lstrip('-')) and \
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


###############################################################################
# 5. HTTP server
# KokoroServer: a threaded HTTP/1.1 server for any WSGI application. parse_request_head(),
# ContentLengthReader and ChunkedDecoder turn bytes into a request head and body (pure, RFC 9112);
# a selector thread reads whole requests without blocking and a bounded pool of workers runs the
# application, in arrival order. Uses section 1 only.
###############################################################################

__all__ += ['KokoroServer']

MAX_REQUEST_LINE_BYTES = 8 * 1024      # longer request line: 414 (RFC 9112 section 3)
MAX_HEADER_BYTES = 64 * 1024           # larger header section: 431 (RFC 6585 section 5)
MAX_HEADER_COUNT = 100                 # more header lines: 431
MAX_CHUNK_LINE_BYTES = 4 * 1024        # chunk-size line with extensions (RFC 9112 section 7.1)
MIN_BODY_BYTES_PER_SECOND = 1024       # a body slower than this on average gets 408
LINGER_SECONDS = 2.0                   # after an error response, read and discard this long
LINGER_DISCARD_BYTES = 1024 * 1024     # ... or until this much was thrown away
# Descriptors kept free when max_connections comes from RLIMIT_NOFILE: for the database, the
# log, spooled bodies, templates; each worker thread gets two more (a file it sends, a database).
RESERVED_DESCRIPTORS = 64
DEFAULT_MAX_CONNECTIONS = 1000         # the most, and the number where no limit is known
ACCEPT_BACKOFF_SECONDS = 0.25          # out of descriptors: stop accepting this long
ERROR_LOG_INTERVAL_SECONDS = 5.0       # a repeating server error is logged once this often
# Bodies being received, all together, hold at most this much memory; more go to temporary
# files, so that many clients sending bodies at once cannot exhaust memory.
MAX_BODY_MEMORY_BYTES = 64 * 1024 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
# CTLs other than HTAB, and a CR not followed by LF (RFC 9110 section 5.5, RFC 9112 section 2.2).
_FORBIDDEN_HEAD_BYTES = re.compile(rb'[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)')
_HEAD_END = re.compile(rb'\n\r?\n')
_HTTP_VERSION = re.compile(r'HTTP/([0-9])\.([0-9])\Z')
_COMMON_REQUEST_LINE = re.compile(r"([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([^ ]+) HTTP/1\.([0-9])\Z")
_FRAMING_HEADERS = frozenset(['host', 'content-length', 'transfer-encoding', 'connection',
                              'expect'])
_ABSOLUTE_TARGET = re.compile(r'[Hh][Tt][Tt][Pp][Ss]?://[^/?#]*')
_BAD_PERCENT = re.compile(r'%(?![0-9A-Fa-f]{2})')
_HOST_VALUE = re.compile(r"[A-Za-z0-9.\-_~!$&'()*+,;=:\[\]%]*\Z")
_DIGITS = re.compile(r'[0-9]+\Z')
_CHUNK_SIZE = re.compile(rb'[0-9A-Fa-f]{1,16}\Z')
_RESPONSE_HOP_BY_HOP = frozenset(['connection', 'keep-alive', 'transfer-encoding', 'te',
                                  'trailer', 'upgrade', 'proxy-connection'])
_RECV_BYTES = 64 * 1024


class HTTPParseError(ValueError):
    """A request the server refuses before running the application: `status` and `reason`."""

    def __init__(self, status, reason):
        ValueError.__init__(self, '%d %s' % (status, reason))
        self.status = status
        self.reason = reason


class RequestHead(object):
    """A parsed request line and header section (RFC 9112 sections 3 and 5), before the body.

    `headers` is a list of (name, value) text pairs in the order received. The framing fields
    (`content_length`, `is_chunked`, `keep_alive`, `expects_continue`) are derived from them.
    """

    __slots__ = ('method', 'target', 'version', 'headers', 'content_length', 'is_chunked',
                 'keep_alive', 'expects_continue')

    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        self.content_length = None
        self.is_chunked = False
        self.keep_alive = version == 'HTTP/1.1'
        self.expects_continue = False

    def __repr__(self):
        return '<RequestHead %s %s %s>' % (self.method, self.target, self.version)


def parse_request_head(data):
    """Parse the bytes of a request head (request line and header lines) into a RequestHead.

    The closing blank line may be included. Raises HTTPParseError with the status to answer:
    400 malformed, 414 request line too long, 431 header section too large, 501 transfer coding
    not implemented, 417 unknown expectation, 505 HTTP version not supported.
    """
    if type(data) is not bytes:
        data = bytes(data)
    if data[:1] in (b'\r', b'\n'):
        data = data.lstrip(b'\r\n')  # RFC 9112 section 2.2: ignore empty lines before it
    line_end = data.find(b'\n')
    if line_end < 0:
        line_end = line_length = len(data)
    else:
        line_length = line_end - (data[line_end - 1:line_end] == b'\r')
    if line_length > MAX_REQUEST_LINE_BYTES:
        raise HTTPParseError(414, 'request line longer than %d bytes' % MAX_REQUEST_LINE_BYTES)
    if len(data) - line_end - 1 > MAX_HEADER_BYTES:
        raise HTTPParseError(431, 'header section larger than %d bytes' % MAX_HEADER_BYTES)
    if _FORBIDDEN_HEAD_BYTES.search(data):
        raise HTTPParseError(400, 'control character in request head')
    text = data.decode('latin-1')
    if '\r' in text:
        text = text.replace('\r\n', '\n')
    lines = text.rstrip('\n').split('\n')
    if len(lines) - 1 > MAX_HEADER_COUNT:
        raise HTTPParseError(431, 'more than %d header fields' % MAX_HEADER_COUNT)
    head = _parse_request_line(lines[0])
    headers, framing = head.headers, []
    for line in lines[1:]:
        name, colon, value = line.partition(':')
        if not colon or not _TOKEN.match(name):
            raise HTTPParseError(400, _header_line_problem(line))
        value = value.strip(' \t')
        headers.append((name, value))
        lname = name.lower()
        if lname in _FRAMING_HEADERS:
            framing.append((lname, value))
    _read_framing(head, framing)
    return head


def _parse_request_line(line):
    """Split `method SP request-target SP HTTP-version` (RFC 9112 section 3) into a new
    RequestHead, checking each part."""
    match = _COMMON_REQUEST_LINE.match(line)
    if match is not None:  # the usual case, in one regular expression
        method, target, minor = match.groups()
    else:
        parts = line.split(' ')
        if len(parts) != 3 or not parts[1]:
            raise HTTPParseError(400, 'malformed request line')
        method, target, version_text = parts
        version = _HTTP_VERSION.match(version_text)
        if version is None:
            raise HTTPParseError(400, 'malformed HTTP version')
        if version.group(1) != '1':
            raise HTTPParseError(505, 'only HTTP/1.0 and HTTP/1.1 are supported')
        if not _TOKEN.match(method):
            raise HTTPParseError(400, 'invalid method')
        minor = version.group(2)
    _check_request_target(method, target)
    # RFC 9110 section 6.2: a higher minor version of HTTP/1 is answered as HTTP/1.1.
    return RequestHead(method, target, 'HTTP/1.0' if minor == '0' else 'HTTP/1.1', [])


def _check_request_target(method, target):
    """Accept origin-form, absolute-form and OPTIONS * targets (RFC 9112 section 3.2)."""
    if target[0] == '/':
        pass
    elif target == '*':
        if method != 'OPTIONS':
            raise HTTPParseError(400, 'asterisk-form target is only for OPTIONS')
    elif not _ABSOLUTE_TARGET.match(target):
        raise HTTPParseError(400, 'invalid request target')
    if '#' in target:
        raise HTTPParseError(400, 'fragment in request target')
    if '%' in target and _BAD_PERCENT.search(target):
        raise HTTPParseError(400, 'invalid percent-encoding in request target')


def _header_line_problem(line):
    """Name what is wrong with a header line that is not `token ":" value`."""
    if line[:1] in (' ', '\t'):
        # RFC 9112 section 5.2: a server must reject obsolete line folding (or unfold it).
        return 'obsolete line folding in header section'
    if not line:
        return 'empty line in header section'
    name, colon, _ = line.partition(':')
    if not colon:
        return 'header line without a colon'
    if name != name.strip(' \t') or ' ' in name or '\t' in name:
        # RFC 9112 section 5.1: no whitespace between the field name and the colon.
        return 'whitespace in header name'
    return 'invalid header name'


def _read_framing(head, framing):
    """Set the framing fields of `head` from its Host, Content-Length, Transfer-Encoding,
    Connection and Expect fields (`framing`: lowercase name, value), refusing the ambiguous
    combinations that make request smuggling possible."""
    lengths, codings, hosts, connection, expect = [], [], [], [], []
    for lname, value in framing:
        if lname == 'host':
            hosts.append(value)
        elif lname == 'content-length':
            lengths.extend(value.split(','))
        elif lname == 'transfer-encoding':
            codings.extend(value.split(','))
        elif lname == 'connection':
            connection.extend(token.strip(' \t').lower() for token in value.split(','))
        else:
            expect.extend(token.strip(' \t').lower() for token in value.split(','))
    _check_host(head, hosts)
    if codings:
        head.is_chunked = _parse_transfer_coding(head, codings, lengths)
    elif lengths:
        head.content_length = _parse_content_length(lengths)
    if head.version == 'HTTP/1.0':
        # RFC 9112 section 9.3: HTTP/1.0 persists only when the client asks for keep-alive.
        head.keep_alive = 'keep-alive' in connection and 'close' not in connection
    elif connection:
        head.keep_alive = 'close' not in connection
    if expect:
        if any(token != '100-continue' for token in expect):
            raise HTTPParseError(417, 'only the 100-continue expectation is supported')
        head.expects_continue = head.version == 'HTTP/1.1'


def _check_host(head, hosts):
    # RFC 9112 section 3.2: 400 for an HTTP/1.1 request without Host, with several, or invalid.
    if head.version == 'HTTP/1.1' and not hosts:
        raise HTTPParseError(400, 'missing Host header')
    if len(hosts) > 1:
        raise HTTPParseError(400, 'more than one Host header')
    if hosts and not _HOST_VALUE.match(hosts[0]):
        raise HTTPParseError(400, 'invalid Host header')


def _parse_transfer_coding(head, codings, lengths):
    """Return True for a valid chunked request body; raise for anything else (RFC 9112 6.1)."""
    if head.version == 'HTTP/1.0':
        # RFC 9112 section 6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
        raise HTTPParseError(400, 'Transfer-Encoding in an HTTP/1.0 request')
    if lengths:
        # RFC 9112 section 6.1: both framings at once is how requests get smuggled; refuse.
        raise HTTPParseError(400, 'both Content-Length and Transfer-Encoding')
    codings = [coding.strip(' \t').lower() for coding in codings]
    if '' in codings:
        raise HTTPParseError(400, 'empty transfer coding')
    if codings[-1] != 'chunked':
        # RFC 9112 section 6.3: without a final chunked coding the body length is unknowable.
        raise HTTPParseError(400, 'chunked is not the final transfer coding')
    if 'chunked' in codings[:-1]:
        raise HTTPParseError(400, 'chunked applied more than once')
    if len(codings) > 1:
        raise HTTPParseError(501, 'transfer coding %r is not implemented' % codings[0])
    return True


def _parse_content_length(lengths):
    # RFC 9112 section 6.3: identical repeated values may be merged; differing ones are invalid.
    values = set(length.strip(' \t') for length in lengths)
    if len(values) != 1:
        raise HTTPParseError(400, 'conflicting Content-Length values')
    value = values.pop()
    if not _DIGITS.match(value):
        raise HTTPParseError(400, 'invalid Content-Length')
    return int(value)


class ContentLengthReader(object):
    """Counts off a Content-Length request body (RFC 9112 section 6.2) as its bytes arrive.

    Works on bytes, not on a socket. feed(data) returns (body, rest): the bytes of `data` that
    belong to the body, and None while more is to come, else the bytes after the body (the next
    pipelined request). feed(b'') says the client closed the connection: before the end of the
    body that raises HTTPParseError 400.
    """

    __slots__ = ('remaining',)

    def __init__(self, length):
        self.remaining = length

    def feed(self, data):
        """Take the next bytes received; return (body bytes, rest or None)."""
        remaining = self.remaining
        if not data:
            if remaining:
                raise HTTPParseError(400, 'connection closed %d bytes before the end of the body'
                                     % remaining)
            return b'', b''
        if len(data) < remaining:
            self.remaining = remaining - len(data)
            return data, None
        self.remaining = 0
        return data[:remaining], data[remaining:]


class ChunkedDecoder(object):
    """Decodes a chunked request body (RFC 9112 section 7.1) as its bytes arrive.

    Works on bytes, with the feed() protocol of ContentLengthReader. Chunk extensions are
    checked and ignored, trailer fields checked and dropped (RFC 9112 section 7.1.2). Raises
    HTTPParseError: 400 for bad framing or an early end, 413 when the body would pass
    `max_bytes` (said as soon as a chunk size announces it). `size` counts the body so far.
    """

    __slots__ = ('max_bytes', 'size', '_state', '_left', '_pending', '_extra_bytes')

    def __init__(self, max_bytes):
        self.max_bytes = max_bytes
        self.size = 0
        self._state = _CHUNK_SIZE_LINE
        self._left = 0           # bytes of the current chunk still to come
        self._pending = b''      # the start of a line whose end has not arrived yet
        self._extra_bytes = 0    # chunk extensions and trailer fields so far

    def feed(self, data):
        """Take the next bytes received; return (body bytes, rest or None)."""
        if not data:
            raise HTTPParseError(400, 'connection closed before the end of the chunked body')
        if self._pending:
            data = self._pending + data
            self._pending = b''
        parts = []
        position, end = 0, len(data)
        while position < end and self._state is not _CHUNKED_DONE:
            if self._state is _CHUNK_DATA:
                piece = data[position:position + self._left]
                parts.append(piece)
                position += len(piece)
                self._left -= len(piece)
                if not self._left:
                    self._state = _CHUNK_DATA_END
                continue
            line_end = data.find(b'\n', position)
            if line_end < 0:
                self._keep_partial_line(data[position:])
                break
            self._take_line(data[position:line_end + 1])
            position = line_end + 1
        body = parts[0] if len(parts) == 1 else b''.join(parts)
        return body, (data[position:] if self._state is _CHUNKED_DONE else None)

    def _line_limit(self):
        return MAX_HEADER_BYTES if self._state is _CHUNK_TRAILER else MAX_CHUNK_LINE_BYTES

    def _keep_partial_line(self, start):
        if len(start) > self._line_limit() + 1:
            raise HTTPParseError(400, 'chunk line longer than %d bytes' % self._line_limit())
        self._pending = start

    def _take_line(self, line):
        """Act on one whole line (with its LF) of chunk framing."""
        # RFC 9112 section 7.1: chunk framing lines end in CRLF. A bare LF or CR is how a
        # front end and this server could be made to disagree about where a body ends.
        text = line[:-2]
        if len(line) > self._line_limit() + 2 or line[-2:-1] != b'\r' \
                or _FORBIDDEN_HEAD_BYTES.search(text):
            raise HTTPParseError(400, 'invalid chunk size line' if self._state is _CHUNK_SIZE_LINE
                                 else 'invalid chunk framing line')
        if self._state is _CHUNK_SIZE_LINE:
            self._start_chunk(text)
        elif self._state is _CHUNK_DATA_END:
            if text:
                raise HTTPParseError(400, 'chunk data not followed by CRLF')
            self._state = _CHUNK_SIZE_LINE
        elif text:
            name, colon, _ = text.partition(b':')
            if not colon or not _TOKEN.match(name.decode('latin-1')):
                raise HTTPParseError(400, 'invalid trailer section')
            self._count_extra_bytes(len(text))
        else:
            self._state = _CHUNKED_DONE

    def _start_chunk(self, text):
        # chunk = chunk-size [ chunk-ext ] CRLF; BWS may come before the ';' of an extension.
        size_text, _, extensions = text.partition(b';')
        size_text = size_text.rstrip(b' \t')
        if not _CHUNK_SIZE.match(size_text):
            raise HTTPParseError(400, 'invalid chunk size line')
        self._count_extra_bytes(len(extensions))
        size = int(size_text, 16)
        if not size:
            self._state = _CHUNK_TRAILER
            return
        if self.size + size > self.max_bytes:
            raise HTTPParseError(413, 'request body larger than %d bytes' % self.max_bytes)
        self.size += size
        self._left = size
        self._state = _CHUNK_DATA

    def _count_extra_bytes(self, size):
        # Extensions and trailers carry nothing we use: bound them as a header section is.
        self._extra_bytes += size
        if self._extra_bytes > MAX_HEADER_BYTES:
            raise HTTPParseError(400, 'chunk extensions and trailer fields larger than %d bytes'
                                 % MAX_HEADER_BYTES)


# The states of a ChunkedDecoder: where the next byte belongs.
_CHUNK_SIZE_LINE = 'size line'
_CHUNK_DATA = 'data'
_CHUNK_DATA_END = 'CRLF after data'
_CHUNK_TRAILER = 'trailer section'
_CHUNKED_DONE = 'done'


class KokoroServer(object):
    """The built-in HTTP/1.1 server: runs a WSGI application with a bounded pool of threads.

    The thread that calls serve_forever() runs a selector loop that owns the listening socket and
    every connection that is idle or still sending its request, head and body: idle keep-alive
    and slow clients cost a socket, never a thread. A complete request goes to one of `threads`
    workers, in the order the requests were completed, which runs the application, writes the
    response and gives a kept-alive connection back to the loop. Port 0 picks a free port;
    `server.port` is the one bound. Binding raises OSError.

    Limits: `head_timeout` seconds for a request head, `idle_timeout` of keep-alive,
    `body_timeout` for a whole body (which must also keep MIN_BODY_BYTES_PER_SECOND on average
    and never pause `io_timeout`), `io_timeout` for each wait while writing a response. Bodies
    over `max_body_bytes` get 413; a body is kept in memory up to `max_memfile_bytes` and in a
    temporary file beyond. `max_connections` (default: what RLIMIT_NOFILE leaves room for, at
    most DEFAULT_MAX_CONNECTIONS) more connections get a prompt 503.

    Because of the GIL, more threads make CPU-bound handlers slower (they contend); raise
    `threads` for handlers that wait on slow I/O. For the same reason the server's threads keep
    to one CPU (`cpu`, see _choose_cpu()): spread over several, they pass the GIL from core to
    core on every request, which halves the requests served. `cpu=None` lets them spread.
    """

    def __init__(self, app, host='127.0.0.1', port=8080, threads=16, max_connections=None,
                 max_body_bytes=MAX_BODY_BYTES, head_timeout=10.0, idle_timeout=15.0,
                 io_timeout=30.0, shutdown_timeout=5.0, quiet=False, backlog=1024,
                 url_scheme='http', body_timeout=120.0, max_memfile_bytes=MAX_MEMFILE_BYTES,
                 cpu='auto'):
        self.app = app
        self.threads = threads
        self.cpu = _choose_cpu(cpu)
        self.max_connections = max_connections or _default_max_connections(threads)
        self.max_body_bytes = max_body_bytes
        self.max_memfile_bytes = max_memfile_bytes
        self.head_timeout = head_timeout
        self.idle_timeout = idle_timeout
        self.body_timeout = body_timeout
        self.io_timeout = io_timeout
        self.shutdown_timeout = shutdown_timeout
        self.quiet = quiet
        self._listener = _listen(host, port, backlog)
        self.host, self.port = self._listener.getsockname()[:2]
        self._base_environ = {
            'SERVER_NAME': _server_name(host), 'SERVER_PORT': str(self.port), 'SCRIPT_NAME': '',
            'wsgi.version': (1, 0), 'wsgi.url_scheme': url_scheme, 'wsgi.errors': sys.stderr,
            'wsgi.multithread': True, 'wsgi.multiprocess': False, 'wsgi.run_once': False,
            'wsgi.file_wrapper': _ServerFileWrapper}
        self._selector = selectors.DefaultSelector()
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._wake_reader.setblocking(False)
        self._wake_writer.setblocking(False)
        self._reserve_fd = _open_reserve_descriptor()
        self._returned = collections.deque()
        self._is_wake_pending = False
        self._pool = _WorkerPool(threads, self.cpu)
        self._work_lock = threading.Lock()
        self._work_count = 0
        self._state_lock = threading.Lock()
        self._loop_thread = None
        self._is_stopping = False
        self._grace_seconds = shutdown_timeout
        self._stopped = threading.Event()
        self._sweep_interval = max(0.02, min(1.0, head_timeout / 4.0, idle_timeout / 4.0))
        self._connection_count = 0       # open client connections (the selector thread's)
        self._accept_resumes_at = None   # while accepting is paused for lack of descriptors
        self._error_log_times = {}       # kind of error -> (last logged, repeats not logged)
        self._body_memory = [0]          # bytes of bodies being received held in memory
        self._turn = 0                   # counts connections accepted or given back

    def serve_forever(self):
        """Accept and serve connections until shutdown() is called. Returns True when every
        request in flight then finished within the shutdown timeout."""
        with self._state_lock:
            if self._is_stopping:
                return True
            self._loop_thread = threading.get_ident()
        cpus_before = _keep_thread_on(self.cpu)
        try:
            self._selector.register(self._wake_reader, selectors.EVENT_READ, _SERVER_WAKE)
            self._resume_accepting()
            self._select_loop()
            self._finish_in_flight()
        finally:
            self._close_everything()
            if cpus_before is not None:
                os.sched_setaffinity(0, cpus_before)
            self._stopped.set()
        return self._work_count == 0

    def shutdown(self, timeout=None):
        """Stop gracefully: stop accepting, close idle connections, let requests in flight
        finish for up to `timeout` seconds (default: shutdown_timeout), then let
        serve_forever() return.

        From another thread this waits for serve_forever() to end; from a signal handler in
        the serving thread it returns at once and serve_forever() does the rest.
        """
        if timeout is None:
            timeout = self.shutdown_timeout
        with self._state_lock:
            self._grace_seconds = timeout
            self._is_stopping = True
            is_serving = self._loop_thread is not None
        if not is_serving:
            self._close_everything()
            return
        self._wake()
        if threading.get_ident() != self._loop_thread:
            self._stopped.wait(timeout + 2.0)

    # -- the selector thread ------------------------------------------------------------------

    def _select_loop(self):
        select = self._selector.select
        next_sweep = time.monotonic() + self._sweep_interval
        while not self._is_stopping:
            paused = self._accept_resumes_at is not None
            events = select(ACCEPT_BACKOFF_SECONDS if paused else self._sweep_interval)
            if len(events) > 1:
                # Least recently served first, whatever order the selector gives (poll and
                # select give descriptor order: the lowest would always go first).
                events.sort(key=_event_turn)
            for key, _ in events:
                try:
                    self._handle_event(key.data)
                except Exception:  # a bug must cost one connection, never the server
                    self._log_error('kokoropy: internal server error\n' + traceback.format_exc())
                    if type(key.data) is _ServerConnection and not key.data.is_busy:
                        self._close(key.data)
            now = time.monotonic()
            if paused and now >= self._accept_resumes_at:
                self._resume_accepting()
            if now >= next_sweep:
                self._close_expired(now)
                next_sweep = now + self._sweep_interval

    def _handle_event(self, data):
        if data is _SERVER_ACCEPT:
            self._accept()
        elif data is _SERVER_WAKE:
            self._take_back_connections()
        else:
            self._read(data)

    def _accept(self):
        for _ in range(64):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                self._accept_failed(exc)
                return
            if self._connection_count >= self.max_connections:
                if not self.quiet:
                    self._log_throttled('full', 'kokoropy: %d connections open, the most '
                                        'allowed (max_connections): new clients get 503\n'
                                        % self.max_connections)
                _refuse_connection(sock)
                continue
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            conn = _ServerConnection(sock, address, time.monotonic() + self.head_timeout)
            self._selector.register(sock, selectors.EVENT_READ, conn)
            self._turn += 1
            conn.turn = self._turn
            self._connection_count += 1

    def _accept_failed(self, exc):
        """accept() failed, most likely for lack of descriptors (EMFILE, ENFILE). The waiting
        clients get 503 through the reserve descriptor; when even that fails, accepting pauses
        for ACCEPT_BACKOFF_SECONDS, since the listener stays readable and the loop would spin."""
        self._log_throttled('accept', 'kokoropy: accept failed: %s (%d connections open)\n'
                            % (exc, self._connection_count))
        if exc.errno in (errno.EMFILE, errno.ENFILE) and self._refuse_with_reserve():
            return
        self._selector.unregister(self._listener)
        self._accept_resumes_at = time.monotonic() + ACCEPT_BACKOFF_SECONDS

    def _refuse_with_reserve(self):
        """Close the reserve descriptor to accept waiting clients one at a time, answering
        each 503 and closing it; True when that worked and the reserve is back."""
        if self._reserve_fd is None:
            return False
        os.close(self._reserve_fd)
        self._reserve_fd = None
        try:
            for _ in range(64):
                _refuse_connection(self._listener.accept()[0])
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:  # still no descriptor: another thread took the one we freed
            return False
        finally:
            self._reserve_fd = _open_reserve_descriptor()
        return self._reserve_fd is not None

    def _resume_accepting(self):
        self._selector.register(self._listener, selectors.EVENT_READ, _SERVER_ACCEPT)
        self._accept_resumes_at = None
        if self._reserve_fd is None:
            self._reserve_fd = _open_reserve_descriptor()

    def _read(self, conn):
        if conn.is_busy:
            self._read_while_busy(conn)
            return
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if conn.is_lingering:
            if not data or conn.discard(len(data)):
                self._close(conn)
        else:
            self._advance(conn, data)

    def _read_while_busy(self, conn):
        """The client sent more while a worker answers it: keep a pipelined request (up to
        the size of a head) for later; past that, or at the end of the stream, stop watching
        the socket until the worker is done, or the loop would spin on it."""
        if len(conn.buffer) < MAX_HEADER_BYTES:
            try:
                data = conn.sock.recv(_RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                data = b''
            if data:
                conn.buffer = conn.buffer + data
                return
        self._selector.unregister(conn.sock)
        conn.is_watched = False

    def _advance(self, conn, data):
        """Take bytes received on a connection (b'': it was closed; None: parse what is
        buffered) into its request head or body; dispatch the request once complete."""
        try:
            if conn.reader is not None:
                self._take_body(conn, data)
            elif data or data is None:
                self._take_head(conn, data)
            else:
                self._close(conn)
        except HTTPParseError as exc:
            self._reject(conn, exc.status, exc.reason)
        except OSError as exc:  # no temporary file for the body: out of descriptors or disk
            self._log_throttled('spool', 'kokoropy: cannot spool a request body: %s\n' % exc)
            self._reject(conn, 503, 'the server cannot take this request body now')

    def _take_head(self, conn, data):
        if data:
            if conn.buffer:
                if type(conn.buffer) is bytes:
                    conn.buffer = bytearray(conn.buffer)
                conn.buffer += data
            else:
                data = data.lstrip(b'\r\n')  # RFC 9112 section 2.2: skip empty lines first
                if not data:
                    return
                conn.buffer = data
                if not conn.has_request_started:
                    conn.has_request_started = True
                    conn.deadline = time.monotonic() + self.head_timeout
        elif not conn.buffer:
            return
        found = self._parse_head(conn)
        if found is not None:
            self._start_body(conn, found[0], found[1])

    def _parse_head(self, conn):
        """Return (head, rest) when conn.buffer holds a whole head, None when more is needed."""
        buffer = conn.buffer
        match = _HEAD_END.search(buffer, conn.scan_from)
        if match is None:
            _check_partial_head(buffer, conn.scan_from)
            conn.scan_from = max(0, len(buffer) - 2)
            return None
        head = parse_request_head(bytes(buffer[:match.start() + 1]))
        if head.content_length is not None and head.content_length > self.max_body_bytes:
            raise HTTPParseError(413, 'request body larger than %d bytes' % self.max_body_bytes)
        conn.buffer = b''
        conn.scan_from = 0
        return head, bytes(buffer[match.end():])

    def _start_body(self, conn, head, rest):
        """Read the body of `head` here, in the loop, so that a slow body costs a socket and
        never a worker; a request without one goes to a worker at once."""
        if head.is_chunked:
            reader = ChunkedDecoder(self.max_body_bytes)
        elif head.content_length:
            reader = ContentLengthReader(head.content_length)
        else:
            self._dispatch(conn, head, io.BytesIO(), rest)
            return
        conn.head, conn.reader = head, reader
        conn.body = _BodyBuffer(self.max_memfile_bytes, self._body_memory)
        conn.body_started = time.monotonic()
        if head.expects_continue and not rest:
            # RFC 9110 section 10.1.1: the client waits for this before it sends the body.
            try:
                conn.sock.send(b'HTTP/1.1 100 Continue\r\n\r\n')
            except OSError:
                pass  # the client is gone: the next read says so
        if rest:
            self._take_body(conn, rest)
        else:
            self._set_body_deadline(conn)

    def _take_body(self, conn, data):
        body, rest = conn.reader.feed(data)
        if body:
            conn.body.write(body)
        if rest is None:
            self._set_body_deadline(conn)
            return
        head, spool = conn.head, conn.body
        conn.head = conn.reader = conn.body = None
        self._dispatch(conn, head, spool.open(), rest)

    def _set_body_deadline(self, conn):
        # The average rate bounds how long a trickling body holds its socket and memory;
        # io_timeout bounds each silence, body_timeout the whole body whatever its rate.
        now = time.monotonic()
        started = conn.body_started
        conn.deadline = min(started + self.body_timeout, now + self.io_timeout,
                            started + self.io_timeout
                            + conn.body.size / float(MIN_BODY_BYTES_PER_SECOND))

    def _dispatch(self, conn, head, body, rest):
        """Hand a complete request to the pool, whose queue keeps the order requests came in.
        The socket stays registered (no system call), but no request is read while busy."""
        conn.buffer = rest
        conn.is_busy = True
        with self._work_lock:
            self._work_count += 1
        try:
            self._pool.submit(self._serve_connection, conn, head, body)
        except RuntimeError:  # the pool is shut down: we are stopping
            self._end_work()
            body.close()
            conn.is_busy = False
            self._close(conn)

    def _reject(self, conn, status, reason):
        """Answer a request refused in the selector thread, then close the connection."""
        self._log_access(conn.address, '-', status, 0, 0.0)
        try:
            conn.sock.send(_error_response(status, reason))
        except OSError:
            pass
        conn.drop_body()
        conn.start_lingering()

    def _take_back_connections(self):
        try:
            while self._wake_reader.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return
        # Reset after draining: a worker that finds the flag set knows a wake-up is on its way.
        self._is_wake_pending = False
        returned = self._returned
        while returned:
            self._take_back(returned.popleft())

    def _take_back(self, conn):
        """Watch a connection a worker is done with for its next request, or close it."""
        conn.is_busy = False
        if conn.is_done or (self._is_stopping and not conn.is_lingering):
            self._close(conn)
            return
        if not conn.is_watched:
            self._selector.register(conn.sock, selectors.EVENT_READ, conn)
            conn.is_watched = True
        self._turn += 1
        conn.turn = self._turn
        if conn.is_lingering:
            return
        conn.buffer = conn.buffer.lstrip(b'\r\n')
        conn.has_request_started = bool(conn.buffer)
        conn.deadline = time.monotonic() + (self.head_timeout if conn.has_request_started
                                            else self.idle_timeout)
        if conn.buffer:
            self._advance(conn, None)  # a pipelined request: to the back of the queue

    def _close_expired(self, now):
        for key in list(self._selector.get_map().values()):
            conn = key.data
            if type(conn) is not _ServerConnection or conn.deadline > now or conn.is_busy:
                continue
            if conn.has_request_started and not conn.is_lingering:
                # Slowloris defence: a request not received in time gets 408 (RFC 9110 15.5.9).
                part = 'head' if conn.reader is None else 'body'
                self._reject(conn, 408, 'request %s not received in time' % part)
            else:
                self._close(conn)

    def _close(self, conn):
        """Close a connection that no worker holds (once: an event of the same batch may
        still name it)."""
        if conn.sock.fileno() < 0:
            return
        if conn.is_watched:
            conn.is_watched = False
            self._selector.unregister(conn.sock)
        conn.close()
        self._connection_count -= 1

    def _finish_in_flight(self):
        """After shutdown(): close idle connections, wait for workers, up to the grace time."""
        if self._accept_resumes_at is None:
            self._selector.unregister(self._listener)
        self._listener.close()
        for key in list(self._selector.get_map().values()):
            if type(key.data) is _ServerConnection and not key.data.is_busy:
                self._close(key.data)
        deadline = time.monotonic() + self._grace_seconds
        while self._work_count and time.monotonic() < deadline:
            self._selector.select(0.05)
            self._take_back_connections()
        self._take_back_connections()
        for key in list(self._selector.get_map().values()):
            if type(key.data) is _ServerConnection and not key.data.is_busy:
                self._close(key.data)

    def _close_everything(self):
        self._pool.shutdown()
        for closeable in (self._listener, self._selector, self._wake_reader, self._wake_writer):
            try:
                closeable.close()
            except (OSError, RuntimeError):
                pass
        if self._reserve_fd is not None:
            os.close(self._reserve_fd)
            self._reserve_fd = None

    # -- worker threads -----------------------------------------------------------------------

    def _serve_connection(self, conn, head, body):
        """Answer one complete request, then give the connection back to the selector thread,
        which closes it or waits for its next request: a pipelined one waits its turn there."""
        try:
            conn.is_done = not self._serve_one(conn, head, body) and not conn.is_lingering
        except _ClientDisconnected:
            conn.is_done = True
        except Exception:
            self._log_error('kokoropy: internal server error\n' + traceback.format_exc())
            conn.is_done = True
        except BaseException:  # SystemExit from an application: still free the socket
            conn.is_done = True
            raise
        finally:
            body.close()
            self._give_back(conn)
            self._end_work()

    def _serve_one(self, conn, head, body):
        """Serve one request on a worker; return True when the connection may be kept alive.

        A connection not kept alive is left lingering (see _ServerConnection.start_lingering).
        Raises _ClientDisconnected when the client is gone or the response was cut short.
        """
        started = time.perf_counter()
        exchange = _Exchange(self, conn, head)
        try:
            self._respond(exchange, body)
        except _ClientDisconnected as exc:
            if not self.quiet:
                self._log_error('kokoropy: connection to %s closed mid-request: %s\n'
                                % (conn.address, exc))
            raise
        finally:
            if exchange.status_code:
                self._log_access(conn.address, '%s %s %s' % (head.method, head.target,
                                 head.version), exchange.status_code, exchange.bytes_sent,
                                 (time.perf_counter() - started) * 1000.0)
        if exchange.keep_alive:
            return True
        conn.start_lingering()
        return False

    def _respond(self, exchange, body):
        """Run the application for one request; answer 500 in its place when it fails."""
        try:
            environ = self._make_environ(exchange.conn, exchange.head, body)
            exchange.run_application(self.app, environ)
        except _ClientDisconnected:
            raise
        except Exception as exc:
            self._log_error('kokoropy: error in the application for %s %s\n%s' % (
                exchange.head.method, exchange.head.target, traceback.format_exc()))
            if exchange.is_head_sent:
                # Too late for an error status: closing tells the client the response is cut.
                raise _ClientDisconnected('response cut short by %r' % exc)
            exchange.send_error(500, None)

    def _make_environ(self, conn, head, body):
        """Build the PEP 3333 environ of a request."""
        environ = self._base_environ.copy()
        target = head.target
        path, _, query = target.partition('?')
        is_absolute_form = path[0] != '/' and path != '*'
        if is_absolute_form:
            # RFC 9112 section 3.2.2: the authority of an absolute-form target replaces Host.
            authority, path = _split_absolute_target(path)
            environ['HTTP_HOST'] = authority
        if '%' in path:
            path = unquote_to_bytes(path.encode('latin-1')).decode('latin-1')
        environ['REQUEST_METHOD'] = head.method
        environ['PATH_INFO'] = path
        environ['QUERY_STRING'] = query
        environ['REQUEST_URI'] = target
        environ['SERVER_PROTOCOL'] = head.version
        environ['REMOTE_ADDR'] = conn.address
        environ['REMOTE_PORT'] = conn.port
        environ['wsgi.input'] = body
        if head.is_chunked:
            environ['wsgi.input_terminated'] = True
        elif head.content_length is not None:
            environ['CONTENT_LENGTH'] = str(head.content_length)
        header_keys = _HEADER_ENVIRON_KEYS
        for name, value in head.headers:
            key = header_keys.get(name)
            if key is None:
                key = _header_environ_key(name)
            if not key or (is_absolute_form and key == 'HTTP_HOST'):
                continue
            if key in environ:
                environ[key] += ('; ' if key == 'HTTP_COOKIE' else ', ') + value
            else:
                environ[key] = value
        return environ

    def _give_back(self, conn):
        """Hand a connection from a worker back to the selector thread and wake it."""
        self._returned.append(conn)
        if not self._is_wake_pending:
            self._wake()

    def _wake(self):
        self._is_wake_pending = True
        try:
            self._wake_writer.send(b'\0')
        except OSError:  # full (the selector wakes anyway) or closed (we stopped)
            pass

    def _end_work(self):
        with self._work_lock:
            self._work_count -= 1

    # -- logging ------------------------------------------------------------------------------

    def _log_access(self, address, request_line, status, size, milliseconds):
        if not self.quiet:
            sys.stderr.write('%s - "%s" %d %d %.1fms\n' % (
                address, request_line, status, size, milliseconds))

    def _log_error(self, text):
        sys.stderr.write(text)

    def _log_throttled(self, kind, text):
        """Log an error of the selector thread at most once every ERROR_LOG_INTERVAL_SECONDS
        per `kind`, saying how many were left out: a lasting condition (no descriptors left)
        must not flood the log, even with quiet=True."""
        now = time.monotonic()
        last, left_out = self._error_log_times.get(kind, (None, 0))
        if last is not None and now - last < ERROR_LOG_INTERVAL_SECONDS:
            self._error_log_times[kind] = (last, left_out + 1)
            return
        self._error_log_times[kind] = (now, 0)
        if left_out:
            text = '%s (and %d more since the last report)\n' % (text.rstrip('\n'), left_out)
        self._log_error(text)


class _ClientDisconnected(ConnectionError):
    """The client went away or stopped reading or sending in time: close, answer nothing.

    A ConnectionError, so that an application reading wsgi.input sees an ordinary one."""


class _ServerConnection(object):
    """A client socket, the received bytes no request has consumed yet, and the request whose
    body is being received (its head, reader and body buffer)."""

    __slots__ = ('sock', 'address', 'port', 'buffer', 'scan_from', 'deadline',
                 'has_request_started', 'is_lingering', 'discarded', 'head', 'reader', 'body',
                 'body_started', 'is_busy', 'is_watched', 'is_done', 'turn')

    def __init__(self, sock, address, deadline):
        self.sock = sock
        self.address = address[0]
        self.port = str(address[1])
        self.buffer = b''
        self.scan_from = 0
        self.deadline = deadline
        self.has_request_started = False
        self.is_lingering = False
        self.discarded = 0
        self.head = self.reader = self.body = None
        self.body_started = 0.0
        self.is_busy = False     # a worker answers its request; the selector thread reads on
        self.is_watched = True   # registered with the selector
        self.is_done = False     # the worker says: close it
        self.turn = 0            # when it was accepted or last given back by a worker

    def start_lingering(self):
        """After an error response: stop sending and read for a while before closing, so the
        client reads the response instead of getting a reset (RFC 9112 section 9.6)."""
        self.is_lingering = True
        self.deadline = time.monotonic() + LINGER_SECONDS
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def discard(self, size):
        """Count bytes thrown away while lingering; True when enough were thrown away."""
        self.discarded += size
        return self.discarded > LINGER_DISCARD_BYTES

    def drop_body(self):
        """Forget a body being received (and remove its temporary file)."""
        if self.body is not None:
            self.body.close()
        self.head = self.reader = self.body = None

    def close(self):
        self.drop_body()
        try:
            self.sock.close()
        except OSError:
            pass


class _BodyBuffer(object):
    """A request body as it arrives: in memory up to `memory_limit` bytes, and while all the
    bodies being received hold less than their shared `budget` (a one-item list: bytes held),
    beyond that in a temporary file (which costs a descriptor, not memory)."""

    __slots__ = ('memory_limit', 'budget', 'size', 'parts', 'file')

    def __init__(self, memory_limit, budget):
        self.memory_limit = memory_limit
        self.budget = budget
        self.size = 0
        self.parts = []
        self.file = None

    def write(self, data):
        """Append bytes; raises OSError when the temporary file cannot be made or written."""
        if self.file is None and (self.size + len(data) > self.memory_limit or
                                  self.budget[0] + len(data) > MAX_BODY_MEMORY_BYTES):
            self.file = tempfile.TemporaryFile()
            self.file.write(b''.join(self.parts))
            self._release()
        if self.file is None:
            self.parts.append(data)
            self.budget[0] += len(data)
        else:
            self.file.write(data)
        self.size += len(data)

    def open(self):
        """Return the whole body as a binary file positioned at its start (wsgi.input); it is
        no longer counted in the budget."""
        if self.file is None:
            body = b''.join(self.parts)
            self._release()
            return io.BytesIO(body)
        self.file.seek(0)
        return self.file

    def close(self):
        self._release()
        if self.file is not None:
            self.file.close()

    def _release(self):
        if self.parts:
            self.budget[0] -= self.size
        self.parts = None


class _Exchange(object):
    """One request's response on a worker thread: start_response, write and the framing."""

    __slots__ = ('server', 'conn', 'sock', 'head', 'status', 'status_code', 'header_text',
                 'content_length', 'keep_alive', 'is_head_sent', 'is_chunked',
                 'is_body_suppressed', 'bytes_sent', 'has_date')

    def __init__(self, server, conn, head):
        self.server = server
        self.conn = conn
        self.sock = conn.sock
        self.head = head
        self.status = None
        self.status_code = 0
        self.header_text = ''
        self.content_length = None
        self.keep_alive = head.keep_alive
        self.is_head_sent = False
        self.is_chunked = False
        self.is_body_suppressed = head.method == 'HEAD'
        self.bytes_sent = 0
        self.has_date = False

    # -- the response -------------------------------------------------------------------------

    def start_response(self, status, headers, exc_info=None):
        """The PEP 3333 start_response callable; returns the legacy write() callable."""
        if exc_info:
            try:
                if self.is_head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError('start_response() called twice without exc_info')
        match = _RESPONSE_STATUS.match(status)
        if match is None:
            raise ValueError('invalid status %r: use "200 OK" form' % (status,))
        lines = []
        self.content_length = None
        self.keep_alive = self.head.keep_alive
        self.has_date = False
        for name, value in headers:
            lname = name.lower()
            if lname == 'date':
                self.has_date = True        # the application's own (static_file sends one)
                lines.append('%s: %s\r\n' % (name, value))
            elif lname == 'content-length':
                if not _DIGITS.match(value.strip()):
                    raise ValueError('invalid Content-Length %r in the response' % (value,))
                self.content_length = int(value)
            elif lname in _RESPONSE_HOP_BY_HOP:
                # PEP 3333: hop-by-hop headers are the server's; honour a request to close.
                if lname == 'connection' and 'close' in value.lower():
                    self.keep_alive = False
            else:
                lines.append('%s: %s\r\n' % (name, value))
        text = ''.join(lines)
        if text.count('\n') != len(lines) or text.count('\r') != len(lines) or '\0' in text:
            raise ValueError('response header with CR, LF or NUL (header injection)')
        code = int(match.group(1))
        self.status = status if len(status) > 3 else status + ' '
        self.status_code = code
        self.header_text = text
        self.is_body_suppressed = self.head.method == 'HEAD' or code == 204 or code == 304
        return self.write

    def run_application(self, app, environ):
        """Call the application and send what it returns, closing the iterable (PEP 3333)."""
        result = app(environ, self.start_response)
        try:
            if isinstance(result, (list, tuple)) and not self.is_head_sent:
                self._send_whole(b''.join(result))
            elif type(result) is _ServerFileWrapper and self._try_sendfile(result):
                pass
            else:
                for chunk in result:
                    if chunk:
                        self.write(chunk)
                self._finish()
        finally:
            close = getattr(result, 'close', None)
            if close is not None:
                close()

    def write(self, data):
        """Send a piece of the body, the head first (PEP 3333 write() and iterables)."""
        head = b''
        if not self.is_head_sent:
            self._check_ready()
            if not data:
                return
            head = self._head_bytes(None)
        if self.is_body_suppressed:
            if head:
                self._send(head)
            return
        if self.content_length is not None:
            data = data[:self.content_length - self.bytes_sent]
        if self.is_chunked:
            self._send(head + b'%x\r\n%s\r\n' % (len(data), data))
        else:
            self._send(head + data if head else data)
        self.bytes_sent += len(data)

    def send_error(self, status, reason):
        """Answer a short text error instead of the application's response, and close."""
        self.keep_alive = False
        self.status_code = status
        self.is_head_sent = True
        self._send(_error_response(status, reason))

    def _check_ready(self):
        if self.status is None:
            raise AssertionError('the application sent a body before calling start_response()')

    def _send_whole(self, body):
        """Send a response whose whole body is known, in one sendall with its head."""
        self._check_ready()
        if self.content_length is not None and len(body) != self.content_length \
                and not self.is_body_suppressed:
            if len(body) < self.content_length:
                self.keep_alive = False  # closing is how the client learns it was cut short
            body = body[:self.content_length]
        head = self._head_bytes(len(body))
        if self.is_body_suppressed or not body:
            self._send(head)
        else:
            self._send(head + body)
            self.bytes_sent = len(body)

    def _finish(self):
        if not self.is_head_sent:
            self._send_whole(b'')
        elif self.is_chunked:
            self._send(b'0\r\n\r\n')
        elif self.content_length is not None and self.bytes_sent < self.content_length:
            self.keep_alive = self.is_body_suppressed

    def _try_sendfile(self, wrapper):
        """Send a wsgi.file_wrapper of a real file with os.sendfile; False to iterate instead."""
        filelike = wrapper.filelike
        if self.content_length is None or self.is_head_sent:
            return False
        try:
            filelike.fileno()
            offset = filelike.tell()
        except (AttributeError, OSError, ValueError):
            return False
        if 'b' not in getattr(filelike, 'mode', 'b'):
            return False
        self._check_ready()
        self._send(self._head_bytes(None))
        if not self.is_body_suppressed:
            try:
                self.sock.settimeout(self.server.io_timeout)  # socket.sendfile() needs one
                self.bytes_sent = self.sock.sendfile(filelike, offset, self.content_length)
            except OSError as exc:
                raise _ClientDisconnected(str(exc))
            finally:
                self.sock.setblocking(False)
            if self.bytes_sent < self.content_length:
                self.keep_alive = False
        return True

    def _head_bytes(self, length):
        """Return the response head; `length` is the whole body's size when known."""
        code = self.status_code
        framing = ''
        if code == 204 or (code == 304 and self.content_length is None):
            pass  # RFC 9110 section 8.6: no Content-Length in a 204
        elif self.content_length is not None:
            framing = 'Content-Length: %d\r\n' % self.content_length
        elif length is not None and (length or self.head.method != 'HEAD'):
            self.content_length = length
            framing = 'Content-Length: %d\r\n' % length
        elif self.is_body_suppressed:
            pass
        elif self.head.version == 'HTTP/1.1':
            self.is_chunked = True
            framing = 'Transfer-Encoding: chunked\r\n'
        else:
            self.keep_alive = False  # HTTP/1.0 without a length: the body ends at close
        if not self.keep_alive or self.server._is_stopping:
            self.keep_alive = False
            framing += 'Connection: close\r\n'
        elif self.head.version == 'HTTP/1.0':
            framing += 'Connection: keep-alive\r\n'
        self.is_head_sent = True
        date = '' if self.has_date else _date_line()    # RFC 9110 section 6.6.1: one Date
        return ('HTTP/1.1 %s\r\n%s%s%s\r\n' % (self.status, self.header_text, framing,
                                               date)).encode('latin-1')

    def _send(self, data):
        _send_all(self.sock, data, self.server.io_timeout)


class _WorkerPool(object):
    """`size` daemon threads that run the calls given to submit() in the order given (FIFO).
    Leaner than concurrent.futures: no Future per call, nobody waits for results."""

    def __init__(self, size, cpu=None):
        self._queue = _FifoQueue()
        self._is_shut_down = False
        for number in range(size):
            thread = threading.Thread(target=self._work, args=(cpu,),
                                      name='kokoropy-%d' % number)
            thread.daemon = True  # a handler stuck at exit must not keep the process alive
            thread.start()
        self._size = size

    def submit(self, function, *args):
        """Queue function(*args); raises RuntimeError after shutdown()."""
        if self._is_shut_down:
            raise RuntimeError('the worker pool is shut down')
        self._queue.put((function, args))

    def shutdown(self):
        """Let each thread end once it is done with the calls queued so far."""
        if not self._is_shut_down:
            self._is_shut_down = True
            for _ in range(self._size):
                self._queue.put(None)

    def _work(self, cpu):
        _keep_thread_on(cpu)
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            try:
                item[0](*item[1])  # the server's calls log their own errors
            except BaseException:  # SystemExit from an application ends a request, not a thread
                pass


# queue.SimpleQueue (Python 3.7+) is a lock-free C queue; queue.Queue does the same, slower.
_FifoQueue = getattr(queue, 'SimpleQueue', queue.Queue)


class _ServerFileWrapper(object):
    """wsgi.file_wrapper: iterates a file in blocks; sent with os.sendfile() when possible."""

    def __init__(self, filelike, block_size=64 * 1024):
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self):
        read = self.filelike.read
        while True:
            block = read(self.block_size)
            if not block:
                return
            yield block

    def close(self):
        close = getattr(self.filelike, 'close', None)
        if close is not None:
            close()


def _event_turn(event):
    """Sort key of a selector event: the listener and the wake-up socket first, then
    connections by when they were accepted or last served."""
    data = event[0].data
    return data.turn if type(data) is _ServerConnection else 0


_SERVER_ACCEPT = object()   # selector key data of the listening socket
_SERVER_WAKE = object()     # selector key data of the wake-up socket
_RESPONSE_STATUS = re.compile(r'([2-5][0-9][0-9])(?: [^\r\n\x00]*)?\Z')
_HEADER_ENVIRON_KEYS = {}   # header name -> environ key ('' to drop), filled as names arrive
_DATE_CACHE = [(0, '')]


def _header_environ_key(name):
    """Return the environ key of a request header, '' for a header the environ must not get."""
    lname = name.lower()
    if '_' in name or lname == 'content-length' or lname == 'proxy':
        # With '_' a header could pose as another once '-' becomes '_' (spoofing); Proxy would
        # become HTTP_PROXY, which CGI-era code takes for its outgoing proxy (httpoxy).
        key = ''
    elif lname == 'content-type':
        key = 'CONTENT_TYPE'
    else:
        key = 'HTTP_' + name.upper().replace('-', '_')
    if len(_HEADER_ENVIRON_KEYS) < 1000:
        _HEADER_ENVIRON_KEYS[name] = key
    return key


def _split_absolute_target(target):
    """Return (authority, path) of an absolute-form target without its query."""
    start = target.index('//') + 2
    slash = target.find('/', start)
    if slash < 0:
        return target[start:], '/'
    return target[start:slash], target[slash:]


def _check_partial_head(buffer, start):
    """Refuse an unfinished head that is already invalid (binary bytes, such as a TLS
    handshake on the plain port) or over a limit, without waiting for the rest; `start` is
    where the bytes not checked yet begin."""
    # A CR at the very end may be the first half of a CRLF still on its way.
    end = len(buffer) - 1 if buffer.endswith(b'\r') else len(buffer)
    if _FORBIDDEN_HEAD_BYTES.search(buffer, start, end):
        raise HTTPParseError(400, 'control character in request head')
    if len(buffer) > MAX_REQUEST_LINE_BYTES + 1 and \
            buffer.find(b'\n', 0, MAX_REQUEST_LINE_BYTES + 2) < 0:
        raise HTTPParseError(414, 'request line longer than %d bytes' % MAX_REQUEST_LINE_BYTES)
    if len(buffer) > MAX_REQUEST_LINE_BYTES + MAX_HEADER_BYTES + 8:
        raise HTTPParseError(431, 'header section larger than %d bytes' % MAX_HEADER_BYTES)


def _date_line():
    """The Date header line (RFC 9110 section 6.6.1), formatted once a second."""
    now = int(time.time())
    stamp, line = _DATE_CACHE[0]
    if stamp != now:
        line = 'Date: %s\r\n' % http_date(now)
        _DATE_CACHE[0] = (now, line)
    return line


def _error_response(status, reason=None):
    """A complete short text/plain error response that closes the connection."""
    phrase = http.client.responses.get(status, 'Error')
    body = ('%d %s%s\n' % (status, phrase, ': ' + reason if reason else '')).encode('utf-8')
    head = ('HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\n'
            'X-Content-Type-Options: nosniff\r\nConnection: close\r\n%s\r\n'
            % (status, phrase, len(body), _date_line()))
    return head.encode('latin-1') + body


def _refuse_connection(sock):
    """Answer 503 to a connection over the limit and close it at once."""
    try:
        sock.setblocking(False)
        sock.send(_error_response(503, 'too many connections; try again'))
        sock.shutdown(socket.SHUT_WR)
        sock.recv(_RECV_BYTES)  # a request already received: read, so that close() is no reset
    except OSError:
        pass
    sock.close()


def _default_max_connections(threads):
    """The number of connections the descriptor limit (RLIMIT_NOFILE) leaves room for, keeping
    RESERVED_DESCRIPTORS and two per worker thread free; at most DEFAULT_MAX_CONNECTIONS, which
    is also the answer where the limit is unknown (the resource module is Unix-only)."""
    try:
        import resource
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return DEFAULT_MAX_CONNECTIONS
    if soft_limit == resource.RLIM_INFINITY:
        return DEFAULT_MAX_CONNECTIONS
    return max(1, min(DEFAULT_MAX_CONNECTIONS, soft_limit - RESERVED_DESCRIPTORS - 2 * threads))


def _choose_cpu(cpu):
    """The CPU the server's threads keep to, or None to let them run anywhere.

    'auto': one of the CPUs this process may use, chosen by its process id so that several
    servers on one host spread out; None where only one is allowed. A number: that CPU
    (ValueError when the process may not use it). Only Linux can keep a thread to a CPU
    (os.sched_setaffinity); elsewhere this is None. Subprocesses started from a request
    inherit the CPU.
    """
    if cpu is None or not hasattr(os, 'sched_setaffinity'):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    if cpu == 'auto':
        return allowed[os.getpid() % len(allowed)] if len(allowed) > 1 else None
    if type(cpu) is not int or cpu not in allowed:
        raise ValueError('cpu must be \'auto\', None or one of the CPUs this process may use '
                         '(%s), not %r' % (', '.join(map(str, allowed)), cpu))
    return cpu


def _keep_thread_on(cpu):
    """Keep the calling thread on `cpu` (None: leave it be); return the CPUs it could use
    before, or None when nothing changed."""
    if cpu is None:
        return None
    try:
        before = os.sched_getaffinity(0)
        os.sched_setaffinity(0, (cpu,))
    except OSError:  # the CPU went offline, or a container forbids it: run anywhere
        return None
    return before


def _open_reserve_descriptor():
    """Open a descriptor kept only to be closed when no other is left: it lets the server
    accept a waiting client, answer 503 and close, where accept() alone fails with EMFILE."""
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None


def _listen(host, port, backlog):
    """Return a non-blocking socket listening on host:port; raises OSError when it cannot."""
    family, _, _, _, address = socket.getaddrinfo(host or None, port, 0, socket.SOCK_STREAM, 0,
                                                  socket.AI_PASSIVE)[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != 'nt':
            # Rebind at once after a restart (TIME_WAIT); a live listener still gives EADDRINUSE.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _wait_for_socket(sock, for_writing, timeout):
    """Wait until the non-blocking `sock` can be written (or read, or has hit EOF); False
    when `timeout` seconds pass first. Client sockets stay non-blocking: a socket timeout
    would cost a poll() before every call and fcntl() calls at each switch."""
    if hasattr(_select_module, 'poll'):  # select() cannot watch descriptors above 1023
        poller = _select_module.poll()
        poller.register(sock, _select_module.POLLOUT if for_writing else _select_module.POLLIN)
        return bool(poller.poll(max(0.0, timeout) * 1000.0))
    timeout = max(0.0, timeout)
    if for_writing:
        return bool(_select_module.select([], [sock], [], timeout)[1])
    return bool(_select_module.select([sock], [], [], timeout)[0])


def _send_all(sock, data, timeout):
    """Send all of `data` on the non-blocking `sock` within `timeout` seconds in total;
    raises _ClientDisconnected when the client is gone or does not read in time."""
    try:
        try:
            sent = sock.send(data)
        except BlockingIOError:
            sent = 0
        if sent == len(data):
            return
        deadline = time.monotonic() + timeout
        view = memoryview(data)[sent:]
        while view:
            if not _wait_for_socket(sock, True, deadline - time.monotonic()):
                raise _ClientDisconnected('the client did not read the response in time')
            try:
                view = view[sock.send(view):]
            except BlockingIOError:
                pass
    except OSError as exc:
        raise _ClientDisconnected(str(exc))


def _server_name(host):
    return socket.gethostname() if host in ('', '0.0.0.0', '::') else host


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


_ANSWERS_FOR_SAVE = {}      # session interface class -> see _answers_for_save()


def _answers_for_save(interface):
    """True when the interface's is_unchanged() speaks for its save(): defined by the class
    defining save() or by a subclass of it. A subclass overriding save() alone (written before
    is_unchanged() existed: a sliding expiry, say) may send what the inherited is_unchanged()
    knows nothing of, so it is always asked to save."""
    kind = type(interface)
    answers = _ANSWERS_FOR_SAVE.get(kind)
    if answers is None:
        def owner(name):
            return next((klass for klass in kind.__mro__ if name in vars(klass)), None)
        saver, checker = owner('save'), owner('is_unchanged')
        answers = _ANSWERS_FOR_SAVE[kind] = checker is not None and \
            (saver is None or issubclass(checker, saver))
    return answers and 'save' not in getattr(interface, '__dict__', ())


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

    def is_unchanged(self, session):
        """True when save() has nothing to send for this session."""
        return not (session.modified or session.needs_refresh)

    def save(self, request, response):
        """Send the session cookie when the session changed (or deleted it when now empty)."""
        session = request.environ.get('kokoropy.session')
        if session is None or self.is_unchanged(session):
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
    sessions survive restarts and are shared by the workers of one site. Several secrets
    (a tuple, newest first; commas in KOKOROPY_SECRET) rotate it: the first signs, all verify.
    """
    app = app or _app_of()
    config = app.config
    if config.get('secret'):
        return config['secret']
    if os.environ.get('KOKOROPY_SECRET'):
        return _as_secrets(os.environ['KOKOROPY_SECRET'])
    path = os.path.join(_runtime_path(config), SECRET_FILE_NAME)
    if path not in _secrets_by_file:
        _secrets_by_file[path] = _read_or_create_secret(path)
    return _secrets_by_file[path]


def _as_secrets(value):
    """SECRET: None, one secret, or several to rotate them (newest first) given as a list or
    as text separated by commas (for the environment variable); one is kept as text."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.split(',')
    if not isinstance(value, (list, tuple)) or \
            not all(isinstance(one, str) and one.strip() for one in value) or not value:
        raise ValueError('expected a secret, or a list of secrets newest first')
    value = tuple(one.strip() for one in value)
    return value[0] if len(value) == 1 else value


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
    """Decorator: let unsafe requests reach this handler without a CSRF token or origin check.

    Only for endpoints that do not rely on the session cookie to authenticate (e.g. a JSON API
    checking a token header or a signature, a webhook); everything else should keep the check.
    A route may be marked with the option instead: app.post('/hook', csrf_exempt=True).
    """
    func.csrf_exempt = True
    return func


def check_csrf(request, route):
    """Refuse (HTTPError 403) an unsafe request that may come from another site.

    Every POST, PUT, PATCH and DELETE is checked, whatever its Content-Type and with or without
    a body (a body-less POST can still delete or log out). It must carry the session's token in
    the header `X-CSRF-Token` or, for a form body, the field `csrf_token`; and a browser must
    not say it comes from elsewhere (see _is_cross_site). Off when config['csrf'] is false or
    the route is exempt: its target has `csrf_exempt = True`, or its config `csrf_exempt`.
    """
    if request.method not in UNSAFE_METHODS or _is_exempt(route):
        return
    if not _app_of(request).config.get('csrf', True):
        return
    if _is_cross_site(request):
        raise HTTPError(403, 'This request came from another site, so it was refused.')
    expected = request.session.get(CSRF_SESSION_KEY)
    if expected:    # no token in the session: refuse before reading any body
        sent = request.get_header(CSRF_HEADER_NAME)
        if not sent and _is_form_body(request):
            sent = request.forms.get(CSRF_FIELD_NAME)
        if sent and hmac.compare_digest(to_bytes(expected), to_bytes(sent)):
            return
    raise HTTPError(403, 'The form has expired or was not sent from this site. '
                         'Reload the page and try again.')


def _is_exempt(route):
    return bool(getattr(getattr(route, 'target', None), 'csrf_exempt', False) or
                getattr(route, 'config', {}).get('csrf_exempt'))


def _is_cross_site(request):
    """True when the browser tells that another site sent the request: the second line of
    defence after the token, as Go's CrossOriginProtection and Rails do.

    Sec-Fetch-Site (Fetch Metadata, sent by every current browser) must be 'same-origin' or
    'none' (typed by the user); 'same-site' is refused too, since a sibling sub-domain may be
    someone else's. Without it, an Origin header (RFC 6454) must name this host; the scheme is
    not compared, so that a TLS-terminating proxy needs no trusted_proxies to pass. Requests
    with neither (not from a browser, or a very old one) are left to the token.
    """
    fetch_site = request.get_header('Sec-Fetch-Site')
    if fetch_site:
        return fetch_site.strip().lower() not in ('same-origin', 'none')
    origin = request.get_header('Origin')
    if not origin:
        return False
    return urlsplit(origin.strip()).netloc.lower() != request.host.lower()


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


def _test_client_csrf_token(cookie_header, data):
    """TestClient's plug-in: the CSRF token in the session cookie of `cookie_header` (read
    without verifying: the client is the app's own test), unless `data` has its own field."""
    if data is not None and not isinstance(data, (str, bytes)) and any(
            name == CSRF_FIELD_NAME for name, _ in _pairs(data)):
        return None
    value = _parse_cookie_header(cookie_header).get(SESSION_COOKIE_NAME)
    try:
        session = _json_object(_b64decode(value.split('.', 1)[0]))
    except (AttributeError, ValueError, TypeError):
        return None
    return (session or {}).get(CSRF_SESSION_KEY)


Kokoro.session_interface = SignedCookieSessions()
Kokoro.csrf_check = staticmethod(check_csrf)
TestClient._csrf_token_to_send = staticmethod(_test_client_csrf_token)


###############################################################################
# 7. Templates
# Bottle's SimpleTemplate syntax plus {% block %} inheritance, as a compiler:
# source -> tokenize_template() -> generate_template_code() -> compile_template(),
# cached per file. Uses helpers (html_escape, Markup), the current request and
# the config of its application (else of the default application).
###############################################################################

__all__ += ['SimpleTemplate', 'template', 'view', 'load_view', 'TemplateError', 'TEMPLATE_PATH']

# Folders searched last, after the lookup list, the current application and index/views
# (Bottle's default, so single-file Bottle programs with ./views/ keep working).
TEMPLATE_PATH = ['./', './views/']
# Names available in every template, after the builtins and before the render variables.
# Other sections and applications add helpers here (csrf_input, flash messages ...).
TEMPLATE_GLOBALS = {}
TEMPLATE_EXTENSIONS = ('tpl', 'html', 'thtml', 'stpl')
MAX_REBASE_DEPTH = 32            # a longer rebase/extends chain is a cycle
MAX_SOURCE_CACHE = 256           # templates compiled from strings kept at once

_Token = collections.namedtuple('Token', 'kind value lineno')


class TemplateError(Exception):
    """A template could not be found, compiled or rendered.

    The message names the template file, the template line and that line's text; the same are
    in `.filename`, `.lineno` and `.line` (None when unknown). The original exception, if any,
    is chained as `__cause__`.
    """

    def __init__(self, message, filename=None, lineno=None, line=None):
        self.problem, self.filename, self.lineno, self.line = message, filename, lineno, line
        text = message
        if filename is not None:
            where = 'template %s' % filename
            if lineno is not None:
                where += ', line %d' % lineno
            text = '%s: %s' % (where, message)
        if line is not None:
            text += '\n    %s' % line.strip()
        Exception.__init__(self, text)
        self.message = text

    def __str__(self):
        return self.message


class TemplateSyntaxError(TemplateError, SyntaxError):
    """A template that does not compile: a TemplateError that is also a SyntaxError (as in
    Bottle, where a template's syntax error is Python's), naming the file and line."""

    def __init__(self, message, filename=None, lineno=None, line=None):
        TemplateError.__init__(self, message, filename, lineno, line)
        self.msg, self.text, self.offset = message, line, None


class BaseTemplate(object):
    """The interface every template class offers, as Bottle's adapters do:
    `Class(source=None, name=None, lookup=None, encoding='utf8', **settings)` and
    `.render(*dicts, **variables)`. Class attributes: `extensions` tried after a bare name,
    `settings` (set with global_config()) given to every new template, `defaults` (variables
    every render sees, under its own). Subclasses implement prepare() and render().
    """

    extensions = list(TEMPLATE_EXTENSIONS)
    settings = {}
    defaults = {}

    def __init__(self, source=None, name=None, lookup=None, encoding='utf8', **settings):
        self.name = name
        self.filename = getattr(source, 'filename', None)
        self.source = source.read() if hasattr(source, 'read') else source
        self.lookup = [os.path.abspath(folder) for folder in lookup or ()]
        self.encoding = encoding
        self.settings = dict(type(self).settings)
        self.settings.update(settings)
        if self.source is None and self.name:
            self.filename = self.search(self.name, self.lookup) or \
                _find_template_file(self.name, tuple(self.lookup))
        if self.source is None and not self.filename:
            raise TemplateError('no template source or name given')
        self.prepare(**self.settings)

    @classmethod
    def search(cls, name, lookup=None):
        """The path of template `name` in the `lookup` folders (tried bare, then with each
        of `extensions`), or None. A name may not climb out of its folder."""
        for folder in lookup or ():
            root = os.path.join(os.path.abspath(folder), '')
            path = os.path.abspath(os.path.join(root, name))
            if not path.startswith(root):
                continue
            for candidate in [path] + ['%s.%s' % (path, ext) for ext in cls.extensions]:
                if os.path.isfile(candidate):
                    return candidate
        return None

    @classmethod
    def global_config(cls, key, *value):
        """Read setting `key` of this class, or set it for templates created from now on."""
        if not value:
            return cls.settings[key]
        cls.settings = dict(cls.settings)   # this class's own copy, not its parent's
        cls.settings[key] = value[0]

    def prepare(self, **settings):
        """Get ready to render (parse, compile ...) with the template's settings."""
        raise NotImplementedError

    def render(self, *args, **kwargs):
        """Return the text of the template rendered with the dicts' and keywords' variables."""
        raise NotImplementedError

    def _variables(self, args, kwargs):
        variables = dict(self.defaults)
        for mapping in args:
            variables.update(mapping)
        variables.update(kwargs)
        return variables


class _compiled_on_first_use(object):
    """Decorator: an attribute computed by the method on first use, then stored in the instance
    (where each render finds it without a call, unlike a property's)."""

    def __init__(self, method):
        self.method, self.name = method, method.__name__

    def __get__(self, instance, owner=None):
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.method(instance)
        return value


class SimpleTemplate(BaseTemplate):
    r"""A template in Bottle's SimpleTemplate syntax, compiled once to Python code.

    `SimpleTemplate(source=None, name=None, lookup=None, encoding='utf8', **settings)`: give the
    source text (or a file object), or a `name` looked up in the `lookup` folders and then in the
    applications' views (see template()). Settings: `noescape=True` swaps `{{x}}` and `{{!x}}`;
    `escape_func` replaces the HTML escaping; `syntax` changes the five markers
    (default '<% %> % {{ }}': block start and end, line start, inline start and end). Raises
    TemplateError when the name is not found; the source is compiled on first use, when a
    TemplateSyntaxError (also a SyntaxError) names the line that does not compile.

    Syntax: `{{expr}}` prints html_escape(expr) (None prints '', Markup is kept), `{{!expr}}`
    prints it raw; a line starting with `%` (after any indentation) is Python, `<% ... %>` holds
    several lines of it; `% end` closes `if/for/while/with/try/def/class`, and `; end` closes a
    one-line block (`% for i in l: a += i; end`); a code line left open by a bracket, a
    backslash or a triple-quoted string continues on the following lines; `%%` or `\%` at the
    start of a line prints a literal `%`; a text line ending in `\\` before a code line joins
    the next line. In code: `include(name, **kw)` (returns the included template's names),
    `rebase(name, **kw)` (the output so far becomes `base` of that layout), `extends(name,
    **kw)` (the same), `defined(name)`, `get(name, default)`, `setdefault(name, value)`. Names
    assigned by template code are shared with its layout and includes, as in Bottle.

    Blocks: a layout marks `{% block name %}default{% endblock %}`; a template that rebases on
    (extends) it replaces any block by defining one with the same name, `{% parent %}` inserting
    the layout's content, over any number of levels. Such a template's blocks print only where
    the layout has them; its text outside blocks still becomes `base`. A line holding only block
    tags prints nothing. Names assigned inside a block are shared too (as everywhere).

    Differences from Bottle: `'` is escaped as `&#x27;` (html_escape, where Bottle writes
    `&#039;`); an unclosed `% if` or a stray `% end` is a TemplateSyntaxError; `%%` at the
    start of a line prints `%` (Bottle 0.11) as `\%` does (Bottle 0.12+).
    """

    def prepare(self, escape_func=None, noescape=False, syntax=None, **unknown):
        """Check the settings and choose the output functions; compiling waits for first use."""
        explicit = sorted(set(unknown) - set(type(self).settings))
        if explicit:
            raise TemplateError('unknown template setting(s): %s' % ', '.join(explicit))
        self.syntax = syntax
        _Syntax.get(syntax)
        self.cache = {}         # name -> template, consulted first by include()
        self._resolved = {}     # name -> what include() found: see _template_named_by()
        self.__dict__.pop('_compiled', None)    # prepare() again compiles again
        source = self.source
        if source is None:
            source = _read_template_file(self.filename, self.encoding)
        elif isinstance(source, bytes):
            self.encoding = _source_encoding(source, self.encoding)
            source = source.decode(self.encoding)
        self.source = source
        self._helpers = _output_helpers(escape_func, noescape)
        # See compile_template(): what the generated code may assume of {{x}} and {{!x}}.
        self._text_values = escape_func is None
        self._escapes_html = escape_func is None and not noescape

    @_compiled_on_first_use
    def _compiled(self):
        return compile_template(self.source, self.filename or self.name or '<string>',
                                self.syntax, text_values=self._text_values,
                                html_escaped=self._escapes_html)

    @property
    def code(self):
        """The generated Python source (for debugging templates)."""
        return self._compiled.python_source

    @property
    def co(self):
        """The compiled code object of the template body; compiles on first use."""
        return self._compiled.main_code

    def render(self, *args, **kwargs):
        """Render with the variables of the dict arguments and keywords; return the text."""
        out = []
        if len(args) == 1 and type(args[0]) is dict and not kwargs and not self.defaults:
            variables = args[0]     # template() and most callers: only read, copied once below
        else:
            variables = self._variables(args, kwargs)
        _render_chain(self, out, variables)
        return ''.join(out)


# PEP 263 (as Bottle reads it): a `%#coding: name` code line among the first two lines of a
# template given as bytes names its encoding.
_CODING_RE = re.compile(br'^[ \t]*%[ \t]*#.*?coding[:=][ \t]*([-\w.]+)')


def _source_encoding(source, default):
    for line in source.split(b'\n', 2)[:2]:
        found = _CODING_RE.match(line)
        if found:
            return found.group(1).decode('ascii')
    return default


def template(_name_or_source, *dicts, template_lookup=None, template_settings=None,
             template_adapter=None, **variables):
    """Render a template, given by name or as source text, with the variables of `dicts` and
    the keywords; return the text.

    A string containing a newline, `{`, `$` or `%` is template source; otherwise a name such as
    'base', 'base.tpl', 'index/base', 'index/views/base.tpl' or an absolute path, searched in:
    the `template_lookup` folders, the current application's views/, `app/views/` for a name
    'app/...', applications/index/views/, then TEMPLATE_PATH (see SimpleTemplate for settings).
    Compiled templates are cached; with config `debug` or `reload_templates` a changed file is
    compiled again. `template_adapter` renders with another BaseTemplate class, such as
    Jinja2Template or MakoTemplate (see jinja2_template()). Raises TemplateError.
    """
    lookup = tuple(os.path.abspath(folder) for folder in template_lookup or ())
    settings = template_settings or {}
    merged = {}
    for mapping in dicts:
        merged.update(mapping)
    merged.update(variables)
    if template_adapter is not None and template_adapter is not SimpleTemplate:
        compiled = _adapter_template(template_adapter, _name_or_source, lookup, settings)
    elif isinstance(_name_or_source, SimpleTemplate):
        compiled = _name_or_source
    elif _is_template_source(_name_or_source):
        compiled = _template_from_source(_name_or_source, lookup, settings)
    else:
        compiled = _load_template(_name_or_source, lookup, settings)
    return compiled.render(merged)


def view(_name, **defaults):
    """Decorator: render template `name` with the dict a handler returns (over `defaults`,
    which may hold template()'s template_adapter, template_lookup and template_settings).

    A handler returning None renders the template with `defaults` (as in Bottle); any other
    result (a string, a response ...) is returned unchanged.
    """
    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            result = handler(*args, **kwargs)
            if isinstance(result, dict):
                variables = dict(defaults)
                variables.update(result)
                return template(_name, **variables)
            if result is None:
                return template(_name, **defaults)
            return result
        return wrapper
    return decorator


def load_view(_app, _name, **variables):
    """Render view `name` of application `app` (applications/<app>/views/<name>.tpl)."""
    folder = os.path.join(_applications_folder(_lookup_context()[0]), _app, 'views')
    return template(_name, template_lookup=[folder], **variables)


# --- step 1: source -> tokens ----------------------------------------------------------------

# `{{ expr }}` may contain Python strings holding '}}'; `{% block name %}`, `{% endblock %}`,
# `{% endblock name %}` and `{% parent %}` are the only tags (other `{% %}` text is printed).
# (A string prefix such as r or b is matched as plain code just before the quote.)
_STRING = r'''(?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")'''
_BLOCK_TAG = r'\{%[ \t]*(block[ \t]+\w+|endblock(?:[ \t]+\w+)?|parent)[ \t]*%\}'
_TAGS_ONLY_RE = re.compile(r'^[ \t]*(?:\{%[ \t]*(?:block[ \t]+\w+|endblock(?:[ \t]+\w+)?|parent)'
                           r'[ \t]*%\}[ \t]*)+\r?\n?$')
# One `%` code line as Python: triple-quoted strings (which may run over the following lines),
# one-line strings, comments and brackets, so that a statement left open continues below.
_CODE_LINE_RE = re.compile(r'''('{3}(?:[^\\]|\\.)*?'{3}|"{3}(?:[^\\]|\\.)*?"{3})|('{3}|"{3})'''
                           r'|(%s)|(#[^\n]*)|([\[({])|([\])}])' % _STRING, re.DOTALL)
# `; end` closing a one-line block: `% if x: a = 1; end` (Bottle's one-line blocks).
_TRAILING_END_RE = re.compile(r';[ \t]*end[ \t]*$')
_CONTINUATION = ('\\\\\n', '\\\\\r\n')
DEFAULT_SYNTAX = '<% %> % {{ }}'


class _Syntax(object):
    """The five markers of a template syntax ('<% %> % {{ }}': block start, block end, line
    start, inline start, inline end) and the regexes built from them."""

    _cache = {}

    def __init__(self, markers):
        self.block_start, self.block_close, self.line_start, self.inline_start, \
            self.inline_end = markers
        self.inline_re = re.compile(r'%s((?:%s|[^\'"\n])*?)%s|%s' % (
            re.escape(self.inline_start), _STRING, re.escape(self.inline_end), _BLOCK_TAG))
        self.python_re = re.compile(r'(%s)|(#.*)|([\[({])|([\])}])|(%s[ \t]*\r?\n?$)'
                                    % (_STRING, re.escape(self.block_close)))
        self.escapes = (self.line_start * 2, '\\' + self.line_start, '\\' + self.block_start)

    @classmethod
    def get(cls, syntax):
        """The _Syntax for a syntax string or sequence (None: DEFAULT_SYNTAX).
        Raises TemplateError unless it has five markers."""
        syntax = syntax or DEFAULT_SYNTAX
        markers = tuple(syntax.split() if isinstance(syntax, str) else syntax)
        found = cls._cache.get(markers)
        if found is None:
            if len(markers) != 5:
                raise TemplateError('syntax %r needs five markers, like %r'
                                    % (syntax, DEFAULT_SYNTAX))
            found = cls._cache[markers] = cls(markers)
        return found


def tokenize_template(source, syntax=None):
    """Split template source into Tokens (kind, value, lineno).

    Kinds: 'text', 'expr' (escaped), 'raw', 'code' (one Python statement), 'code_cont' (a line
    continuing an open bracket in a `<% %>` block), 'block' (name), 'endblock' (name or ''),
    'parent'. `syntax` changes the markers (see SimpleTemplate). Raises TemplateError for a
    `<%` without `%>` or an empty `{{ }}`.
    """
    syntax = _Syntax.get(syntax)
    tokens = []
    lines = _split_lines(source)
    index = 0
    while index < len(lines):
        line, kind = lines[index], _line_kind(lines[index], syntax)
        if kind == 'code':
            index = _read_code_line(lines, index, tokens, syntax)
            continue
        elif kind == 'code_block':
            index = _read_code_block(lines, index, tokens, syntax)
            continue
        elif kind == 'tags':
            _scan_inline(line.strip(), index + 1, tokens, syntax)
        else:
            if kind == 'escaped':       # drop the first of '%%', or the backslash of '\%'
                indent = len(line) - len(line.lstrip(' \t'))
                line = line[:indent] + line[indent + 1:]
            if line.endswith(_CONTINUATION) and _joins_next_line(lines, index + 1, syntax):
                line = line[:line.rindex('\\\\')]
            _scan_inline(line, index + 1, tokens, syntax)
        index += 1
    return tokens


def _split_lines(source):
    # Only '\n' ends a line ('\r\n' keeps its '\r' in the text); str.splitlines() would also
    # split on form feeds and U+2028 inside text.
    lines = [line + '\n' for line in source.split('\n')]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _line_kind(line, syntax):
    stripped = line.lstrip(' \t')
    if stripped.startswith(syntax.escapes):
        return 'escaped'
    if stripped.startswith(syntax.line_start):
        return 'code'
    if stripped.startswith(syntax.block_start):
        return 'code_block'
    if '{%' in line and _TAGS_ONLY_RE.match(line):
        return 'tags'
    return 'text'


def _joins_next_line(lines, next_index, syntax):
    # Bottle's rule: '\\' at the end of a text line removes the newline before code.
    return next_index >= len(lines) or \
        _line_kind(lines[next_index], syntax) in ('code', 'code_block', 'tags')


def _read_code_line(lines, index, tokens, syntax):
    """Tokenize the code line at lines[index] as one statement, with the lines it runs over:
    following code lines while a bracket or a trailing backslash leaves it open, any lines
    while a triple-quoted string is open. Return the next line's index."""
    first = index
    code = _code_of_line(lines[index], syntax)
    while True:
        state = _open_state(code)
        index += 1
        if state is None or index >= len(lines):
            break
        if state != 'string':
            if _line_kind(lines[index], syntax) != 'code':
                break
            code += '\n' + _code_of_line(lines[index], syntax)
        else:
            code += '\n' + lines[index].rstrip('\r\n')
    tokens.append(_Token('code', code.strip(), first + 1))
    return index


def _code_of_line(line, syntax):
    return line.strip()[len(syntax.line_start):].strip()


def _open_state(code):
    """How a statement is left open at its end: 'string' (in a triple-quoted string),
    'bracket', 'backslash', or None when it is complete."""
    depth = 0
    for match in _CODE_LINE_RE.finditer(code):
        if match.group(2):
            return 'string'
        depth += 1 if match.group(5) else -1 if match.group(6) else 0
    if depth > 0:
        return 'bracket'
    return 'backslash' if code.rstrip(' \t\r').endswith('\\') else None


def _statement_skeleton(code):
    """The statement with strings emptied and comments removed, to look for `: body` and
    `; end` where no string can fool the search."""
    return _CODE_LINE_RE.sub(lambda match: '""' if match.group(1) or match.group(3) else
                             '' if match.group(4) else match.group(0), code).rstrip()


def _without_comment(code):
    """The statement without its trailing comment."""
    for match in _CODE_LINE_RE.finditer(code):
        if match.group(4):
            return code[:match.start()].rstrip()
    return code


def _has_inline_body(skeleton):
    """True when a block statement's skeleton has code after its colon (`if x: a = 1`)."""
    depth = 0
    for position, char in enumerate(skeleton):
        if char in '([{':
            depth += 1
        elif char in ')]}':
            depth -= 1
        elif char == ':' and depth == 0:
            return bool(skeleton[position + 1:].strip())
    return False


def _read_code_block(lines, index, tokens, syntax):
    """Tokenize the `<% ... %>` block starting at lines[index]; return the next line's index."""
    first = index
    text = lines[index].lstrip(' \t')[len(syntax.block_start):]
    depth = 0
    while True:
        code, next_depth, closed = _scan_python(text, depth, syntax)
        if code.strip():
            # A line starting inside open brackets continues the statement above it.
            tokens.append(_Token('code_cont' if depth else 'code', code.strip(), index + 1))
        depth = next_depth
        index += 1
        if closed:
            return index
        if index >= len(lines):
            raise TemplateError('"%s" is never closed by "%s"'
                                % (syntax.block_start, syntax.block_close),
                                None, first + 1, lines[first])
        text = lines[index]


def _scan_python(text, depth, syntax):
    """Return (code, bracket depth after it, whether `%>` closed the block) for one line."""
    closed = False
    end = len(text)
    for match in syntax.python_re.finditer(text):
        comment, opening, closing, close_tag = match.group(2, 3, 4, 5)
        if comment is not None:
            end = match.start()
            # Bottle allows '%>' ending a comment
            closed = comment.rstrip().endswith(syntax.block_close)
            break
        if opening:
            depth += 1
        elif closing:
            depth = max(depth - 1, 0)
        elif close_tag:
            end, closed = match.start(), True
            break
    return text[:end], depth, closed


def _scan_inline(text, lineno, tokens, syntax):
    """Append text, expr/raw and block-tag tokens for one line of template text."""
    position = 0
    for match in syntax.inline_re.finditer(text):
        if match.start() > position:
            tokens.append(_Token('text', text[position:match.start()], lineno))
        position = match.end()
        expression, tag = match.group(1, 2)
        if tag is not None:
            words = tag.split()
            tokens.append(_Token(words[0], words[1] if len(words) > 1 else '', lineno))
            continue
        expression = expression.strip()
        kind = 'raw' if expression.startswith('!') else 'expr'
        expression = expression.lstrip('!').strip()
        if not expression:
            raise TemplateError('empty "%s %s"' % (syntax.inline_start, syntax.inline_end),
                                None, lineno, text)
        tokens.append(_Token(kind, expression, lineno))
    if position < len(text):
        tokens.append(_Token('text', text[position:], lineno))


# --- step 2: tokens -> Python source ---------------------------------------------------------

_GeneratedCode = collections.namedtuple('GeneratedCode',
                                        'source line_map block_names parent_users')

_END_RE = re.compile(r'end[ \t]*(?:#.*)?$')
_BLOCK_START_RE = re.compile(r'(?:if|for|while|with|try|def|class|async[ \t]+(?:for|with|def))\b')
_BLOCK_CONTINUE_RE = re.compile(r'(?:elif|else|except|finally)\b')
# Bottle 0.10 wrote `%include name key=value` and `%rebase name key=value` without parentheses.
_LEGACY_CALL_RE = re.compile(r'(include|rebase)[ \t]+([^\s(=\'"][^\s,]*)[ \t]*,?[ \t]*(.*)$')
_EXTENDS_RE = re.compile(r'(?:(?:rebase|extends)[ \t]*\(|rebase[ \t]+[^\s(=])')


def generate_template_code(tokens):
    """Translate tokens into Python source: `_template_main(_out, _escape, _str, _type, _text,
    _int)` for the template body and `_block_N(_out, _parent, _escape, _str, _type, _text,
    _int)` for each block (the last five are bound as defaults when rendering), each appending
    text to the list `_out`. Returns a GeneratedCode(source, line_map, block_names,
    parent_users) where line_map[n] is the template line of generated line n and parent_users
    the names of the blocks holding a `{% parent %}`. Raises TemplateError for an unclosed
    or stray `% end` / `{% endblock %}` and `{% parent %}` outside a block.
    """
    generator = _CodeGenerator(_is_extending(tokens))
    for token in tokens:
        getattr(generator, 'on_' + token.kind)(token)
    return generator.finish()


def _is_extending(tokens):
    """Whether the template body (outside blocks) calls rebase() or extends(): then its blocks
    only define overrides for the layout, and print nothing where they stand."""
    depth = 0
    for token in tokens:
        if token.kind == 'block':
            depth += 1
        elif token.kind == 'endblock':
            depth -= 1
        elif token.kind == 'code' and depth <= 0 and _EXTENDS_RE.match(token.value):
            return True
    return False


class _FunctionWriter(object):
    """The Python lines of one generated function, with its open if/for/... blocks and the
    output pieces not yet written."""

    def __init__(self, header, lineno, block_name=None):
        self.lines = [(header, lineno),
                      ('    _append, _extend = _out.append, _out.extend', lineno)]
        self.block_name, self.lineno = block_name, lineno
        self.open = []              # [keyword statement, lineno, has a body yet]
        self.pieces = []            # Python expressions to append, text merged
        self.pieces_line = None     # template line of the expressions in self.pieces

    def write(self, statement, lineno, dedent=0):
        # A statement running over several template lines keeps one generated line per
        # template line (its later lines are inside brackets or a string: no indent needed).
        first, *rest = statement.split('\n')
        self.lines.append(('    ' * (1 + len(self.open) - dedent) + first, lineno))
        self.lines.extend((text, lineno + offset) for offset, text in enumerate(rest, 1))
        if self.open and not dedent:
            self.open[-1][2] = True

    def add_text(self, text, lineno):
        if self.pieces and isinstance(self.pieces[-1], str):
            self.pieces[-1] += text
        else:
            self.pieces.append(text)
            self.pieces_line = self.pieces_line or lineno

    def add_expression(self, expression, lineno):
        # One generated line per template line, so that an error maps back to its line.
        if self.pieces_line is not None and self.pieces_line != lineno and \
                any(not isinstance(p, str) for p in self.pieces):
            self.flush()
        self.pieces.append((expression,))
        self.pieces_line = lineno

    def flush(self):
        """Write the pending output as one `_append(x)` or `_extend((x, y, ...))` call: one
        call per line is cheaper than one per piece."""
        if self.pieces:
            values = [repr(p) if isinstance(p, str) else p[0] for p in self.pieces]
            if len(values) == 1:
                self.write('_append(%s)' % values[0], self.pieces_line)
            else:
                self.write('_extend((%s))' % ', '.join(values), self.pieces_line)
            self.pieces, self.pieces_line = [], None

    def close_python_block(self):
        if not self.open[-1][2]:
            self.write('pass', self.open[-1][1])
        self.open.pop()


class _CodeGenerator(object):
    """Builds the main function and one function per {% block %} from a token stream."""

    def __init__(self, is_extending):
        self.is_extending = is_extending
        self.main = _FunctionWriter(
            'def _template_main(_out, _escape, _str, _type, _text, _int):', 1)
        self.writers = [self.main]      # the innermost open block last
        self.done = []
        self.block_names = []
        self.parent_users = set()

    def on_text(self, token):
        self.writers[-1].add_text(token.value, token.lineno)

    def on_expr(self, token):
        self.writers[-1].add_expression('_escape(%s)' % token.value, token.lineno)

    def on_raw(self, token):
        self.writers[-1].add_expression('_str(%s)' % token.value, token.lineno)

    def on_code_cont(self, token):
        writer = self.writers[-1]
        writer.flush()
        writer.write(token.value, token.lineno)

    def on_code(self, token):
        writer, statement, lineno = self.writers[-1], token.value, token.lineno
        writer.flush()
        if _END_RE.match(statement):
            self._close_python_block(writer, statement, lineno)
            return
        legacy = _LEGACY_CALL_RE.match(statement)
        if legacy:
            function, name, arguments = legacy.groups()
            statement = '%s(%r%s)' % (function, name, ', ' + arguments if arguments else '')
        skeleton = _statement_skeleton(statement)
        closes = _TRAILING_END_RE.search(skeleton) is not None
        if closes:          # `% for i in l: a += i; end`: the block opens and closes here
            statement = _TRAILING_END_RE.sub('', _without_comment(statement)).rstrip()
            skeleton = _TRAILING_END_RE.sub('', skeleton).rstrip()
        has_body = _has_inline_body(skeleton)
        if _BLOCK_CONTINUE_RE.match(statement):
            if not writer.open:
                raise TemplateError('"%% %s" without an open if/for/try' % statement, None, lineno)
            if not writer.open[-1][2]:
                writer.write('pass', lineno)
            writer.write(statement, lineno, dedent=1)
            writer.open[-1][2] = has_body
        elif _BLOCK_START_RE.match(statement):
            writer.write(statement, lineno)
            writer.open.append([statement, lineno, has_body])
        else:
            writer.write(statement, lineno)
        if closes:
            self._close_python_block(writer, 'end', lineno)

    @staticmethod
    def _close_python_block(writer, statement, lineno):
        if not writer.open:
            raise TemplateError('"%% %s" closes nothing: no if/for/while/... is open'
                                % statement, None, lineno)
        writer.close_python_block()

    def on_block(self, token):
        writer, name = self.writers[-1], token.value
        writer.flush()
        if name in self.block_names:
            raise TemplateError('{%% block %s %%} is defined twice' % name, None, token.lineno)
        index = len(self.block_names)
        self.block_names.append(name)
        slot_only = writer is self.main and self.is_extending
        writer.write('%s(%r, _out)' % ('_block_slot' if slot_only else '_render_block', name),
                     token.lineno)
        self.writers.append(_FunctionWriter(
            'def _block_%d(_out, _parent, _escape, _str, _type, _text, _int):  # %s'
            % (index, name),
            token.lineno, name))

    def on_endblock(self, token):
        writer = self.writers[-1]
        if writer is self.main:
            raise TemplateError('{% endblock %} without an open {% block %}', None, token.lineno)
        if token.value and token.value != writer.block_name:
            raise TemplateError('{%% endblock %s %%} closes {%% block %s %%} of line %d'
                                % (token.value, writer.block_name, writer.lineno),
                                None, token.lineno)
        writer.flush()
        self._check_closed(writer)
        self.done.append(self.writers.pop())

    def on_parent(self, token):
        writer = self.writers[-1]
        if writer is self.main:
            raise TemplateError('{% parent %} outside a {% block %}', None, token.lineno)
        writer.flush()
        writer.write('_parent(_out)', token.lineno)
        self.parent_users.add(writer.block_name)

    def finish(self):
        if len(self.writers) > 1:
            writer = self.writers[-1]
            raise TemplateError('{%% block %s %%} is never closed by {%% endblock %%}'
                                % writer.block_name, None, writer.lineno)
        self.main.flush()
        self._check_closed(self.main)
        lines = self.main.lines + [line for writer in self.done for line in writer.lines]
        source = '\n'.join(text for text, _ in lines) + '\n'
        line_map = [0] + [lineno for _, lineno in lines]
        return _GeneratedCode(source, line_map, list(self.block_names),
                              frozenset(self.parent_users))

    @staticmethod
    def _check_closed(writer):
        if writer.open:
            statement, lineno, _ = writer.open[-1]
            raise TemplateError('"%% %s" is never closed by "%% end"' % statement, None, lineno)


# --- step 3: Python source -> code objects ---------------------------------------------------

_CompiledTemplate = collections.namedtuple(
    'CompiledTemplate',
    'filename code_filename source_lines python_source line_map main_code blocks uses '
    'keeps_names')

# Names the generated functions keep local (parameters and the bound append).
_GENERATED_LOCALS = frozenset(['_out', '_append', '_extend', '_escape', '_str', '_parent',
                               '_type', '_text', '_int'])


def compile_template(source, filename='<string>', syntax=None, text_values=False,
                     html_escaped=False):
    """Compile template source into a CompiledTemplate holding code objects.

    Runs tokenize_template(), generate_template_code(), then Python's compiler; names that the
    template code assigns are declared global so that they live in the render namespace, as in
    Bottle. `text_values`: the escaping functions always return a str (no escape_func), so an
    output line may be built as one string. `html_escaped` (which needs `text_values`): `{{x}}`
    is html_escape(x) (no escape_func, no noescape), so it may be done inline. Raises
    TemplateSyntaxError naming `filename`, the template line and its text.
    """
    if source.startswith('\ufeff'):
        source = source[1:]
    source_lines = source.split('\n')
    # Not the template's own path: a traceback would show the template's line N as if it were
    # generated line N.
    code_filename = '<template %s>' % filename
    try:
        generated = generate_template_code(tokenize_template(source, syntax))
        tree = ast.parse(generated.source, code_filename)
        _drop_slots_if_rebasing(tree)
        _local_loop_reads(tree)
        _declare_globals(tree)
        if html_escaped:
            _inline_escape_checks(tree)
        if text_values or html_escaped:
            _output_lines_as_strings(tree)
        # `del x`, and `except ... as x`, which deletes x at the end of the handler.
        keeps_names = not any(isinstance(node, ast.Delete) or (
            isinstance(node, ast.ExceptHandler) and node.name) for node in ast.walk(tree))
        code = compile(tree, code_filename, 'exec')
    except TemplateError as exc:
        raise _located_error(exc.problem, filename, source_lines, exc.lineno,
                             TemplateSyntaxError) from None
    except ValueError as exc:       # a null byte inside a Python expression
        raise TemplateSyntaxError(str(exc), filename) from exc
    except SyntaxError as exc:
        line_map = generated.line_map
        lineno = line_map[min(exc.lineno, len(line_map) - 1)] if exc.lineno else None
        raise _located_error('SyntaxError: %s' % exc.msg, filename, source_lines,
                             lineno, TemplateSyntaxError) from exc
    functions = {'__builtins__': builtins}
    exec(code, functions)       # defines the functions only; no template code runs here
    # name -> (code, whether it holds a {% parent %}): see _run_block().
    blocks = {name: (functions['_block_%d' % index].__code__, name in generated.parent_users)
              for index, name in enumerate(generated.block_names)}
    main_code = functions['_template_main'].__code__
    names = _code_names(main_code)
    for block_code, _ in blocks.values():
        names |= _code_names(block_code)
    # Whether no name can leave its namespace, which a layout or include may then copy as is
    # (see _Execution._namespace()): no `del`, no globals() or such.
    keeps_names = keeps_names and names.isdisjoint(_NAMESPACE_REACHERS)
    return _CompiledTemplate(filename, code_filename, source_lines, generated.source,
                             generated.line_map, main_code, blocks, _namespace_uses(names),
                             keeps_names)


def _drop_slots_if_rebasing(tree):
    """Replace the `_block_slot(name, _out)` calls of the template body by `pass` when its first
    statement calls extends() or rebase(): the places the calls keep serve only a template that
    ends without rebasing, which this one cannot (the call sets a layout or raises, and nothing
    unsets it), and each call cost a render as much as a short block."""
    main = tree.body[0].body
    first = main[1] if len(main) > 1 else None      # main[0] binds _append and _extend
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Call) and \
            isinstance(first.value.func, ast.Name) and first.value.func.id in _REBASE_NAMES:
        tree.body[0].body = _rewritten(main, _without_slot)


# The names by which a template calls rebase().
_REBASE_NAMES = frozenset(['rebase', 'extends'])


def _without_slot(statement):
    call = statement.value if isinstance(statement, ast.Expr) else None
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and \
            call.func.id == '_block_slot':
        return [ast.copy_location(ast.Pass(), statement)]
    return [statement]


def _code_names(code):
    """The global and attribute names a code object and the code nested in it use."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            names.update(_code_names(constant))
    return names


def _declare_globals(tree):
    for function in tree.body:
        names = set(name for name in _assigned_names(function.body) - _GENERATED_LOCALS
                    if not name.startswith('_kokoropy_'))     # see _local_loop_reads()
        if names:
            declaration = ast.copy_location(ast.Global(names=sorted(names)), function.body[0])
            function.body.insert(0, declaration)


# Calls that can read or write the namespace of the code calling them by name.
_NAMESPACE_CALLS = frozenset(['globals', 'locals', 'vars', 'exec', 'eval'])


def _local_loop_reads(tree):
    """Let the body of `% for row in rows:` read the loop variable from a local variable:

        for _kokoropy_l0 in rows:
            row = _kokoropy_l0      # still in the namespace at each turn, as in Bottle
            ... _kokoropy_l0['id'] ...

    A name of the namespace costs a dict lookup at each read, a local one an array access. Only
    where nothing else can change the name during the loop: no other statement anywhere in the
    template binds it (an assignment, a nested loop, a function with `global row` ...) and the
    template calls none of globals(), exec() ... Nested functions and comprehensions still read
    the namespace, which holds the same value. Where nothing but the loop body can read the
    name while the loop runs, it is stored once after the loop (see _stores_after_loop()).
    """
    bindings = collections.Counter()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not isinstance(node.ctx, ast.Load):
                bindings[node.id] += 1
            elif node.id in _NAMESPACE_CALLS:
                return
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            bindings.update(dict.fromkeys(node.names, 2))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bindings.update((alias.asname or alias.name).split('.')[0] for alias in node.names)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bindings[node.name] += 1
        elif isinstance(node, ast.ExceptHandler) and node.name:
            bindings[node.name] += 1
        elif isinstance(node, ast.arg):
            bindings[node.arg] += 1
    loops = [node for function in tree.body for node in _same_scope_nodes(function.body)
             if isinstance(node, ast.For) and isinstance(node.target, ast.Name) and
             bindings[node.target.id] == 1]
    stored_after = {}
    may_store_after = not _may_read_namespace_later(tree)
    for index, loop in enumerate(loops):
        name, local = loop.target.id, '_kokoropy_l%d' % index
        for node in _same_scope_nodes(loop.body):
            if isinstance(node, ast.Name) and node.id == name:     # reads only: see above
                node.id = local
        loop.target = ast.copy_location(ast.Name(id=local, ctx=ast.Store()), loop.target)
        if may_store_after and _only_body_reads(loop):
            stored_after[loop] = (name, local, '_kokoropy_s%d' % index)
        else:
            loop.body[:0] = _statements('%s = %s' % (name, local), loop)
    if stored_after:
        for function in tree.body:
            function.body = _rewritten(function.body, functools.partial(
                _stores_after_loop, stored_after=stored_after))


# Template code which, if the template holds any, could read the namespace while a loop runs
# or after an exception left it: functions, classes, lambdas and generators (called or resumed
# by code the loop body runs: the __str__ of a value printed, the generator a nested loop
# iterates ...), and try/with statements (whose handlers run after an exception in a loop).
_NAMESPACE_READERS = tuple(getattr(ast, name) for name in (
    'FunctionDef', 'AsyncFunctionDef', 'ClassDef', 'Lambda', 'GeneratorExp', 'Try', 'TryStar',
    'With', 'AsyncWith') if hasattr(ast, name))
# The generated functions a loop body may call and still store its variable after the loop.
_OUTPUT_CALLS = frozenset(['_escape', '_str', '_append', '_extend'])


def _may_read_namespace_later(tree):
    """Whether template code other than a loop's body could read its variable while it runs."""
    return any(isinstance(node, _NAMESPACE_READERS)
               for function in tree.body for statement in function.body
               for node in ast.walk(statement))


def _only_body_reads(loop):
    """Whether the loop body, which reads the variable from a local (see _local_loop_reads()),
    runs nothing else that could read it from the namespace: no call but to the output
    functions (include(), a block, get() ...), no comprehension, no return; and the loop has no
    `else:`."""
    if loop.orelse:
        return False
    for node in _same_scope_nodes(loop.body):
        if isinstance(node, ast.Call):
            if not (isinstance(node.func, ast.Name) and node.func.id in _OUTPUT_CALLS):
                return False
        elif isinstance(node, (ast.ListComp, ast.SetComp, ast.DictComp, ast.Return,
                               ast.Yield, ast.YieldFrom)):
            return False
    return True


def _stores_after_loop(statement, stored_after):
    """[statement], or for a loop of stored_after, the loop storing its variable in the
    namespace once after its last turn (no store when it has made no turn):

        _kokoropy_s0 = _kokoropy_l0 = []        # a new list, which no iterable holds
        for _kokoropy_l0 in rows:
            ...
        if _kokoropy_l0 is not _kokoropy_s0:
            row = _kokoropy_l0
    """
    if statement not in stored_after:
        return [statement]
    name, local, unset = stored_after[statement]
    return (_statements('%s = %s = []' % (unset, local), statement) + [statement] +
            _statements('if %s is not %s:\n    %s = %s' % (local, unset, name, local),
                        statement))


def _statements(python_source, where):
    """The statements of python_source, placed on the template line of the node `where`."""
    statements = ast.parse(python_source).body
    for node in ast.walk(ast.Module(body=statements)):
        if 'lineno' in node._attributes:
            ast.copy_location(node, where)
    return statements


def _rewritten(statements, rewrite):
    """The statements, and those inside their if/for/while/with/try bodies, each replaced by the
    list of statements rewrite(statement) returns."""
    result = []
    for statement in statements:
        for field in ('body', 'orelse', 'finalbody'):
            if isinstance(getattr(statement, field, None), list):
                setattr(statement, field, _rewritten(getattr(statement, field), rewrite))
        for handler in getattr(statement, 'handlers', ()):
            handler.body = _rewritten(handler.body, rewrite)
        result.extend(rewrite(statement))
    return result


def _same_scope_nodes(statements):
    """The nodes of these statements outside nested functions, classes, lambdas and
    comprehensions (which have scopes of their own)."""
    pending = list(statements)
    while pending:
        node = pending.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                 ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                                 ast.GeneratorExp)):
            pending.extend(ast.iter_child_nodes(node))


# `{{x}}` as html_escape(x) does it, without the call (see _inline_escape_checks()): a str
# without any of & < > " ' as it is, one with them through html_escape()'s own replace()
# calls; an int is left to the f-string of its line, which prints str(int) as html_escape()
# returns; any other value goes to html_escape() itself.
_ESCAPE_CHECK = """{v} = None
if _type({v}) is _text:
    if {has_specials}:
        {v} = {escaped}
elif _type({v}) is not _int:
    {v} = _escape({v})
"""
# A line of several {{x}}: each str is kept aside as {r} ('' for other values), and one
# search of them all joined spares most lines a search of each (see _escape_checked()).
_JOINT_CHECK = """{v} = None
if _type({v}) is _text:
    {r} = {v}
else:
    {r} = ''
    if _type({v}) is not _int:
        {v} = _escape({v})
"""
_JOINT_SEARCH = """_kokoropy_j = f'{joined}'
if {has_specials}:
"""
# What the str {0} holds any of & < > " ', and is escaped to (html_escape()'s replace() calls).
_HAS_SPECIALS = """'&' in {0} or '<' in {0} or '>' in {0} or '"' in {0} or "'" in {0}"""
_ESCAPED = """({0}.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')
    .replace('"', '&quot;').replace("'", '&#x27;'))"""


def _inline_escape_checks(tree):
    """Rewrite each output statement `_append(_escape(x))` / `_extend((..., _escape(x), ...))`
    so that a value which is a str, or an int, is escaped without the _escape() call
    (html_escape(): only for templates whose {{x}} it is; see _ESCAPE_CHECK):

        _kokoropy_v0 = x
        if _type(_kokoropy_v0) is _text:
            if '&' in _kokoropy_v0 or ...:
                _kokoropy_v0 = _kokoropy_v0.replace('&', '&amp;')...
        elif ...
        _extend((..., _kokoropy_v0, ...))

    A Python call costs more than those tests, and most values printed are such strings and
    numbers. Values are still computed and escaped one after the other, in their order. The
    statement must then become an f-string (_output_lines_as_strings()), which prints the ints.
    The temporaries `_kokoropy_v0`, `_kokoropy_r0`, `_kokoropy_j` ... are local names of each
    function.
    """
    for function in tree.body:
        function.body = _rewritten(function.body, _escape_checked)


def _escape_checked(statement):
    """[statement] or, for a generated output statement, the statements checking its values.

    A line of several {{x}} and no {{!x}} (whose text may hold & < ...) is searched at once
    (_JOINT_CHECK): its str values joined are searched for the five characters, and each of
    them only when one is found. The str replace() calls happen after all the values of the
    line are computed, which no one can tell from the order of html_escape() calls."""
    call = statement.value if isinstance(statement, ast.Expr) else None
    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and
            call.func.id in ('_append', '_extend') and len(call.args) == 1 and
            not call.keywords):
        return [statement]
    values = call.args[0].elts if call.func.id == '_extend' and \
        isinstance(call.args[0], ast.Tuple) else call.args
    escaped = [isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and
               value.func.id == '_escape' and len(value.args) == 1 and not value.keywords and
               not isinstance(value.args[0], ast.Starred) for value in values]
    calls = [index for index, value in enumerate(values) if isinstance(value, ast.Call)]
    if not any(escaped):
        return [statement]
    joint = len(calls) > 1 and all(escaped[index] for index in calls)
    checks = []
    for index in calls:     # the others are text literals
        # The other values ({{!x}}'s _str(x)) are taken out to a temporary too, so that the
        # values are still computed in their order: `{{!next(i)}} {{next(i)}}`.
        value, name = values[index], '_kokoropy_v%d' % index
        if not escaped[index]:
            python_source = '%s = None' % name
        elif joint:
            python_source = _JOINT_CHECK.format(v=name, r='_kokoropy_r%d' % index)
        else:
            python_source = _ESCAPE_CHECK.format(v=name, has_specials=_HAS_SPECIALS.format(name),
                                                 escaped=_ESCAPED.format(name))
        added = _statements(python_source, statement)
        added[0].value = value.args[0] if escaped[index] else value
        checks.extend(added)
        values[index] = ast.copy_location(ast.Name(id=name, ctx=ast.Load()), value)
    if joint:
        python_source = _JOINT_SEARCH.format(
            joined=''.join('{_kokoropy_r%d}' % index for index in calls),
            has_specials=_HAS_SPECIALS.format('_kokoropy_j'))
        for index in calls:
            text = '_kokoropy_r%d' % index
            python_source += '    if %s:\n        _kokoropy_v%d = %s\n' % (
                _HAS_SPECIALS.format(text), index, _ESCAPED.format(text))
        checks.extend(_statements(python_source, statement))
    return checks + [statement]


def _output_lines_as_strings(tree):
    """Rewrite `_extend(('<td>', v, '</td>'))` as `_append(f'<td>{v}</td>')` (in the tree: no
    quoting to get wrong): one string built at once costs less than a tuple handed to extend(),
    and the final join has fewer pieces. A value checked alone, `_append(_kokoropy_v0)`, becomes
    `_append(f'{_kokoropy_v0}')` (see _ESCAPE_CHECK). Only for values that are all str or int:
    then the f-string prints exactly what the join of the str would. A line printing
    `{{!base}}`, a layout's whole page below, is left as it is: the f-string would copy the
    page once more."""
    for node in ast.walk(tree):
        call = node.value if isinstance(node, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and
                len(call.args) == 1 and not call.keywords):
            continue
        argument = call.args[0]
        if call.func.id == '_extend' and isinstance(argument, ast.Tuple) and \
                not any(isinstance(value, ast.Starred) for value in argument.elts):
            values = argument.elts
        elif call.func.id == '_append' and isinstance(argument, ast.Name) and \
                argument.id.startswith('_kokoropy_v'):
            values = [argument]
        else:
            continue
        if any(_is_raw_base(value) for value in values):
            continue
        # The elements are text literals and the values (names and calls) between them.
        parts = [ast.copy_location(ast.FormattedValue(value=value, conversion=-1,
                                                      format_spec=None), value)
                 if isinstance(value, (ast.Name, ast.Call)) else value
                 for value in values]
        call.func.id = '_append'
        call.args[0] = ast.copy_location(ast.JoinedStr(values=parts), argument)


def _is_raw_base(value):
    """Whether an output value is `_str(base)`, as `{{!base}}` generates it."""
    return isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and \
        value.func.id == '_str' and len(value.args) == 1 and \
        isinstance(value.args[0], ast.Name) and value.args[0].id == 'base'


def _assigned_names(statements):
    """Names bound by these statements in their own scope (not inside nested functions,
    classes, lambdas or comprehensions), minus those the code itself declares global."""
    names, declared = set(), set()
    pending = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            pending.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split('.')[0] for alias in node.names
                         if alias.name != '*')
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names - declared


def _located_error(problem, filename, source_lines, lineno, error_class=None):
    line = source_lines[lineno - 1] if lineno and lineno <= len(source_lines) else None
    return (error_class or TemplateError)(problem, filename, lineno, line)


# --- rendering -------------------------------------------------------------------------------

# The functions _Execution may put in a template's namespace (after TEMPLATE_GLOBALS and the
# variables), each with the flag of _CompiledTemplate.uses asking for it. A template gets only
# those its code names: a bound method made for each of the eight on every render cost more
# than the one or two most templates call. get(), setdefault() and defined() come together.
_USES_INCLUDE, _USES_REBASE, _USES_EXTENDS, _USES_RENDER_BLOCK, _USES_BLOCK_SLOT, \
    _USES_LOOKUPS = 1, 2, 4, 8, 16, 32
_USES_ALL = _USES_INCLUDE | _USES_REBASE | _USES_EXTENDS | _USES_RENDER_BLOCK | \
    _USES_BLOCK_SLOT | _USES_LOOKUPS
_NAMESPACE_FLAGS = {'include': _USES_INCLUDE, 'rebase': _USES_REBASE, 'extends': _USES_EXTENDS,
                    '_render_block': _USES_RENDER_BLOCK, '_block_slot': _USES_BLOCK_SLOT,
                    'get': _USES_LOOKUPS, 'setdefault': _USES_LOOKUPS, 'defined': _USES_LOOKUPS}
_NAMESPACE_FUNCTIONS = tuple(_NAMESPACE_FLAGS)
# Names through which code may reach its namespace dict without naming what it reads there
# (globals(), f.__globals__, sys._getframe().f_globals, get.__self__ ...).
_NAMESPACE_REACHERS = _NAMESPACE_CALLS | frozenset(['__globals__', 'f_globals', '__self__'])


def _namespace_uses(names):
    """The _USES_ flags of a template whose code names `names`: all of them when it can reach
    its namespace by other means (globals(), eval() ...)."""
    if not names.isdisjoint(_NAMESPACE_CALLS):
        return _USES_ALL
    uses = 0
    for name in names.intersection(_NAMESPACE_FLAGS):
        uses |= _NAMESPACE_FLAGS[name]
    return uses


class _RenderState(object):
    """What the templates of one rebase chain share: the output list, their runs so far (the
    most derived template first: where _run_block() finds a block's overrides) and the
    look-up context of the whole render (see _Execution._load())."""

    __slots__ = ('out', 'executions', 'context')

    def __init__(self, out, context=None):
        self.out, self.executions, self.context = out, [], context


class _Execution(object):
    """One run of one template: builds its namespace, runs its code, and provides the
    include/rebase/block functions that code calls."""

    __slots__ = ('template', 'compiled', 'helpers', 'state', 'rebase_to', 'slots', 'env')

    def __init__(self, template_object, state):
        self.template, self.state = template_object, state
        self.compiled, self.helpers = template_object._compiled, template_object._helpers
        self.rebase_to, self.slots, self.env = None, [], None

    def run(self, variables, more=None, source=None):
        """Render into the shared output with the names of `variables` updated by those of
        `more` (`source`: the run whose namespace `variables` is, if any); return (template,
        kwargs) of a requested rebase."""
        compiled = self.compiled
        env = self.env = self._namespace(variables, more, source)
        try:
            types.FunctionType(compiled.main_code, env, None, self.helpers)(self.state.out)
            if self.slots and self.rebase_to is None:
                self._fill_slots()
        except TemplateError as exc:
            if exc.filename is not None:
                raise
            raise _error_from_traceback(exc.problem, exc, compiled) from exc
        except Exception as exc:
            if isinstance(exc, HTTPResponse):       # abort()/redirect() inside a template
                raise
            problem = '%s: %s' % (type(exc).__name__, exc)
            raise _error_from_traceback(problem, exc, compiled) from exc
        return self.rebase_to

    def _namespace(self, variables, more, source):
        compiled = self.compiled
        if source is not None and source.compiled.keeps_names:
            # The namespace of the includer or of the template rebasing here already holds
            # the builtins and TEMPLATE_GLOBALS (in the same places: the dict display below
            # made it) and the request; a copy costs a fraction of inserting each name again.
            env = variables.copy()
            if more:
                env.update(more)
        else:
            env = {'__builtins__': builtins, **TEMPLATE_GLOBALS, **variables, **(more or {})}
            if env.get('request') is request:
                # The thread's Request itself, not the proxy that finds it on every read.
                current = getattr(_local, 'request', None)
                if current is not None:
                    env['request'] = current
        uses = compiled.uses
        # Only the functions the template names (see _NAMESPACE_FLAGS): those it may have been
        # given with an includer's names are out of its reach, and release() removes them.
        if uses & _USES_INCLUDE:
            env['include'] = self.include
        if uses & _USES_REBASE:
            env['rebase'] = self.rebase
        if uses & _USES_EXTENDS:
            env['extends'] = self.rebase
        if uses & _USES_RENDER_BLOCK:
            env['_render_block'] = self.render_block
        if uses & _USES_BLOCK_SLOT:
            env['_block_slot'] = self.block_slot
        env['_kokoropy_template'] = compiled
        if uses & _USES_LOOKUPS:
            env['get'], env['setdefault'], env['defined'] = \
                env.get, env.setdefault, env.__contains__
        return env

    def release(self):
        env, self.env = self.env, None
        if env is not None:
            for name in _NAMESPACE_FUNCTIONS:
                env.pop(name, None)

    def include(self, name, **kwargs):
        """Render template `name` here, with this template's variables updated by kwargs;
        return the included template's namespace (its names, as in Bottle)."""
        child = self._load(name)
        state = self.state
        # Into the shared output, so that functions the included template defines print where
        # they are called, as in Bottle.
        if not child._compiled.uses:
            return _render_partial(child, state, self.env, kwargs, self)
        return _render_chain(child, state.out, self.env, len(state.out), kwargs, state.context,
                             self)

    def rebase(self, name, **kwargs):
        """After this template, render layout `name` with this output as `base`."""
        self.rebase_to = (self._load(name), kwargs)

    def _load(self, name):
        """The template include(name) or rebase(name) renders: from the template's `cache` (as
        Bottle code fills it), else as _template_named_by() found and remembered it."""
        template = self.template
        cache = getattr(template, 'cache', None)
        found = cache.get(name) if cache else None
        if found is not None:
            return found
        context = self.state.context
        if context is None:
            # Once per render: its templates are all found for the same application.
            context = self.state.context = _lookup_cache_key()
        where, reload = context
        remembered = template._resolved.get(name)
        if remembered is not None and not reload:
            known_where, key, found = remembered
            # key[1]: the lookup folders it was found with (a template's may be changed).
            if known_where == where and _NAMED_TEMPLATES.get(key) is found and \
                    key[1] == tuple(template.lookup):
                return found
        return _template_named_by(template, name, context)

    def render_block(self, name, out):
        if not _run_block(self.state.executions, 0, name, out):
            raise KeyError(name)

    def block_slot(self, name, out):
        # A template that extends another prints its blocks in the layout, not here; keep the
        # place in case it ends without rebasing after all.
        self.slots.append((len(out), name))

    def _fill_slots(self):
        saved = self.state.out
        for position, name in reversed(self.slots):
            piece = self.state.out = []
            try:
                self.render_block(name, piece)
            finally:
                self.state.out = saved
            saved[position:position] = piece


def _render_chain(template_object, out, variables, start=0, more=None, context=None,
                  source=None):
    """Run a template with `variables` updated by `more`, and then the layouts it rebases on,
    appending to `out` and sharing blocks; return the namespace of the last one run. A
    layout's `base` is the output from position `start` on. `context`: the look-up context of
    the render, if known; `source`: see _Execution.run()."""
    state = _RenderState(out, context)
    executions = state.executions
    try:
        for _ in range(MAX_REBASE_DEPTH):
            execution = _Execution(template_object, state)
            executions.append(execution)
            rebase_to = execution.run(variables, more, source)
            if rebase_to is None:
                return execution.env
            template_object, more = rebase_to
            more = dict(more, base=''.join(out[start:]))
            variables, source = execution.env, execution
            del out[start:]
        raise TemplateError('more than %d levels of rebase/extends: do the templates rebase on '
                            'each other?' % MAX_REBASE_DEPTH, template_object._compiled.filename)
    finally:
        # The namespaces and the functions in them refer to each other, and the runs to the
        # state listing them; breaking those cycles now frees a render's memory at once
        # instead of at the next garbage collection.
        for execution in executions:
            execution.release()
        del executions[:]


def _render_partial(template_object, includer_state, variables, more, source):
    """What _render_chain() does for a template calling none of include(), rebase() ... (a
    partial, such as a nav bar): it cannot rebase, so one run without the chain's
    bookkeeping."""
    execution = _Execution(template_object, includer_state)     # for its `out` only
    try:
        execution.run(variables, more, source)
        return execution.env
    finally:
        execution.release()


def _run_block(executions, start, name, out):
    """Run block `name` of the first of executions[start:] defining it (the most derived
    template's); its {% parent %} runs the next one's. Returns False when none defines it."""
    for index in range(start, len(executions)):
        execution = executions[index]
        block = execution.compiled.blocks.get(name)
        if block is not None:
            code, calls_parent = block
            # No partial for a block that never calls it: most don't.
            parent = functools.partial(_run_block, executions, index + 1, name) \
                if calls_parent else None
            types.FunctionType(code, execution.env, None, execution.helpers)(out, parent)
            return True
    return False


def _error_from_traceback(problem, exc, fallback):
    """A TemplateError at the innermost template line found in exc's traceback."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        owner = trace.tb_frame.f_globals.get('_kokoropy_template')
        if isinstance(owner, _CompiledTemplate) and \
                trace.tb_frame.f_code.co_filename == owner.code_filename:
            found = (owner, trace.tb_lineno)
        trace = trace.tb_next
    if found is None:
        return TemplateError(problem, fallback.filename)
    owner, python_line = found
    lineno = owner.line_map[python_line] if python_line < len(owner.line_map) else None
    return _located_error(problem, owner.filename, owner.source_lines, lineno)


def _to_text(value):
    """{{!value}}: the value as text, unescaped; None becomes ''."""
    return value if type(value) is str else to_str(value)


def _output_helpers(escape_func=None, noescape=False):
    """The defaults (_escape, _str, _type, _text, _int) of the generated functions for these
    settings: the functions behind {{x}} and {{!x}} (noescape swaps them), and the names the
    inline escape checks use (only for templates whose {{x}} is html_escape())."""
    escape, raw = html_escape, _to_text
    if escape_func is not None:
        def escape(value):
            return escape_func(_to_text(value))
    if noescape:
        escape, raw = raw, escape
    return (escape, raw, type, str, int)


# --- finding and caching templates -----------------------------------------------------------

_CACHE_LOCK = threading.Lock()
_FILE_TEMPLATES = {}    # (path, lookup, settings) -> (mtime_ns, SimpleTemplate)
_NAMED_TEMPLATES = {}   # (name, lookup, settings, application, project, apps) -> SimpleTemplate
_SOURCE_TEMPLATES = {}  # (source, lookup, settings) -> SimpleTemplate


def _load_template(name, lookup=(), settings=None, context=None):
    """The SimpleTemplate for a template name, compiled once; in debug/reload mode the name is
    searched again and a file whose mtime changed is compiled again. `context`: what
    _lookup_cache_key() returns, if known."""
    settings = settings or {}
    where, reload = context or _lookup_cache_key()
    key = _named_key(name, lookup, settings, where)
    loaded = None if reload else _NAMED_TEMPLATES.get(key)
    if loaded is None:
        path = _find_template_file(name, lookup)
        loaded = _NAMED_TEMPLATES[key] = _compiled_file(path, lookup, settings, reload)
    return loaded


def _template_named_by(includer, name, context):
    """The template include(name) or rebase(name) in template `includer` renders (as
    _load_template() finds it), remembered by the includer as (where, cache key, template):
    _Execution._load() then needs one look-up of that key in _NAMED_TEMPLATES instead of
    building it on every render. The key changes only with the look-up context (the includer's
    lookup folders and settings are read when it first includes the name); what
    _NAMED_TEMPLATES holds for it still decides, so that a template compiled again in debug
    mode, or TEMPLATES.clear(), are followed."""
    where = context[0]
    lookup, settings = tuple(includer.lookup), includer.settings
    loaded = _load_template(name, lookup, settings, context)
    includer._resolved[name] = (where, _named_key(name, lookup, settings, where), loaded)
    return loaded


def _named_key(name, lookup, settings, where):
    """The key in _NAMED_TEMPLATES of what a template name finds from these lookup folders and
    settings in this look-up context (see _lookup_cache_key())."""
    return (name, lookup, _settings_key(settings)) + where


def _compiled_file(path, lookup, settings, check_mtime):
    key = (path, lookup, _settings_key(settings))
    entry = _FILE_TEMPLATES.get(key)
    if entry is not None and not check_mtime:
        return entry[1]
    mtime = _mtime(path)
    if entry is not None and entry[0] == mtime:
        return entry[1]
    with _CACHE_LOCK:
        entry = _FILE_TEMPLATES.get(key)
        if entry is None or entry[0] != mtime:
            compiled = SimpleTemplate(name=path, lookup=lookup, **settings)
            entry = _FILE_TEMPLATES[key] = (mtime, compiled)
    return entry[1]


def _template_from_source(source, lookup=(), settings=None):
    settings = settings or {}
    key = (source, lookup, _settings_key(settings))
    compiled = _SOURCE_TEMPLATES.get(key)
    if compiled is None:
        compiled = SimpleTemplate(source=source, lookup=lookup, **settings)
        with _CACHE_LOCK:
            while len(_SOURCE_TEMPLATES) >= MAX_SOURCE_CACHE:
                del _SOURCE_TEMPLATES[next(iter(_SOURCE_TEMPLATES))]    # the oldest
            _SOURCE_TEMPLATES[key] = compiled
    return compiled


def _settings_key(settings):
    return tuple(sorted(settings.items())) if settings else ()


def _is_template_source(text):
    # Bottle's rule: a name never holds a newline, '{', '%' or '$'.
    return isinstance(text, str) and ('\n' in text or '{' in text or '%' in text or '$' in text)


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError as exc:
        raise TemplateError('cannot read template: %s' % exc, path) from exc


def _read_template_file(path, encoding):
    try:
        with open(path, encoding=encoding) as template_file:
            return template_file.read()
    except (OSError, UnicodeError) as exc:
        raise TemplateError('cannot read template: %s' % exc, path) from exc


def _find_template_file(name, lookup=()):
    """The path of template `name` (see template() for the search order).

    A name always resolves inside a searched folder: '..' cannot climb out, and an absolute
    path is only accepted inside one of them (a name reaching template() from a request must
    not render /etc/passwd). Raises TemplateError listing the folders searched."""
    if os.path.isabs(name) or os.path.splitdrive(name)[0]:
        return _absolute_template_file(name, lookup)
    searched = []
    for folder, relative in _search_folders(name, lookup):
        path = _file_in_folder(folder, relative)
        if path is not None:
            return path
        searched.append(os.path.join(folder, relative))
    raise TemplateError('template %r not found; looked for %s (with .%s)'
                        % (name, ', '.join(searched), ', .'.join(TEMPLATE_EXTENSIONS)))


def _absolute_template_file(name, lookup):
    folders = [folder for folder, _ in _search_folders('', lookup)]
    path = os.path.abspath(name)
    applications = os.path.abspath(_applications_folder(_lookup_context()[0]))
    parts = os.path.relpath(path, applications).split(os.sep)
    if len(parts) > 2 and parts[0] != '..' and parts[1] == 'views':  # any app's views/
        folders.insert(0, os.path.join(applications, parts[0], 'views'))
    for folder in folders:
        root = os.path.abspath(folder)
        if path.startswith(root + os.sep):
            found = _file_in_folder(root, os.path.relpath(path, root))
            if found is not None:
                return found
    raise TemplateError('template %r is not inside a views folder (searched %s): name '
                        'templates relative to them' % (name, ', '.join(folders)))


def _search_folders(name, lookup):
    """(folder, relative name) pairs to try, in order."""
    name = name.replace('\\', '/')
    config, current = _lookup_context()
    applications = _applications_folder(config)
    candidates = [(folder, name) for folder in lookup]
    if current:
        candidates.append((os.path.join(applications, current, 'views'), name))
    application, _, rest = name.partition('/')
    if rest:        # 'app/view' or 'app/views/view'
        if rest.startswith('views/'):
            rest = rest[len('views/'):]
        candidates.append((os.path.join(applications, application, 'views'), rest))
    candidates.append((os.path.join(applications, 'index', 'views'), name))
    candidates.extend((os.path.abspath(folder), name) for folder in TEMPLATE_PATH)
    return candidates


def _file_in_folder(folder, relative):
    root = os.path.abspath(folder)
    path = os.path.abspath(os.path.join(root, relative))
    if not path.startswith(root + os.sep):      # a name must not climb out with '..'
        return None
    for candidate in [path] + ['%s.%s' % (path, ext) for ext in TEMPLATE_EXTENSIONS]:
        if os.path.isfile(candidate):
            return candidate
    return None


def _lookup_context():
    """(config, application name) for this thread's request: the serving app's config and the
    application owning the route; outside a request the default app's config and None."""
    return _context_of(_request_in_thread())


def _context_of(current):
    """_lookup_context() for the Request `current` (None: outside a request)."""
    if current is None:
        return default_app().config, None
    return _app_of(current).config, getattr(current, 'app_name', None)


def _lookup_cache_key():
    """(where, reload) for caching what a template name finds: `where` is part of the cache
    key, since the same name may mean another file for another application or applications
    folder; `reload` is true when templates are searched and compiled again (debug mode)."""
    current = _request_in_thread()
    if current is not None:
        # Worked out once per request, serving app and application (a page runs several
        # templates; an environ handed on to another app keeps what the first one found).
        environ = current.environ
        known = environ.get('kokoropy.template_where')
        if known is not None and known[0] is environ.get('kokoropy.app') and \
                known[1] == getattr(current, 'app_name', None):
            return known[2]
    config, application = _context_of(current)
    where = (application, config.get('project_path'), config.get('applications_path'))
    found = where, bool(config.get('debug') or config.get('reload_templates'))
    if current is not None:
        environ['kokoropy.template_where'] = (environ.get('kokoropy.app'), application, found)
    return found


# --- other template engines ------------------------------------------------------------------

__all__ += ['BaseTemplate', 'TemplateSyntaxError', 'Jinja2Template', 'MakoTemplate',
            'jinja2_template', 'jinja2_view', 'mako_template', 'mako_view']

_ADAPTER_TEMPLATES = {}     # (adapter, name or source, lookup, settings) -> template


def _adapter_template(adapter, name_or_source, lookup, settings):
    """The cached `adapter` template (a BaseTemplate subclass) for a name or source text."""
    if isinstance(name_or_source, BaseTemplate):
        return name_or_source
    key = (adapter, name_or_source, lookup, _settings_key(settings))
    found = _ADAPTER_TEMPLATES.get(key)
    if found is None:
        if _is_template_source(name_or_source):
            found = adapter(source=name_or_source, lookup=lookup, **settings)
        else:
            found = adapter(name=name_or_source, lookup=lookup, **settings)
        with _CACHE_LOCK:
            while len(_ADAPTER_TEMPLATES) >= MAX_SOURCE_CACHE:
                del _ADAPTER_TEMPLATES[next(iter(_ADAPTER_TEMPLATES))]
            _ADAPTER_TEMPLATES[key] = found
    return found


def _import_engine(module, package):
    """Import an optional template engine, or raise TemplateError saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise TemplateError('%s is not installed: pip install %s' % (package, package)) from None


class Jinja2Template(BaseTemplate):
    """A Jinja2 template (pip install jinja2) behind template()'s interface. Settings go to
    jinja2.Environment, plus `filters`, `tests` and `globals` dicts. Unlike Bottle's adapter,
    autoescape is on unless the settings turn it off (secure by default)."""

    def prepare(self, filters=None, tests=None, globals=None, **options):
        """Build the Environment (templates it extends come from the same lookup folders)."""
        jinja2 = _import_engine('jinja2', 'jinja2')
        options.setdefault('autoescape', True)
        self.env = jinja2.Environment(loader=jinja2.FunctionLoader(self._source_of), **options)
        self.env.filters.update(filters or {})
        self.env.tests.update(tests or {})
        self.env.globals.update(globals or {})
        if self.source:
            self.tpl = self.env.from_string(self.source)
        else:
            self.tpl = self.env.get_template(self.filename)

    def render(self, *args, **kwargs):
        """Render with the dicts' and keywords' variables over `defaults`."""
        return self.tpl.render(**self._variables(args, kwargs))

    def _source_of(self, name):
        path = name if name == self.filename else self.search(name, self.lookup)
        if path is None:
            return None
        with open(path, encoding=self.encoding) as template_file:
            return template_file.read(), path, lambda: False


class MakoTemplate(BaseTemplate):
    """A Mako template (pip install mako) behind template()'s interface; settings go to
    mako's Template and TemplateLookup. Unlike Bottle's adapter, `${x}` is HTML-escaped
    (default_filters ['h']) unless the settings choose other filters."""

    def prepare(self, **options):
        """Build the template and a TemplateLookup over the lookup folders."""
        TemplateLookup = _import_engine('mako.lookup', 'mako').TemplateLookup
        Template = _import_engine('mako.template', 'mako').Template
        options.setdefault('input_encoding', self.encoding)
        options.setdefault('default_filters', ['h'])
        lookup = TemplateLookup(directories=self.lookup, **options)
        if self.source:
            self.tpl = Template(self.source, lookup=lookup, **options)
        else:
            self.tpl = Template(uri=self.name, filename=self.filename, lookup=lookup,
                                **options)

    def render(self, *args, **kwargs):
        """Render with the dicts' and keywords' variables over `defaults`."""
        return self.tpl.render(**self._variables(args, kwargs))


jinja2_template = functools.partial(template, template_adapter=Jinja2Template)
jinja2_view = functools.partial(view, template_adapter=Jinja2Template)
mako_template = functools.partial(template, template_adapter=MakoTemplate)
mako_view = functools.partial(view, template_adapter=MakoTemplate)


# The web helpers every template can call without importing them.
TEMPLATE_GLOBALS.update(url=url, base_url=base_url, request=request, csrf_token=csrf_token,
                        csrf_input=csrf_input, flash=flash,
                        get_flashed_messages=get_flashed_messages)


###############################################################################
# 8. Fields
# Field and its kinds (String, Text, Integer, Float, Boolean, Date, DateTime, Upload, Password,
# Email, ForeignKey): a column's declaration, its conversions between form text, Python and the
# stored value, and its validation. Uses section 1 (base64 helpers) and the standard library.
###############################################################################

__all__ += ['Field', 'String', 'Text', 'Integer', 'Float', 'Boolean', 'Date', 'DateTime',
            'Upload', 'Password', 'Email', 'ForeignKey', 'ValidationError', 'FieldError']

MAX_ROW_ID = 2 ** 63 - 1    # the largest SQLite INTEGER (and PostgreSQL bigint)
# scrypt with n=2**14, r=8, p=1 (RFC 7914 section 2's interactive-login cost): 16 MiB, ~50 ms.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
# Used only where OpenSSL lacks scrypt; OWASP's 2023 figure for PBKDF2-HMAC-SHA256.
PBKDF2_ITERATIONS = 600000
ON_DELETE_RULES = ('CASCADE', 'SET NULL', 'RESTRICT')


class FieldError(ValueError):
    """A query named a field or operator the model does not have; the message lists valid ones."""


class ValidationError(ValueError):
    """Data broke a model's field declarations.

    `errors` maps field names to messages a form can show beside each field (a plain message
    given instead of a dict is kept under '__all__'); `instance` is the model instance, if any.
    """

    def __init__(self, errors, instance=None):
        if not isinstance(errors, dict):
            errors = {'__all__': str(errors)}
        self.errors = dict(errors)
        self.instance = instance
        details = '; '.join('%s: %s' % item for item in self.errors.items())
        owner = type(instance).__name__ if instance is not None else 'Data'
        ValueError.__init__(self, '%s is not valid: %s' % (owner, details))


class Field:
    """One column of a model: its declaration, conversions and validation.

    Options of every field: `required` (None and '' are refused), `unique` (checked by a query
    and a unique index), `default` (a value, or a callable called for each new instance),
    `choices` (values or (value, label) pairs; kept as `.choices`, a list of pairs), `label`
    (default: from the name, 'unit_price' -> 'Unit price'), `help_text`, `index`.
    Once its model class exists a field also has `.name`, `.column` (the table column), `.model`
    (the model declaring it) and `.editable` (False for the automatic columns). `type_name` is
    the column type word of the command line, `input_type` the HTML input a form uses.
    """

    type_name = 'field'
    input_type = 'text'
    is_data_descriptor = False
    converts_to_db = False
    messages = {
        'required': '{label} is required.',
        'type': '{label} is not valid.',
        'choices': '{label} must be one of: {choices}.',
        'unique': '{label} is already taken.',
        'max_length': '{label} must be at most {max_length} characters.',
        'min_length': '{label} must be at least {min_length} characters.',
        'min_value': '{label} must be at least {min_value}.',
        'max_value': '{label} must be at most {max_value}.',
    }

    def __init__(self, required=False, unique=False, default=None, choices=None, label=None,
                 help_text=None, index=False):
        self.required = required
        self.unique = unique
        self.default = default
        self._choices_declared = choices
        self.choices = _normalise_choices(choices)
        self._choice_values = [value for value, _ in self.choices] if choices else None
        self._label = label
        self.help_text = help_text
        self.index = index
        self.primary_key = False
        self.editable = True
        self.name = self.column = self.model = None

    def __repr__(self):
        owner = '%s.%s ' % (self.model.__name__, self.name) if self.model else ''
        return '<%s%s>' % (owner, self.declaration())

    def __get__(self, instance, owner):
        # Reached only when the instance has no value (values live in the instance __dict__,
        # which wins over this non-data descriptor: reading an attribute costs nothing extra).
        if instance is None:
            return self
        return instance.__dict__.get(self.column)

    @property
    def label(self):
        """The text a form shows for the field."""
        return self._label or _label_from_name(self.name or '')

    def bind(self, model, name):
        """Attach the field to a model class under `name` (done by Model itself)."""
        self.model, self.name, self.column = model, name, self.column_for(name)

    def column_for(self, name):
        """The column name a field declared as `name` uses."""
        return name

    def clone(self):
        """An unbound copy (for subclasses of a model and for schema helpers)."""
        field = copy.copy(self)
        field.name = field.column = field.model = None
        return field

    def _set_as_given(self, instance, value):
        """__set__ of the fields that are data descriptors only so that their __get__ converts
        stored values: the value is kept as given, so __init__ and create() store it directly."""
        instance.__dict__[self.column] = value

    def get_default(self):
        """The default value for a new instance."""
        return self.default() if callable(self.default) else self.default

    def to_python(self, raw):
        """Convert a submitted form value (usually text) to the field's Python value; '' and
        None give None. Raises ValueError with a message for the user."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        return raw

    def to_db(self, value):
        """Convert a Python value to what the database stores."""
        return value

    def from_db(self, value):
        """Convert a stored value to the Python value."""
        return value

    def to_json(self, value):
        """A JSON-friendly form of the value (as_dict() uses it)."""
        return value

    def validate(self, value):
        """The message about `value` breaking the declaration, or None when it is fine
        (uniqueness, which needs a query, is checked by Model.validate())."""
        if value is None or value == '':
            return self.message('required') if self.required else None
        message = self.check(value)
        if message is None and self._choice_values is not None \
                and value not in self._choice_values:
            return self.message('choices')
        return message

    def check(self, value):
        """Type-specific checks of a value that is not empty; a message or None."""
        return None

    def _quick_rule(self):
        """(class, low, high, is_sized), the shortcut of validate(): a value of exactly that
        class whose length (when is_sized) or value lies in low..high is valid; None when
        every value needs validate(). Model.create() checks rows with it, calling no method."""
        return None

    def message(self, key):
        """The message `key` of `messages`, filled with the label and the field's limits."""
        return self.messages[key].format(
            label=self.label, choices=', '.join(str(label) for _, label in self.choices),
            max_length=getattr(self, 'max_length', None),
            min_length=getattr(self, 'min_length', None),
            min_value=getattr(self, 'min_value', None),
            max_value=getattr(self, 'max_value', None))

    def declaration(self):
        """The field as Python source, e.g. "String(max_length=80, required=True)"; options
        left at their defaults and callable defaults are omitted (code generators use it)."""
        arguments = self.declaration_arguments()
        for name, value, default in self.declaration_options():
            if value != default and not callable(value):
                arguments.append('%s=%r' % (name, value))
        return '%s(%s)' % (type(self).__name__, ', '.join(arguments))

    def declaration_arguments(self):
        """Positional arguments of declaration(), as source text."""
        return []

    def declaration_options(self):
        """(option, value, default) triples declaration() renders when value != default."""
        return [('required', self.required, False), ('unique', self.unique, False),
                ('default', self.default, None), ('choices', self._choices_declared, None),
                ('label', self._label, None), ('help_text', self.help_text, None),
                ('index', self.index, False)]


class String(Field):
    """Short text (an input box), at most `max_length` characters, at least `min_length`."""

    type_name = 'string'
    messages = dict(Field.messages, type='{label} must be text.')

    def __init__(self, max_length=255, min_length=None, **options):
        Field.__init__(self, **options)
        self.max_length = max_length
        self.min_length = min_length
        simple = not self.choices and min_length is None and type(self).check is String.check
        self._quick_max_length = (sys.maxsize if max_length is None else max_length) \
            if simple else -1

    def validate(self, value):
        # Fast path for the common case (plain text within the length) of every save.
        if value.__class__ is str and 0 < len(value) <= self._quick_max_length:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self._quick_max_length < 0 or type(self).validate is not String.validate:
            return None
        return (str, 1, self._quick_max_length, True)

    def to_python(self, raw):
        """Text with surrounding spaces removed; '' gives None."""
        if raw is None:
            return None
        text = str(raw).strip()
        return text or None

    def check(self, value):
        if not isinstance(value, str):
            return self.message('type')
        if self.max_length is not None and len(value) > self.max_length:
            return self.message('max_length')
        if self.min_length is not None and len(value) < self.min_length:
            return self.message('min_length')
        return None

    def declaration_options(self):
        return [('max_length', self.max_length, 255),
                ('min_length', self.min_length, None)] + Field.declaration_options(self)


class Text(Field):
    """Long text (a textarea), kept as typed."""

    type_name = 'text'
    input_type = 'textarea'
    messages = String.messages

    def to_python(self, raw):
        """The text as typed; '' gives None."""
        if raw is None or str(raw) == '':
            return None
        return str(raw)

    def check(self, value):
        return None if isinstance(value, str) else self.message('type')


class Email(String):
    """An email address: text shaped like name@domain.tld, at most 254 characters."""

    type_name = 'email'
    input_type = 'email'
    messages = dict(String.messages, type='{label} must be a valid email address.')
    pattern = re.compile(r'^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$')

    def __init__(self, max_length=254, **options):
        String.__init__(self, max_length=max_length, **options)

    def check(self, value):
        if not isinstance(value, str) or not self.pattern.match(value):
            return self.message('type')
        return String.check(self, value)

    def declaration_options(self):
        options = String.declaration_options(self)
        options[0] = ('max_length', self.max_length, 254)
        return options


class Upload(String):
    """The path of an uploaded file (relative to the application's assets folder).

    `allowed` lists the file extensions a form accepts (e.g. ['png', 'jpg']); saving the file
    is the form's job, the model stores its path. Once the transaction commits, the file of a
    deleted row (instance.delete()) or replaced by a Form is removed, so that it is no longer
    served; `keep_files=True` keeps them (e.g. for an archive or an audit trail).
    """

    type_name = 'upload'
    input_type = 'file'
    # Plug-in (section 10): file_path(field, stored value) -> the file's path in the uploads
    # folder of the application serving this request (else the model's), or None.
    file_path = None

    def __init__(self, allowed=None, max_length=255, keep_files=False, **options):
        String.__init__(self, max_length=max_length, **options)
        self.allowed = list(allowed) if allowed else None
        self.keep_files = keep_files

    def declaration_options(self):
        return [('allowed', self.allowed, None), ('keep_files', self.keep_files, False)] + \
            String.declaration_options(self)

    def remove_on_commit(self, database, stored):
        """Remove the file `stored` names once `database`'s transaction commits (unless
        keep_files)."""
        path = None if self.keep_files or not stored else self.file_path(self, stored)
        if path is not None:
            database.on_commit(functools.partial(_remove_file, path))


def _remove_file(path):
    """Remove a file if it is there; a file that cannot be removed is left (and logged)."""
    try:
        os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as exc:
        logging.getLogger('kokoropy').warning('kokoropy: cannot remove %s: %s', path, exc)


class Password(Field):
    """A password, stored only as a salted hash (scrypt, or PBKDF2-SHA256 without it).

    Assigning plain text marks it for hashing by the next save(); validation (`min_length`,
    `max_length`) applies to the plain text. Check a password with
    `instance.check_password(name, plain)` or `field.check_password(stored, plain)`.
    as_dict() never includes it.
    """

    type_name = 'password'
    input_type = 'password'
    is_data_descriptor = True
    messages = String.messages

    def __init__(self, min_length=None, max_length=1024, **options):
        Field.__init__(self, **options)
        self.min_length = min_length
        self.max_length = max_length

    def __get__(self, instance, owner):
        if instance is None:
            return self
        return instance.__dict__.get(self.column)

    def __set__(self, instance, value):
        if value is not None and not isinstance(value, _PlainPassword):
            value = _PlainPassword(value)
        instance.__dict__[self.column] = value

    def to_python(self, raw):
        """The password as typed ('' gives None: forms keep the stored hash then)."""
        return None if raw is None or raw == '' else str(raw)

    def check(self, value):
        if not isinstance(value, _PlainPassword):
            return None  # a stored hash
        return String.check(self, value)

    def hash(self, plain):
        """A salted hash of `plain` in a self-describing text format."""
        return _hash_password(plain)

    def check_password(self, stored, plain):
        """True when `plain` matches `stored` (a hash, or plain text not yet saved)."""
        if stored is None or plain is None:
            return False
        if isinstance(stored, _PlainPassword):
            return hmac.compare_digest(str(stored).encode('utf-8'), str(plain).encode('utf-8'))
        return _verify_password(stored, plain)

    def to_db(self, value):
        return self.hash(value) if isinstance(value, _PlainPassword) else value

    def declaration_options(self):
        return [('min_length', self.min_length, None),
                ('max_length', self.max_length, 1024)] + Field.declaration_options(self)


class Integer(Field):
    """A whole number between `min_value` and `max_value` (when given)."""

    type_name = 'integer'
    input_type = 'number'
    step = '1'
    quick_type = int
    largest = MAX_ROW_ID    # beyond it the database cannot store the number
    messages = dict(Field.messages, type='{label} must be a whole number.')

    def __init__(self, min_value=None, max_value=None, **options):
        Field.__init__(self, **options)
        self.min_value = min_value
        self.max_value = max_value
        # Fast-path bounds; NaN and infinities fail them and take the full check.
        self._quick_low = -self.largest if min_value is None else min_value
        self._quick_high = self.largest if max_value is None else max_value
        if self.choices:
            self._quick_low, self._quick_high = 1, 0

    def validate(self, value):
        if value.__class__ is self.quick_type and self._quick_low <= value <= self._quick_high:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not Integer.validate:
            return None
        return (self.quick_type, self._quick_low, self._quick_high, False)

    def to_python(self, raw):
        """An int from text such as '42' (or '42.0'); '' gives None."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, int) and not isinstance(raw, bool):
            return raw
        if isinstance(raw, str):
            try:
                return int(raw.strip())
            except ValueError:
                pass
        try:
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ValueError(self.message('type'))
        if isinstance(raw, bool) or not math.isfinite(number) or number != int(number):
            raise ValueError(self.message('type'))
        return int(number)

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, int):
            return self.message('type')
        return self._check_range(value)

    def _check_range(self, value):
        if not -self.largest <= value <= self.largest:
            return self.message('type')
        if self.min_value is not None and value < self.min_value:
            return self.message('min_value')
        if self.max_value is not None and value > self.max_value:
            return self.message('max_value')
        return None

    def declaration_options(self):
        return [('min_value', self.min_value, None),
                ('max_value', self.max_value, None)] + Field.declaration_options(self)


class Float(Integer):
    """A (finite) floating point number between `min_value` and `max_value` (when given)."""

    type_name = 'float'
    step = 'any'
    quick_type = float
    largest = sys.float_info.max
    messages = dict(Field.messages, type='{label} must be a number.')

    def to_python(self, raw):
        """A float from text such as '3.5'; '' gives None."""
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            return None
        if isinstance(raw, bool):
            raise ValueError(self.message('type'))
        try:
            number = float(raw.strip() if isinstance(raw, str) else raw)
        except (TypeError, ValueError):
            raise ValueError(self.message('type'))
        if not math.isfinite(number):
            raise ValueError(self.message('type'))
        return number

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, (int, float)) \
                or not math.isfinite(value):
            return self.message('type')
        return self._check_range(value)


class Boolean(Field):
    """True or False (a checkbox); a BOOLEAN column (1 or 0 on sqlite). The default is False."""

    type_name = 'boolean'
    input_type = 'checkbox'
    is_data_descriptor = True
    converts_to_db = True
    messages = dict(Field.messages, type='{label} must be yes or no.')
    true_words = frozenset(['1', 'true', 'on', 'yes', 'y', 't'])
    false_words = frozenset(['', '0', 'false', 'off', 'no', 'n', 'f'])

    def __init__(self, default=False, **options):
        Field.__init__(self, default=default, **options)

    def validate(self, value):
        if (value is True or value is False) and not self.choices:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not Boolean.validate:
            return None
        return (bool, False, True, False)

    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = instance.__dict__.get(self.column)
        if value is None or value.__class__ is bool or value not in (0, 1):
            return value
        value = instance.__dict__[self.column] = bool(value)  # stored 0/1, converted once
        return value

    __set__ = Field._set_as_given

    def to_python(self, raw):
        """True for '1', 'true', 'on', 'yes'; False for '', '0', 'false', 'off', 'no' or None
        (an unchecked checkbox sends nothing)."""
        if raw is None:
            return False
        if isinstance(raw, bool):
            return raw
        word = str(raw).strip().lower()
        if word in self.true_words:
            return True
        if word in self.false_words:
            return False
        raise ValueError(self.message('type'))

    def check(self, value):
        return None if value in (True, False) else self.message('type')

    def from_db(self, value):
        return None if value is None else bool(value)

    def to_db(self, value):
        # 1 and 0 pass validation; PostgreSQL's BOOLEAN column takes True and False only.
        return value if value.__class__ is bool else bool(value)

    def declaration_options(self):
        options = Field.declaration_options(self)
        options[2] = ('default', self.default, False)
        return options


class Date(Field):
    """A calendar date, stored as 'YYYY-MM-DD' text (so it sorts and compares in SQL)."""

    type_name = 'date'
    input_type = 'date'
    is_data_descriptor = True
    converts_to_db = True
    messages = dict(Field.messages, type='{label} must be a date like 2024-12-31.')

    def __get__(self, instance, owner):
        if instance is None:
            return self
        value = instance.__dict__.get(self.column)
        if value.__class__ is str:
            # Converted on first read, not when the row is loaded: most reads never need it.
            try:
                value = instance.__dict__[self.column] = self.from_db(value)
            except ValueError:
                pass
        return value

    __set__ = Field._set_as_given

    def to_python(self, raw):
        """A date from 'YYYY-MM-DD' text; '' gives None."""
        if raw is None or isinstance(raw, datetime.date):
            return _as_date(raw) if isinstance(raw, datetime.datetime) else raw
        if not str(raw).strip():
            return None
        try:
            return self.from_db(str(raw).strip())
        except ValueError:
            raise ValueError(self.message('type'))

    def from_db(self, value):
        if value is None or isinstance(value, datetime.date):
            return value
        return _parse_iso_date(value[:10])

    def to_db(self, value):
        if value.__class__ is str:
            if len(value) == 10 and value[4] == '-':
                return value  # already the stored form
            value = self.to_python(value)
        return _as_date(value).isoformat()

    def to_json(self, value):
        return value.isoformat() if isinstance(value, datetime.date) else value

    def check(self, value):
        if isinstance(value, datetime.date):
            return None
        if isinstance(value, str):
            try:
                self.to_python(value)
                return None
            except ValueError:
                pass
        return self.message('type')


class DateTime(Date):
    """A date and time, stored as 'YYYY-MM-DD HH:MM:SS.ffffff' text.

    Naive datetimes are stored as given; aware ones are converted to UTC first. The automatic
    `created_at` and `updated_at` columns hold naive UTC times.
    """

    type_name = 'datetime'
    input_type = 'datetime-local'
    messages = dict(Field.messages,
                    type='{label} must be a date and time like 2024-12-31 23:59.')

    def to_python(self, raw):
        """A datetime from ISO text ('2024-12-31T23:59', '2024-12-31 23:59:59', a trailing
        'Z' for UTC); '' gives None."""
        if raw is None or isinstance(raw, datetime.datetime):
            return raw
        if isinstance(raw, datetime.date):
            return datetime.datetime(raw.year, raw.month, raw.day)
        text = str(raw).strip()
        if not text:
            return None
        try:
            return self.from_db(text[:-1] + '+00:00' if text.endswith('Z') else text)
        except ValueError:
            raise ValueError(self.message('type'))

    def from_db(self, value):
        if value is None or isinstance(value, datetime.datetime):
            return value
        return _parse_iso_datetime(value)

    def to_db(self, value):
        if value.__class__ is str:
            if len(value) == 26 and value[10] == ' ':
                return value  # already the stored form
            value = self.to_python(value)
        elif not isinstance(value, datetime.datetime):
            value = self.to_python(value)
        if value.tzinfo is not None:
            value = value.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return value.isoformat(' ', 'microseconds')

    def check(self, value):
        if isinstance(value, datetime.date):
            return None
        return Date.check(self, value)



# ISO 8601 as stored and as typed in forms: 'YYYY-MM-DD', a 'T' or ' ', then HH:MM[:SS[.ffffff]]
# and an optional +HH:MM offset. Parsed here rather than by fromisoformat(), which Python 3.6
# lacks and which accepts different forms from one Python version to the next.
_ISO_DATE = re.compile(r'([0-9]{4})-([0-9]{2})-([0-9]{2})\Z')
_ISO_DATETIME = re.compile(r'([0-9]{4})-([0-9]{2})-([0-9]{2})'
                           r'(?:[T ]([0-9]{2})(?::([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?)?)?'
                           r'(?:([+-])([0-9]{2}):?([0-9]{2}))?\Z')


def _parse_iso_date(text):
    """A date from 'YYYY-MM-DD'; raises ValueError for anything else or an impossible day."""
    match = _ISO_DATE.match(text)
    if match is None:
        raise ValueError('not an ISO date: %r' % (text,))
    return datetime.date(*map(int, match.groups()))


def _parse_iso_datetime(text):
    """A datetime from ISO text (see _ISO_DATETIME), aware when it has an offset.

    Raises ValueError for anything else or an impossible date or time.
    """
    match = _ISO_DATETIME.match(text)
    if match is None:
        raise ValueError('not an ISO date and time: %r' % (text,))
    year, month, day, hour, minute, second, fraction, sign, off_hours, off_minutes = \
        match.groups()
    zone = None
    if sign:
        offset = datetime.timedelta(hours=int(off_hours), minutes=int(off_minutes))
        zone = datetime.timezone(-offset if sign == '-' else offset)
    return datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                             int(second or 0), int((fraction or '0').ljust(6, '0')), zone)

class ForeignKey(Field):
    """A reference to a row of another model (`to`: the class, its name, or a table name).

    Declared as `category = ForeignKey(Category)`, the column is `category_id` (the raw id) and
    `product.category` loads and caches the related row; assign an instance or an id. The
    related model gets a reverse attribute `related_name` (default: this model's table name +
    's', e.g. `category.products`) giving a Query. `on_delete` is 'CASCADE', 'SET NULL' or
    'RESTRICT' (refused deletes raise RestrictedDeleteError); the database enforces it.
    """

    type_name = 'foreignkey'
    input_type = 'select'
    is_data_descriptor = True
    messages = dict(Field.messages, type='{label} must be chosen from the list.')

    def __init__(self, to, on_delete='CASCADE', related_name=None, **options):
        Field.__init__(self, **options)
        on_delete = str(on_delete).upper()
        if on_delete not in ON_DELETE_RULES:
            raise ValueError('on_delete must be one of %s, not %r'
                             % (', '.join(ON_DELETE_RULES), on_delete))
        self.to = to
        self.on_delete = on_delete
        self.related_name = related_name

    def column_for(self, name):
        return name if name.endswith('_id') else name + '_id'

    def bind(self, model, name):
        Field.bind(self, model, name)
        self._cache_key = '_related_' + name

    @property
    def related_model(self):
        """The Model class referred to (raises FieldError when it is not defined)."""
        if isinstance(self.to, type):
            if self.__dict__.get('_checked_to') is not self.to:
                _check_same_database(self, self.to)
                self._checked_to = self.to
            return self.to
        model = _find_model(self.to, self.model)
        if model is None:
            raise FieldError('ForeignKey %s refers to %r, which is not a defined model'
                             % (self._owner_name(), self.to))
        _check_same_database(self, model)
        return model

    @property
    def related_table(self):
        """The table referred to (a string `to` that names no model is taken as a table)."""
        if isinstance(self.to, type):
            return self.to._meta.table
        model = _find_model(self.to, self.model)
        return model._meta.table if model is not None else self.to

    def reverse_name(self):
        """The attribute the related model gets for the reverse query."""
        return self.related_name or self.model._meta.table + 's'

    def __get__(self, instance, owner):
        if instance is None:
            return self
        values = instance.__dict__
        related_id = values.get(self.column)
        cached = values.get(self._cache_key)
        if related_id is None:
            return cached  # None, or an instance assigned before it was saved
        if cached is not None and cached.__dict__.get('id') == related_id:
            return cached
        related = self.related_model.get(related_id, with_trashed=True)
        values[self._cache_key] = related
        return related

    def __set__(self, instance, value):
        values = instance.__dict__
        if _is_model_instance(value):
            if not isinstance(value, self.related_model):
                raise TypeError('%s must be a %s, not a %s' % (
                    self._owner_name(), self.related_model.__name__, type(value).__name__))
            values[self.column] = value.__dict__.get('id')
            values[self._cache_key] = value
        else:
            values[self.column] = value
            values.pop(self._cache_key, None)

    def to_python(self, raw):
        """The related row's id from a submitted value; '' gives None."""
        if _is_model_instance(raw):
            return raw.id
        if raw is None or isinstance(raw, bool):
            return None if raw is None else self._refuse()
        if isinstance(raw, int):
            return raw
        text = str(raw).strip()
        if not text:
            return None
        if not _is_digits(text) or int(text) > MAX_ROW_ID:
            self._refuse()
        return int(text)

    def to_db(self, value):
        return value.id if _is_model_instance(value) else value

    def validate(self, value):
        if value.__class__ is int and not self.choices:
            return None
        return Field.validate(self, value)

    def _quick_rule(self):
        if self.choices or type(self).validate is not ForeignKey.validate:
            return None
        return (int, -math.inf, math.inf, False)

    def check(self, value):
        if value.__class__ is bool or not isinstance(value, int):
            return self.message('type')
        return None

    def declaration_arguments(self):
        return [repr(self.related_table)]

    def declaration_options(self):
        return [('on_delete', self.on_delete, 'CASCADE'),
                ('related_name', self.related_name, None)] + Field.declaration_options(self)

    def _refuse(self):
        raise ValueError(self.message('type'))

    def _owner_name(self):
        return '%s.%s' % (self.model.__name__, self.name) if self.model else repr(self)


_MODELS = {}
_PENDING_RELATIONS = []
_registry_lock = threading.RLock()
# The clock's text cached per millisecond, (start, 'YYYY-MM-DD HH:MM:SS.mmm'), and per
# second, (start, 'YYYY-MM-DD HH:MM:SS.'), starts in nanoseconds: see _now_text().
_clock = [(-1000000, '')]
_clock_second = [(0, '1970-01-01 00:00:00.')]
_THREE_DIGITS = tuple('%03d' % number for number in range(1000))


class _PlainPassword(str):
    """A password assigned as plain text and not yet hashed (the next save hashes it)."""

    __slots__ = ()


def _label_from_name(name):
    """'unit_price' -> 'Unit price'; 'id' -> 'ID'."""
    label = _LABELS.get(name)
    if label is None:     # 4096: the names of fields are few
        label = _remember(_LABELS, name, 'ID' if name == 'id' else
                          name.replace('_', ' ').strip().capitalize(), 4096)
    return label


_LABELS = {}    # see _label_from_name()


def _normalise_choices(choices):
    """Choices as a list of (value, label) pairs."""
    pairs = []
    for choice in choices or ():
        if isinstance(choice, (tuple, list)) and len(choice) == 2:
            pairs.append((choice[0], choice[1]))
        else:
            pairs.append((choice, str(choice)))
    return pairs


def _time_ns_from_float():
    """time.time_ns() for Python 3.6, to the microsecond (all that is stored)."""
    return int(time.time() * 1000000) * 1000


_clock_ns = getattr(time, 'time_ns', None) or _time_ns_from_float


def _now_text(time_ns=_clock_ns):
    """The current UTC time as stored: 'YYYY-MM-DD HH:MM:SS.ffffff'.

    Built by hand with the part up to the milliseconds cached for the current millisecond:
    formatting a datetime costs a third of a whole INSERT, and every save stamps updated_at.
    Then the microseconds are a table's three digits, with no int-to-text conversion.
    (Model.create()'s compiled code does the same without the call: keep the two alike.)
    """
    nanoseconds = time_ns()
    start, prefix = _clock[0]
    offset = nanoseconds - start
    if not 0 <= offset < 1000000:
        start, prefix = _clock_millisecond(nanoseconds)
        offset = nanoseconds - start
    return prefix + _THREE_DIGITS[offset // 1000]


def _clock_millisecond(nanoseconds):
    """Cache and return (start, 'YYYY-MM-DD HH:MM:SS.mmm') of the millisecond holding
    `nanoseconds`; the text up to the seconds is cached for its second."""
    start = nanoseconds - nanoseconds % 1000000
    second, text = _clock_second[0]
    if not second <= start < second + 1000000000:
        second = start - start % 1000000000
        text = time.strftime('%Y-%m-%d %H:%M:%S.', time.gmtime(second // 1000000000))
        _clock_second[0] = (second, text)  # one tuple: no thread sees half of it
    clock = _clock[0] = (start, text + _THREE_DIGITS[(start - second) // 1000000])
    return clock


def _as_date(value):
    return value.date() if isinstance(value, datetime.datetime) else value


def _is_model_instance(value):
    """True for an instance of a Model class (section 8c; recognised by its table info)."""
    return getattr(type(value), '_meta', None) is not None


def _find_model(name, near=None):
    """The model class called `name` (the one in `near`'s module first) or whose table is
    `name`; None when there is none."""
    candidates = [ref() for ref in _MODELS.get(name, ())]
    candidates = [model for model in candidates if model is not None]
    if not candidates:
        for refs in list(_MODELS.values()):
            candidates += [ref() for ref in refs if ref() is not None and
                           ref()._meta.table == name]
    if near is not None:
        application = _application_of_module(near.__module__)
        local = [model for model in candidates if model.__module__ == near.__module__] or \
            [model for model in candidates if application is not None and
             _application_of_module(model.__module__) == application]
        candidates = local or candidates
    return candidates[-1] if candidates else None


def _check_same_database(field, related):
    """A reference holds an id of the same database: refuse one to a model whose application
    keeps its tables in another database (an application's own DATABASE_URL)."""
    own = getattr(field.model._meta, 'database_url', None)
    other = getattr(related._meta, 'database_url', None)
    if own != other:
        raise FieldError('ForeignKey %s refers to %s.%s, whose rows live in another database '
                         '(%s, not %s): a reference can only join tables of one database' % (
                             field._owner_name(), related.__module__, related.__name__,
                             other or 'the site database', own or 'the site database'))


def _application_of_module(module_name):
    """'demo' for 'applications.demo.models.pokemon'; None outside an application."""
    parts = module_name.split('.')
    return parts[1] if len(parts) > 2 and parts[0] == 'applications' else None


def _hash_password(plain):
    """A salted hash of a password: 'scrypt$n$r$p$salt$hash', or 'pbkdf2_sha256$iterations$
    salt$hash' where OpenSSL has no scrypt. The parameters are stored so they can be raised
    later without breaking old hashes."""
    secret = str(plain).encode('utf-8')
    salt = secrets.token_bytes(16)
    if hasattr(hashlib, 'scrypt'):
        digest = hashlib.scrypt(secret, salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                                maxmem=64 * 1024 * 1024, dklen=32)
        return 'scrypt$%d$%d$%d$%s$%s' % (SCRYPT_N, SCRYPT_R, SCRYPT_P, _b64encode(salt),
                                          _b64encode(digest))
    digest = hashlib.pbkdf2_hmac('sha256', secret, salt, PBKDF2_ITERATIONS)
    return 'pbkdf2_sha256$%d$%s$%s' % (PBKDF2_ITERATIONS, _b64encode(salt), _b64encode(digest))


def _verify_password(stored, plain):
    """True when `plain` hashes to `stored` (made by _hash_password); False for other text."""
    secret = str(plain).encode('utf-8')
    parts = str(stored).split('$')
    try:
        if parts[0] == 'scrypt' and len(parts) == 6:
            n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            expected = _b64decode(parts[5])
            digest = hashlib.scrypt(secret, salt=_b64decode(parts[4]), n=n, r=r, p=p,
                                    maxmem=max(64 * 1024 * 1024, 256 * n * r),
                                    dklen=len(expected))
        elif parts[0] == 'pbkdf2_sha256' and len(parts) == 4:
            expected = _b64decode(parts[3])
            digest = hashlib.pbkdf2_hmac('sha256', secret, _b64decode(parts[2]), int(parts[1]))
        else:
            return False
    except (ValueError, TypeError, AttributeError):
        return False
    return hmac.compare_digest(digest, expected)


_IDENTIFIER = re.compile(r'^[A-Za-z_][A-Za-z0-9_]*$')


def _check_identifier(name, what):
    """Refuse table and column names that are not plain identifiers (they are quoted anyway;
    this catches mistakes and hostile names early, with a clear message)."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ValueError('invalid %s %r: use letters, digits and _' % (what, name))


###############################################################################
# 8b. Database and dialects
# Database (one connection per thread, transactions, raw SQL, schema helpers), the URL forms,
# and one dialect class per backend that writes every SQL text and hides each driver's ways:
# SqliteDialect (stdlib sqlite3), PostgresDialect (psycopg 3 or pg8000, imported on first use).
# Uses section 8 (fields, for schema helpers), section 3 (HTTPError) and, for
# default_database(), the configured default_app() of section 4.
###############################################################################

__all__ += ['Database', 'default_database', 'set_default_database', 'SqliteDialect',
            'PostgresDialect', 'RestrictedDeleteError', 'DatabaseUnavailable']

DEFAULT_DATABASE_URL = 'sqlite:///db/kokoropy.db'
BUSY_TIMEOUT_SECONDS = 5.0
# The login counter of a user model (section 9b): written only by end_sessions(), never by a
# save() of a stale instance, which would bring ended sessions back.
AUTH_EPOCH_FIELD = 'auth_epoch'
# A request waits at most this long for PostgreSQL before its 503 page (?connect_timeout=N).
CONNECT_TIMEOUT_SECONDS = 3
# URL schemes -> the PostgreSQL driver they ask for (None: psycopg if installed, else pg8000).
POSTGRES_SCHEMES = {'postgresql': None, 'postgres': None, 'postgresql+psycopg': 'psycopg',
                    'postgresql+pg8000': 'pg8000'}


class RestrictedDeleteError(sqlite3.IntegrityError):
    """A delete was refused because rows of another model still refer to the row
    (ForeignKey(..., on_delete='RESTRICT')). Delete or reassign those rows first. It is a
    sqlite3.IntegrityError on every backend, so code written against sqlite keeps working."""


class DatabaseUnavailable(HTTPError):
    """The database cannot be reached (down, restarting, refusing connections, the connection
    lost). A request gets a 503 page; the next use of the database connects again, so the
    site recovers by itself when the database is back."""

    def __init__(self, message):
        HTTPError.__init__(self, 503, 'The database is unavailable right now; please try '
                           'again in a moment.', Retry_After='5')
        self.message = message

    def __str__(self):
        return 'database unavailable: %s' % self.message


_QUOTED_NAMES = {}     # identifier -> quoted name (see SqliteDialect.quote)


class SqliteDialect:
    """Writes every SQL text the ORM runs on sqlite and hides the sqlite3 module's ways:
    quoting, placeholders, types, statements, errors, introspection, table rebuilds.

    The query builder and the schema helpers only compose the pieces returned here, and values
    are always bound as parameters; PostgresDialect is the same interface for PostgreSQL.
    """

    name = 'sqlite'
    param = '?'
    float_param = '?'              # a float compared with an INTEGER column (the infinities)
    returning_clause = ''          # the new id comes from cursor.lastrowid
    true_sql, false_sql = '1', '0'
    limit_all = ' LIMIT -1'        # sqlite needs a LIMIT before an OFFSET
    integrity_errors = (sqlite3.IntegrityError,)
    column_types = {'integer': 'INTEGER', 'boolean': 'INTEGER', 'foreignkey': 'INTEGER',
                    'float': 'REAL'}
    default_column_type = 'TEXT'
    comparisons = {'eq': '=', 'ne': 'IS NOT', 'gt': '>', 'gte': '>=', 'lt': '<', 'lte': '<='}
    like_patterns = {'contains': '%%%s%%', 'startswith': '%s%%', 'endswith': '%%%s'}

    def open(self, database):
        """A new connection to the database's file (its folder created) or memory database;
        a memory database is kept alive by one more connection, opened first."""
        if database._is_memory and database._keeper is None:
            # A shared-cache memory database lives while one connection is open.
            database._keeper = _ThreadState(self.connect(database._target, database.timeout,
                                                         True))
        elif not database._is_memory:
            os.makedirs(os.path.dirname(os.path.abspath(database._target)), exist_ok=True)
        connection = self.connect(database._target, database.timeout, database._is_memory,
                                  set_journal=not database._journal_set)
        database._journal_set = True
        return connection

    def connect(self, target, timeout, is_uri=False, set_journal=False):
        """Open a connection in autocommit mode (the ORM issues BEGIN itself) with foreign keys,
        a busy timeout and, for files, write-ahead logging. A new database file is made 0600
        (SQLite gives its -wal and -shm files the same mode): it holds password hashes."""
        if not is_uri and target != ':memory:':
            _create_private_file(target)
        connection = sqlite3.connect(target, timeout=timeout, isolation_level=None,
                                     check_same_thread=False, uri=is_uri)
        connection.execute('PRAGMA foreign_keys = ON')
        # sqlite's LIKE folds ASCII only; this folds every script, as PostgreSQL's ILIKE does.
        connection.create_function('kokoropy_lower', 1, _lower_text)
        if not is_uri:
            if set_journal:
                # WAL: readers never wait for the writer, and commits need no fsync of the db.
                connection.execute('PRAGMA journal_mode = WAL')
            # NORMAL is durable against corruption in WAL mode; a power cut may lose the
            # latest commits only (https://sqlite.org/pragma.html#pragma_synchronous).
            connection.execute('PRAGMA synchronous = NORMAL')
        return connection

    def quote(self, identifier):
        """Return an identifier as a quoted SQL name (embedded quotes doubled)."""
        # Only text is remembered: 1, True and 1.0 are one dict key but three names.
        quoted = _QUOTED_NAMES.get(identifier) if identifier.__class__ is str else None
        if quoted is None:
            text = str(identifier)
            if not text or '\x00' in text:
                raise ValueError('invalid SQL identifier %r' % text)
            quoted = '"%s"' % text.replace('"', '""')
            if identifier.__class__ is str:     # 4096: the names of tables and columns: few
                _remember(_QUOTED_NAMES, identifier, quoted, 4096)
        return quoted

    def column_list(self, columns):
        """Quoted, comma-separated column names."""
        return ', '.join(self.quote(column) for column in columns)

    def literal(self, value):
        """SQL literal of a constant default (DDL only, where parameters are not allowed)."""
        if isinstance(value, bool):
            return self.true_sql if value else self.false_sql
        if isinstance(value, (int, float)):
            return repr(value)
        return "'%s'" % str(value).replace("'", "''")

    def column_type(self, field):
        """The declared column type of a field."""
        return self.column_types.get(field.type_name, self.default_column_type)

    # --- statements ---------------------------------------------------------------------

    def select(self, table, columns, where='', order='', limit=False, offset=False):
        """SELECT text; `columns` is already quoted; limit and offset become parameters."""
        sql = 'SELECT %s FROM %s' % (columns, self.quote(table))
        if where:
            sql += ' WHERE ' + where
        if order:
            sql += ' ORDER BY ' + order
        if limit:
            sql += ' LIMIT ' + self.param
        elif offset:
            sql += self.limit_all
        if offset:
            sql += ' OFFSET ' + self.param
        return sql

    def count(self, select_sql):
        """Count the rows of a SELECT."""
        return 'SELECT COUNT(*) FROM (%s) AS counted' % select_sql

    def insert(self, table, columns, computed=(), returning=False):
        """INSERT text binding `columns`; `computed` adds (column, SQL expression) pairs;
        `returning` makes the statement give the new id (see inserted_id())."""
        names = [self.quote(column) for column in columns]
        values = [self.param] * len(names)
        for column, expression in computed:
            names.append(self.quote(column))
            values.append(expression)
        sql = 'INSERT INTO %s (%s) VALUES (%s)' % (self.quote(table), ', '.join(names),
                                                   ', '.join(values))
        return sql + self.returning_clause if returning else sql

    # inserted_id(cursor): the id of the row an insert(returning=True) statement just added.
    # A C-level getter: save() calls it for every row.
    inserted_id = staticmethod(operator.attrgetter('lastrowid'))
    # True when that id is the cursor's lastrowid (PEP 249), which the compiled create() then
    # reads without a call.
    id_is_lastrowid = True

    def update(self, table, columns, where):
        """UPDATE text setting each column to a parameter."""
        assignments = ', '.join('%s = %s' % (self.quote(c), self.param) for c in columns)
        return 'UPDATE %s SET %s WHERE %s' % (self.quote(table), assignments,
                                              where or self.true_sql)

    def delete(self, table, where=''):
        """DELETE text."""
        sql = 'DELETE FROM %s' % self.quote(table)
        return sql + ' WHERE ' + where if where else sql

    def next_position(self, table, column):
        """Expression giving one more than the largest position (1 for an empty table)."""
        return '(SELECT COALESCE(MAX(%s), 0) + 1 FROM %s)' % (self.quote(column),
                                                              self.quote(table))

    def in_subquery(self, column, select_sql):
        """Condition `column IN (select)`, used to delete or update a limited query."""
        return '%s IN (%s)' % (self.quote(column), select_sql)

    def combine(self, parts, connector='AND', negated=False):
        """Conditions joined by AND or OR (always true when there are none), maybe negated."""
        if not parts:
            sql = self.true_sql
        elif len(parts) == 1:
            sql = parts[0]
        else:
            sql = '(%s)' % (' %s ' % connector).join(parts)
        return 'NOT (%s)' % sql if negated else sql

    def condition(self, column, operator, value):
        """SQL and parameters of one filter on `column` (an operator of FILTER_OPERATORS)."""
        name = self.quote(column)
        if operator == 'isnull':
            return name + (' IS NULL' if value else ' IS NOT NULL'), ()
        if operator == 'eq' and value is None:
            return name + ' IS NULL', ()
        if operator == 'in':
            if not value:
                return self.false_sql, ()  # "IN ()" is not SQL; an empty list matches no row
            return '%s IN (%s)' % (name, ', '.join([self.param] * len(value))), value
        if operator == 'like':
            return self.like(name), (value,)
        if operator in self.like_patterns:
            escaped = value.replace('\\', '\\\\').replace('%', '\\%').replace('_', '\\_')
            return (self.like(name) + " ESCAPE '\\'", (self.like_patterns[operator] % escaped,))
        placeholder = self.float_param if value.__class__ is float else self.param
        return '%s %s %s' % (name, self.comparisons[operator], placeholder), (value,)

    def like(self, name):
        """Case-insensitive LIKE (any script, as ILIKE) of a quoted column and a pattern."""
        return 'kokoropy_lower(%s) LIKE kokoropy_lower(%s)' % (name, self.param)

    def order_term(self, column, descending):
        """One ORDER BY term."""
        return self.quote(column) + (' DESC' if descending else '')

    # --- running statements -------------------------------------------------------------

    def query(self, connection, sql, params):
        """Rows of a SELECT that can be read by index or by column name."""
        cursor = connection.cursor()
        cursor.row_factory = sqlite3.Row
        return cursor.execute(sql, params).fetchall()

    def violation(self, exc):
        """('unique', [columns]) or ('reference', None) for an integrity error of this
        backend, else None. sqlite names the columns in its message only."""
        message = str(exc)
        if message.startswith('UNIQUE constraint failed:'):
            return 'unique', [name.strip().split('.')[-1]
                              for name in message.split(':', 1)[1].split(',')]
        if 'FOREIGN KEY' in message:
            return 'reference', None
        return None

    def in_transaction(self, connection):
        """True while the connection has an open transaction."""
        return connection.in_transaction

    # reset_sequence(table): SQL moving the id sequence past the rows' ids after rows were
    # inserted with their ids given; None where there is none (sqlite takes MAX(id) + 1).
    reset_sequence = None

    def lock_migrations(self, database):
        """Make other hosts' migration runs wait for this transaction; BEGIN IMMEDIATE (see
        begin()) already holds sqlite's write lock."""

    # --- transactions -------------------------------------------------------------------

    def begin(self):
        """Start a transaction. IMMEDIATE takes the write lock at once, so two writers wait
        for each other (busy timeout) instead of failing when a read turns into a write."""
        return 'BEGIN IMMEDIATE'

    def savepoint(self, name):
        """Open a nested transaction."""
        return 'SAVEPOINT ' + self.quote(name)

    def release(self, name):
        """Keep a nested transaction's changes."""
        return 'RELEASE SAVEPOINT ' + self.quote(name)

    def commit(self):
        """End a transaction, keeping its changes."""
        return 'COMMIT'

    def rollback(self):
        """End a transaction, undoing its changes."""
        return 'ROLLBACK'

    def rollback_to(self, name):
        """Undo a nested transaction's changes."""
        return 'ROLLBACK TO SAVEPOINT ' + self.quote(name)

    # --- schema -------------------------------------------------------------------------

    def column_definition(self, field):
        """Column definition of a bound field, with its default and foreign key clause."""
        if field.primary_key:
            return self.primary_key(field)
        sql = '%s %s' % (self.quote(field.column), self.column_type(field))
        default = field.default
        if default is not None and not callable(default):
            db_value = field.to_db(default)
            if isinstance(db_value, (str, int, float)):
                sql += ' DEFAULT ' + self.literal(db_value)
        if isinstance(field, ForeignKey):
            sql += ' REFERENCES %s (%s) ON DELETE %s' % (
                self.quote(field.related_table), self.quote('id'), field.on_delete)
        return sql

    def primary_key(self, field):
        """The definition of the `id` column (an alias of sqlite's rowid)."""
        return '%s INTEGER PRIMARY KEY' % self.quote(field.column)

    def create_table(self, table, fields, if_not_exists=False):
        """CREATE TABLE text from bound fields."""
        return 'CREATE TABLE %s%s (%s)' % ('IF NOT EXISTS ' if if_not_exists else '',
                                           self.quote(table),
                                           ', '.join(self.column_definition(f) for f in fields))

    def drop_table(self, table, if_exists=False):
        """DROP TABLE text."""
        return 'DROP TABLE %s%s' % ('IF EXISTS ' if if_exists else '', self.quote(table))

    def rename_table(self, table, new_name):
        """ALTER TABLE ... RENAME TO text."""
        return 'ALTER TABLE %s RENAME TO %s' % (self.quote(table), self.quote(new_name))

    def add_column(self, table, field):
        """ALTER TABLE ... ADD COLUMN text."""
        return 'ALTER TABLE %s ADD COLUMN %s' % (self.quote(table), self.column_definition(field))

    def create_index(self, name, table, columns, unique=False, if_not_exists=False):
        """CREATE INDEX text."""
        return 'CREATE %sINDEX %s%s ON %s (%s)' % ('UNIQUE ' if unique else '',
                                                  'IF NOT EXISTS ' if if_not_exists else '',
                                                  self.quote(name), self.quote(table),
                                                  self.column_list(columns))

    def drop_index(self, name, if_exists=False):
        """DROP INDEX text."""
        return 'DROP INDEX %s%s' % ('IF EXISTS ' if if_exists else '', self.quote(name))

    def rename_column(self, database, table, old, new):
        """Rename a column: natively on sqlite 3.25+, else by rebuilding the table."""
        if sqlite3.sqlite_version_info >= (3, 25, 0):
            database.execute('ALTER TABLE %s RENAME COLUMN %s TO %s' % (
                self.quote(table), self.quote(old), self.quote(new)))
        else:
            _rebuild(database, table, rename={old: new})

    def drop_column(self, database, table, column):
        """Remove a column by rebuilding the table (sqlite's documented procedure), keeping
        the rows and the indexes that do not use the column."""
        _rebuild(database, table, drop=column)

    # --- introspection ------------------------------------------------------------------

    def tables(self, database):
        """The names of the user tables, sorted."""
        return [row[0] for row in database.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")]

    def columns(self, database, table):
        """The column names of a table in order ([] when the table does not exist)."""
        return [row[1] for row in database.execute('PRAGMA table_info(%s)' % self.quote(table))]

    @contextlib.contextmanager
    def schema_change(self, database):
        """A transaction for a migration: foreign keys off (outside the transaction, as sqlite
        requires) so that a table rebuild does not cascade, and all checked before commit."""
        with _foreign_keys_disabled(database):
            with database.transaction():
                yield
                _check_foreign_keys(database)


def _lower_text(value):
    """sqlite function kokoropy_lower(): Unicode lower case of text, other values unchanged."""
    return value.lower() if isinstance(value, str) else value


@contextlib.contextmanager
def _foreign_keys_disabled(database):
    """Switch sqlite's foreign key enforcement off around a schema change (sqlite ignores the
    switch inside a transaction, so this must wrap the transaction)."""
    if database.in_transaction:
        raise RuntimeError('foreign keys can only be switched off outside a transaction')
    connection = database.connection()
    connection.execute('PRAGMA foreign_keys = OFF')
    try:
        yield
    finally:
        connection.execute('PRAGMA foreign_keys = ON')


def _check_foreign_keys(database):
    """Raise sqlite3.IntegrityError naming the first row whose foreign key points nowhere."""
    problem = database.execute('PRAGMA foreign_key_check').fetchone()
    if problem is not None:
        raise sqlite3.IntegrityError(
            'foreign key check failed: row %s of table %r refers to a missing row of %r'
            % (problem[1], problem[0], problem[2]))


def _rebuild(database, table, drop=None, rename=None):
    """Rebuild a sqlite table without column `drop` and/or with columns renamed, in a
    transaction; foreign keys must be off while the old table is dropped (it would cascade)."""
    if not database.in_transaction:
        with _foreign_keys_disabled(database):
            with database.transaction():
                _rebuild_table(database, table, drop, rename or {})
                _check_foreign_keys(database)
        return
    enforced = database.execute('PRAGMA foreign_keys').fetchone()[0]
    if enforced and _is_referenced(database, table):
        raise RuntimeError(
            'cannot rebuild table %r inside a transaction while foreign keys are enforced: '
            'other rows refer to it. Run it in a migration or outside transaction()' % table)
    _rebuild_table(database, table, drop, rename or {})


def _is_referenced(database, table):
    """True when a foreign key of any table (itself included) refers to `table`."""
    for other in database.tables():
        for row in database.execute('PRAGMA foreign_key_list(%s)' % database.dialect.quote(other)):
            if row[2].lower() == table.lower():
                return True
    return False


def _rebuild_table(database, table, drop, rename):
    """sqlite's 12-step table change (https://sqlite.org/lang_altertable.html, section 7):
    create the new table, copy the rows, drop the old one, rename, recreate the indexes."""
    dialect = database.dialect
    info = database.execute('PRAGMA table_info(%s)' % dialect.quote(table)).fetchall()
    if not info:
        raise ValueError('no table %r' % table)
    kept = [row for row in info if row[1] != drop]
    new_names = [rename.get(row[1], row[1]) for row in kept]
    indexes = _index_definitions(database, table)
    temporary = '_kokoropy_rebuild_' + table
    database.execute(_rebuilt_table_sql(database, table, temporary, kept, drop, rename))
    database.execute('INSERT INTO %s (%s) SELECT %s FROM %s' % (
        dialect.quote(temporary), dialect.column_list(new_names),
        dialect.column_list(row[1] for row in kept), dialect.quote(table)))
    database.execute(dialect.drop_table(table))
    database.execute(dialect.rename_table(temporary, table))
    for name, unique, columns in indexes:
        if drop in columns:
            continue
        columns = [rename.get(column, column) for column in columns]
        database.execute(dialect.create_index(name, table, columns, unique))


def _index_definitions(database, table):
    """(name, unique, columns) of the named (not automatic) indexes of a table."""
    dialect = database.dialect
    found = []
    for row in database.execute('PRAGMA index_list(%s)' % dialect.quote(table)).fetchall():
        name, unique = row[1], bool(row[2])
        if name.startswith('sqlite_autoindex'):
            continue
        columns = _index_columns(database, name)
        found.append((name, unique, columns))
    return found


def _index_columns(database, index):
    """The column names of a sqlite index, in order."""
    sql = 'PRAGMA index_info(%s)' % database.dialect.quote(index)
    return [info[2] for info in database.execute(sql)]


def _rebuilt_table_sql(database, table, new_table, kept, drop, rename):
    """CREATE TABLE text for the rebuilt table, from the old one's columns and foreign keys."""
    dialect = database.dialect
    original = database.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                                (table,)).fetchone()[0] or ''
    autoincrement = ' AUTOINCREMENT' if 'AUTOINCREMENT' in original.upper() else ''
    primary = [row for row in kept if row[5]]
    references, constraints = _rebuilt_constraints(database, table, drop, rename)
    parts = []
    for cid, name, type_name, not_null, default, pk in kept:
        sql = '%s %s' % (dialect.quote(rename.get(name, name)), type_name or '')
        if pk and len(primary) == 1:
            sql += ' PRIMARY KEY' + (autoincrement if type_name.upper() == 'INTEGER' else '')
        if not_null:
            sql += ' NOT NULL'
        if default is not None:
            sql += ' DEFAULT ' + default
        parts.append(sql.strip() + references.get(name, ''))
    if len(primary) > 1:
        parts.append('PRIMARY KEY (%s)' % dialect.column_list(
            rename.get(row[1], row[1]) for row in sorted(primary, key=lambda row: row[5])))
    parts += constraints
    return 'CREATE TABLE %s (%s)' % (dialect.quote(new_table), ', '.join(parts))


def _rebuilt_constraints(database, table, drop, rename):
    """The old table's foreign keys and UNIQUE constraints that do not use the dropped column:
    ({column: ' REFERENCES ...'} for one-column keys, [table constraints] for the others)."""
    dialect = database.dialect
    references, parts, keys = {}, [], {}
    for row in database.execute('PRAGMA foreign_key_list(%s)' % dialect.quote(table)).fetchall():
        keys.setdefault(row[0], []).append(row)
    for rows in keys.values():
        sources = [row[3] for row in rows]
        if drop in sources:
            continue
        targets = [row[4] for row in rows]
        clause = ' REFERENCES %s%s%s ON DELETE %s' % (
            dialect.quote(rows[0][2]),
            ' (%s)' % dialect.column_list(targets) if all(targets) else '',
            '' if rows[0][5] == 'NO ACTION' else ' ON UPDATE ' + rows[0][5], rows[0][6])
        if len(sources) == 1:
            references[sources[0]] = clause
        else:
            parts.append('FOREIGN KEY (%s)%s' % (
                dialect.column_list(rename.get(s, s) for s in sources), clause))
    for row in database.execute('PRAGMA index_list(%s)' % dialect.quote(table)).fetchall():
        if row[1].startswith('sqlite_autoindex') and row[2]:
            columns = _index_columns(database, row[1])
            if drop not in columns:
                parts.append('UNIQUE (%s)' % dialect.column_list(
                    rename.get(c, c) for c in columns))
    return references, parts


class PostgresDialect(SqliteDialect):
    """The SqliteDialect interface for PostgreSQL, through psycopg 3 or pg8000.

    `driver` is 'psycopg', 'pg8000' or None (psycopg when installed, else pg8000); the module
    is imported on the first connection, so a sqlite site never needs it. Differences kept
    here: %s placeholders, RETURNING id, real BOOLEAN/DATE/TIMESTAMP columns, ILIKE, null-safe
    IS DISTINCT FROM, information_schema introspection, native ALTER TABLE, an advisory lock
    for migrations, and driver errors read by SQLSTATE.
    """

    name = 'postgresql'
    param = '%s'
    # A driver may send a parameter untyped and let the server take the column's type, and
    # 'inf' is no bigint: say it is a float (beyond-64-bit integers are bound as infinities).
    float_param = 'CAST(%s AS DOUBLE PRECISION)'
    returning_clause = ' RETURNING "id"'
    id_is_lastrowid = False         # the id is the row RETURNING gives: inserted_id()
    true_sql, false_sql = 'TRUE', 'FALSE'
    limit_all = ''                  # PostgreSQL takes an OFFSET alone
    column_types = {'integer': 'BIGINT', 'boolean': 'BOOLEAN', 'foreignkey': 'BIGINT',
                    'float': 'DOUBLE PRECISION', 'date': 'DATE', 'datetime': 'TIMESTAMP'}
    comparisons = dict(SqliteDialect.comparisons, ne='IS DISTINCT FROM')
    # Any number the same for every host: pg_advisory_xact_lock's key for migration runs.
    MIGRATION_LOCK_KEY = 0x6b6f6b6f

    def __init__(self, driver=None):
        self.driver_name = driver
        self.driver = None
        self.integrity_errors = ()  # the driver's error class, once it is imported

    def open(self, database):
        """Connect with the database's URL settings (DatabaseUnavailable when it fails)."""
        if self.driver is None:
            self.driver = _postgres_driver(self.driver_name)
            self.integrity_errors = (self.driver.error,)
        params = dict(database._target)
        timeout = float(params.pop('connect_timeout', CONNECT_TIMEOUT_SECONDS))
        try:
            raw = self.driver.connect(params, timeout)
        except (self.driver.error, OSError) as exc:
            raise DatabaseUnavailable('cannot connect to %s: %s' % (
                _redacted_url(database.url), _first_line(exc))) from exc
        return _PostgresConnection(raw, self.driver, database._forget_state)

    def inserted_id(self, cursor):
        return cursor.fetchone()[0]

    def like(self, name):
        return '%s ILIKE %s' % (name, self.param)

    def query(self, connection, sql, params):
        cursor = connection.execute(sql, params)
        names = [column[0] for column in cursor.description or ()]
        return [_Row(names, row) for row in cursor.fetchall()]

    def violation(self, exc):
        state, detail = self.driver.sqlstate(exc), self.driver.detail(exc) or ''
        kind = {'23505': 'unique', '23503': 'reference'}.get(state)
        if kind is None:
            return None
        match = re.match(r'Key \((.+?)\)=', detail)
        columns = [name.strip().strip('"') for name in match.group(1).split(',')] \
            if match else None
        return kind, columns

    def lock_migrations(self, database):
        """Two hosts running migration-upgrade at once: the second waits here until the first
        commits, then sees its history rows (released at the end of the transaction)."""
        database.execute('SELECT pg_advisory_xact_lock(%s)', (self.MIGRATION_LOCK_KEY,))

    def begin(self):
        return 'BEGIN'

    def order_term(self, column, descending):
        # sqlite sorts NULL below every value; the same order here (id is never NULL).
        if column == 'id':
            return SqliteDialect.order_term(self, column, descending)
        return self.quote(column) + (' DESC NULLS LAST' if descending else ' NULLS FIRST')

    def primary_key(self, field):
        return '%s BIGSERIAL PRIMARY KEY' % self.quote(field.column)

    def reset_sequence(self, table):
        """SQL moving the id sequence past the table's ids (after rows inserted with ids)."""
        return ("SELECT setval(pg_get_serial_sequence(%s, 'id'), (SELECT COALESCE(MAX(%s), 0) "
                "+ 1 FROM %s), false)" % (self.literal(self.quote(table)), self.quote('id'),
                                          self.quote(table)))

    def rename_column(self, database, table, old, new):
        database.execute('ALTER TABLE %s RENAME COLUMN %s TO %s' % (
            self.quote(table), self.quote(old), self.quote(new)))

    def drop_column(self, database, table, column):
        database.execute('ALTER TABLE %s DROP COLUMN %s' % (self.quote(table),
                                                            self.quote(column)))

    def tables(self, database):
        return [row[0] for row in database.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name COLLATE \"C\"")]

    def columns(self, database, table):
        return [row[0] for row in database.execute(
            'SELECT column_name FROM information_schema.columns WHERE table_schema = '
            'current_schema() AND table_name = %s ORDER BY ordinal_position', (table,))]

    def schema_change(self, database):
        """DDL is transactional in PostgreSQL: one transaction is all a migration needs."""
        return database.transaction()


class _Row(tuple):
    """A row readable by index or by column name, like sqlite3.Row."""

    def __new__(cls, names, values):
        row = tuple.__new__(cls, values)
        row._names = names
        return row

    def __getitem__(self, key):
        if isinstance(key, str):
            return tuple.__getitem__(self, self._names.index(key))
        return tuple.__getitem__(self, key)

    def keys(self):
        """The column names."""
        return list(self._names)


class _PostgresConnection:
    """A driver's connection with the part of sqlite3's interface the ORM uses (execute(),
    cursor(), executemany(), close(), in_transaction). A driver error that leaves the
    connection broken calls `forget` (the thread connects again next time) and becomes
    DatabaseUnavailable."""

    def __init__(self, raw, driver, forget):
        self.raw, self.driver, self.forget = raw, driver, forget
        self.errors = (driver.error, OSError)  # pg8000 lets socket errors through
        self.is_lost = False

    def cursor(self):
        try:
            return _PostgresCursor(self, self.raw.cursor())
        except self.errors as exc:
            raise self.lost(exc) or exc

    def execute(self, sql, params=()):
        return self.cursor().execute(_format_placeholders(sql), params)

    def executemany(self, sql, seq_of_params):
        return self.cursor().executemany(_format_placeholders(sql), seq_of_params)

    @property
    def in_transaction(self):
        return not self.is_lost and self.driver.in_transaction(self.raw)

    def close(self):
        try:
            self.raw.close()
        except Exception:  # closing a connection the server already dropped
            pass

    def lost(self, exc):
        """DatabaseUnavailable for a driver error that broke the connection, else None."""
        if not (isinstance(exc, OSError) or self.is_lost or self.driver.is_lost(exc, self.raw)):
            return None
        if not self.is_lost:
            self.is_lost = True
            self.forget()
        self.close()
        error = DatabaseUnavailable('connection lost: %s' % _first_line(exc))
        error.__cause__ = exc
        return error


# A quoted string or name, a ? placeholder, or a % sign: what _format_placeholders() rewrites.
_PLACEHOLDER_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\?|%")


def _format_placeholders(sql):
    """SQL written with ? placeholders (as for sqlite) in the drivers' %s style, so that raw
    SQL and migrations run unchanged on PostgreSQL; the ORM's own SQL has no ? and passes."""
    if '?' not in sql:
        return sql
    return _PLACEHOLDER_TOKENS.sub(_format_token, sql)


def _format_token(match):
    token = match.group(0)
    return '%s' if token == '?' else token.replace('%', '%%')


class _PostgresCursor:
    """A driver's cursor whose execute() returns itself and gives tuples, as sqlite3's does."""

    __slots__ = ('connection', 'raw')

    def __init__(self, connection, raw):
        self.connection, self.raw = connection, raw

    def execute(self, sql, params=()):
        try:
            # Without parameters the text is sent as is, so a literal % needs no doubling.
            self.raw.execute(sql, params if len(params) else self.connection.driver.no_params)
        except self.connection.errors as exc:
            raise self.connection.lost(exc) or exc
        return self

    def executemany(self, sql, seq_of_params):
        try:
            self.raw.executemany(sql, seq_of_params)
        except self.connection.errors as exc:
            raise self.connection.lost(exc) or exc
        return self

    def fetchone(self):
        row = self.raw.fetchone()
        return tuple(row) if row.__class__ is list else row

    def fetchall(self):
        rows = self.raw.fetchall()
        return [tuple(row) for row in rows] if rows and rows[0].__class__ is list else rows

    def __iter__(self):
        return iter(self.fetchall())

    @property
    def rowcount(self):
        return self.raw.rowcount

    @property
    def description(self):
        return self.raw.description


def _postgres_driver(name=None):
    """The adapter of psycopg 3 (tried first) or pg8000, importing the module now."""
    if name not in (None, 'psycopg', 'pg8000'):
        raise ValueError('unknown PostgreSQL driver %r: use psycopg or pg8000' % name)
    for adapter in (_Psycopg, _Pg8000):
        if name in (None, adapter.name):
            try:
                return adapter(importlib.import_module(adapter.module))
            except ImportError:
                continue
    raise ImportError('PostgreSQL needs a driver: pip install "psycopg[binary]" '
                      '(or pip install pg8000, pure Python)'
                      if name is None else 'PostgreSQL driver %s is not installed: pip install %s'
                      % (name, '"psycopg[binary]"' if name == 'psycopg' else name))


def _is_disconnect_state(sqlstate):
    """True for the SQLSTATEs of a connection the server ended: class 08 (connection
    exception) and 57P01-57P03 (administrator or crash shutdown, cannot connect now)."""
    return bool(sqlstate) and (sqlstate.startswith('08') or sqlstate in ('57P01', '57P02',
                                                                          '57P03'))


class _Psycopg:
    """psycopg 3: autocommit connections (the ORM sends BEGIN itself)."""

    name = module = 'psycopg'
    no_params = None

    def __init__(self, module):
        self.module, self.error = module, module.Error

    def connect(self, params, timeout):
        return self.module.connect(autocommit=True, connect_timeout=max(1, int(timeout)),
                                   **params)

    def is_lost(self, exc, raw):
        return raw.closed or raw.broken or _is_disconnect_state(self.sqlstate(exc))

    def in_transaction(self, raw):
        return raw.info.transaction_status != self.module.pq.TransactionStatus.IDLE

    def sqlstate(self, exc):
        return getattr(exc, 'sqlstate', None)

    def detail(self, exc):
        diag = getattr(exc, 'diag', None)
        return diag.message_detail if diag is not None else None


class _Pg8000:
    """pg8000 (pure Python): its errors carry the server's fields in a dict."""

    name = 'pg8000'
    module = 'pg8000.dbapi'
    no_params = ()
    # libpq's names in the URL's ?query -> pg8000's connect() arguments.
    OPTIONS = {'dbname': 'database', 'application_name': 'application_name',
               'host': 'host', 'port': 'port', 'user': 'user', 'password': 'password'}

    def __init__(self, module):
        self.module, self.error = module, module.Error

    def connect(self, params, timeout):
        arguments = {}
        for key, value in params.items():
            if key == 'sslmode':
                arguments['ssl_context'] = value not in ('disable', 'allow', 'prefer')
            elif key in self.OPTIONS:
                arguments[self.OPTIONS[key]] = value
            else:
                raise ValueError('database URL option %r is not supported by pg8000' % key)
        arguments['port'] = int(arguments.get('port') or 5432)
        raw = self.module.connect(timeout=timeout, **arguments)
        raw.autocommit = True
        # The timeout bounds connecting only: a long query must not fail after it.
        sock = getattr(raw, '_usock', None)
        if sock is not None:
            sock.settimeout(None)
        return raw

    def is_lost(self, exc, raw):
        return isinstance(exc, self.module.InterfaceError) or \
            _is_disconnect_state(self.sqlstate(exc))

    def in_transaction(self, raw):
        return raw._in_transaction

    def sqlstate(self, exc):
        fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        return fields.get('C')

    def detail(self, exc):
        fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
        return fields.get('D')


class Database:
    """A database: one connection per thread, transactions, raw SQL and schema helpers.

    `url` is 'sqlite:///relative/path.db', 'sqlite:////absolute/path.db', a plain path,
    ':memory:' (a private in-memory sqlite database shared by this object's threads, kept alive
    until close(); use a file when several threads write at once), or a PostgreSQL URL:
    'postgresql://user:password@host:5432/name?option=value' (also 'postgres://';
    'postgresql+psycopg://' or 'postgresql+pg8000://' pick the driver). The folder of a sqlite
    file is created on first use. Connections run in autocommit mode: statements outside
    transaction() commit one by one, and `with db.transaction():` groups them (nested blocks
    are savepoints). A PostgreSQL connection that fails or is lost raises DatabaseUnavailable
    (a 503 page) and is opened again on next use.
    """

    _memory_numbers = itertools.count(1)

    def __init__(self, url=DEFAULT_DATABASE_URL, timeout=BUSY_TIMEOUT_SECONDS, dialect=None):
        self.url = url
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._states = weakref.WeakSet()
        self._statements = {}
        self._journal_set = False
        self._keeper = None
        self.path = self._is_memory = None
        postgres = _postgres_target(url)
        if postgres is not None:
            driver, self._target = postgres
            self.dialect = dialect or PostgresDialect(driver)
            return
        self.path = _sqlite_path(url)
        self.dialect = dialect or SqliteDialect()
        self._is_memory = self.path == ':memory:'
        if self._is_memory:
            self._target = 'file:kokoropy-memory-%d-%d?mode=memory&cache=shared' % (
                os.getpid(), next(Database._memory_numbers))
        else:
            self._target = self.path

    def __repr__(self):
        return '<Database %s>' % (self.path or _redacted_url(self.url))

    def connection(self):
        """This thread's connection, opened on first use."""
        try:
            return self._local.state.connection
        except AttributeError:
            return self._open_state().connection

    def execute(self, sql, params=()):
        """Run one SQL statement with bound parameters (placeholders: dialect.param); return
        the cursor."""
        return self.connection().execute(sql, params)

    def executemany(self, sql, seq_of_params):
        """Run one SQL statement once per parameter tuple; return the cursor."""
        return self.connection().executemany(sql, seq_of_params)

    def query(self, sql, params=()):
        """Run a SELECT with bound parameters; return a list of rows read by index or name."""
        return self.dialect.query(self.connection(), sql, params)

    def transaction(self):
        """Context manager grouping statements in a transaction: committed at the end of the
        block, rolled back (and the exception re-raised) when the block raises. Nested blocks
        are savepoints: an error inside rolls back only the nested block."""
        return _Transaction(self)

    def schema_change(self):
        """Context manager of one migration: a transaction in which tables may be changed
        (on sqlite foreign keys are off inside it and checked whole before the commit)."""
        return self.dialect.schema_change(self)

    @property
    def in_transaction(self):
        """True while this thread is inside a transaction() block."""
        return self._state().depth > 0

    def on_commit(self, callback):
        """Call callback() once this thread's transaction commits (at once outside one), and
        never if it (or the savepoint around the call) rolls back: for effects outside the
        database, such as removing a deleted row's files. Errors are logged, not raised."""
        state = self._state()
        if state.depth == 0:
            _call_logged(callback)
        else:
            state.on_commit.append(callback)

    def close(self):
        """Close every thread's connection; the database reopens on next use."""
        with self._lock:
            states, self._states = list(self._states), weakref.WeakSet()
            self._local = threading.local()
            for state in states:
                state.connection.close()
            if self._keeper is not None:
                self._keeper.connection.close()
                self._keeper = None

    def bind(self, *models):
        """Make the given Model classes (and their subclasses) use this database."""
        for model in models:
            model._database = self

    def create_tables(self, *models):
        """Create the missing tables of the given models, parents before children (for tests
        and scripts; applications use migrations)."""
        for model in _dependency_order(models):
            self.create_table(model._meta.table, model, if_not_exists=True)

    def drop_tables(self, *models):
        """Drop the tables of the given models if they exist, children before parents."""
        with self.transaction():
            for model in reversed(_dependency_order(models)):
                self.execute(self.dialect.drop_table(model._meta.table, if_exists=True))

    # --- schema helpers (also used by migrations) ---------------------------------------

    def create_table(self, table, fields=None, if_not_exists=False):
        """Create a table with `id`, the given fields, `created_at` and `updated_at`, and the
        indexes its unique, indexed and foreign key fields imply.

        `fields` is a dict (or list of pairs) of name -> Field, as declared in models, or a Model
        class (all its columns).
        """
        _check_identifier(table, 'table name')
        columns = _schema_fields(fields)
        with self.transaction():
            self.execute(self.dialect.create_table(table, columns, if_not_exists))
            for field in columns:
                self._create_field_index(table, field, if_not_exists)

    def drop_table(self, table, if_exists=False):
        """Drop a table and its indexes."""
        self.execute(self.dialect.drop_table(table, if_exists))

    def rename_table(self, table, new_name):
        """Rename a table."""
        _check_identifier(new_name, 'table name')
        self.execute(self.dialect.rename_table(table, new_name))

    def add_column(self, table, name, field):
        """Add a column declared like a model field (existing rows get its constant default)."""
        field = _schema_field(name, field)
        with self.transaction():
            self.execute(self.dialect.add_column(table, field))
            self._create_field_index(table, field)

    def rename_column(self, table, old, new):
        """Rename a column, keeping data, indexes and foreign keys."""
        _check_identifier(new, 'column name')
        self.dialect.rename_column(self, table, old, new)

    def drop_column(self, table, name):
        """Remove a column, keeping the rows and the indexes that do not use it."""
        if name not in self.columns(table):
            raise ValueError('table %r has no column %r' % (table, name))
        self.dialect.drop_column(self, table, name)

    def create_index(self, table, columns, unique=False, name=None):
        """Create an index on one column (a string) or several; return the index name."""
        columns = [columns] if isinstance(columns, str) else list(columns)
        name = name or '%s_%s_%s' % (table, '_'.join(columns), 'unique' if unique else 'idx')
        self.execute(self.dialect.create_index(name, table, columns, unique))
        return name

    def drop_index(self, name, if_exists=False):
        """Drop an index by name."""
        self.execute(self.dialect.drop_index(name, if_exists))

    def tables(self):
        """The names of the user tables, sorted."""
        return self.dialect.tables(self)

    def table_exists(self, table):
        """True when the table exists."""
        return table in self.tables()

    def columns(self, table):
        """The column names of a table in order ([] when the table does not exist)."""
        return self.dialect.columns(self, table)

    # --- internals ----------------------------------------------------------------------

    def _state(self):
        try:
            return self._local.state
        except AttributeError:
            return self._open_state()

    def _cursor(self):
        """This thread's reusable cursor (see _ThreadState), for statements that complete."""
        try:
            return self._local.state.cursor
        except AttributeError:
            return self._open_state().cursor

    def _open_state(self):
        with self._lock:
            connection = self.dialect.open(self)
            state = self._local.state = _ThreadState(connection)
            self._states.add(state)
        return state

    def _forget_state(self):
        """Drop this thread's connection (it was lost): the next use opens a new one."""
        state = self._local.__dict__.pop('state', None)
        if state is not None:
            self._states.discard(state)

    def _model_statements(self, model):
        statements = self._statements.get(model)
        if statements is None:
            statements = self._statements[model] = _ModelStatements(model._meta, self.dialect)
        return statements

    def _create_field_index(self, table, field, if_not_exists=False):
        unique = field.unique and not field.primary_key
        if unique or (field.index and not field.primary_key) or isinstance(field, ForeignKey):
            name = '%s_%s_%s' % (table, field.column, 'unique' if unique else 'idx')
            self.execute(self.dialect.create_index(name, table, [field.column], unique,
                                                   if_not_exists))


class _ThreadState:
    """One thread's connection to a Database, its reusable cursor and its transaction depth.

    The cursor serves the ORM's statements that always run to completion (INSERT, UPDATE, and
    get()'s read, drained by fetchall()), so no statement stays open on it; creating a cursor
    per statement would cost about a tenth of a one-row INSERT.
    """

    __slots__ = ('connection', 'cursor', 'depth', 'on_commit', '__weakref__')

    def __init__(self, connection):
        self.connection = connection
        self.cursor = connection.cursor()
        self.depth = 0
        self.on_commit = []     # callbacks of Database.on_commit() waiting for the COMMIT

    def __del__(self):
        # Freed with its thread's thread-local data (or its Database): close the connection
        # now rather than leave it to the garbage collector, which warns about it.
        self.connection.close()


class _Transaction:
    """The context manager of Database.transaction(): BEGIN/COMMIT, or a savepoint."""

    __slots__ = ('database', 'state', 'savepoint', 'callbacks_before')

    def __init__(self, database):
        self.database = database

    def __enter__(self):
        state = self.state = self.database._state()
        dialect = self.database.dialect
        if state.depth == 0:
            self.savepoint = None
            state.connection.execute(dialect.begin())
        else:
            self.savepoint = 'kokoropy_savepoint_%d' % state.depth
            state.connection.execute(dialect.savepoint(self.savepoint))
        state.depth += 1
        self.callbacks_before = len(state.on_commit)
        return self.database

    def __exit__(self, exc_type, exc, traceback):
        state, dialect = self.state, self.database.dialect
        connection = state.connection
        state.depth -= 1
        if exc_type is not None:    # what this block asked for after commit is off
            del state.on_commit[self.callbacks_before:]
        if self.savepoint is not None:
            if exc_type is DatabaseUnavailable:
                return False  # the connection is gone, and the savepoint with it
            if exc_type is not None:
                connection.execute(dialect.rollback_to(self.savepoint))
            connection.execute(dialect.release(self.savepoint))
        elif exc_type is not None:
            _rollback(connection, dialect)
        else:
            try:
                connection.execute(dialect.commit())
            except BaseException:
                del state.on_commit[:]
                _rollback(connection, dialect)
                raise
            callbacks, state.on_commit = state.on_commit, []
            for callback in callbacks:
                _call_logged(callback)
        return False


def _call_logged(callback):
    """Run an on_commit callback: the transaction is over, so an error is only logged."""
    try:
        callback()
    except Exception:
        logging.getLogger('kokoropy').exception('kokoropy: an on_commit callback failed')


def _rollback(connection, dialect):
    """Roll back the open transaction, if the backend has not already (sqlite may have; a
    lost PostgreSQL connection has nothing left to undo)."""
    try:
        if dialect.in_transaction(connection):
            connection.execute(dialect.rollback())
    except DatabaseUnavailable:
        pass


def _create_private_file(path):
    """Create an empty file readable by its owner only, unless it exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


def _sqlite_path(url):
    """The filesystem path (or ':memory:') of a database URL or plain path."""
    url = str(url)
    if url in (':memory:', 'sqlite://', 'sqlite:///:memory:', ''):
        return ':memory:'
    if url.startswith('sqlite:///'):
        return url[len('sqlite:///'):].split('?', 1)[0]
    if '://' in url:
        raise ValueError('unsupported database URL %r: use sqlite:///path/to/file.db or '
                         'postgresql://user:password@host:5432/name' % _redacted_url(url))
    return url


def _postgres_target(url):
    """(driver or None, connect parameters) of a PostgreSQL URL; None for other URLs.

    The parts are percent-decoded ('p%40ss' is 'p@ss'); ?name=value options (sslmode,
    application_name, connect_timeout, ...) are passed to the driver as libpq names them.
    """
    scheme, separator, _ = str(url).partition('://')
    if not separator or scheme.lower() not in POSTGRES_SCHEMES:
        return None
    parts = urlsplit(str(url))
    try:
        port = parts.port
    except ValueError:
        raise ValueError('invalid port in database URL %r' % _redacted_url(url))
    params = {'host': unquote(parts.hostname or '') or 'localhost', 'port': port or 5432}
    for key, value in (('user', parts.username), ('password', parts.password),
                       ('dbname', parts.path.lstrip('/'))):
        if value:
            params[key] = unquote(value)
    params.update(parse_qsl(parts.query))
    return POSTGRES_SCHEMES[scheme.lower()], params


def _redacted_url(url):
    """The URL with its password replaced by ***, for messages and logs."""
    return re.sub(r'(://[^:/@]*:)[^@/]*@', r'\1***@', str(url))


def _first_line(exc):
    """The first line of an exception's message (drivers add hints on later lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _auto_field(field_class, name, model=None):
    field = field_class()
    field.editable = False
    if name == 'id':
        field.primary_key = True
    field.bind(model, name)
    return field


def _schema_field(name, field):
    _check_identifier(name, 'column name')
    if not isinstance(field, Field):
        raise TypeError('%s must be declared with a Field such as String(), not %r'
                        % (name, field))
    bound = field.clone()
    bound.bind(None, name)
    return bound


def _schema_fields(fields):
    """Bound fields of create_table(): id, the given ones, created_at, updated_at."""
    if isinstance(fields, type) and getattr(fields, '_meta', None) is not None:  # a Model
        return list(fields._meta.fields.values())
    items = list(fields.items()) if hasattr(fields, 'items') else list(fields or ())
    given = [_schema_field(name, field) for name, field in items if name != 'id']
    names = set(field.name for field in given)
    automatic = [_auto_field(DateTime, name) for name in ('created_at', 'updated_at')
                 if name not in names]
    return [_auto_field(Integer, 'id')] + given + automatic


def _dependency_order(models):
    """Models with the ones they refer to first (self references ignored)."""
    ordered, visiting = [], set()

    def visit(model):
        if model in ordered or model in visiting:
            return
        visiting.add(model)
        for field in model._meta.foreign_keys:
            target = _find_model(field.to, model) if not isinstance(field.to, type) else field.to
            if target in models and target is not model:
                visit(target)
        ordered.append(model)

    for model in models:
        visit(model)
    return ordered


class _ModelStatements:
    """The SQL of one model for one dialect, built once: the hot paths only bind values."""

    def __init__(self, meta, dialect):
        quote, table = dialect.quote, meta.table
        self.dialect, self.meta = dialect, meta
        self.columns = meta.columns
        self.build_row = _row_builder(meta.columns)
        self.column_list = dialect.column_list(meta.columns)
        by_id = quote('id') + ' = ' + dialect.param
        live = dialect.condition('trashed_at', 'isnull', True)[0] if meta.soft_delete else ''
        self.get_with_trashed = dialect.select(table, self.column_list, by_id)
        self.get = dialect.select(table, self.column_list, dialect.combine([by_id, live])
                                  if live else by_id)
        self.inserted_id = dialect.inserted_id
        self.id_is_lastrowid = dialect.id_is_lastrowid
        self.delete = dialect.delete(table, by_id)
        self._insert_plans = {}
        # created_at is written once, by the insert; position and trashed_at only by their
        # own methods, so that saving a stale instance does not undo a move or a trash.
        managed = ('id', 'created_at', 'position', 'trashed_at', AUTH_EPOCH_FIELD)
        update_columns = [column for column in meta.columns if column not in managed]
        self.update_plan = (dialect.update(table, update_columns, by_id),) + \
            _value_getter(meta, update_columns)
        self.unique_checks = dict(
            (field.column, dialect.select(table, '1', dialect.combine([
                dialect.condition(field.column, 'eq', 0)[0],
                dialect.condition('id', 'ne', 0)[0]]), limit=True))
            for field in meta.unique_fields)
        self.set_trashed = dialect.update(table, ['trashed_at', 'updated_at'], by_id)
        self.position_of = dialect.select(table, quote('position'), by_id)
        self.positions = dialect.select(table, dialect.column_list(['id', 'position']), live,
                                        '%s, %s' % (dialect.order_term('position', False),
                                                    dialect.order_term('id', False)))
        self.set_position = dialect.update(table, ['position'], by_id)
        self.plain_insert = self.insert_plan(False, False)
        self.insert_sql = self.plain_insert[0]
        self.related_checks = {}
        self._by_ids = {}

    def instances(self, model, rows):
        """The rows (all columns, in order) as instances of `model`."""
        build_row, new = self.build_row, object.__new__
        instances = []
        for row in rows:
            instance = new(model)
            instance.__dict__ = build_row(row)
            instances.append(instance)
        return instances

    def by_ids(self, count):
        """SELECT of the rows, trashed ones too, whose id is one of `count` parameters."""
        sql = self._by_ids.get(count)
        if sql is None:
            dialect = self.dialect
            sql = _remember(self._by_ids, count, dialect.select(
                self.meta.table, self.column_list, dialect.condition('id', 'in', (0,) * count)[0]),
                64)
        return sql

    def insert_plan(self, with_id, auto_position):
        """(sql, getter, converters) inserting a row with or without its id and position."""
        plan = self._insert_plans.get((with_id, auto_position))
        if plan is None:
            meta, dialect = self.meta, self.dialect
            columns = _insert_columns(meta, with_id, auto_position)
            computed = [('position', dialect.next_position(meta.table, 'position'))] \
                if auto_position else []
            plan = (dialect.insert(meta.table, columns, computed, returning=not with_id),) + \
                _value_getter(meta, columns)
            self._insert_plans[(with_id, auto_position)] = plan
        return plan


def _insert_columns(meta, with_id=False, auto_position=False):
    """The columns an INSERT of a row writes (`position` computed by the SQL when automatic)."""
    return [column for column in meta.columns
            if (with_id or column != 'id') and not (auto_position and column == 'position')]


def _row_builder(columns):
    """A function turning a row of `columns` into an instance dict: `lambda row: {'id': row[0],
    'name': row[1], ...}`, compiled once per model. A dict display with constant keys builds
    the dict in about half the time of dict(zip(columns, row)), on every get() and every row
    a query returns. (Column names go in as repr() literals: no text of theirs becomes code.)"""
    items = ', '.join('%r: row[%d]' % (column, index) for index, column in enumerate(columns))
    return eval('lambda row: {%s}' % items)


def _value_getter(meta, columns):
    """(getter, converters): getter(instance dict) gives the values of `columns` in one C
    call, converters the (index, to_db) pairs of the few fields that need converting."""
    getter = operator.itemgetter(*columns)
    if len(columns) == 1:
        single = getter

        def getter(values):  # itemgetter of one name returns a scalar, not a tuple
            return (single(values),)
    # The timestamps are already stored text: _insert() and _update() write them.
    converters = [(index, meta.lookup[column].to_db) for index, column in enumerate(columns)
                  if meta.lookup[column].converts_to_db
                  and column not in ('created_at', 'updated_at')]
    return getter, converters


def _converted(values, converters):
    """A list of `values` with the (index, to_db) converters applied to those not None."""
    values = list(values)
    for index, convert in converters:
        if values[index] is not None:
            values[index] = convert(values[index])
    return values


def default_database():
    """The Database of default_app().config['database_url'] (relative paths are relative to
    config['project_path']), created on first use and recreated when the setting changes;
    or the one given to set_default_database()."""
    global _default_database
    if _explicit_default_database is not None:
        return _explicit_default_database
    current = _default_database
    key = _configured_database_key()
    if current is not None and current[0] == key:
        return current[1]
    with _default_database_lock:
        if _default_database is None or _default_database[0] != key:
            _default_database = (key, Database(key))
        return _default_database[1]


def set_default_database(database):
    """Make `database` the one models use when not bound (None returns to the configured one)."""
    global _explicit_default_database
    _explicit_default_database = database


_default_database = None
_explicit_default_database = None
_default_database_lock = threading.Lock()


def application_database(app_name, applications_path=None):
    """The Database of an application that names its own in `DATABASE_URL = '...'` in its
    __init__.py (its models, migrations and migration history live there), else None.

    A relative sqlite path is relative to the project (the folder holding applications/).
    Under `rossian.py test` (KOKOROPY_TEST_DATABASE_URL set), each such application gets a
    temporary sqlite database of its own beside the test database instead.
    """
    folder = applications_path or _applications_folder(default_app().config)
    url = _application_database_url(os.path.join(folder, app_name, '__init__.py'))
    if url is None:
        return None
    testing = os.environ.get('KOKOROPY_TEST_DATABASE_URL')
    if testing:
        url = 'sqlite:///' + os.path.join(os.path.dirname(_sqlite_path(testing)),
                                          'application-%s.db' % app_name)
    key = url if _postgres_target(url) is not None else os.path.join(
        os.path.dirname(os.path.abspath(folder)), _sqlite_path(url))
    with _default_database_lock:
        if key not in _application_databases:
            _application_databases[key] = Database(key)
        return _application_databases[key]


_application_databases = {}     # absolute sqlite path or PostgreSQL URL -> Database


def _application_database_url(init_path):
    """The text of a module-level `DATABASE_URL = '...'` in an application's __init__.py.

    Read from the source (not by importing it), so migrations and the command line find it
    before the application is loaded; the value must be a string literal.
    """
    try:
        mtime = os.stat(init_path).st_mtime_ns
    except OSError:
        return None
    cached = _database_urls.get(init_path)
    if cached is None or cached[0] != mtime:
        with open(init_path, encoding='utf-8') as f:
            source = f.read()
        url = None
        if 'DATABASE_URL' in source:
            for node in ast.parse(source, init_path).body:
                if isinstance(node, ast.Assign) and any(
                        getattr(target, 'id', None) == 'DATABASE_URL' for target in node.targets):
                    url = _literal_text(node.value, init_path)
        cached = _database_urls[init_path] = (mtime, url)
    return cached[1]


_database_urls = {}     # __init__.py path -> (mtime_ns, DATABASE_URL or None)


def _literal_text(node, path):
    try:
        value = ast.literal_eval(node)
    except ValueError:
        value = None
    if not isinstance(value, str):
        raise ValueError('%s, line %d: DATABASE_URL must be a string literal such as '
                         "'sqlite:///db/demo.db'" % (path, node.lineno))
    return value


def _configured_database_key():
    """The absolute sqlite path (or ':memory:'), or PostgreSQL URL, the default app's
    configuration names."""
    config = default_app().config
    url = config.get('database_url') or DEFAULT_DATABASE_URL
    project = config.get('project_path')
    # Asked for by every query that uses the default database: remembered per setting (not
    # without a project_path, since a relative path then depends on the working folder).
    key = _database_keys.get((url, project)) if project else None
    if key is None:
        if _postgres_target(url) is not None:
            key = url
        else:
            path = _sqlite_path(url)
            key = path if path == ':memory:' else _under_project(config, path)
        if project:
            _database_keys[(url, project)] = key
    return key


_database_keys = {}     # (database_url, project_path) -> _configured_database_key()


###############################################################################
# 8c. Models and queries
# Model (declared fields, one row's save/delete/validate, hooks, soft delete, ordering), Query
# (lazy chainable SELECT), Q and Page. Uses sections 8 and 8b.
###############################################################################

__all__ += ['Model', 'Query', 'Q', 'Page']

FILTER_OPERATORS = ('eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'in', 'like', 'contains',
                    'startswith', 'endswith', 'isnull')
# Columns the ORM adds and manages itself; forms and plain saves leave position and trashed_at.
AUTOMATIC_COLUMNS = ('id', 'created_at', 'updated_at', 'position', 'trashed_at')
SAVE_HOOKS = ('before_save', 'after_save', 'before_insert', 'after_insert',
              'before_update', 'after_update')
DELETE_HOOKS = ('before_delete', 'after_delete')
TRASH_HOOKS = ('before_trash', 'after_trash', 'before_untrash', 'after_untrash')


class Model:
    """Base class of database models: subclass it and declare fields as class attributes.

        class Product(Model):
            name = String(max_length=80, required=True)
            price = Float(min_value=0)
            category = ForeignKey(Category, on_delete='SET NULL')

    Every model also has `id`, `created_at` and `updated_at` (naive UTC). Class options:
    `table_name` (default: the class name in snake_case), `soft_delete = True` (a `trashed_at`
    column; trash()/untrash(); queries skip trashed rows), `ordered = True` (a `position`
    column; move_up()/move_down()/move_to(); queries sort by it), `default_order` (field names
    as for order_by()), `abstract = True` (no table: a base for other models).
    `Model._fields` lists the fields by name in declaration order (id first).

    Hooks: override before_/after_ save, insert, update, delete, trash, untrash. They run inside
    the operation's transaction: raising from one aborts the operation and rolls it back.
    """

    table_name = None
    soft_delete = False
    ordered = False
    default_order = ()
    abstract = True
    _database = None
    _fields = {}
    _meta = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__dict__.get('abstract', False):
            return
        _ModelInfo(cls)

    def __init__(self, **values):
        meta = self._meta
        if meta is None:
            raise TypeError('%s is abstract: it has no table' % type(self).__name__)
        own = self.__dict__
        own.update(meta.blank_row)
        for column, default in meta.callable_defaults:
            own[column] = default()
        if meta.plain_names.issuperset(values):
            own.update(values)  # the common case: no conversions, one C call
            return
        for name, value in values.items():
            if name in meta.plain_names:
                own[name] = value
            elif name in meta.descriptor_names:
                setattr(self, name, value)
            else:
                raise TypeError('%s has no field %r; its fields are: %s'
                                % (type(self).__name__, name, ', '.join(meta.fields)))

    def __str__(self):
        field = self._meta.display_field
        value = self.__dict__.get(field.column) if field is not None else None
        if value is None or value == '':
            return '%s #%s' % (type(self).__name__, self.__dict__.get('id'))
        return str(value)

    def __repr__(self):
        return '<%s #%s %r>' % (type(self).__name__, self.__dict__.get('id'), str(self))

    def __eq__(self, other):
        if type(other) is not type(self):
            return NotImplemented
        my_id = self.__dict__.get('id')
        return self is other or (my_id is not None and my_id == other.__dict__.get('id'))

    def __hash__(self):
        my_id = self.__dict__.get('id')
        if my_id is None:
            raise TypeError('an unsaved %s has no id and cannot be hashed' % type(self).__name__)
        return hash((type(self), my_id))

    # --- queries ------------------------------------------------------------------------

    @classmethod
    def create(cls, **values):
        """Make, validate and save a new row; return the instance (ValidationError if invalid)."""
        meta = cls._meta
        if meta is not None and meta.model is cls and meta.quick_create is not None:
            # The model's compiled create() (see _compiled_create()), reached here from a
            # create() written by hand that calls this one.
            return meta.quick_create(cls, **values)
        return cls(**values).save()

    @classmethod
    def get(cls, id, with_trashed=False):
        """The row with this id, or None (trashed rows only with `with_trashed=True`)."""
        if id.__class__ is int and not -MAX_ROW_ID <= id <= MAX_ROW_ID:
            return None     # no row has it, and the driver could not even bind it
        database = cls._database or default_database()
        statements = database._statements.get(cls) or database._model_statements(cls)
        sql = statements.get_with_trashed if with_trashed else statements.get
        rows = database._cursor().execute(sql, (id,)).fetchall()
        if not rows:
            return None
        instance = cls.__new__(cls)
        instance.__dict__ = statements.build_row(rows[0])
        return instance

    @classmethod
    def all(cls):
        """A Query of every row (lazy: it runs when iterated)."""
        return Query(cls)

    @classmethod
    def where(cls, *conditions, **filters):
        """A Query of the rows matching Q objects and `field=value` / `field__operator=value`
        filters (operators: eq ne gt gte lt lte in like contains startswith endswith isnull)."""
        return Query(cls).where(*conditions, **filters)

    @classmethod
    def schema_diff(cls, database=None):
        """The fields whose column the model's table lacks (every field when the table does
        not exist), in declaration order: a migration adds them with
        db.add_column(table, field.name, <field.declaration()>)."""
        database = database or cls._database or default_database()
        existing = set(database.columns(cls._meta.table))
        return [field for field in cls._meta.fields.values() if field.column not in existing]

    @classmethod
    def from_form(cls, data, fields=None):
        """A new unsaved instance from submitted data; returns (instance, errors).

        See update_from(): `errors` holds conversion and validation messages by field name.
        """
        instance = cls()
        return instance, instance.update_from(data, fields)

    # --- one row ------------------------------------------------------------------------

    def save(self, validate=True):
        """Insert or update the row (in a transaction when hooks are defined); return self.

        Raises ValidationError (with `.errors`) when validate() finds problems; a unique
        column refused by the database gives a ValidationError too.
        """
        database = self._database or default_database()
        if self._meta.has_save_hooks:
            with database.transaction():
                self._save(database, validate)
        else:
            self._save(database, validate)
        return self

    def delete(self):
        """Delete the row for good (also for soft-delete models). Related rows follow their
        ForeignKey's on_delete; RestrictedDeleteError when a RESTRICT rule refuses."""
        database = self._database or default_database()
        if self._meta.has_delete_hooks:
            with database.transaction():
                self._delete(database)
        else:
            self._delete(database)

    def validate(self):
        """Check every editable field against its declaration (required, type, length,
        choices, range, email shape, unique, existing related row); return a dict of field
        name -> message, empty when the row is valid."""
        values = self.__dict__
        errors = {}
        for column, name, validate in self._meta.validators:
            message = validate(values.get(column))
            if message is not None:
                errors[name] = message
        if self._meta.needs_queries:
            self._validate_with_queries(errors)
        return errors

    def update_from(self, data, fields=None):
        """Set editable fields from submitted data (a dict or form dict of text); return the
        errors dict: conversion messages, then validate()'s messages for the other fields.

        Only the names in `fields` are read when given (protects fields a form does not
        show). A missing value leaves the field as it is, except a Boolean (an unchecked
        checkbox is not sent) which becomes False, and an empty Password keeps the stored
        one. A ForeignKey may be sent by name ('category') or column ('category_id').
        """
        errors = {}
        for field in self._form_fields(fields):
            raw = _submitted_value(data, field)
            if raw is _MISSING:
                if not isinstance(field, Boolean):
                    continue
                raw = None
            if isinstance(field, Password) and (raw is None or raw == ''):
                continue
            if isinstance(field, Upload) and not isinstance(raw, str):
                continue  # a file object: the form saves it, then sets the stored path
            try:
                setattr(self, field.name, field.to_python(raw))
            except ValueError as exc:
                errors[field.name] = str(exc)
        for name, message in self.validate().items():
            errors.setdefault(name, message)
        return errors

    def as_dict(self):
        """The row as a JSON-friendly dict: dates as ISO text, foreign keys as `name_id`, no
        Password fields."""
        result = {}
        for field in self._meta.fields.values():
            if isinstance(field, Password):
                continue
            if isinstance(field, ForeignKey):
                result[field.column] = self.__dict__.get(field.column)
            else:
                result[field.name] = field.to_json(getattr(self, field.name))
        return result

    def check_password(self, name, plain):
        """True when `plain` matches the Password field `name`."""
        field = self._meta.fields.get(name)
        if not isinstance(field, Password):
            raise FieldError('%s has no Password field %r' % (type(self).__name__, name))
        return field.check_password(self.__dict__.get(field.column), plain)

    def refresh(self):
        """Reload the row's values from the database; return self (LookupError if gone)."""
        fresh = type(self).get(self.__dict__.get('id'), with_trashed=True)
        if fresh is None:
            raise LookupError('%s #%s no longer exists' % (type(self).__name__, self.id))
        self.__dict__.clear()
        self.__dict__.update(fresh.__dict__)
        return self

    # --- soft delete and ordering -------------------------------------------------------

    def trash(self):
        """Move the row to the trash (soft_delete models): queries skip it from now on."""
        self._set_trashed(_now_text(), 'trash')

    def untrash(self):
        """Take the row out of the trash (soft_delete models)."""
        self._set_trashed(None, 'untrash')

    @property
    def is_trashed(self):
        """True when the row is in the trash."""
        return self.__dict__.get('trashed_at') is not None

    def move_up(self):
        """Swap the row with the one before it (ordered models)."""
        self._move(lambda index, count: index - 1)

    def move_down(self):
        """Swap the row with the one after it (ordered models)."""
        self._move(lambda index, count: index + 1)

    def move_to(self, position):
        """Put the row at `position` (1 = first) among the rows not trashed, shifting the
        others; positions are renumbered 1..n (ordered models)."""
        position = int(position)
        self._move(lambda index, count: position)

    # --- hooks: override in a model -----------------------------------------------------

    def before_save(self):
        """Called before every insert or update (before validation)."""

    def after_save(self):
        """Called after every insert or update."""

    def before_insert(self):
        """Called before a new row is inserted (after before_save)."""

    def after_insert(self):
        """Called after a new row is inserted (before after_save)."""

    def before_update(self):
        """Called before an existing row is updated (after before_save)."""

    def after_update(self):
        """Called after an existing row is updated (before after_save)."""

    def before_delete(self):
        """Called before the row is deleted."""

    def after_delete(self):
        """Called after the row is deleted."""

    def before_trash(self):
        """Called before the row goes to the trash."""

    def after_trash(self):
        """Called after the row went to the trash."""

    def before_untrash(self):
        """Called before the row leaves the trash."""

    def after_untrash(self):
        """Called after the row left the trash."""

    # --- internals ----------------------------------------------------------------------

    def _save(self, database, validate):
        meta = self._meta
        values = self.__dict__
        inserting = values.get('id') is None
        if meta.has_save_hooks:
            self.before_save()
            self.before_insert() if inserting else self.before_update()
        if meta.foreign_keys:
            self._take_related_ids()
        if validate:
            errors = self.validate()
            if errors:
                raise ValidationError(errors, self)
        for field in meta.passwords:
            values[field.column] = field.to_db(values.get(field.column))
        if inserting:
            self._insert(database)
        else:
            self._update(database)
        if meta.has_save_hooks:
            self.after_insert() if inserting else self.after_update()
            self.after_save()

    def _insert(self, database, with_id=False):
        values = self.__dict__
        model = type(self)
        statements = database._statements.get(model) or database._model_statements(model)
        now = _now_text()
        created = values.get('created_at')
        if created is None:
            values['created_at'] = now
        elif created.__class__ is not str:
            values['created_at'] = model._fields['created_at'].to_db(created)
        values['updated_at'] = now
        auto_position = self._meta.ordered and values.get('position') is None
        if with_id or auto_position:
            sql, getter, converters = statements.insert_plan(with_id, auto_position)
        else:
            sql, getter, converters = statements.plain_insert
        params = getter(values)
        if converters:
            params = _converted(params, converters)
        cursor = database._cursor()
        try:
            cursor.execute(sql, params)
        except database.dialect.integrity_errors as exc:
            raise _integrity_error(database, model, exc, self)
        if with_id:
            if database.dialect.reset_sequence is not None:
                database.execute(database.dialect.reset_sequence(self._meta.table))
        else:
            values['id'] = statements.inserted_id(cursor)
        if auto_position:
            values['position'] = cursor.execute(statements.position_of,
                                                (values['id'],)).fetchall()[0][0]

    def _update(self, database):
        values = self.__dict__
        model = type(self)
        statements = database._statements.get(model) or database._model_statements(model)
        values['updated_at'] = _now_text()
        sql, getter, converters = statements.update_plan
        params = _converted(getter(values), converters)
        params.append(values['id'])
        try:
            cursor = database._cursor().execute(sql, params)
        except database.dialect.integrity_errors as exc:
            raise _integrity_error(database, model, exc, self)
        if cursor.rowcount == 0:
            self._insert(database, with_id=True)  # an id set by hand, or a deleted row

    def _delete(self, database):
        if self._meta.has_delete_hooks:
            self.before_delete()
        statements = database._model_statements(type(self))
        try:
            database.connection().execute(statements.delete, (self.__dict__.get('id'),))
        except database.dialect.integrity_errors as exc:
            raise _restricted_error(database, type(self), exc, self)
        for field in self._meta.fields.values():
            if isinstance(field, Upload):
                field.remove_on_commit(database, self.__dict__.get(field.column))
        if self._meta.has_delete_hooks:
            self.after_delete()

    def _validate_with_queries(self, errors):
        """Uniqueness and related-row checks, which need the database."""
        meta = self._meta
        values = self.__dict__
        database = self._database or default_database()
        statements = database._model_statements(type(self))
        for field in meta.unique_fields:
            value = values.get(field.column)
            if field.name in errors or value is None or value == '':
                continue
            params = (field.to_db(value) if field.converts_to_db else value, values.get('id'), 1)
            if database.execute(statements.unique_checks[field.column], params).fetchone():
                errors[field.name] = field.message('unique')
        for field in meta.foreign_keys:
            value = values.get(field.column)
            if field.name in errors or value is None:
                continue
            sql = statements.related_checks.get(field.column)
            if sql is None:  # built on first use: the related model may be defined later
                sql = statements.related_checks[field.column] = statements.dialect.select(
                    field.related_table, '1', statements.dialect.condition('id', 'eq', 0)[0])
            if database.execute(sql, (value,)).fetchone() is None:
                errors[field.name] = field.message('type')

    def _take_related_ids(self):
        """Copy the ids of related instances assigned before they were saved."""
        values = self.__dict__
        for field in self._meta.foreign_keys:
            if values.get(field.column) is None:
                related = values.get(field._cache_key)
                if related is not None:
                    values[field.column] = related.__dict__.get('id')

    def _form_fields(self, names):
        meta = self._meta
        if names is None:
            return [field for field in meta.fields.values() if field.editable]
        chosen = []
        for name in names:
            field = meta.lookup.get(name)
            if field is None or not field.editable:
                raise FieldError('%s has no editable field %r; its fields are: %s'
                                 % (type(self).__name__, name, ', '.join(meta.fields)))
            chosen.append(field)
        return chosen

    def _set_trashed(self, stamp, action):
        meta = self._meta
        if not meta.soft_delete:
            raise TypeError('%s does not use soft delete: set soft_delete = True'
                            % type(self).__name__)
        database = self._database or default_database()
        with database.transaction():
            if meta.has_trash_hooks:
                getattr(self, 'before_' + action)()
            statements = database._model_statements(type(self))
            now = _now_text()
            database.execute(statements.set_trashed, (stamp, now, self.__dict__.get('id')))
            self.__dict__['trashed_at'] = stamp
            self.__dict__['updated_at'] = now
            if meta.has_trash_hooks:
                getattr(self, 'after_' + action)()

    def _move(self, new_index):
        """Renumber the visible rows 1..n with this one at new_index(index, count)."""
        if not self._meta.ordered:
            raise TypeError('%s is not ordered: set ordered = True' % type(self).__name__)
        database = self._database or default_database()
        statements = database._model_statements(type(self))
        my_id = self.__dict__.get('id')
        with database.transaction():
            rows = database.execute(statements.positions).fetchall()
            ids = [row[0] for row in rows]
            if my_id not in ids:
                raise LookupError('%s #%s is not saved, or is trashed: it has no position'
                                  % (type(self).__name__, my_id))
            index = ids.index(my_id) + 1
            target = min(max(new_index(index, len(ids)), 1), len(ids))
            ids.remove(my_id)
            ids.insert(target - 1, my_id)
            old = dict(rows)
            changes = [(number, row_id) for number, row_id in enumerate(ids, 1)
                       if old[row_id] != number]
            database.executemany(statements.set_position, changes)
        self.__dict__['position'] = target


_MISSING = object()     # a value not given: a field a form did not send, a keyword of create()


def _integrity_error(database, model, exc, instance=None):
    """A ValidationError, with validate()'s messages, for a unique or reference violation the
    database reported (a race validate() could not see); else `exc` itself."""
    found = database.dialect.violation(exc)
    if found is None:
        return exc
    kind, columns = found
    if kind == 'unique':
        fields = [model._meta.lookup.get(column) for column in columns or ()]
    else:  # the foreign keys named, or (sqlite names none) those holding a value
        values = instance.__dict__ if instance is not None else {}
        fields = [field for field in model._meta.foreign_keys
                  if field.column in (columns or ()) or columns is None and
                  (instance is None or values.get(field.column) is not None)]
    errors = dict((field.name, field.message('unique' if kind == 'unique' else 'type'))
                  for field in fields if field is not None)
    if not errors:
        return exc
    error = ValidationError(errors, instance)
    error.__cause__ = exc
    return error


def _restricted_error(database, model, exc, instance=None):
    """A RestrictedDeleteError naming the models whose rows still refer to the deleted ones."""
    found = database.dialect.violation(exc)
    if found is None or found[0] != 'reference':
        return exc
    referrers = sorted(set('%s.%s' % (field.model.__name__, field.name)
                           for refs in list(_MODELS.values()) for ref in refs
                           if ref() is not None and ref()._meta is not None
                           for field in ref()._meta.foreign_keys
                           if field.on_delete == 'RESTRICT'
                           and field.related_table == model._meta.table))
    what = '%s #%s' % (model.__name__, instance.id) if instance is not None else \
        'these %s rows' % model.__name__
    error = RestrictedDeleteError(
        'cannot delete %s: rows of %s still refer to it (on_delete=RESTRICT); delete or '
        'reassign them first' % (what, ', '.join(referrers) or 'another table'))
    error.__cause__ = exc
    return error


def _submitted_value(data, field):
    """The value submitted for a field (by name, or by column for a ForeignKey)."""
    for key in (field.name, field.column):
        if key in data:
            value = data.get(key)
            if isinstance(value, (list, tuple)):
                value = value[-1] if value else None
            return value
    return _MISSING


class _ModelInfo:
    """What the ORM precomputes about one model class: fields, columns, names and flags."""

    def __init__(self, model):
        self.model = model
        self.table = model.__dict__.get('table_name') or _snake_case(model.__name__)
        _check_identifier(self.table, 'table name of %s' % model.__name__)
        model.table_name = self.table
        self.soft_delete = bool(model.soft_delete)
        self.ordered = bool(model.ordered)
        self.fields = _collect_fields(model, self)
        model._meta, model._fields = self, self.fields
        self.database_url = _bind_to_application_database(model)
        self._index_fields()
        self.default_order = tuple(model.default_order) or (
            ('position', 'id') if self.ordered else ())
        self.default_ordering = tuple(_resolve_order(model, name) for name in self.default_order)
        model.abstract = False
        self.has_save_hooks = _overrides_any(model, SAVE_HOOKS)
        self.has_delete_hooks = _overrides_any(model, DELETE_HOOKS)
        self.has_trash_hooks = _overrides_any(model, TRASH_HOOKS)
        # create() may do save()'s work itself when that is one plain INSERT and nothing it
        # would call is overridden (unique, related-row and position queries take save()).
        self.is_quick_create = not (self.passwords or self.needs_queries or self.ordered) and \
            not _overrides_any(model, SAVE_HOOKS + ('__init__', 'save', 'validate', '_save',
                                                    '_insert', '_validate_with_queries'))
        self.quick_create = _compiled_create(self) if self.is_quick_create else None
        if self.quick_create is not None and _has_generic_create(model):
            model.create = classmethod(self.quick_create)
        _register_model(model)

    def _index_fields(self):
        fields = list(self.fields.values())
        self.columns = tuple(field.column for field in fields)
        self.lookup = dict((field.name, field) for field in fields)
        self.lookup.update((field.column, field) for field in fields)
        self.descriptor_names = frozenset(f.name for f in fields if f.is_data_descriptor)
        self.plain_names = frozenset(f.column for f in fields if f.column != f.name or getattr(
            type(f), '__set__', Field._set_as_given) is Field._set_as_given)
        self.blank_row = dict((f.column, None if callable(f.default) else f.default)
                              for f in fields)
        self.callable_defaults = [(f.column, f.default) for f in fields if callable(f.default)]
        self.validated_fields = [field for field in fields if field.editable]
        self.validators = [(f.column, f.name, f.validate) for f in self.validated_fields]
        self.unique_fields = [field for field in self.validated_fields if field.unique]
        self.foreign_keys = [field for field in fields if isinstance(field, ForeignKey)]
        self.passwords = [field for field in fields if isinstance(field, Password)]
        self.needs_queries = bool(self.unique_fields or self.foreign_keys)
        self.quick_names = self.plain_names.difference(AUTOMATIC_COLUMNS)
        strings = [field for field in fields if field.type_name == 'string']
        self.display_field = strings[0] if strings else None


def _has_generic_create(model):
    """True unless a class of `model` (itself included) has a create() written by hand."""
    for klass in model.__mro__:
        method = klass.__dict__.get('create')
        if method is not None:
            meta = klass.__dict__.get('_meta')
            return klass is Model or meta is not None and \
                getattr(method, '__func__', None) is meta.quick_create
    return False


def _compiled_create(meta):
    """create() for a model whose save() is one plain INSERT (meta.is_quick_create), compiled
    once per model. Its keyword-only parameters are the columns, so no dict of keywords is
    built, and it does save()'s work written out for this model's fields:

        def create(_model, *, name=_MISSING, price=_MISSING, **_others):
            if _others or _model is not _MODEL:     # other keywords, or a subclass
                return _create_otherwise(_model, _others, name=name, price=price)
            _refused = False
            if name.__class__ is not str or not 1 <= len(name) <= 80:
                if name is _MISSING:
                    name = None
                if _validate_1(name) is not None:
                    _refused = True
            ...
            (the timestamp, the INSERT of the values as a tuple, then the instance)

    A value the written-out check (the field's _quick_rule()) does not settle goes to the
    field's validate(); a fault it finds refuses the row as save() would. None when a column
    cannot be a parameter (see _is_parameter_name()): Model.create() then saves."""
    fields = [meta.lookup[column] for column in meta.columns]
    parameters = [field.column for field in fields if field.column in meta.quick_names]
    if not all(_is_parameter_name(column) for column in parameters) or any(
            meta.blank_row[column] is not None or callable(meta.lookup[column].default) or
            meta.lookup[column].editable for column in meta.columns if column not in parameters):
        # A column it could not take, one it would take with a default, or one save() would
        # validate (a field of the user's own with __set__ is no parameter, yet is checked).
        return None
    namespace = dict(_CREATE_NAMESPACE, _MODEL=meta.model)
    keyword_only = ['*'] + ['%s=_MISSING' % column for column in parameters] if parameters \
        else []
    code = ['def create(%s):' % ', '.join(['_model'] + keyword_only + ['**_others']),
            '    if _others or _model is not _MODEL:',
            '        return _create_otherwise(_model, _others, %s)' % ', '.join(
                '%s=%s' % (column, column) for column in parameters),
            '    _refused = False']
    # As __init__() does, every callable default runs, given a value or not.
    for number, field in enumerate(fields):
        if field.column in parameters and callable(field.default):
            namespace['_default_%d' % number] = field.default
            code += ['    _made_%d = _default_%d()' % (number, number),
                     '    if %s is _MISSING:' % field.column,
                     '        %s = _made_%d' % (field.column, number)]
    for number, field in enumerate(fields):
        if field.column in parameters:
            code += _field_check_code(number, field, namespace)
    given = dict((column, column) for column in parameters)
    code += ['    if _refused:',     # the row as __init__() makes it, refused as save() does
             '        _refuse(_model, %s)' % _row_code(meta, given)]
    code += _create_insert_code(meta, fields, dict(given, created_at='_now', updated_at='_now'),
                                namespace)
    try:
        exec(compile('\n'.join(code), '<kokoropy create %s>' % meta.model.__name__, 'exec'),
             namespace)
    except SyntaxError:
        return None     # more than 255 parameters, which Python 3.6 refuses
    create = namespace['create']
    create.__doc__, create.__module__ = Model.create.__doc__, __name__
    create.__qualname__ = meta.model.__qualname__ + '.create'
    return create


def _is_parameter_name(column):
    """True for a column the compiled create() can take as a keyword-only parameter: an
    identifier as callers spell it (NFKC form), no keyword, none of the names the code uses
    itself (they start with '_', or are the builtins it calls)."""
    return column.isidentifier() and not keyword.iskeyword(column) and \
        not column.startswith('_') and column not in _CREATE_BUILTINS and \
        unicodedata.normalize('NFKC', column) == column


def _row_code(meta, values):
    """A dict display of a row: `values` has the code of some columns', the others are None."""
    return '{%s}' % ', '.join('%r: %s' % (column, values.get(column, 'None'))
                              for column in meta.columns)


def _field_check_code(number, field, namespace):
    """Lines of the compiled create() giving a field its default when not given, then
    checking its value as field.validate() does: the quick rule written out, validate()
    for the values the rule does not settle."""
    name, validated = field.column, field.editable
    if validated:
        namespace['_validate_%d' % number] = field.validate
    is_absent = [] if callable(field.default) else [
        'if %s is _MISSING:' % name, '    %s = %s' % (name, _default_code(number, field,
                                                                         namespace))]
    # A default validate() accepts (most are: None, when not required) is not checked again.
    default_is_valid = bool(is_absent) and validated and _is_valid_default(field)
    check = ['%s _validate_%d(%s) is not None:' % ('elif' if default_is_valid else 'if',
                                                     number, name),
             '    _refused = True'] if validated else []
    rule = field._quick_rule() if validated else None
    if rule is None:
        return ['    ' + line for line in is_absent + check]
    return ['    if %s:' % _quick_rule_code(number, name, rule, namespace)] + \
        ['        ' + line for line in is_absent + check]


def _is_valid_default(field):
    try:
        return field.validate(field.default) is None
    except Exception:   # a default the field cannot even check: let each create() check it
        return False


def _default_code(number, field, namespace):
    if field.default is None:
        return 'None'
    namespace['_default_%d' % number] = field.default
    return '_default_%d' % number


def _quick_rule_code(number, name, rule, namespace):
    """The condition, as code, under which a value of the field needs validate(): the
    negation of its quick rule (class, low, high, is_sized)."""
    kind, low, high, is_sized = rule
    if kind is bool:
        return '%s is not True and %s is not False' % (name, name)
    kind_code = kind.__name__ if kind in (str, int, float) else '_class_%d' % number
    if kind_code.startswith('_'):
        namespace[kind_code] = kind
    measured = 'len(%s)' % name if is_sized else name
    low_code = _bound_code(low, kind, '_low_%d' % number, namespace)
    high_code = _bound_code(high, kind, '_high_%d' % number, namespace)
    bounds = ' <= '.join(part for part in (low_code, measured, high_code) if part)
    if not (low_code or high_code):
        if kind is not float:
            return '%s.__class__ is not %s' % (name, kind_code)
        bounds = '%s == %s' % (name, name)     # false for NaN only, as -inf <= NaN <= inf is
    return '%s.__class__ is not %s or not %s' % (name, kind_code, bounds)


def _bound_code(bound, kind, name, namespace):
    """A quick rule's bound as code: a literal when it is a finite number (a float one for a
    float field when exact: float compared with float is the quickest), '' for an infinity
    (no bound), else a name for the value."""
    if bound.__class__ in (int, float) and math.isfinite(bound):
        if kind is float and float(bound) == bound:
            return repr(float(bound))
        return repr(bound)
    if bound.__class__ is float and math.isinf(bound):
        return ''
    namespace[name] = bound
    return name


def _create_insert_code(meta, fields, values, namespace):
    """The compiled create()'s last lines: stamp the row, INSERT it, return the instance.
    `values` gives the code of each column's value but None."""
    params, inserted = [], _insert_columns(meta)
    for number, field in enumerate(fields):
        value = values.get(field.column, 'None')
        if field.converts_to_db and field.column in meta.quick_names:
            namespace['_to_db_%d' % number] = field.to_db
            value = 'None if %s is None else _to_db_%d(%s)' % (value, number, value)
        if field.column in inserted:
            params.append(value)
    return [
        '    _database = _model._database',
        '    if _database is None:',
        '        _database = _default_database()',
        '    _statements = _database._statements.get(_model)',
        '    if _statements is None:',
        '        _statements = _database._model_statements(_model)',
        # _now_text() without the call.
        '    _nanoseconds = _time_ns()',
        '    _start, _prefix = _clock[0]',
        '    _offset = _nanoseconds - _start',
        '    if not 0 <= _offset < 1000000:',
        '        _start, _prefix = _clock_millisecond(_nanoseconds)',
        '        _offset = _nanoseconds - _start',
        '    _now = _prefix + _THREE_DIGITS[_offset // 1000]',
        # Database._cursor() without the call.
        '    try:',
        '        _cursor = _database._local.state.cursor',
        '    except AttributeError:',
        '        _cursor = _database._cursor()',
        '    try:',
        '        _cursor.execute(_statements.insert_sql, (%s,))' % ', '.join(params),
        '    except _database.dialect.integrity_errors as _error:',
        '        raise _integrity_error(_database, _model, _error, _instance_of(_model, %s))'
        % _row_code(meta, values),
        # The instance's own dict filled in: quicker than a new dict put in its place.
        '    _instance = _new(_model)',
        '    _row = _instance.__dict__',
        "    _row['id'] = _cursor.lastrowid if _statements.id_is_lastrowid else "
        "_statements.inserted_id(_cursor)"] + [
        '    _row[%r] = %s' % (column, values.get(column, 'None'))
        for column in meta.columns if column != 'id'] + [
        '    return _instance']


def _create_otherwise(model, others, **given):
    """What the compiled create() leaves to save(): other keywords than its columns (unknown
    ones are refused there), and a subclass it was inherited by."""
    values = dict((column, value) for column, value in given.items() if value is not _MISSING)
    if others:
        values.update(others)
        return model(**values).save()
    return Model.create.__func__(model, **values)


def _refuse(model, row):
    """Raise the ValidationError save() raises for this row (the compiled create() found a
    value validate() refuses)."""
    instance = _instance_of(model, row)
    raise ValidationError(instance.validate(), instance)


def _instance_of(model, row):
    instance = model.__new__(model)
    instance.__dict__ = row
    return instance


_CREATE_BUILTINS = ('len', 'str', 'int', 'float')    # the builtins a compiled create() uses
# The names every compiled create() reads, as its globals (with its model's own: _MODEL,
# _validate_N, _default_N, _to_db_N and so on, N being a column's number).
_CREATE_NAMESPACE = {
    '_MISSING': _MISSING, '_create_otherwise': _create_otherwise, '_refuse': _refuse,
    '_default_database': default_database, '_integrity_error': _integrity_error,
    '_instance_of': _instance_of, '_new': object.__new__, '_clock': _clock,
    '_clock_millisecond': _clock_millisecond, '_THREE_DIGITS': _THREE_DIGITS,
    '_time_ns': _clock_ns}


def _bind_to_application_database(model):
    """Bind a model of an application with its own DATABASE_URL to that database; return the
    database's key (None: the site database)."""
    app_name = _application_of_module(model.__module__)
    package = sys.modules.get('applications.%s' % app_name) if app_name else None
    init_path = getattr(package, '__file__', None)
    if not init_path:
        return None
    database = application_database(app_name, os.path.dirname(os.path.dirname(init_path)))
    if database is None:
        return None
    model._database = database
    return database.url


def _snake_case(name):
    """'ProductCategory' -> 'product_category', 'HTTPLog' -> 'http_log'."""
    return re.sub(r'(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])', '_', name).lower()


def _collect_fields(model, meta):
    """The bound fields of a model class: id, declared ones (bases first), then the automatic
    columns. Fields inherited from a concrete model are copied."""
    declared = {}
    for klass in reversed(model.__mro__):
        for name, value in klass.__dict__.items():
            if isinstance(value, Field) and (value.editable or value.model is None):
                declared[name] = value  # (automatic columns of a parent model are skipped)
    fields = {'id': _auto_field(Integer, 'id')}
    for name, field in declared.items():
        if name in AUTOMATIC_COLUMNS:
            raise FieldError('%s.%s: %s is added automatically; do not declare it'
                             % (model.__name__, name, name))
        if name.startswith('_') or hasattr(Model, name):
            raise FieldError('%s.%s: the name is used by Model itself; choose another'
                             % (model.__name__, name))
        fields[name] = field.clone() if field.model is not None else field
    for name, field_class in (('created_at', DateTime), ('updated_at', DateTime),
                              ('position', Integer), ('trashed_at', DateTime)):
        if name == 'position' and not meta.ordered or name == 'trashed_at' and not \
                meta.soft_delete:
            continue
        fields[name] = _auto_field(field_class, name)
    columns = set()
    for name, field in fields.items():
        field.bind(model, name)
        if field.column in columns:
            raise FieldError('%s: two fields use the column %r' % (model.__name__, field.column))
        columns.add(field.column)
        setattr(model, name, field)
    return fields


def _overrides_any(model, hook_names):
    return any(getattr(model, name) is not getattr(Model, name) for name in hook_names)


def _register_model(model):
    with _registry_lock:
        _MODELS.setdefault(model.__name__, []).append(weakref.ref(model))
        _PENDING_RELATIONS.extend(model._meta.foreign_keys)
        _attach_pending_relations()


def _attach_pending_relations():
    """Give each ForeignKey's target its reverse attribute once the target exists."""
    still_pending = []
    for field in _PENDING_RELATIONS:
        if field.model is None:
            continue
        target = field.to if isinstance(field.to, type) else _find_model(field.to, field.model)
        if target is None or target._meta is None:
            still_pending.append(field)
        elif isinstance(field.to, type) or target.__name__ == field.to or \
                target.__module__ == field.model.__module__:
            _attach_reverse(target, field)
        # else: a table name matched a model of another module; too loose to add attributes
    _PENDING_RELATIONS[:] = still_pending


def _attach_reverse(target, field):
    name = field.reverse_name()
    existing = target.__dict__.get(name)
    if existing is not None and not isinstance(existing, _ReverseRelation) or \
            existing is None and hasattr(target, name):
        raise FieldError('%s.%s already exists: give ForeignKey %s a related_name'
                         % (target.__name__, name, field._owner_name()))
    if isinstance(existing, _ReverseRelation):
        other = existing.foreign_key
        # Two relations declared in one module clash for real; across modules the later one
        # wins, so that reloaded modules and test modules reusing model names still import.
        if other.model.__module__ == field.model.__module__ and \
                (other.model.__name__, other.name) != (field.model.__name__, field.name):
            raise FieldError('%s.%s is already the reverse of %s: give ForeignKey %s a '
                             'related_name' % (target.__name__, name, other._owner_name(),
                                               field._owner_name()))
    setattr(target, name, _ReverseRelation(field))


class _ReverseRelation:
    """The attribute a ForeignKey's target gets: `category.products` -> Query of products."""

    def __init__(self, foreign_key):
        self.foreign_key = foreign_key

    def __get__(self, instance, owner):
        if instance is None:
            return self
        field = self.foreign_key
        return Query(field.model).where(**{field.column: instance.__dict__.get('id')})


class Query:
    """A lazy, chainable SELECT over one model; it runs when iterated or asked for a result.

    Each method returns a new Query, so a query can be shared and refined. Iterating runs the
    query again each time. Filters and orderings name fields, checked against the model
    (FieldError otherwise); values are always bound parameters.
    """

    def __init__(self, model):
        self.model = model
        self._conditions = ()
        self._ordering = None
        self._limit = None
        self._offset = None
        self._trashed = 'hide'

    def __repr__(self):
        return '<Query %s: %s>' % (self.model.__name__, self.sql()[0])

    def __iter__(self):
        return iter(self._fetch())

    def __bool__(self):
        # `if query:` asks whether there are rows (one cheap query), not whether it is a Query.
        return self.exists()

    # --- refining -----------------------------------------------------------------------

    def where(self, *conditions, **filters):
        """Keep rows matching every condition: Q objects and `field=value` or
        `field__operator=value` filters (eq ne gt gte lt lte in like contains startswith
        endswith isnull). `contains` and friends use LIKE: ASCII case is ignored."""
        resolved = [_resolve_q(self.model, condition) for condition in conditions]
        resolved += [_resolve_filter(self.model, key, value) for key, value in filters.items()]
        return self._copy(_conditions=self._conditions + tuple(resolved))

    def where_any(self, **filters):
        """Keep rows matching at least one of the filters (an OR of them)."""
        if not filters:
            return self._copy()
        group = ('group', 'OR', False, [_resolve_filter(self.model, key, value)
                                        for key, value in filters.items()])
        return self._copy(_conditions=self._conditions + (group,))

    def exclude(self, **filters):
        """Drop rows matching all of the filters."""
        group = ('group', 'AND', True, [_resolve_filter(self.model, key, value)
                                        for key, value in filters.items()])
        return self._copy(_conditions=self._conditions + (group,))

    def order_by(self, *names):
        """Sort by fields, '-name' for descending; replaces any earlier order."""
        return self._copy(_ordering=tuple(_resolve_order(self.model, name) for name in names))

    def limit(self, count):
        """Return at most `count` rows (None: no limit)."""
        return self._copy(_limit=_non_negative(count, 'limit'))

    def offset(self, count):
        """Skip the first `count` rows."""
        return self._copy(_offset=_non_negative(count, 'offset'))

    def with_trashed(self):
        """Include trashed rows (soft_delete models)."""
        return self._copy(_trashed='include')

    def only_trashed(self):
        """Only trashed rows (soft_delete models)."""
        return self._copy(_trashed='only')

    # --- results ------------------------------------------------------------------------

    def first(self):
        """The first row, or None."""
        rows = self._copy(_limit=1)._fetch()
        return rows[0] if rows else None

    def get(self, id):
        """The row with this id among the query's rows, or None."""
        return self.where(id=id).first()

    def count(self):
        """The number of rows."""
        database = self._database()
        sql, params = self._select_sql(database, '1', ordered=False)
        return database.execute(database.dialect.count(sql), params).fetchone()[0]

    def exists(self):
        """True when at least one row matches."""
        database = self._database()
        sql, params = self._copy(_limit=1)._select_sql(database, '1', ordered=False)
        return database.execute(sql, params).fetchone() is not None

    def paginate(self, page=1, per_page=20):
        """One page of rows as a Page (page numbers start at 1; a page past the end is
        empty)."""
        per_page = min(max(1, int(per_page)), MAX_ROW_ID)
        page = min(max(1, int(page)), MAX_ROW_ID // per_page)  # the offset must fit a bigint
        whole = self._copy(_limit=None, _offset=None)
        items = whole._copy(_limit=per_page, _offset=(page - 1) * per_page)._fetch()
        return Page(items, page, per_page, whole.count())

    def delete(self):
        """Delete the matching rows for good (no hooks run); return how many.

        RestrictedDeleteError when a ForeignKey with on_delete='RESTRICT' refuses."""
        database = self._database()
        where, params = self._target_rows(database)
        try:
            cursor = database.execute(database.dialect.delete(self.model._meta.table, where),
                                      params)
        except database.dialect.integrity_errors as exc:
            raise _restricted_error(database, self.model, exc)
        return cursor.rowcount

    def update(self, **values):
        """Set fields on the matching rows (no validation, no hooks; updated_at is set and
        Password values are hashed); return how many rows changed."""
        if not values:
            return 0
        database = self._database()
        columns, params = _update_assignments(self.model, values)
        where, where_params = self._target_rows(database)
        sql = database.dialect.update(self.model._meta.table, columns, where)
        try:
            return database.execute(sql, params + where_params).rowcount
        except database.dialect.integrity_errors as exc:
            raise _integrity_error(database, self.model, exc)

    def sql(self):
        """(SQL text, parameters) the query would run: for debugging."""
        database = self._database()
        statements = database._model_statements(self.model)
        return self._select_sql(database, statements.column_list)

    # --- internals ----------------------------------------------------------------------

    def _copy(self, **changes):
        query = object.__new__(type(self))
        query.__dict__.update(self.__dict__)
        query.__dict__.update(changes)
        return query

    def _database(self):
        return self.model._database or default_database()

    def _fetch(self):
        database = self._database()
        statements = database._model_statements(self.model)
        sql, params = self._select_sql(database, statements.column_list)
        # This thread's reused cursor: fetchall() drains it, so no statement stays open.
        return statements.instances(self.model, database._cursor().execute(sql, params).fetchall())

    def _select_sql(self, database, columns, ordered=True):
        dialect = database.dialect
        where, params = self._where_sql(dialect)
        order = ''
        if ordered:
            ordering = self._ordering
            if ordering is None:
                ordering = self.model._meta.default_ordering
            order = ', '.join(dialect.order_term(column, desc) for column, desc in ordering)
        sql = dialect.select(self.model._meta.table, columns, where, order,
                             self._limit is not None, bool(self._offset))
        if self._limit is not None:
            params.append(self._limit)
        if self._offset:
            params.append(self._offset)
        return sql, params

    def _where_sql(self, dialect):
        parts, params = [], []
        for condition in self._conditions:
            sql, values = _compile_condition(condition, dialect)
            parts.append(sql)
            params.extend(values)
        if self.model._meta.soft_delete and self._trashed != 'include':
            parts.append(dialect.condition('trashed_at', 'isnull', self._trashed == 'hide')[0])
        return (dialect.combine(parts) if parts else ''), params

    def _target_rows(self, database):
        """WHERE text and parameters picking the rows update() and delete() change."""
        if self._limit is None and not self._offset:
            return self._where_sql(database.dialect)
        select, params = self._select_sql(database, database.dialect.quote('id'))
        return database.dialect.in_subquery('id', select), params


def _resolve_filter(model, key, value):
    """('filter', column, operator, value) for `name` or `name__operator`, checked against
    the model's fields; the value converted for the database."""
    meta = model._meta
    name, separator, operator_name = key.partition('__')
    field = meta.lookup.get(name)
    if field is None:
        raise FieldError('%s has no field %r; valid fields: %s'
                         % (model.__name__, name, ', '.join(meta.fields)))
    operator_name = operator_name if separator else 'eq'
    if operator_name not in FILTER_OPERATORS:
        raise FieldError('unknown filter operator %r in %r (%s); use one of: %s'
                         % (operator_name, key, model.__name__, ', '.join(FILTER_OPERATORS)))
    return ('filter', field.column, operator_name, _filter_value(field, operator_name, value))


def _filter_value(field, operator_name, value):
    if operator_name == 'isnull':
        return bool(value)
    if operator_name in ('like', 'contains', 'startswith', 'endswith'):
        return str(value)
    if operator_name == 'in':     # a value beyond 64 bits equals no stored integer: left out
        to_db, infinities = field.to_db, (math.inf, -math.inf)
        values = [None if item is None else _bindable(to_db(item)) for item in value]
        return tuple([item for item in values if item not in infinities])
    return None if value is None else _bindable(field.to_db(value))


def _bindable(value):
    """An int beyond 64 bits (from a URL, say) as an infinity of its sign: drivers cannot bind
    it, and every comparison with a stored 64-bit integer keeps its answer."""
    if value.__class__ is int and not -MAX_ROW_ID <= value <= MAX_ROW_ID:
        return math.inf if value > 0 else -math.inf
    return value


def _resolve_q(model, q):
    if not isinstance(q, Q):
        raise TypeError('where() takes Q objects and field=value filters, not %r' % (q,))
    children = [_resolve_q(model, child) if isinstance(child, Q)
                else _resolve_filter(model, child[0], child[1]) for child in q.children]
    return ('group', q.connector, q.negated, children)


def _compile_condition(condition, dialect):
    """SQL text and parameters of a resolved filter or group."""
    if condition[0] == 'filter':
        return dialect.condition(condition[1], condition[2], condition[3])
    _, connector, negated, children = condition
    parts, params = [], []
    for child in children:
        sql, values = _compile_condition(child, dialect)
        parts.append(sql)
        params.extend(values)
    return dialect.combine(parts, connector, negated), params


def _resolve_order(model, name):
    """(column, descending) for 'name' or '-name', checked against the model's fields."""
    if not isinstance(name, str):
        raise FieldError('order_by() takes field names, not %r' % (name,))
    descending = name.startswith('-')
    field = model._meta.lookup.get(name.lstrip('-'))
    if field is None:
        raise FieldError('%s has no field %r to order by; valid fields: %s'
                         % (model.__name__, name.lstrip('-'), ', '.join(model._meta.fields)))
    return field.column, descending


def _update_assignments(model, values):
    """Columns and bound values of Query.update(), updated_at included."""
    columns, params = [], []
    for name, value in values.items():
        field = model._meta.lookup.get(name)
        if field is None or field.primary_key:
            raise FieldError('%s has no field %r to update; valid fields: %s'
                             % (model.__name__, name, ', '.join(model._meta.fields)))
        if isinstance(field, Password) and value is not None:
            value = field.hash(value)
        columns.append(field.column)
        params.append(None if value is None else field.to_db(value))
    if 'updated_at' not in columns:
        columns.append('updated_at')
        params.append(_now_text())
    return columns, params


def _non_negative(count, what):
    if count is None:
        return None
    count = int(count)
    if count < 0:
        raise ValueError('%s must not be negative' % what)
    return count


class Q:
    """A condition to combine with | (or), & (and) and ~ (not), for Query.where():
    `Product.where(Q(price__lt=5) | Q(name__contains='sale'))`. Several filters in one Q must
    all match."""

    def __init__(self, **filters):
        self.connector = 'AND'
        self.negated = False
        self.children = list(filters.items())

    def __or__(self, other):
        return self._combine(other, 'OR')

    def __and__(self, other):
        return self._combine(other, 'AND')

    def __invert__(self):
        inverted = copy.copy(self)
        inverted.negated = not self.negated
        return inverted

    def __repr__(self):
        return '<Q %s%s %r>' % ('NOT ' if self.negated else '', self.connector, self.children)

    def _combine(self, other, connector):
        if not isinstance(other, Q):
            return NotImplemented
        combined = Q()
        combined.connector = connector
        combined.children = [self, other]
        return combined


class Page:
    """One page of a query's rows: `items`, `page`, `per_page`, `total`, `pages` (at least 1),
    `has_prev`, `has_next`, `prev_num`, `next_num` (None at the ends). Iterable over items."""

    def __init__(self, items, page, per_page, total):
        self.items = items
        self.page = page
        self.per_page = per_page
        self.total = total
        self.pages = max(1, -(-total // per_page))
        self.has_prev = page > 1
        self.has_next = page < self.pages
        self.prev_num = page - 1 if self.has_prev else None
        self.next_num = page + 1 if self.has_next else None

    def __iter__(self):
        return iter(self.items)

    def __len__(self):
        return len(self.items)

    def __repr__(self):
        return '<Page %d of %d: %d of %d rows>' % (self.page, self.pages, len(self.items),
                                                   self.total)

    def iter_pages(self, edge=1, around=2):
        """Page numbers for pagination links: the first and last `edge` pages and `around`
        pages each side of the current one, with None where numbers are skipped."""
        # Only the numbers that can be shown are visited: a list may have thousands of pages.
        # The bounds are the old tests' (n <= edge, n > pages - edge, |n - page| <= around),
        # floored and ceiled as needed for a float or an infinity passed as edge or around.
        pages, page = self.pages, self.page
        shown = set(range(1, math.floor(min(edge, pages)) + 1))
        shown.update(range(math.floor(max(0, pages - edge)) + 1, pages + 1))
        shown.update(range(math.ceil(max(1, page - around)),
                           math.floor(min(pages, page + around)) + 1))
        last = 0
        for number in sorted(shown):
            if last and number - last > 1:
                yield None
            yield number
            last = number


###############################################################################
# 9. Migrations
# Per-application schema migrations: applications/<app>/migrations/NNNN_name.py files with
# upgrade(db) and downgrade(db), the kokoropy_migrations history table, and Migrator to list,
# apply and undo them, each in one transaction. Uses sections 8-8b (Database, its schema helpers).
###############################################################################

__all__ += ['Migration', 'Migrator', 'MigrationError']

MIGRATIONS_FOLDER = 'migrations'
MIGRATION_HISTORY_TABLE = 'kokoropy_migrations'
# 0001_create_product.py: a version of four or more digits, an underscore, a name.
MIGRATION_FILE = re.compile(r'^(\d{4,})_([A-Za-z0-9_]+)\.py$')


class MigrationError(Exception):
    """A migration could not be found, loaded or run. The message names the application, the
    file and the cause; a migration that failed was rolled back whole (no schema change, no
    history row). `completed` lists the (Migration, seconds) that ran before the failure."""

    def __init__(self, message, completed=()):
        Exception.__init__(self, message)
        self.completed = list(completed)


class Migration:
    """One migration file: `application`, `version` (int), `name`, `path`; its module's
    `upgrade(db)` and `downgrade(db)` functions receive the Database (see Database's schema
    helpers: create_table, drop_table, add_column, rename_column, drop_column, create_index,
    execute)."""

    def __init__(self, application, version, name, path):
        self.application = application
        self.version = version
        self.name = name
        self.path = path
        self._module = None

    def __repr__(self):
        return '<Migration %s>' % self.label

    @property
    def label(self):
        """'app/migrations/0001_name.py', as messages show it."""
        return '%s/%s/%s' % (self.application, MIGRATIONS_FOLDER, os.path.basename(self.path))

    def function(self, direction):
        """The module's `upgrade` or `downgrade` function (MigrationError when missing)."""
        module = self._load()
        function = getattr(module, direction, None)
        if not callable(function):
            raise MigrationError('%s has no %s(db) function' % (self.label, direction))
        return function

    def _load(self):
        if self._module is None:
            module_name = 'kokoropy_migration_%s_%04d' % (self.application, self.version)
            spec = importlib.util.spec_from_file_location(module_name, self.path)
            module = importlib.util.module_from_spec(spec)
            try:
                spec.loader.exec_module(module)
            except Exception as exc:
                raise MigrationError('%s cannot be loaded: %s: %s'
                                     % (self.label, type(exc).__name__, exc)) from exc
            self._module = module
        return self._module


class Migrator:
    """Finds, applies and undoes the migrations of a project's applications.

    `database` defaults to default_database(); `applications_path` to the default app's
    config (applications_path, else project_path/applications). Methods return data and print
    nothing: the command line shows it.
    """

    def __init__(self, database=None, applications_path=None):
        self.database = database or default_database()
        self.applications_path = applications_path or _applications_folder(default_app().config)

    def applications(self):
        """Names of the applications that have a migrations folder, sorted."""
        if not os.path.isdir(self.applications_path):
            return []
        return sorted(name for name in os.listdir(self.applications_path)
                      if os.path.isdir(os.path.join(self.applications_path, name,
                                                    MIGRATIONS_FOLDER)))

    def migrations(self, application=None):
        """Every migration file (of one application, or all), by application then version."""
        found = []
        for name in [application] if application else self.applications():
            found += self._application_migrations(name)
        return found

    def next_version(self, application):
        """The version number a new migration of the application should take (1 for the
        first, even before the migrations folder exists)."""
        folder = os.path.join(self.applications_path, application, MIGRATIONS_FOLDER)
        if not os.path.isdir(folder):
            return 1
        versions = [migration.version for migration in self._application_migrations(application)]
        return max(versions) + 1 if versions else 1

    def pending(self, application=None):
        """Migrations not applied yet, in the order they would run."""
        done = set((row['application'], row['version']) for row in self.log(application))
        return [migration for migration in self.migrations(application)
                if (migration.application, migration.version) not in done]

    def apply_pending(self, application=None, target=None):
        """Apply pending migrations (of one application, or all) up to version `target`
        (default: the latest); each runs in its own transaction. Returns a list of
        (Migration, seconds). Raises MigrationError at the first failure (the ones before it
        stay applied and are listed in its `completed`)."""
        if target is not None and application is None:
            raise MigrationError('a target version needs an application')
        chosen = [migration for migration in self.pending(application)
                  if target is None or migration.version <= int(target)]
        return self._run_all(chosen, 'upgrade')

    def downgrade(self, application, steps=1):
        """Undo the last `steps` applied migrations of an application, newest first; returns
        a list of (Migration, seconds)."""
        on_disk = dict((migration.version, migration)
                       for migration in self._application_migrations(application))
        rows = sorted(self.log(application), key=lambda row: row['version'], reverse=True)
        chosen = []
        for row in rows[:max(0, int(steps))]:
            migration = on_disk.get(row['version'])
            if migration is None:
                raise MigrationError('%s/%s/%04d_%s.py was applied but is missing: restore it '
                                     'to downgrade' % (application, MIGRATIONS_FOLDER,
                                                       row['version'], row['name']))
            chosen.append(migration)
        return self._run_all(chosen, 'downgrade')

    def database_for(self, application):
        """The database holding an application's tables and history: its own DATABASE_URL's
        (see application_database()), else this migrator's."""
        return application_database(application, self.applications_path) or self.database

    def log(self, application=None):
        """History rows as dicts (application, version, name, applied_at), oldest first,
        each application's from its own database."""
        if application is not None:
            return self._history(self.database_for(application), application)
        rows = self._history(self.database, None)
        for name in self.applications():
            database = self.database_for(name)
            if database is not self.database:
                rows = [row for row in rows if row['application'] != name] + \
                    self._history(database, name)
        return sorted(rows, key=lambda row: (str(row['applied_at']), row['application'],
                                             row['version']))

    def _history(self, database, application):
        """The history rows of one database (of one application, or all)."""
        dialect = database.dialect
        if not database.table_exists(MIGRATION_HISTORY_TABLE):
            return []
        where, params = dialect.condition('application', 'eq', application) \
            if application is not None else ('', ())
        order = ', '.join(dialect.order_term(column, False)
                          for column in ('applied_at', 'application', 'version'))
        sql = dialect.select(MIGRATION_HISTORY_TABLE, dialect.column_list(_HISTORY_COLUMNS),
                             where, order)
        return [dict(zip(_HISTORY_COLUMNS, row)) for row in database.execute(sql, params)]

    # --- internals ----------------------------------------------------------------------

    def _application_migrations(self, application):
        folder = os.path.join(self.applications_path, application, MIGRATIONS_FOLDER)
        if not os.path.isdir(folder):
            raise MigrationError('application %r has no %s folder (looked in %s)'
                                 % (application, MIGRATIONS_FOLDER, folder))
        found = {}
        for filename in sorted(os.listdir(folder)):
            match = MIGRATION_FILE.match(filename)
            if not match:
                continue
            version = int(match.group(1))
            if version in found:
                raise MigrationError('%s/%s has two migrations numbered %d: %s and %s' % (
                    application, MIGRATIONS_FOLDER, version,
                    os.path.basename(found[version].path), filename))
            found[version] = Migration(application, version, match.group(2),
                                       os.path.join(folder, filename))
        return [found[version] for version in sorted(found)]

    def _run_all(self, migrations, direction):
        completed = []
        for migration in migrations:
            try:
                seconds = self._run(migration, direction)
            except MigrationError as exc:
                exc.completed = list(completed)
                raise
            if seconds is not None:
                completed.append((migration, seconds))
        return completed

    def _run(self, migration, direction):
        """Run one migration in one transaction with its history change; return seconds, or
        None when another host ran it meanwhile."""
        function = migration.function(direction)
        database = self.database_for(migration.application)
        started = time.perf_counter()
        try:
            with database.schema_change():
                # Hosts upgrading at once queue here (an advisory lock on PostgreSQL, sqlite's
                # write lock taken by BEGIN IMMEDIATE); the history, read again under the
                # lock, then shows what the one before did, so nothing runs twice.
                database.dialect.lock_migrations(database)
                _create_history_table(database)
                if self._is_applied(migration) != (direction == 'downgrade'):
                    return None
                function(database)
                self._record(database, migration, direction)
        except (MigrationError, DatabaseUnavailable):
            raise
        except Exception as exc:
            raise MigrationError('%s failed during %s and was rolled back: %s: %s' % (
                migration.label, direction, type(exc).__name__, exc)) from exc
        return time.perf_counter() - started

    def _is_applied(self, migration):
        """True when the history has a row for the migration."""
        return any(row['version'] == migration.version
                   for row in self.log(migration.application))

    def _record(self, database, migration, direction):
        """Add (upgrade) or remove (downgrade) the migration's history row."""
        dialect = database.dialect
        if direction == 'downgrade':
            application = dialect.condition('application', 'eq', migration.application)
            version = dialect.condition('version', 'eq', migration.version)
            database.execute(dialect.delete(MIGRATION_HISTORY_TABLE, dialect.combine(
                [application[0], version[0]])), application[1] + version[1])
            return
        database.execute(dialect.insert(MIGRATION_HISTORY_TABLE, _HISTORY_COLUMNS),
                         (migration.application, migration.version, migration.name,
                          _now_text()))


_HISTORY_COLUMNS = ('application', 'version', 'name', 'applied_at')


def _create_history_table(database):
    """Create kokoropy_migrations(application, version, name, applied_at) if missing."""
    dialect = database.dialect
    fields = [_schema_field(name, field) for name, field in (
        ('application', String(required=True)), ('version', Integer(required=True)),
        ('name', String(required=True)), ('applied_at', DateTime(required=True)))]
    database.execute(dialect.create_table(MIGRATION_HISTORY_TABLE, fields, if_not_exists=True))
    database.execute(dialect.create_index(MIGRATION_HISTORY_TABLE + '_version_unique',
                                          MIGRATION_HISTORY_TABLE, ['application', 'version'],
                                          unique=True, if_not_exists=True))


###############################################################################
# 9b. Logins
# login_user(), logout_user(), current_user() and end_sessions(): who is logged in, kept in
# the signed session (section 6) as the user's model, id, auth epoch (a counter stored in the
# user's row, section 8) and a fingerprint of the password hash. Logging out raises the
# epoch and changing the password changes the hash: either ends every earlier session.
###############################################################################

__all__ += ['AuthEpoch', 'login_user', 'logout_user', 'current_user', 'end_sessions']

LOGIN_SESSION_KEY = '_login'     # [model class name, user id, auth epoch, password fingerprint]


class AuthEpoch(Integer):
    """The login counter a user model needs for login_user(): `auth_epoch = AuthEpoch()`.

    Forms never show or change it, and save() never writes it: only end_sessions() (called by
    logout_user()) raises it, in the database, which ends every session started before.
    A migration may create the column as `AuthEpoch()` or `Integer(default=0)`.
    """

    def __init__(self, **options):
        options.setdefault('default', 0)
        Integer.__init__(self, **options)
        self.editable = False


def login_user(user):
    """Log `user` (a saved Model instance with an `auth_epoch = AuthEpoch()` field) in for
    this browser's session; return it.

    The session is cleared first, so nothing from before the login carries over (OWASP
    session fixation advice; a new CSRF token follows). A user whose `is_active` is false is
    refused with ValueError, as is a model without the field.
    """
    model = type(user)
    if not isinstance(model._meta.fields.get(AUTH_EPOCH_FIELD), Integer):
        raise ValueError('%s needs a field `%s = AuthEpoch()` (and a migration adding the '
                         'column) to log users in' % (model.__name__, AUTH_EPOCH_FIELD))
    if user.id is None or not getattr(user, 'is_active', True):
        raise ValueError('%r cannot log in: it is not saved or not active' % (user,))
    if any(isinstance(value, _PlainPassword) for value in user.__dict__.values()):
        user.refresh()  # a password just saved: its hash, as later requests will read it
    session = request.session
    session.clear()
    session[LOGIN_SESSION_KEY] = [model.__name__, user.id, getattr(user, AUTH_EPOCH_FIELD),
                                  _password_fingerprints(user)[0]]
    request.environ['kokoropy.user'] = user
    return user


def logout_user():
    """Log the current user out: end_sessions() for them (every browser and every copy of
    the cookie stops working), and clear this session."""
    user = current_user()
    if user is not None:
        end_sessions(user)
    request.session.clear()
    request.environ['kokoropy.user'] = None


def current_user():
    """The user logged in for this request (an instance of the model given to login_user()),
    or None: never logged in, logged out anywhere since, password changed since, the row
    deleted, or `is_active` false. Read once per request."""
    environ = request.environ
    if 'kokoropy.user' not in environ:
        environ['kokoropy.user'] = _logged_in_user(request.session)
    return environ['kokoropy.user']


def end_sessions(user):
    """End every session of `user` started so far (e.g. after an administrator locked or
    reset the account): raises the auth epoch stored in the user's row."""
    epoch = (getattr(user, AUTH_EPOCH_FIELD, None) or 0) + 1
    query = type(user).where(id=user.id)
    if type(user).soft_delete:
        query = query.with_trashed()
    query.update(**{AUTH_EPOCH_FIELD: epoch})
    user.__dict__[AUTH_EPOCH_FIELD] = epoch


def _logged_in_user(session):
    """The user the session's login names while it is still valid; else forget the login."""
    login = session.get(LOGIN_SESSION_KEY)
    if not login:
        return None
    user = None
    if isinstance(login, list) and len(login) == 4:
        model_name, user_id, epoch, fingerprint = login
        model = _find_model(model_name) if isinstance(model_name, str) else None
        user = model.get(user_id) if model is not None and type(user_id) is int else None
        if user is not None and (getattr(user, AUTH_EPOCH_FIELD, None) != epoch or
                                 fingerprint not in _password_fingerprints(user) or
                                 not getattr(user, 'is_active', True)):
            user = None
    if user is None:
        session.pop(LOGIN_SESSION_KEY, None)
    return user


def _password_fingerprints(user):
    """Keyed digests of the user's password hashes, one per secret (the first signs new
    logins; the others keep sessions across a secret rotation): a new password gives new
    ones. Keyed, since the session cookie is signed but readable."""
    hashes = [to_str(user.__dict__.get(field.column)) for field in type(user)._meta.fields.values()
              if isinstance(field, Password)]
    text = to_bytes('\n'.join(hashes))
    return [_b64encode(hmac.new(to_bytes(secret), text, hashlib.sha256).digest()[:16])
            for secret in _secret_list(get_secret())]


###############################################################################
# 10. Model forms and tables
# Form (and its BoundFields), Table, render_detail and DeleteImpact: HTML forms, sortable
# paginated lists, detail pages and what a delete takes with it, built from a Model's fields and
# relations, rendered through the template engine from views an application may override
# (views/kokoropy/form.tpl ...). Uses the ORM, templates, CSRF, request.
###############################################################################

__all__ += ['Form', 'BoundField', 'Table', 'render_detail', 'DeleteImpact']

# Used when an Upload field lists no `allowed` extensions. Never svg or html: a browser runs the
# scripts inside those when the site serves them from its own origin (stored XSS).
DEFAULT_UPLOAD_EXTENSIONS = ('png', 'jpg', 'jpeg', 'gif', 'webp', 'pdf', 'txt', 'csv')
IMAGE_EXTENSIONS = frozenset(['png', 'jpg', 'jpeg', 'gif', 'webp'])
TABLE_TEXT_LIMIT = 60               # longer texts are cut in table cells (whole on the detail)
HIDDEN_PASSWORD = '••••••'
DELETE_IMPACT_NAMES = 5         # rows a delete page names per group; the others are counted
DELETE_IMPACT_MAX_ROWS = 200    # CASCADE rows DeleteImpact follows further down
# The class of a table cell or detail value of each display kind (see _display); the
# stylesheet (index/assets/css/kokoropy.css) styles them. Plain text has none.
CELL_CLASSES = {'number': 'numeric', 'long': 'cell-long', 'date': 'cell-date',
                'boolean': 'cell-boolean', 'image': 'cell-image', 'file': 'cell-file'}
# The display kind of each widget kind; 'text' for the others. A file's 'image' kind is
# decided per value, by its extension.
_DISPLAY_KINDS = {'textarea': 'long', 'number': 'number', 'checkbox': 'boolean', 'date': 'date',
                  'datetime-local': 'date', 'file': 'file'}

# One table cell: `text` (an image's alt text), `href` (the link or image URL, or None),
# `kind` (a display kind, see _display) and `label` (its column's label, shown on phones).
_TableCell = collections.namedtuple('TableCell', 'text href kind label')


class BoundField:
    """One field of a Form: label, widget, value and error; str() renders the whole row.

    Rendered through the views `kokoropy/field` (the row), `kokoropy/label` and
    `kokoropy/widget`, which an application may override.
    """

    def __init__(self, form, name, field):
        self.form = form
        self.name = name
        self.field = field
        self.kind = _widget_kind(field)
        self.id = 'field-' + name
        self.error_id = self.id + '-error'
        self.help_id = self.id + '-help'

    @property
    def label(self):
        """The label text (the field's `label` option, else its name made readable)."""
        return self.field.label

    @property
    def help_text(self):
        """The field's `help_text` option, or None."""
        return getattr(self.field, 'help_text', None)

    @property
    def error(self):
        """The validation message for this field, or None."""
        return self.form.errors.get(self.name)

    @property
    def value(self):
        """The text the widget shows: what the user submitted, else the stored value. A
        password is never shown."""
        if self.kind == 'password':
            return ''
        if self.name in self.form.raw:
            return self.form.raw[self.name]
        return _input_text(self.form._stored_value(self.field))

    @property
    def is_required(self):
        """True when the browser must insist on a value (the `required` attribute)."""
        if not self.field.required or self.kind == 'checkbox':
            return False
        if self.kind in ('password', 'file'):
            # Left blank on an edit, these keep the stored hash or file.
            return not self.form._stored_value(self.field)
        return True

    @property
    def html_label(self):
        """Markup of the <label>, tied to the widget by `for`."""
        return _render_view('kokoropy/label', field=self, label=self.label, field_id=self.id,
                            is_required=self.is_required)

    @property
    def widget(self):
        """Markup of the field's input, textarea or select."""
        current_file = None
        if self.kind == 'file':
            current_file = _current_file(self.form._stored_value(self.field))
        options = self._options() if self.kind == 'select' else []
        return _render_view('kokoropy/widget', field=self, kind=self.kind, value=self.value,
                            attributes=_html_attributes(self._attributes()), options=options,
                            current_file=current_file)

    def render(self):
        """Markup of the whole row: label, widget, help text and error message."""
        return _render_view('kokoropy/field', field=self, kind=self.kind, label=self.html_label,
                            widget=self.widget, help_text=self.help_text, help_id=self.help_id,
                            error=self.error, error_id=self.error_id)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def _attributes(self):
        """(name, value) pairs of the widget's attributes: None and False leave one out."""
        kind, value = self.kind, self.value
        pairs = [('type', kind if kind not in ('textarea', 'select') else None),
                 ('id', self.id), ('name', self.name)]
        if kind == 'checkbox':
            pairs += [('value', '1'), ('checked', _is_checked(value))]
        elif kind not in ('textarea', 'select', 'file', 'password'):
            pairs.append(('value', value))
        pairs += _constraint_attributes(self.field, kind, value)
        pairs.append(('required', self.is_required))
        described_by = [self.help_id] if self.help_text else []
        if self.error:
            pairs.append(('aria-invalid', 'true'))
            described_by.append(self.error_id)
        pairs.append(('aria-describedby', ' '.join(described_by) or None))
        return pairs

    def _options(self):
        """(value, text, is_selected) triples; an empty first option when it may be blank
        (or has no value yet, so that the browser does not quietly pick the first row)."""
        current = self.value
        options = [(str(value), text, str(value) == current)
                   for value, text in _select_choices(self.field)]
        if not self.is_required or not any(selected for _, _, selected in options):
            options.insert(0, ('', '', current == ''))
        return options


class Form:
    """An HTML form editing a Model: a new row (give the class) or an existing one (an instance).

        form = Form(Product, request.forms, request.files)   # bound to a submission
        if form.is_valid():
            product = form.save()
        return page(form.render())

    `is_valid()` converts the submitted text with each field's to_python() and validates the
    instance; `errors` maps field names to messages; `save()` stores the uploads and the row;
    `render()` gives the whole <form> with the user's input kept (passwords excepted), each
    message beside its field and the CSRF input. `fields` / `exclude` choose and order the
    fields (default: every editable one; `fields=[]` leaves only the button, e.g. to confirm a
    delete). `submit_style` is the button's look ('primary', or 'danger' to confirm a delete);
    `cancel_url` adds a Cancel link beside it. `form['name']` is a BoundField. Uploads are
    saved under the current application's assets/uploads/ with a random name and stored as
    'uploads/<name>' (served at /<app>/assets/uploads/<name>); only the field's `allowed`
    extensions are taken.
    """

    def __init__(self, model_or_instance, data=None, files=None, fields=None, exclude=None,
                 action='', method='post', submit_label=None, submit_style='primary',
                 cancel_url=None):
        if isinstance(model_or_instance, type):
            self.model, self.instance = model_or_instance, model_or_instance()
        else:
            self.model, self.instance = type(model_or_instance), model_or_instance
        self.data = data
        self.files = files
        self.action = action
        self.method = method.lower()
        self.submit_label = submit_label or ('Save' if _is_saved(self.instance) else 'Create')
        self.submit_style, self.cancel_url = submit_style, cancel_url
        self.fields = _choose_fields(self.model, fields, exclude, _is_editable, editable_only=True)
        self.errors = {}
        self.raw = {}               # field name -> text the user submitted
        self._uploads = {}          # field name -> (FileUpload, stored path, previous path)
        self._is_valid = None

    def __getitem__(self, name):
        if name not in self.fields:
            raise KeyError('%s form has no field %r; it has: %s'
                           % (self.model.__name__, name, ', '.join(self.fields)))
        return BoundField(self, name, self.fields[name])

    def __iter__(self):
        return (self[name] for name in self.fields)

    @property
    def is_bound(self):
        """True when the form was given submitted data to validate."""
        return self.data is not None

    @property
    def is_multipart(self):
        """True when the form has a file input (it is then sent as multipart/form-data)."""
        return any(_widget_kind(field) == 'file' for field in self.fields.values())

    def is_valid(self):
        """Convert and validate the submitted data into the instance; True when there is no
        error. Sets `errors` (also for fields not in the form) and keeps the submitted text for
        re-display. An unbound form is never valid."""
        if self._is_valid is None:
            self._is_valid = self.is_bound and self._bind()
        return self._is_valid

    def save(self):
        """Save the uploaded files, then the instance; return the instance.

        Raises ValidationError when the form is not valid, or when the database refuses the
        row (a duplicate unique value): its messages are then in `errors` as well.
        """
        if not self.is_valid():
            raise ValidationError(dict(self.errors), self.instance)
        written = self._write_uploads()
        try:
            self.instance.save()
        except Exception as exc:
            for path in written:    # a row that was not saved leaves no files behind
                _remove_file(path)
            if isinstance(exc, ValidationError):
                self.errors.update(exc.errors)
                self._is_valid = False
            raise
        database = self.instance._database or default_database()
        for name, (_, stored, previous) in self._uploads.items():
            if previous and previous != stored:   # the replaced file goes once committed
                self.fields[name].remove_on_commit(database, previous)
        return self.instance

    def render(self):
        """Markup of the whole <form>: the CSRF input, every field and a submit button."""
        is_post = self.method != 'get'
        return _render_view('kokoropy/form', form=self, fields=list(self), action=self.action,
                            method=self.method, is_multipart=is_post and self.is_multipart,
                            csrf=csrf_input() if is_post else '', errors=self.errors,
                            other_errors=self._other_errors(), submit_label=self.submit_label,
                            submit_style=self.submit_style, cancel_url=self.cancel_url)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def render_fields(self):
        """Markup of the field rows only, for a hand-written <form> around them."""
        return Markup('\n'.join(str(bound.render()) for bound in self))

    def _other_errors(self):
        """(label, message) of errors about fields the form does not show, or the whole row."""
        labels = dict((name, field.label) for name, field in self.model._fields.items())
        return [(labels.get(name, ''), message) for name, message in self.errors.items()
                if name not in self.fields]

    def _bind(self):
        """Set the submitted values on the instance and validate it; True when valid.

        Model.update_from() converts and validates (an unchecked checkbox means False, a blank
        password keeps the stored hash, a field not sent keeps its value); uploads come first
        so that validation sees them."""
        self.errors, self.raw, self._uploads = {}, {}, {}
        uploads = [name for name, field in self.fields.items() if _widget_kind(field) == 'file']
        for name in uploads:
            try:
                self._bind_upload(self.fields[name])
            except ValueError as exc:
                self.errors[name] = str(exc)
        others = [name for name in self.fields if name not in uploads]
        for name, message in self.instance.update_from(self.data, others).items():
            self.errors.setdefault(name, message)
        for name in others:
            field = self.fields[name]
            raw = _submitted_value(self.data, field)
            if raw is not _MISSING and _widget_kind(field) not in ('password', 'checkbox'):
                self.raw[name] = to_str(raw)    # shown again as typed
        return not self.errors

    def _bind_upload(self, field):
        """Check an uploaded file's extension and plan its stored name (save() writes it)."""
        upload = _submitted_value(self.files or {}, field)
        if upload is _MISSING or not getattr(upload, 'filename', ''):
            return None         # no file chosen: keep the current one
        extension = _extension_of(upload.filename)
        allowed = _allowed_extensions(field)
        if extension not in allowed:
            raise ValueError('%s must be a file of type %s.' % (field.label, ', '.join(allowed)))
        stored = '%s/%s.%s' % (UPLOADS_FOLDER, uuid.uuid4().hex, extension)
        self._uploads[field.name] = (upload, stored, getattr(self.instance, field.name))
        setattr(self.instance, field.name, stored)

    def _write_uploads(self):
        """Write the planned uploads under the application's assets folder; return the paths."""
        written = []
        for upload, stored, _ in self._uploads.values():
            path = os.path.join(_current_uploads_folder(), *stored.split('/')[1:])
            os.makedirs(os.path.dirname(path), exist_ok=True)
            upload.save(path)
            written.append(path)
        return written

    def _stored_value(self, field):
        """The instance's value for a field (an upload not yet written does not count)."""
        if field.name in self._uploads:
            return self._uploads[field.name][2]
        return getattr(self.instance, field.column, None)


class Table:
    """A sortable, searchable, paginated HTML table of a query's (or a model's) rows.

    Reads from the request's query string: `page`, `sort` (`name` or `-name`, one of the shown
    fields; anything else is ignored) and `q` (rows where any of `search_fields`, by default the
    shown text fields, contains it). `detail_url`, `edit_url` and `delete_url` add Show, Edit
    and Delete buttons to each row (`detail_url` also links the first column): each is a route
    name, whose route takes the row's id as its one parameter, or a callable `f(row) -> url`;
    deleting must be a POST, so `delete_url` should lead to a confirmation page whose form
    sends it. `page` is the ORM Page shown. Cells show values compactly: long
    text cut, images as thumbnails, other files as a short link, booleans as Yes/No. Rendered
    through the view `kokoropy/table`, which an application may override.
    """

    def __init__(self, query_or_model, fields=None, request=None, per_page=20, search_fields=None,
                 detail_url=None, edit_url=None, delete_url=None):
        query = query_or_model.all() if isinstance(query_or_model, type) else query_or_model
        self.model = query.model
        self.fields = _choose_fields(self.model, fields, None, _is_listed)
        self.request = request if request is not None else _request_or_error('Table')
        self.search_fields = list(search_fields if search_fields is not None else
                                  [name for name, field in self.fields.items()
                                   if _widget_kind(field) in ('text', 'textarea', 'email')])
        self.detail_url, self.edit_url, self.delete_url = (
            _row_link(link, self.request) for link in (detail_url, edit_url, delete_url))
        params = self.request.query
        self.q = (params.get('q') or '').strip()
        self.sort = _valid_sort(params.get('sort') or '', self.fields)
        self.page = self._paginate(query, _page_number(params.get('page')), per_page)

    def render(self):
        """Markup of the search box, the table (or an empty-state message) and page links."""
        if _view_override('kokoropy/table') is None:
            return Markup(self._builtin_markup())
        return _render_view('kokoropy/table', **self._view_variables())

    def _view_variables(self):
        """The variables of the view `kokoropy/table`."""
        return dict(table=self, q=self.q, sort=self.sort, columns=self._columns(),
                    rows=self._rows(), pages=self._page_links(),
                    has_actions=bool(self.detail_url or self.edit_url or self.delete_url),
                    is_searchable=bool(self.search_fields), summary=self._summary(),
                    empty_message=self._empty_message(), cell_classes=CELL_CLASSES,
                    class_attributes=_class_attributes())

    def _builtin_markup(self):
        """What the built-in view FORM_VIEWS['kokoropy/table'] gives for _view_variables(),
        written directly: a list page spent half its time in that template's per-cell work,
        most of it the same for every row (a column's label, a button's markup). The tests
        hold the two to the same output."""
        out = []
        add, escape = out.append, html_escape
        summary, is_searchable = self._summary(), bool(self.search_fields)
        if is_searchable or summary:
            add('<div class="toolbar">\n')
            if summary:
                add('<p class="table-summary">%s</p>\n' % escape(summary))
            if is_searchable:
                add('<form class="search" method="get" action="" role="search">\n')
                if self.sort:
                    add('<input type="hidden" name="sort" value="%s">\n' % escape(self.sort))
                add('<input type="search" name="q" value="%s" aria-label="Search" '
                    'placeholder="Search">\n<button type="submit" class="button">Search</button>'
                    '\n</form>\n' % escape(self.q))
            add('</div>\n')
        if self.page.items:
            self._table_markup(add)
        else:
            add('<p class="empty">%s</p>\n' % escape(self._empty_message()))
        pages = self._page_links()
        if pages:
            add('<nav class="pagination" aria-label="Pages">\n')
            for text, href, is_current in pages:
                if is_current:
                    add('<span class="current" aria-current="page">%s</span>\n' % escape(text))
                elif href:
                    add('<a href="%s">%s</a>\n' % (escape(href), escape(text)))
                else:
                    add('<span class="disabled">%s</span>\n' % escape(text))
            add('</nav>\n')
        return ''.join(out).rstrip('\n')

    def _table_markup(self, add):
        """The <table> of _builtin_markup(): the cells of _rows(), each written at once."""
        columns, headers = _table_columns(self.fields)
        add('<div class="table-wrap">\n<table class="table table-list">\n<thead>\n<tr>\n')
        add(self._header_cells(headers))
        add('</tr>\n</thead>\n<tbody>\n')
        items = self.page.items
        related = _prefetch_related(items, self.fields)
        # The rows are written by a function compiled for this shape of table (which columns
        # are plain text or numbers, which are references, which buttons have a route's fixed
        # URL parts), given this table's constants. Other cells go through _cell_markup().
        shape, constants, cells = [], [], []
        for name, plan, starts, kind in columns:
            shape.append(kind)
            constants.extend([plan[1], starts[plan[3]],
                              _escaped_names(related[name]) if kind == 'reference' else None])
            cells.append(functools.partial(_cell_markup, plan, related, starts))
        # Per button (Show first): its function, the markup before and after its escaped URL,
        # and for a route name's link the escaped URL before and after the row's id.
        for label, make_url in (('Show', self.detail_url), ('Edit', self.edit_url),
                                ('Delete', self.delete_url)):
            if make_url:
                around = getattr(make_url, 'escaped_around_int', None)
                shape.append('fast button' if around else 'button')
                constants.extend([make_url, _BUTTON_MARKUP[label][0], _BUTTON_MARKUP[label][1]])
                constants.extend(around or ('', ''))
        writer = _compiled_row_writer(tuple(shape), bool(self.detail_url),
                                      [plan[1] for _, plan, _, _ in columns])
        writer(items, add, constants, cells)
        add('</tbody>\n</table>\n</div>\n')

    __html__ = render

    def __str__(self):
        return str(self.render())

    def _header_cells(self, headers):
        """The <th> cells of the table's header row, kept in `headers` (see _table_columns())
        for every page with this q and sort, unless a subclass's link() or _columns() makes
        them, which may read more (the request)."""
        key = (type(self), self.q, self.sort, bool(self.detail_url or self.edit_url or
                                                   self.delete_url))
        kept = type(self).link is Table.link and type(self)._columns is Table._columns and \
            'link' not in self.__dict__ and '_columns' not in self.__dict__
        cells = headers.get(key) if kept else None
        if cells is None:
            cells = ''.join(['<th scope="col"%s%s><a href="%s">%s</a></th>\n' % (
                ' class="numeric"' if kind == 'number' else '',
                ' aria-sort="%s"' % state if state else '', html_escape(href),
                html_escape(label)) for label, href, state, kind in self._columns()])
            if key[3]:
                cells += '<th scope="col" class="table-actions">Actions</th>\n'
            if kept:
                _remember(headers, key, cells, 64)      # q is the user's
        return cells

    def link(self, **changes):
        """A relative URL ('?q=..&sort=..&page=..') of this list with some parameters changed;
        empty ones are left out."""
        params = [(key, value) for key, value in (('q', changes.get('q', self.q)),
                                                  ('sort', changes.get('sort', self.sort)),
                                                  ('page', changes.get('page'))) if value]
        plain = [key + '=' + value for key, value in params
                 if value.__class__ is str and _is_plain_query_value(value)]
        if len(plain) == len(params):
            # What urlencode() gives, without its quoting of each value (a column's sort links).
            return '?' + '&'.join(plain)
        return '?' + urlencode(params)

    def _paginate(self, query, number, per_page):
        if self.q and self.search_fields:
            query = query.where_any(**dict((name + '__contains', self.q)
                                           for name in self.search_fields))
        if self.sort:
            query = query.order_by(self.sort)
        page = query.paginate(number, per_page)
        if page.page > page.pages:      # past the end (rows were deleted): show the last page
            page = query.paginate(page.pages, per_page)
        return page

    def _columns(self):
        """(label, sort link, aria-sort value or None, display kind) per shown field: a link
        sorts by the column, or reverses the order when it already does."""
        sort, columns = self.sort, []
        for name, field in self.fields.items():
            state = 'ascending' if sort == name else 'descending' if sort == '-' + name else None
            next_sort = '-' + name if state == 'ascending' else name
            columns.append((field.label, self.link(sort=next_sort), state, _display_kind(field)))
        return columns

    def _rows(self):
        """(cells, actions) per row: cells are _TableCell(text, href, kind, label), actions
        (label, href, is_danger). The first cell links to the row's page when it has one."""
        items = self.page.items
        related = _prefetch_related(items, self.fields)
        # What each column shows is worked out once, not once per row.
        columns = [(_display_plan(field), field.label) for field in self.fields.values()]
        buttons = [(label, make_url, label == 'Delete')
                   for label, make_url in (('Show', self.detail_url), ('Edit', self.edit_url),
                                           ('Delete', self.delete_url)) if make_url]
        make_cell = _TableCell._make
        rows = []
        for row in items:
            # The first cell and the Show button link to the same page: one URL for both.
            detail = self.detail_url(row) if self.detail_url else None
            cells = []
            for plan, label in columns:
                kind, text, href = _display_as(plan, row, related, TABLE_TEXT_LIMIT)
                if href is None and not cells and text:
                    href = detail
                cells.append(make_cell((text, href, kind, label)))
            actions = [(label, detail if label == 'Show' else make_url(row), is_danger)
                       for label, make_url, is_danger in buttons]
            rows.append((cells, actions))
        return rows

    def _summary(self):
        """Which rows are shown, e.g. '21–25 of 25' ('' when there are none)."""
        page = self.page
        if not page.total:
            return ''
        first = (page.page - 1) * page.per_page + 1
        return '%d–%d of %d' % (first, first + len(page.items) - 1, page.total)

    def _page_links(self):
        """(text, href or None, is_current) for Previous, the page numbers and Next."""
        page = self.page
        if page.pages <= 1:
            return []
        # link(page=n) for every n: q and sort are encoded once, the page number added to them.
        search = self.link()
        start = search + '&page=' if len(search) > 1 else '?page='
        links = [('Previous', start + str(page.prev_num) if page.has_prev else None, False)]
        for number in page.iter_pages():
            if number is None:
                links.append(('…', None, False))
            else:
                text = str(number)
                links.append((text, start + text, number == page.page))
        links.append(('Next', start + str(page.next_num) if page.has_next else None, False))
        return links

    def _empty_message(self):
        if self.q:
            return 'Nothing matches “%s”.' % self.q
        return 'There is nothing here yet.'


# Text urlencode() leaves as it is on every Python ('~' too from 3.7 only).
_is_plain_query_value = re.compile(r'[A-Za-z0-9_.\-]*\Z').match


def _cut_text(text, limit):
    """`text` cut to `limit` characters (None: whole), the last one '…'."""
    if limit and len(text) > limit:
        return text[:limit - 1].rstrip() + '…'
    return text


# The markup before and after the escaped URL of a row's button.
_BUTTON_MARKUP = dict((label, ('<a class="button button-small%s" href="' % (
    ' button-danger' if label == 'Delete' else ''), '">%s</a>\n' % label))
    for label in ('Show', 'Edit', 'Delete'))


def _escaped_names(rows):
    """{id: the row's name, cut and escaped} of a reference column's related rows."""
    names = {}
    for target_id, target in rows.items():
        names[target_id] = html_escape(_cut_text(str(target), TABLE_TEXT_LIMIT))
    return names


_TABLE_COLUMNS = {}     # see _table_columns()


def _table_columns(fields):
    """(name, display plan, {display kind: start of a cell}, 'plain', 'reference' or 'other')
    per column of a table of `fields`, and a dict in which to keep the markup of its header
    rows: worked out once per set of fields, not on every page."""
    key = tuple((name, field, field.label) for name, field in fields.items())
    # What else the columns are worked out from, which an application may change: the fields'
    # choices (set at start-up from the database, say) and widgets, the cells' classes.
    state = ([(field.input_type, list(field.choices) if field.choices else None)
              for field in fields.values()], list(CELL_CLASSES.items()))
    columns, known_state, headers = _TABLE_COLUMNS.get(key, (None, None, None))
    if columns is None or known_state != state:
        classes, columns = _class_attributes(), []
        for name, field, label in key:
            plan, label = _display_plan(field), html_escape(label)
            starts = dict((kind, '<td%s data-label="%s">' % (classes.get(kind, ''), label))
                          for kind in _CELL_KINDS)
            kind = 'plain' if _plain_column(plan) else 'reference' \
                if _plain_column(plan, True) else 'other'
            columns.append((name, plan, starts, kind))
        headers = {}
        _remember(_TABLE_COLUMNS, key, (columns, state, headers), 256)
    return columns, headers


def _cell_markup(plan, related, starts, row, detail, is_first):
    """One <td> of the built-in table view, as its template writes it: the row's value shown
    by _display_as(), the first cell linking to the row's page (`detail`, escaped, or None
    when the row has none: the template links no cell for a detail URL such as '', 0 or
    False, though an object whose markup is empty is a link to "")."""
    kind, text, href = _display_as(plan, row, related, TABLE_TEXT_LIMIT)
    if href is None and is_first and text:
        href = detail       # escaped; None when the row's detail URL is a false value
    else:
        href = html_escape(href) if href else None
    text = html_escape(text)
    if kind == 'image':
        return ('%s<a href="%s"><img class="thumbnail" src="%s" alt="%s" loading="lazy"></a>'
                '</td>\n' % (starts[kind], href or '', href or '', text))
    if href is not None:
        return '%s<a href="%s">%s</a></td>\n' % (starts[kind], href, text)
    return '%s%s</td>\n' % (starts[kind], text)


_ROW_WRITERS = {}       # (shape, has_detail, attributes, TABLE_TEXT_LIMIT) -> function


def _compiled_row_writer(shape, has_detail, attributes=None):
    """A function writing a table's rows, compiled once per shape of table: `shape` says per
    column 'plain' (text or numbers, shown as they are), 'reference' (a related row's name) or
    'other', then per button 'fast button' (a route name's link: URL parts around the id) or
    'button'; `attributes` names each column's attribute (read as `row.name` when a plain
    name, falling back to getattr(row, name, None) for a row without one). The function takes
    (items, add, constants, cells): per column its attribute, the start of its cells and for a
    reference its related rows' names (cut and escaped) by id; per button its function, the
    markup around the URL and the escaped URL parts around the id; per column its
    _cell_markup() for the values the compiled code does not show itself."""
    columns = [kind for kind in shape if not kind.endswith('button')]
    attributes = tuple(attributes or [''] * len(columns))     # '': read by getattr()
    key = (shape, has_detail, attributes, TABLE_TEXT_LIMIT)   # the limit is compiled in
    writer = _ROW_WRITERS.get(key)
    if writer is not None:
        return writer
    buttons = shape[len(columns):]
    names = []      # the constants, unpacked into locals
    for number in range(len(columns)):
        names += ['column%d' % number, 'start%d' % number, 'names%d' % number]
    for number in range(len(buttons)):
        names += ['url%d' % number, 'before%d' % number, 'after%d' % number,
                  'url_start%d' % number, 'url_end%d' % number]
    code = ['def write_rows(items, add, constants, cells):',
            '    (%s,) = constants' % ', '.join(names) if names else '',
            '    (%s,) = cells' % ', '.join('cell%d' % n for n in range(len(columns)))
            if columns else '',
            # A fast button's markup around the row's id, joined once.
            ''.join('    around%d, beyond%d = before%d + url_start%d, url_end%d + after%d\n'
                    % ((number,) * 6) for number, kind in enumerate(buttons)
                    if kind == 'fast button'),
            '    for row in items:',
            '        row_id = row.id',
            '        digits = str(row_id) if row_id.__class__ is int else None']
    code += _row_values_code([name if kind != 'other' else None
                              for name, kind in zip(attributes, columns)])
    for number, kind in enumerate(buttons):
        fast = "f'{url_start%d}{digits}{url_end%d}' if digits is not None else " % (
            number, number) if kind == 'fast button' else ''
        if number == 0 and has_detail and not fast:
            # The first cell links to the Show button's URL when that is true (as the template
            # tests it): not for '', None, 0 or False.
            code += ['        raw = url0(row)',
                     '        u0 = html_escape(raw)',
                     '        detail = u0 if raw else None']
        elif number == 0 and has_detail or not fast:
            code.append('        u%d = %shtml_escape(url%d(row))' % (number, fast, number))
    if has_detail and buttons[0] == 'fast button':
        code.append('        detail = u0 if digits is not None or u0 else None')
    elif not has_detail:
        code.append('        detail = None')
    cells = []
    for number, kind in enumerate(columns):
        code += _cell_code(number, kind, number == 0 and has_detail)
        cells.append('{c%d}' % number)
    # One f-string per cell and per row: each builds its text at once. A fast button other
    # than a detail link is its markup around the row's id; for an id that is not an int, its
    # URL is escaped as any other button's.
    slow, quick = list(cells), list(cells)
    if buttons:
        start, end = '<td class="table-actions"><div class="button-group">\\n', '</div></td>\\n'
        slow.append(start)
        quick.append(start)
        for number, kind in enumerate(buttons):
            slow.append('{before%d}{u%d}{after%d}' % ((number,) * 3))
            quick.append('{around%d}{digits}{beyond%d}' % (number, number)
                         if kind == 'fast button' and not (number == 0 and has_detail) else
                         '{before%d}{u%d}{after%d}' % ((number,) * 3))
        slow.append(end)
        quick.append(end)
    if quick == slow:
        code.append("        add(f'<tr>\\n%s</tr>\\n')" % ''.join(slow))
    else:
        code += ["        if digits is not None:",
                 "            add(f'<tr>\\n%s</tr>\\n')" % ''.join(quick),
                 "        else:"]
        code += ['            u%d = html_escape(url%d(row))' % (number, number)
                 for number, kind in enumerate(buttons)
                 if kind == 'fast button' and not (number == 0 and has_detail)]
        code.append("            add(f'<tr>\\n%s</tr>\\n')" % ''.join(slow))
    namespace = {'html_escape': html_escape, 'TABLE_TEXT_LIMIT': TABLE_TEXT_LIMIT,
                 'cut': _cut_text}
    exec(compile('\n'.join(code), '<kokoropy table rows>', 'exec'), namespace)
    # 256: one per shape of table an application shows, few
    return _remember(_ROW_WRITERS, key, namespace['write_rows'], 256)


def _row_values_code(attributes):
    """Lines of write_rows() reading each column's value into v0, v1...: `row.name` for a
    plain attribute name (faster than getattr()), getattr(row, column, None) for the others
    and for every column of a row missing one (the value None, as _display_as() reads it).
    A column whose attribute is None is not read (_cell_markup() shows it)."""
    direct = ['v%d = row.%s' % (number, name) if _is_plain_attribute(name) else
              'v%d = getattr(row, column%d, None)' % (number, number)
              for number, name in enumerate(attributes) if name is not None]
    if not direct:
        return []
    fallback = ['v%d = getattr(row, column%d, None)' % (number, number)
                for number, name in enumerate(attributes) if name is not None]
    return (['        try:'] + ['            ' + line for line in direct] +
            ['        except AttributeError:'] + ['            ' + line for line in fallback])


def _is_plain_attribute(name):
    """True for a name that may be written as `row.name` in generated code. ASCII only:
    Python reads other identifiers NFKC-normalised ('\ufb01le' as 'file': another attribute)."""
    return isinstance(name, str) and _is_ascii(name) and name.isidentifier() and \
        not keyword.iskeyword(name) and not name.startswith('__')


def _cell_code(number, kind, link):
    """Lines of write_rows() making the cell c<number> from the value v<number>."""
    code = []
    if kind == 'plain':      # text: cut and escaped; a number's text has nothing to escape
        cut = ['            if len(text) > TABLE_TEXT_LIMIT:',
               '                text = cut(text, TABLE_TEXT_LIMIT)'] if TABLE_TEXT_LIMIT else []
        code += ['        text = None',
                 '        value = v%d' % number,
                 '        if value.__class__ is str:',
                 '            if value:',
                 '                text = value'] + ['    ' + line for line in cut] + [
                 '                if %s:' % _HAS_SPECIALS.format('text'),  # as templates do
                 '                    text = %s' % _ESCAPED.format('text'),
                 '        elif value.__class__ is int or value.__class__ is float:',
                 '            text = str(value)'] + cut
    elif kind == 'reference':    # names: the related rows' names, cut and escaped
        code.append('        text = names%d.get(v%d)' % (number, number))
    else:
        code.append('        text = None')
    code += ['        if text is None:',
             '            c%d = cell%d(row, detail, %s)' % (number, number, link),
             '        else:']
    if link:
        code += ['            if text and detail is not None:',
                 "                c%d = f'{start%d}<a href=\"{detail}\">{text}</a></td>\\n'"
                 % (number, number),
                 '            else:',
                 "                c%d = f'{start%d}{text}</td>\\n'" % (number, number)]
    else:
        code.append("            c%d = f'{start%d}{text}</td>\\n'" % (number, number))
    return code


def _row_link(link, request):
    """A Table's detail_url, edit_url or delete_url as a function(row) -> URL: a callable as
    it is; for a route name, url(name, <its one parameter>=row.id), built without url()'s
    look-ups when the parameter is a plain int (the buttons of a page: 60 URLs)."""
    if link is None or callable(link):
        return link
    app = request.environ.get('kokoropy.app')
    builder = (app or default_app()).router.path_builders.get(link)
    if builder is None:
        raise RouteBuildError('no route named %r' % (link,))
    if app is not None:
        row_url = getattr(builder, 'row_urls', {}).get(request.url_root)  # an earlier page's
        if row_url is not None:
            return row_url
    wildcards = getattr(builder, 'wildcards', ())
    if len(wildcards) != 1:
        raise RouteBuildError('route %r must take one parameter, the row\'s id, to link a '
                              'table\'s rows; it takes %d' % (link, len(wildcards)))
    name = wildcards[0]
    around_int = getattr(builder, 'around_int', None)
    if around_int is None or app is None:
        return lambda row: url(link, **{name: row.id})
    # Made once per route and site root (every list page asks again), kept on the builder;
    # 16: SCRIPT_NAME is the server's, but keep the memory bounded.
    root = request.url_root
    return _remember(builder.__dict__.setdefault('row_urls', {}), root,
                     _int_row_url(link, name, root + around_int[0], around_int[1]), 16)


def _int_row_url(link, name, before, after):
    """The function(row) -> URL of _row_link() for a route whose path is `before`, the row's
    id, then `after`."""
    def row_url(row):
        row_id = row.id
        if row_id.__class__ is int:
            return before + str(row_id) + after
        return url(link, **{name: row_id})       # what url() says of it
    # html_escape(row_url(row)) for an int id, without escaping the same text on every row.
    row_url.escaped_around_int = (html_escape(before), html_escape(after))
    return row_url


def _class_attributes():
    """{display kind: ' class="..."'} of CELL_CLASSES, for the table view's cells."""
    return dict((kind, ' class="%s"' % css_class) for kind, css_class in CELL_CLASSES.items())


def render_detail(instance, fields=None):
    """Markup of a list of an instance's fields and values: whole texts, images shown, other
    uploads as links, booleans as Yes/No, related rows by their str(), passwords left out
    (masked when named in `fields`). Rendered through the view `kokoropy/detail`, which an
    application may override; its `rows` are (label, display kind, text, href)."""
    chosen = _choose_fields(type(instance), fields, None, _is_detailed)
    rows = [(field.label,) + _display(instance, field, {}) for field in chosen.values()]
    return _render_view('kokoropy/detail', instance=instance, rows=rows,
                        cell_classes=CELL_CLASSES)


class DeleteImpact:
    """What deleting a row would do to the rows that refer to it, as a delete page shows it.

    Following each referring ForeignKey's on_delete (and CASCADE further down), it groups the
    rows into `blocking` (RESTRICT: the delete is refused), `deleted` (CASCADE) and `cleared`
    (SET NULL), each a list of (plural label, count, the first names). `refusal` is the
    message for a refused delete ("Toys is used by 3 products: Ball, Car, Doll."), None when
    nothing blocks. Renders (in a template: {{impact}}) through the view
    `kokoropy/delete_impact`, which an application may override.
    """

    def __init__(self, instance):
        self.instance = instance
        self._groups = collections.OrderedDict()    # (rule, model) -> [count, names]
        self._collect(instance, set([(type(instance), instance.id)]))
        self.blocking, self.deleted, self.cleared = (self._listed(rule) for rule in
                                                     ('RESTRICT', 'CASCADE', 'SET NULL'))

    @property
    def refusal(self):
        """Why the delete is refused, in one sentence, or None when nothing blocks it."""
        if not self.blocking:
            return None
        return '%s is used by %s.' % (self.instance, '; '.join(
            _counted(label, count, names) for label, count, names in self.blocking))

    def render(self):
        """Markup listing what else the delete removes, empties or what blocks it."""
        return _render_view('kokoropy/delete_impact', impact=self, refusal=self.refusal,
                            counted=_counted)

    __html__ = render

    def __str__(self):
        return str(self.render())

    def _collect(self, instance, seen):
        """Add the rows referring to `instance`, and follow CASCADE rows further down (each
        row once, so a cycle of references ends; at most DELETE_IMPACT_MAX_ROWS of them)."""
        for field in _referring_foreign_keys(type(instance)):
            rows = field.model.where(**{field.name: instance.id})
            if field.model._meta.soft_delete:
                rows = rows.with_trashed()
            fetched = list(rows.limit(DELETE_IMPACT_MAX_ROWS))
            if not fetched:
                continue
            group = self._groups.setdefault((field.on_delete, field.model), [0, []])
            group[0] += rows.count() if len(fetched) == DELETE_IMPACT_MAX_ROWS else len(fetched)
            group[1].extend(str(row) for row in fetched[:DELETE_IMPACT_NAMES - len(group[1])])
            for row in fetched if field.on_delete == 'CASCADE' else ():
                if (field.model, row.id) not in seen and len(seen) < DELETE_IMPACT_MAX_ROWS:
                    seen.add((field.model, row.id))
                    self._collect(row, seen)

    def _listed(self, rule):
        return [(_plural(_label_from_name(_snake_case(model.__name__)).lower()), count, names)
                for (group_rule, model), (count, names) in self._groups.items()
                if group_rule == rule]


def _referring_foreign_keys(model):
    """The ForeignKeys of the defined models that refer to `model`'s table (one per model
    class name and field: a redefined model replaces the older one)."""
    table = model._meta.table
    found = collections.OrderedDict()
    for refs in list(_MODELS.values()):
        for other in (ref() for ref in refs):
            if other is None or other._meta is None:
                continue
            for field in other._meta.foreign_keys:
                if field.related_table == table:
                    found[(other._meta.table, field.column)] = field
    return list(found.values())


def _counted(label, count, names):
    """'3 products: Ball, Car, Doll' ('1 product: Ball'; '… and 4 more' past the names)."""
    if count == 1:
        label = _singular(label)
    more = ' and %d more' % (count - len(names)) if count > len(names) else ''
    return '%d %s: %s%s' % (count, label, ', '.join(names), more)


def _plural(words):
    """English plural of the last word: 'order line' -> 'order lines', 'category' ->
    'categories', 'box' -> 'boxes'."""
    if re.search(r'[^aeiou]y$', words):
        return words[:-1] + 'ies'
    if re.search(r'(s|x|z|ch|sh)$', words):
        return words + 'es'
    return words + 's'


def _singular(plural):
    """The word _plural() made plural, back: 'categories' -> 'category'."""
    if plural.endswith('ies'):
        return plural[:-3] + 'y'
    if re.search(r'(ses|xes|zes|ches|shes)$', plural):
        return plural[:-2]
    return plural[:-1]


# --- views: an application overrides one with views/kokoropy/<name>.tpl ---------------------

FORM_VIEWS = {
    'kokoropy/form': '''\
<form class="form" method="{{method}}" action="{{action}}"{{!' enctype="multipart/form-data"' if is_multipart else ''}}>
{{csrf}}
% if errors:
<div class="alert alert-error" role="alert">
<p>Please correct the errors below.</p>
% if other_errors:
<ul>
% for label, message in other_errors:
<li>{{message}}</li>
% end
</ul>
% end
</div>
% end
% for field in fields:
{{field}}
% end
<div class="form-actions">
<button type="submit" class="button button-{{submit_style}}">{{submit_label}}</button>
% if cancel_url:
<a class="button" href="{{cancel_url}}">Cancel</a>
% end
</div>
</form>
''',
    'kokoropy/field': '''\
% if kind == 'checkbox':
<div class="field field-inline{{' has-error' if error else ''}}">
{{widget}}
{{label}}
% else:
<div class="field{{' has-error' if error else ''}}">
{{label}}
{{widget}}
% end
% if help_text:
<span class="help" id="{{help_id}}">{{help_text}}</span>
% end
% if error:
<span class="error-message" id="{{error_id}}">{{error}}</span>
% end
</div>
''',
    'kokoropy/label': '''\
<label for="{{field_id}}">{{label}}{{!' <span aria-hidden="true">*</span>' if is_required else ''}}</label>''',
    'kokoropy/widget': '''\
% if kind == 'textarea':
<textarea{{attributes}}>
{{value}}</textarea>
% elif kind == 'select':
<select{{attributes}}>
% for option_value, option_text, is_selected in options:
<option value="{{option_value}}"{{!' selected' if is_selected else ''}}>{{option_text}}</option>
% end
</select>
% else:
% if current_file:
<div class="current-file">
% if current_file[2]:
<a href="{{current_file[0]}}"><img class="thumbnail" src="{{current_file[0]}}" alt=""></a>
% end
<span class="help">Current file: <a href="{{current_file[0]}}">{{current_file[1]}}</a>; choose another to replace it.</span>
</div>
% end
<input{{attributes}}>
% end
''',
    'kokoropy/table': '''\
% if is_searchable or summary:
<div class="toolbar">
% if summary:
<p class="table-summary">{{summary}}</p>
% end
% if is_searchable:
<form class="search" method="get" action="" role="search">
% if sort:
<input type="hidden" name="sort" value="{{sort}}">
% end
<input type="search" name="q" value="{{q}}" aria-label="Search" placeholder="Search">
<button type="submit" class="button">Search</button>
</form>
% end
</div>
% end
% if rows:
<div class="table-wrap">
<table class="table table-list">
<thead>
<tr>
% for label, href, state, kind in columns:
<th scope="col"{{!' class="numeric"' if kind == 'number' else ''}}{{!' aria-sort="%s"' % state if state else ''}}><a href="{{href}}">{{label}}</a></th>
% end
% if has_actions:
<th scope="col" class="table-actions">Actions</th>
% end
</tr>
</thead>
<tbody>
% for cells, actions in rows:
<tr>
% for text, href, kind, label in cells:
% css_class = class_attributes.get(kind, '')
% if kind == 'image':
<td{{!css_class}} data-label="{{label}}"><a href="{{href}}"><img class="thumbnail" src="{{href}}" alt="{{text}}" loading="lazy"></a></td>
% elif href:
<td{{!css_class}} data-label="{{label}}"><a href="{{href}}">{{text}}</a></td>
% else:
<td{{!css_class}} data-label="{{label}}">{{text}}</td>
% end
% end
% if has_actions:
<td class="table-actions"><div class="button-group">
% for label, href, is_danger in actions:
<a class="button button-small{{!' button-danger' if is_danger else ''}}" href="{{href}}">{{label}}</a>
% end
</div></td>
% end
</tr>
% end
</tbody>
</table>
</div>
% else:
<p class="empty">{{empty_message}}</p>
% end
% if pages:
<nav class="pagination" aria-label="Pages">
% for text, href, is_current in pages:
% if is_current:
<span class="current" aria-current="page">{{text}}</span>
% elif href:
<a href="{{href}}">{{text}}</a>
% else:
<span class="disabled">{{text}}</span>
% end
% end
</nav>
% end
''',
    'kokoropy/delete_impact': '''\
% if refusal:
<div class="alert alert-error delete-impact" role="alert">
<p><strong>{{refusal}}</strong> Delete those first, or change them to use another.</p>
</div>
% elif impact.deleted or impact.cleared:
<div class="alert alert-warning delete-impact">
% if impact.deleted:
<p>Deleting it also deletes:</p>
<ul>
% for label, count, names in impact.deleted:
<li>{{counted(label, count, names)}}</li>
% end
</ul>
% end
% if impact.cleared:
<p>These will no longer refer to anything:</p>
<ul>
% for label, count, names in impact.cleared:
<li>{{counted(label, count, names)}}</li>
% end
</ul>
% end
</div>
% else:
<p class="delete-impact">Nothing else refers to it: only this row is deleted.</p>
% end
''',
    'kokoropy/detail': '''\
<dl class="detail">
% for label, kind, text, href in rows:
<dt>{{label}}</dt>
% css_class = ' class="%s"' % cell_classes[kind] if kind in cell_classes else ''
% if kind == 'image':
<dd{{!css_class}}><a href="{{href}}"><img class="detail-image" src="{{href}}" alt="{{text}}"></a></dd>
% elif href:
<dd{{!css_class}}><a href="{{href}}">{{text}}</a></dd>
% elif text == '':
<dd class="empty-value">—</dd>
% else:
<dd{{!css_class}}>{{text}}</dd>
% end
% end
</dl>
''',
}

_compiled_views = {}
_view_overrides = {}        # (view, application, applications folder) -> path or None


def _render_view(name, **variables):
    """Render view `name` (e.g. 'kokoropy/form'): the application's own views/<name>.tpl when
    the template lookup finds one, else the built-in source in FORM_VIEWS. Returns Markup."""
    override = _view_override(name)
    if override is not None:
        return Markup(template(override, **variables).rstrip('\n'))
    compiled = _compiled_views.get(name)
    if compiled is None:
        compiled = _compiled_views[name] = SimpleTemplate(source=FORM_VIEWS[name], name=name)
    return Markup(compiled.render(**variables).rstrip('\n'))


def _view_override(name):
    """The template file overriding a built-in view, or None. Found by the template lookup (the
    current application's views first, then index/views); remembered unless templates reload."""
    where, reload = _lookup_cache_key()
    key = (name,) + where
    if key in _view_overrides and not reload:
        return _view_overrides[key]
    try:
        path = _find_template_file(name)
    except TemplateError:
        path = None
    _view_overrides[key] = path
    return path


# --- fields and widgets -----------------------------------------------------------------------

def _choose_fields(model, names, exclude=None, shown_by_default=None, editable_only=False):
    """The model's fields by name, in the order of `names` (default: those passing
    `shown_by_default`, in declaration order), less `exclude`. FieldError for unknown names."""
    all_fields = model._fields
    if names is None:
        names = [name for name, field in all_fields.items() if shown_by_default(field)]
    unknown = [name for name in names if name not in all_fields or
               (editable_only and not all_fields[name].editable)]
    if unknown:
        raise FieldError('%s has no %sfield %s; its fields are: %s' % (
            model.__name__, 'editable ' if editable_only else '', ', '.join(map(repr, unknown)),
            ', '.join(all_fields)))
    excluded = set(exclude or ())
    return dict((name, all_fields[name]) for name in names if name not in excluded)


def _is_editable(field):
    return field.editable


def _is_listed(field):
    """Shown in a Table by default: the editable fields except passwords."""
    return field.editable and not isinstance(field, Password)


def _is_detailed(field):
    """Shown by render_detail() by default: every field (id and times too) except passwords."""
    return not isinstance(field, Password)


def _widget_kind(field):
    """The widget of a field: select for choices, else the field's `input_type` (text,
    textarea, number, checkbox, date, datetime-local, email, password, file, select)."""
    return 'select' if field.choices else field.input_type


def _constraint_attributes(field, kind, value):
    """The maxlength, minlength, min, max, step and accept attributes its declaration implies."""
    if kind in ('text', 'email', 'textarea', 'password'):
        return [('maxlength', getattr(field, 'max_length', None)),
                ('minlength', getattr(field, 'min_length', None))]
    if kind == 'number':
        return [('step', field.step), ('min', getattr(field, 'min_value', None)),
                ('max', getattr(field, 'max_value', None))]
    if kind == 'datetime-local' and len(value) > len('2024-12-31T23:59'):
        return [('step', '1')]      # the default step (60 s) would refuse a value with seconds
    if kind == 'file':
        return [('accept', ','.join('.' + extension
                                    for extension in _allowed_extensions(field)))]
    return []


def _allowed_extensions(field):
    return [extension.lower().lstrip('.')
            for extension in getattr(field, 'allowed', None) or DEFAULT_UPLOAD_EXTENSIONS]


def _select_choices(field):
    """(value, text) pairs of a select: the related model's rows for a ForeignKey."""
    if field.choices:
        return field.choices
    return [(row.id, str(row)) for row in field.related_model.all()]


def _input_text(value):
    """The text an input shows for a stored Python value."""
    if value is None:
        return ''
    if isinstance(value, bool):
        return '1' if value else ''
    if isinstance(value, datetime.datetime):
        # datetime-local takes no time zone; seconds only when there are some.
        return value.strftime('%Y-%m-%dT%H:%M:%S' if value.second else '%Y-%m-%dT%H:%M')
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _is_checked(raw):
    """True when a checkbox's value (stored or submitted) is one the Boolean field reads as
    true, so the box shows what saving it would store."""
    return raw is not None and str(raw).strip().lower() in Boolean.true_words


def _is_saved(instance):
    return getattr(instance, 'id', None) is not None


def _html_attributes(pairs):
    """Markup of ' name="value"' for each pair: True gives a bare attribute, None and False
    none; values are escaped."""
    text = ''
    for name, value in pairs:
        if value is True:
            text += ' ' + name
        elif value is not None and value is not False:
            text += ' %s="%s"' % (name, html_escape(value))
    return Markup(text)


# --- showing values -------------------------------------------------------------------------

def _display(row, field, related, limit=None):
    """(kind, text, href) showing a row's value. The display kind is one of 'text', 'long'
    (a textarea's text), 'number', 'boolean', 'date', 'image' (text is its alt text, href its
    URL) and 'file' (a link). Texts longer than `limit` are cut. `related` maps ForeignKey
    names to {id: row} loaded beforehand (see _prefetch_related)."""
    return _display_as(_display_plan(field), row, related, limit)


def _display_plan(field):
    """What _display() decides from the field alone, worked out once per table column:
    (field, column, widget kind, display kind, is a ForeignKey, choices dict or None)."""
    widget = _widget_kind(field)
    return (field, field.column, widget, _DISPLAY_KINDS.get(widget, 'text'),
            isinstance(field, ForeignKey), dict(field.choices) if field.choices else None)


def _display_as(plan, row, related, limit):
    """_display() of a row's value with the field's _display_plan()."""
    field, column, widget, kind, is_reference, choices = plan
    value = getattr(row, column, None)
    if widget == 'password':
        return ('text', HIDDEN_PASSWORD if value else '', None)
    if value is None or value == '':
        return (kind, '', None)
    if kind == 'file':
        return _file_display(value, '%s of %s' % (field.label, row))
    if kind == 'boolean':
        return (kind, 'Yes' if value else 'No', None)
    if is_reference:
        target = related.get(field.name, {}).get(value) or getattr(row, field.name, None)
        text = str(target) if target is not None else '#%s' % value
    elif choices is not None:
        text = str(choices.get(value, value))
    elif isinstance(value, datetime.datetime):
        text = value.strftime('%Y-%m-%d %H:%M')
    else:
        text = str(value)
    return (kind, _cut_text(text, limit), None)


# The display kinds a cell can have (see _display_as).
_CELL_KINDS = tuple(sorted(set(_DISPLAY_KINDS.values()) | set(['text', 'image'])))


def _plain_column(plan, of_reference=False):
    """The column whose values _display_as() shows as their str() when they are text or a
    number (no password, file, boolean, reference or choices), else None. With
    `of_reference`: the column of a reference shown as its related row's str()."""
    field, column, widget, kind, is_reference, choices = plan
    if widget == 'password' or kind in ('file', 'boolean') or choices or \
            is_reference != of_reference:
        return None
    return column


def _display_kind(field):
    """How a field's values are shown: see _display()."""
    return _DISPLAY_KINDS.get(_widget_kind(field), 'text')


def _file_display(stored, image_alt):
    """(kind, text, href) of a stored upload: an image (its alt text) or a short file link."""
    url = _stored_file_url(stored)
    if url is None:
        return ('text', str(stored), None)
    if _is_image(stored):
        return ('image', image_alt, url)
    return ('file', _file_kind_text(stored), url)


def _current_file(stored):
    """(url, short text, is_image) of the file an upload field holds now, or None."""
    url = _stored_file_url(stored)
    if url is None:
        return None
    return url, _file_kind_text(stored), _is_image(stored)


def _file_kind_text(stored):
    """A short name for a stored file: its uploaded name was replaced by a random one, so
    only its type says anything ('PDF file')."""
    extension = _extension_of(stored)
    return '%s file' % extension.upper() if extension else 'File'


def _is_image(stored):
    return _extension_of(stored) in IMAGE_EXTENSIONS


def _extension_of(filename):
    """'photos/Cat.JPG' -> 'jpg'; '' without one."""
    return os.path.splitext(str(filename))[1].lower().lstrip('.')


def _stored_file_url(stored):
    """The URL of a stored upload, served at /<app>/assets/<stored>; None when there is no
    file or no current application to serve it."""
    current = _request_in_thread()
    app_name = current.app_name if current is not None else None
    if not stored or not app_name:
        return None
    return '%s/%s/assets/%s' % (current.script_name, quote(app_name), quote(str(stored)))


def _prefetch_related(rows, fields):
    """{ForeignKey name: {id: related row}} for the rows, one query per ForeignKey (instead of
    one per row and column)."""
    related = {}
    for name, field in fields.items():
        if isinstance(field, ForeignKey):
            ids = set([getattr(row, field.column, None) for row in rows])
            ids.discard(None)
            related[name] = _rows_by_id(field.related_model, sorted(ids)) if ids else {}
    return related


def _rows_by_id(model, ids):
    """{id: row} of `model`'s rows (trashed ones too) with these ids: one statement made once
    per number of ids, not a Query built on every page."""
    if not all(value.__class__ is int and -MAX_ROW_ID <= value <= MAX_ROW_ID for value in ids):
        # Text or a huge number stored in the column: where() converts them as it does.
        return dict((row.id, row) for row in model.where(id__in=ids).with_trashed())
    database = model._database or default_database()
    statements = database._model_statements(model)
    rows = database._cursor().execute(statements.by_ids(len(ids)), ids).fetchall()
    return dict((row.id, row) for row in statements.instances(model, rows))


# --- requests and files -----------------------------------------------------------------------

def _valid_sort(sort, fields):
    """The sort parameter when it names a shown field ('name' or '-name'), else ''."""
    return sort if sort.lstrip('-') in fields and sort.count('-') <= 1 else ''


def _page_number(text):
    """The ?page= number: 1 unless ASCII digits (a huge number is clamped by paginate())."""
    text = (text or '').strip()
    return max(1, int(text)) if _is_digits(text) and len(text) < 30 else 1


def _request_or_error(what):
    current = _request_in_thread()
    if current is None:
        raise RuntimeError('%s reads page, sort and q from the request: use it while handling '
                           'one, or pass request=' % what)
    return current


def _current_uploads_folder():
    """The uploads folder of the application serving the current request."""
    current = _request_in_thread()
    app_name = current.app_name if current is not None else None
    if not app_name:
        raise RuntimeError('a Form saves uploads in the uploads folder of the application '
                           'serving the request; this route belongs to no application '
                           '(register it with app_name=...)')
    return _uploads_folder(current.app.config, app_name)


# A value a Form stored: 'uploads/<random name>.<extension>', nothing that could climb out.
_STORED_UPLOAD = re.compile(r'%s/([0-9A-Za-z_-][0-9A-Za-z_.-]*)\Z' % re.escape(UPLOADS_FOLDER))


def _upload_file_path(field, stored):
    """Upload's plug-in: the path of a stored upload in the uploads folder of the application
    serving the request (where a Form writes it), else of the application whose models/
    declare the field's model; None for a value a Form did not write, or no application."""
    match = _STORED_UPLOAD.match(str(stored))
    current = _request_in_thread()
    app_name = getattr(current, 'app_name', None) or _owning_application(field.model)
    if match is None or not app_name:
        return None
    config = (current.app if current is not None else default_app()).config
    return os.path.join(_uploads_folder(config, app_name), match.group(1))


def _owning_application(model):
    """'shop' for a model of applications/shop/models/, else None."""
    parts = (getattr(model, '__module__', None) or '').split('.')
    return parts[1] if len(parts) > 3 and parts[2] == 'models' else None


Upload.file_path = staticmethod(_upload_file_path)


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
    from digits; DATABASE_URL counts as KOKOROPY_DATABASE_URL, which wins), then `overrides` (command-line flags; None values are ignored). Settings not
    in CONFIG_DEFAULTS pass through unchecked. Raises ValueError naming the setting and the
    source for a value of the wrong type.
    """
    project_path = os.path.abspath(project_path)
    config = dict(CONFIG_DEFAULTS, project_path=project_path)
    config_file = os.path.join(project_path, 'applications', CONFIG_FILE_NAME)
    for name, value in _read_config_file(config_file).items():
        config[name.lower()] = _checked_setting(name.lower(), value, 'applications/config.py')
    if os.environ.get('DATABASE_URL'):  # the name hosting platforms set; KOKOROPY_ wins
        config['database_url'] = os.environ['DATABASE_URL']
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
    app.error_view = _site_error_page
    return loaded


def _site_error_page(error, message, traceback_text=None):
    """The HTML of an error page in the site's layout, or None when the index application has
    no views/error.tpl: load_applications() makes it the app's error_view. In debug mode
    (`traceback_text` given) a 500 also names the migrations not applied yet, the usual
    reason a page that worked fails after an update. An application replaces the page of any
    status with an `errors` entry in its routes.py."""
    current = _request_in_thread()
    folder = current.app.config.get('applications_path') if current is not None else None
    if not folder or not os.path.isfile(os.path.join(folder, 'index', 'views', 'error.tpl')):
        return None
    pending = _pending_migrations(folder) if traceback_text and error._status_code == 500 \
        else []
    return load_view('index', 'error', title=error._status_line, status=error._status_code,
                     message=message, traceback_text=traceback_text, pending=pending)


def _pending_migrations(folder):
    """(label, application) of the migrations not applied to the default database ([] when
    that cannot be known)."""
    try:
        return [(migration.label, migration.application)
                for migration in Migrator(default_database(), folder).pending()]
    except Exception:           # a broken migration file or database: the traceback tells
        return []


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
        if name == 'secret':
            return _as_secrets(value)
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
    'hooks': [...], 'errors': [...], 'controllers': [...], 'menu': [view names]}. The rules
    are tried on a scratch Router first, so a bad entry leaves no half-loaded application
    behind.
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
    uploads = UPLOADS_FOLDER + '/'

    def serve_asset(path):
        if path.startswith(uploads):    # from UPLOAD_FOLDER when the hosts share one
            return static_file(path[len(uploads):],
                               root=_uploads_folder(request.app.config, name))
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

    call_action.__name__ = call_action.__qualname__ = '%s.%s' % (controller.__name__, attribute)
    call_action.__module__ = controller.__module__
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
    try:
        return convert(text)
    except ValueError:  # int() of more than 4300 digits (Python 3.11's limit)
        raise HTTPError(status, 'Argument %r is too long a number.' % parameter.name)


# Menu helpers every template can call (section 7 adds the web ones).
TEMPLATE_GLOBALS.update(installed_applications=installed_applications, menu_views=menu_views,
                        application_title=application_title)


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
    if server == 'kokoro' and config is not None:
        for name in ('max_body_bytes', 'max_memfile_bytes'):
            if config.get(name):
                options.setdefault(name, config[name])
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


###############################################################################
# 13. Bottle compatibility
# `import kokoropy as bottle` runs a Bottle 0.13 application: Bottle is Kokoro with Bottle's
# defaults, plus Bottle's default plugins, application stack and public helper names. Where
# Bottle is unsafe (pickled cookies, X-Forwarded-For trusted) Kokoropy stays safe: see README,
# "Coming from Bottle". Uses every section above.
###############################################################################

__all__ += ['Bottle', 'JSONPlugin', 'TemplatePlugin', 'BottleException', 'PluginError', 'app',
            'debug', 'auth_basic', 'WSGIHeaderDict', 'BaseRequest', 'BaseResponse',
            'LocalRequest', 'LocalResponse', 'StplSyntaxError', 'TEMPLATES', 'HTTP_CODES',
            'parse_date', 'tob', 'touni', 'tonat', 'makelist', 'load', 'load_app',
            'RouteSyntaxError']

# Every status code with its reason phrase, as Bottle offers them.
HTTP_CODES = {status.value: status.phrase for status in HTTPStatus}
HTTP_CODES[418] = "I'm a teapot"
StplSyntaxError = TemplateSyntaxError
RouteSyntaxError = RouteError
parse_date = parse_http_date


class BaseRequest(Request):
    """A Request that follows Bottle where no application decides: of repeated cookies the
    last wins."""

    @_cached_in_environ
    def cookies(self):
        """The request's cookies (see Request.cookies); the last of repeated names wins."""
        last_wins = getattr(self.app, 'last_cookie_wins', True)
        return _parse_cookie_header(self.environ.get('HTTP_COOKIE', ''), last_wins)


class BaseResponse(Response):
    """A Response that follows Bottle where no application decides: set_cookie() adds only
    the flags given, and the charset defaults to 'UTF-8'."""

    cookie_defaults = {'path': None, 'httponly': False, 'samesite': None, 'secure': False}

    @property
    def charset(self):
        """The Content-Type's charset ('UTF-8' when it names none)."""
        return _parse_options_header(self.content_type)[1].get('charset') or 'UTF-8'

    @charset.setter
    def charset(self, value):
        Response.charset.fset(self, value)


LocalRequest, LocalResponse = BaseRequest, BaseResponse


class BottleException(Exception):
    """Base of the errors Bottle code may catch by Bottle's names."""


class PluginError(BottleException):
    """A plugin cannot be installed (raised by plugins' setup())."""


class Bottle(Kokoro):
    """Kokoro with Bottle 0.13's defaults, for Bottle applications: `app = Bottle()`.

    Differences from Kokoro: CSRF checks are off (config['csrf'] = True turns them on); the
    JSONPlugin and TemplatePlugin are installed; a list of strings is joined, and a generator
    may yield empty or None items and an HTTPResponse first; cookies get only the flags given
    (no HttpOnly or SameSite by default), the last of repeated request cookies wins;
    redirect() sends an absolute Location; a missing page is a 404 whose body is
    "Not found: '/path'", without the trailing-slash redirect.
    """

    last_cookie_wins = True
    absolute_redirects = True
    cookie_defaults = BaseResponse.cookie_defaults

    def __init__(self, config=None, catchall=True, autojson=True, **overrides):
        overrides.setdefault('csrf', False)
        overrides.setdefault('catchall', catchall)
        Kokoro.__init__(self, config, **overrides)
        if autojson:
            self.install(JSONPlugin())
        self.install(TemplatePlugin())

    def __repr__(self):
        return '<Bottle with %d routes>' % len(self.router.routes)

    def __call__(self, environ, start_response):
        def start_bottle_response(status, headers, exc_info=None):
            # Bottle's spelling of the default type; Kokoro's fast path keeps its own.
            headers = [(name, _BOTTLE_HTML_TYPE) if value == _HTML_TYPE else (name, value)
                       for name, value in headers]
            return start_response(status, headers, exc_info)
        return Kokoro.__call__(self, environ, start_bottle_response)

    def __enter__(self):
        """`with app:` makes this the default application inside the block."""
        return app.push(self)

    def __exit__(self, exc_type, exc_value, traceback):
        _default_app.remove(self)

    def route(self, path=None, method='GET', callback=None, name=None, apply=None, skip=None,
              app_name=None, **config):
        """Kokoro.route(), also reading Bottle 0.10's rules: '/user/:name' and
        '/id/:id#[0-9]+#' mean '/user/<name>' and '/id/<id:re:[0-9]+>'."""
        if isinstance(path, str):
            path = _modern_rule(path)
        elif path is not None and not callable(path):
            path = [_modern_rule(rule) for rule in path]
        return Kokoro.route(self, path, method, callback, name, apply, skip, app_name, **config)

    def run(self, plugins=None, config=None, interval=None, **options):
        """Serve this application; see run(). Bottle's `plugins` are installed, `config` merged
        into app.config; `interval` (the reloader's poll) is not needed here."""
        for plugin in plugins or ():
            self.install(plugin)
        self.config.update(config or {})
        run(self, **options)

    def _has_plugins(self, route_config):
        return True         # Bottle's output rules wrap every handler

    def _apply_plugins(self, route):
        return _bottle_output(Kokoro._apply_plugins(self, route))

    def add_hook(self, name, func):
        """Kokoro.add_hook(), with after_request hooks run last added first, as in Bottle."""
        Kokoro.add_hook(self, name, func)
        if name == 'after_request':
            hooks = self.hooks[name]
            hooks.insert(0, hooks.pop())
        return func

    def _not_found(self, environ, method, path):
        return HTTPError(404, 'Not found: %r' % (path,))

    def _error_page(self, error, current):
        """Bottle's default error page: 'Error: 404 Not Found', the URL and the message (the
        exception and traceback too in debug mode); JSON for clients that prefer it."""
        if current.accepts_json:
            return Kokoro._error_page(self, error, current)
        error.headers['Content-Type'] = _HTML_TYPE
        message = error.body if isinstance(error.body, str) and error.body else \
            error.status_line.partition(' ')[2]       # 'Internal Server Error', as Bottle
        details = ''
        if self.config.get('debug') and error.exception is not None:
            details += '<h2>Exception:</h2>\n<pre>%s</pre>\n' % html_escape(repr(error.exception))
        if self.config.get('debug') and error.traceback:
            details += '<h2>Traceback:</h2>\n<pre>%s</pre>\n' % html_escape(error.traceback)
        title = html_escape(error.status_line)
        return ('<!DOCTYPE html>\n<html><head><title>Error: %s</title></head><body>\n'
                '<h1>Error: %s</h1>\n<p>Sorry, the requested URL <tt>%s</tt> caused an '
                'error:</p>\n<pre>%s</pre>\n%s</body></html>\n'
                % (title, title, html_escape(repr(current.url)), html_escape(message), details))


_BOTTLE_HTML_TYPE = 'text/html; charset=UTF-8'
# Bottle 0.10's wildcards, outside any <wildcard>: ':name' or ':name#regex#'; '\\:' is a colon.
_OLD_WILDCARD = re.compile(r'(<[^>]*>)|\\:|:([a-zA-Z_][a-zA-Z_0-9]*)(?:#(.*?)#)?')


def _modern_rule(rule):
    """A rule with Bottle 0.10's ':name' wildcards written as '<name>'."""
    if ':' not in rule:
        return rule

    def modern(match):
        wildcard, name, regex = match.groups()
        if wildcard or not name:
            return wildcard or ':'
        return '<%s:re:%s>' % (name, regex) if regex else '<%s>' % name
    return _OLD_WILDCARD.sub(modern, rule)


def _bottle_output(callback):
    """Wrap a handler so that its result follows Bottle's rules (see Bottle)."""
    @functools.wraps(callback)
    def handler(*args, **kwargs):
        return _bottle_result(callback(*args, **kwargs))
    return handler


def _bottle_result(result):
    kind = type(result)
    if kind is str or kind is bytes or kind is dict or result is None:
        return result
    if isinstance(result, (list, tuple)):
        if result and isinstance(result[0], (str, bytes)):
            return result[0][:0].join(result)
        return result if result else ''
    if isinstance(result, (Response, bytearray, memoryview)) or hasattr(result, 'read'):
        return result
    try:
        iterator = iter(result)
    except TypeError:
        return result
    return _first_item_peeked(result, iterator)


def _first_item_peeked(source, iterator):
    """Read a generator up to its first non-empty item: an HTTPResponse there is the answer,
    else the items follow (an HTTPResponse raised there is one too)."""
    for first in iterator:
        if isinstance(first, HTTPResponse):
            _close_quietly(source)
            return first
        if first:
            charset = response.charset
            return _Chunks(_chunk_bytes(first, charset), iterator, source, charset)
    _close_quietly(source)
    return ''


class JSONPlugin(object):
    """Bottle's default plugin turning a dict (also as an HTTPResponse body) into JSON, with
    `json_dumps` (default: json.dumps, dates and Decimals handled)."""

    name = 'json'
    api = 2

    def __init__(self, json_dumps=None):
        self.json_dumps = json_dumps or functools.partial(json.dumps, default=json_default)

    def apply(self, callback, route):
        """Wrap `callback` (unchanged when json_dumps is false)."""
        dumps = self.json_dumps
        if not dumps:
            return callback

        def handler(*args, **kwargs):
            try:
                result = callback(*args, **kwargs)
            except HTTPResponse as answer:
                result = answer
            if isinstance(result, dict):
                response.content_type = _JSON_TYPE
                return dumps(result)
            if isinstance(result, HTTPResponse) and isinstance(result.body, dict):
                result.body = dumps(result.body)
                result.content_type = _JSON_TYPE
            return result
        return handler


class TemplatePlugin(object):
    """Bottle's default plugin for the route option `template`: a name, or (name, defaults),
    renders the dict the handler returns, as view() does."""

    name = 'template'
    api = 2

    def apply(self, callback, route):
        """Wrap `callback` in view() when the route names a template."""
        chosen = route.config.get('template')
        if isinstance(chosen, (tuple, list)) and len(chosen) == 2:
            return view(chosen[0], **chosen[1])(callback)
        if isinstance(chosen, str):
            return view(chosen)(callback)
        return callback


class _AppStack(object):
    """`app`: the stack of default applications. app() is the current one (default_app());
    app.push() makes a new Bottle (or the given app) the default; app.pop() removes it."""

    def __call__(self):
        return default_app()

    def push(self, value=None):
        """Make `value` (default: a new Bottle) the default application; return it."""
        if value is None:
            value = Bottle()
        _default_app.append(value)
        return value

    new_app = push

    def pop(self):
        """Remove the current default application and return it."""
        return _default_app.pop()

    def __len__(self):
        return len(_default_app)

    def __iter__(self):
        return iter(list(_default_app))


app = _AppStack()
default_app.push, default_app.pop = app.push, app.pop     # Bottle's default_app is the stack


def debug(mode=True):
    """Turn debug mode (tracebacks on error pages, templates reloaded) on or off for the
    default applications and every application created from now on."""
    Config.DEFAULTS['debug'] = bool(mode)
    for each in _default_app:
        each.config['debug'] = bool(mode)


def auth_basic(check, realm='private', text='Access denied'):
    """Decorator: answer 401 with a Basic challenge (RFC 7617) unless the request carries
    credentials for which check(user, password) is true."""
    challenge = 'Basic realm="%s"' % realm.replace('\\', '\\\\').replace('"', '\\"')

    def decorator(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            user, password = request.auth or (None, None)
            if user is None or not check(user, password):
                return HTTPError(401, text, WWW_Authenticate=challenge)
            return func(*args, **kwargs)
        return wrapper
    return decorator


class WSGIHeaderDict(MutableMapping):
    """A read-only, case-insensitive view of the request headers in a WSGI environ, values
    decoded as UTF-8 (raw() gives them as the server passed them)."""

    def __init__(self, environ):
        self.environ = environ

    def raw(self, key, default=None):
        """The header value as in the environ (a PEP 3333 latin-1 string), or default."""
        return self.environ.get(_environ_key(key), default)

    def __getitem__(self, key):
        value = self.environ[_environ_key(key)]
        try:
            return _wsgi_to_text(value)
        except UnicodeError:
            return value

    def __setitem__(self, key, value):
        raise TypeError('%s is read-only' % type(self).__name__)

    __delitem__ = __setitem__

    def __iter__(self):
        for key in list(self.environ):
            if key.startswith('HTTP_'):
                yield key[5:].replace('_', '-').title()
            elif key in ('CONTENT_TYPE', 'CONTENT_LENGTH'):
                yield key.replace('_', '-').title()

    def __len__(self):
        return len(list(iter(self)))

    def __contains__(self, key):
        return isinstance(key, str) and _environ_key(key) in self.environ


class _TemplateCaches(object):
    """`TEMPLATES`: clear() forgets every compiled template (Bottle's TEMPLATES.clear())."""

    def clear(self):
        """Forget every cached template: they are compiled again on next use."""
        for cache in (_FILE_TEMPLATES, _NAMED_TEMPLATES, _SOURCE_TEMPLATES, _ADAPTER_TEMPLATES):
            cache.clear()


TEMPLATES = _TemplateCaches()


def tob(value, encoding='utf-8'):
    """Text as bytes (None gives b'')."""
    return b'' if value is None else to_bytes(value, encoding)


def touni(value, encoding='utf-8', errors='strict'):
    """Bytes as text (None gives '')."""
    return to_str(value, encoding, errors)


tonat = touni


def makelist(data):
    """A list of `data`: a list, tuple or set as a list, nothing ('' or None) as [], else
    [data]."""
    if isinstance(data, (tuple, list, set)):
        return list(data)
    return [data] if data else []


def load(target):
    """Import 'package.module' and return it, or 'package.module:name.attr' and return that
    attribute. (Bottle also evaluates expressions after the colon; only dotted names are
    allowed here.) Raises ImportError or AttributeError."""
    module_name, _, attributes = target.partition(':')
    found = importlib.import_module(module_name)
    for attribute in filter(None, attributes.split('.')):
        found = getattr(found, attribute)
    return found


def load_app(target):
    """Load a WSGI application: 'module:app' returns that object; 'module' returns the default
    application the module registered its routes on (a new Bottle pushed for it)."""
    pushed = app.push()
    try:
        found = load(target)
    finally:
        _default_app.remove(pushed)
    return found if callable(found) else pushed
