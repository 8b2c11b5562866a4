import calendar
import email.utils
import re
from collections.abc import MutableMapping
from urllib.parse import parse_qsl, quote, unquote

###############################################################################
# 1b. HTTP utilities
# Pure helpers for HTTP text: a case-insensitive multi-value HeaderDict, MultiDict and
# FormsDict for query and form fields, HTTP dates, Range and option-header parsing, and the
# PEP 3333 re-decoding of paths. No WSGI and no I/O here. Uses section 1.
###############################################################################

__all__ += ['HeaderDict', 'MultiDict', 'FormsDict', 'http_date', 'parse_http_date',
            'parse_range_header']

# Request body limits, shared by Request (section 3), Config (4) and KokoroServer (5).
MAX_BODY_BYTES = 10 * 1024 * 1024       # default config['max_body_bytes']
MAX_MEMFILE_BYTES = 1024 * 1024         # default config['max_memfile_bytes']

# RFC 9110 section 5.5: a field value may not hold CR, LF or NUL (they would split headers).
_UNSAFE_HEADER_VALUE = re.compile(r'[\r\n\x00]')
# RFC 9110 section 5.1: a field name is a token.
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_OPTION = re.compile(r';\s*([^\s;=]+)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^;]*))?', re.DOTALL)


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
        if not dash or not (first.isdigit() or last.isdigit()) or \
                (first and not first.isdigit()) or (last and not last.isdigit()):
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


def _wsgi_to_text(value):
    """Re-decode a PEP 3333 native string (bytes carried as latin-1) as UTF-8.

    Raises UnicodeError when the bytes are not UTF-8.
    """
    if value.isascii():
        return value
    return value.encode('latin-1').decode('utf-8')


def _text_to_wsgi(value):
    """The inverse of _wsgi_to_text: UTF-8 bytes carried as a latin-1 native string."""
    return value if value.isascii() else value.encode('utf-8').decode('latin-1')


def _parse_qs(text):
    """Parse an urlencoded query or form body (text) into a FormsDict; never raises."""
    fields = FormsDict()
    if text:
        values = fields._values
        for key, value in parse_qsl(text, keep_blank_values=True, errors='replace'):
            values.setdefault(key, []).append(value)
    return fields


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
