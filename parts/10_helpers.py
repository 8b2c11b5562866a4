import base64
import datetime
import decimal
import hashlib
import hmac
import html
import json
import time

###############################################################################
# 1. Helpers and HTTP utilities
# Small pure functions and classes used everywhere below: markup and escaping,
# text/bytes conversion, JSON encoding, HMAC signing. Uses only the stdlib.
###############################################################################

__all__ += ['Markup', 'html_escape']


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


def to_bytes(value, encoding='utf-8'):
    """Return value as bytes, encoding text with `encoding`."""
    return value if isinstance(value, bytes) else str(value).encode(encoding)


def to_str(value, encoding='utf-8', errors='strict'):
    """Return value as text, decoding bytes with `encoding`; None becomes ''."""
    if value is None:
        return ''
    return value.decode(encoding, errors) if isinstance(value, bytes) else str(value)


def json_default(value):
    """JSON encoder fallback: dates as ISO 8601 text, Decimals as floats, objects by as_dict()."""
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
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


def _b64encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode('ascii')


def _b64decode(text):
    return base64.urlsafe_b64decode(text + '=' * (-len(text) % 4))


def sign_value(payload, secret, timestamp=None):
    """Return a token `payload.timestamp.mac` that proves `payload` (bytes) was signed with secret.

    The timestamp lets unsign_value() refuse tokens older than a maximum age.
    """
    stamp = '%x' % int(time.time() if timestamp is None else timestamp)
    body = _b64encode(payload) + '.' + stamp
    mac = hmac.new(to_bytes(secret), body.encode('ascii'), hashlib.sha256).digest()
    return body + '.' + _b64encode(mac)


def unsign_value(token, secret, max_age=None):
    """Return the payload bytes of a token made by sign_value(), or None when the token is
    malformed, tampered with, signed with another secret or older than `max_age` seconds."""
    try:
        body, mac = to_str(token).rsplit('.', 1)
        encoded, stamp = body.split('.', 1)
        expected = hmac.new(to_bytes(secret), body.encode('ascii'), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _b64decode(mac)):
            return None
        if max_age is not None and time.time() - int(stamp, 16) > max_age:
            return None
        return _b64decode(encoded)
    except (ValueError, TypeError, UnicodeError):
        return None


def _token_timestamp(token):
    """When sign_value() made `token` (seconds since the epoch), or None when malformed."""
    try:
        return int(to_str(token).rsplit('.', 2)[1], 16)
    except (ValueError, IndexError, TypeError, UnicodeError):
        return None
