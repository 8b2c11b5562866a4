import collections
import http.client
import io
import os
import re
import select as _select_module
import selectors
import socket
import sys
import tempfile
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import unquote_to_bytes

###############################################################################
# 5. HTTP server
# KokoroServer: a threaded HTTP/1.1 server for any WSGI application. parse_request_head() turns
# the bytes of a request head into a RequestHead (pure, RFC 9112); a selector thread reads heads
# without blocking and a bounded pool of workers runs the application. Uses section 1 only.
###############################################################################

__all__ += ['KokoroServer']

MAX_REQUEST_LINE_BYTES = 8 * 1024      # longer request line: 414 (RFC 9112 section 3)
MAX_HEADER_BYTES = 64 * 1024           # larger header section: 431 (RFC 6585 section 5)
MAX_HEADER_COUNT = 100                 # more header lines: 431
MAX_CHUNK_LINE_BYTES = 4 * 1024        # chunk-size line with extensions (RFC 9112 section 7.1)
MIN_BODY_BYTES_PER_SECOND = 1024       # a body slower than this on average gets 408
DRAIN_LIMIT_BYTES = 64 * 1024          # unread body we discard to keep a connection alive
LINGER_SECONDS = 2.0                   # after an error response, read and discard this long
SPOOL_BYTES = 1024 * 1024              # chunked bodies above this go to a temporary file
# A worker that has just answered waits this long for the next request on the same connection
# when no other request waits for a worker: busy keep-alive clients then skip a round trip
# through the selector thread, while idle ones still cost no worker.
KEEP_ALIVE_GRACE_SECONDS = 0.002

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


class KokoroServer(object):
    """The built-in HTTP/1.1 server: runs a WSGI application with a bounded pool of threads.

    The thread that calls serve_forever() runs a selector loop that owns the listening socket and
    every connection that is idle or still sending its request head, so idle keep-alive and slow
    clients cost a socket, never a thread; each has `head_timeout` seconds to finish its head and
    `idle_timeout` seconds of keep-alive. A complete head goes to one of `threads` workers, which
    reads the body, runs the application, writes the response and gives a kept-alive connection
    back. Port 0 picks a free port; `server.port` is the one bound. Binding raises OSError.

    Because of the GIL, more threads make CPU-bound handlers slower (they contend); raise
    `threads` for handlers that wait on slow I/O. `max_body_bytes` larger bodies get 413;
    `io_timeout` bounds each wait while reading a body or writing a response.
    """

    def __init__(self, app, host='127.0.0.1', port=8080, threads=16, max_connections=1000,
                 max_body_bytes=MAX_BODY_BYTES, head_timeout=10.0, idle_timeout=15.0,
                 io_timeout=30.0, shutdown_timeout=5.0, quiet=False, backlog=1024,
                 url_scheme='http'):
        self.app = app
        self.threads = threads
        self.max_connections = max_connections
        self.max_body_bytes = max_body_bytes
        self.head_timeout = head_timeout
        self.idle_timeout = idle_timeout
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
        self._returned = collections.deque()
        self._is_wake_pending = False
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix='kokoropy')
        self._work_lock = threading.Lock()
        self._work_count = 0
        self._state_lock = threading.Lock()
        self._loop_thread = None
        self._is_stopping = False
        self._grace_seconds = shutdown_timeout
        self._stopped = threading.Event()
        self._sweep_interval = max(0.02, min(1.0, head_timeout / 4.0, idle_timeout / 4.0))

    def serve_forever(self):
        """Accept and serve connections until shutdown() is called. Returns True when every
        request in flight then finished within the shutdown timeout."""
        with self._state_lock:
            if self._is_stopping:
                return True
            self._loop_thread = threading.get_ident()
        try:
            self._selector.register(self._listener, selectors.EVENT_READ, _SERVER_ACCEPT)
            self._selector.register(self._wake_reader, selectors.EVENT_READ, _SERVER_WAKE)
            self._select_loop()
            self._finish_in_flight()
        finally:
            self._close_everything()
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
            for key, _ in select(self._sweep_interval):
                try:
                    self._handle_event(key.data)
                except Exception:  # a bug must cost one connection, never the server
                    self._log_error('kokoropy: internal server error\n' + traceback.format_exc())
                    if type(key.data) is _ServerConnection:
                        self._unregister_and_close(key.data)
            now = time.monotonic()
            if now >= next_sweep:
                self._close_expired(now)
                next_sweep = now + self._sweep_interval

    def _handle_event(self, data):
        if data is _SERVER_ACCEPT:
            self._accept()
        elif data is _SERVER_WAKE:
            self._take_back_connections()
        else:
            self._read_head(data)

    def _accept(self):
        for _ in range(64):
            try:
                sock, address = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: keep serving the connections we have
                self._log_error('kokoropy: accept failed: %s\n' % exc)
                return
            if self._connection_count() >= self.max_connections:
                _refuse_connection(sock)
                continue
            sock.setblocking(False)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
            conn = _ServerConnection(sock, address, time.monotonic() + self.head_timeout)
            self._selector.register(sock, selectors.EVENT_READ, conn)

    def _connection_count(self):
        return len(self._selector.get_map()) - 2 + self._work_count + len(self._returned)

    def _read_head(self, conn):
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b''
        if not data or (conn.is_lingering and conn.discard(len(data))):
            self._unregister_and_close(conn)
            return
        if conn.is_lingering:
            return
        if conn.buffer:
            if type(conn.buffer) is bytes:
                conn.buffer = bytearray(conn.buffer)
            conn.buffer += data
        else:
            data = data.lstrip(b'\r\n')  # RFC 9112 section 2.2: skip empty lines before a request
            if not data:
                return
            conn.buffer = data
            if not conn.has_request_started:
                conn.has_request_started = True
                conn.deadline = time.monotonic() + self.head_timeout
        try:
            found = self._take_head(conn)
        except HTTPParseError as exc:
            self._reject(conn, exc.status, exc.reason)
            return
        if found is not None:
            self._selector.unregister(conn.sock)
            self._dispatch(conn, found[0], found[1])

    def _take_head(self, conn):
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

    def _dispatch(self, conn, head, rest):
        with self._work_lock:
            self._work_count += 1
        try:
            self._pool.submit(self._serve_connection, conn, head, rest)
        except RuntimeError:  # the pool is shut down: we are stopping
            self._end_work()
            conn.close()

    def _reject(self, conn, status, reason):
        """Answer a request refused in the selector thread, then close the connection."""
        self._log_access(conn.address, '-', status, 0, 0.0)
        try:
            conn.sock.send(_error_response(status, reason))
        except OSError:
            pass
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
            conn = returned.popleft()
            if self._is_stopping and not conn.is_lingering:
                conn.close()
            else:
                self._selector.register(conn.sock, selectors.EVENT_READ, conn)

    def _close_expired(self, now):
        for key in list(self._selector.get_map().values()):
            conn = key.data
            if type(conn) is not _ServerConnection or conn.deadline > now:
                continue
            if conn.has_request_started and not conn.is_lingering:
                # Slowloris defence: a head not finished in time gets 408 (RFC 9110 15.5.9).
                self._log_access(conn.address, '-', 408, 0, 0.0)
                try:
                    conn.sock.send(_error_response(408, 'request head not received in time'))
                except OSError:
                    pass
            self._unregister_and_close(conn)

    def _unregister_and_close(self, conn):
        try:
            self._selector.unregister(conn.sock)
        except (KeyError, ValueError):
            pass
        conn.close()

    def _finish_in_flight(self):
        """After shutdown(): close idle connections, wait for workers, up to the grace time."""
        self._selector.unregister(self._listener)
        self._listener.close()
        for key in list(self._selector.get_map().values()):
            if type(key.data) is _ServerConnection:
                self._unregister_and_close(key.data)
        deadline = time.monotonic() + self._grace_seconds
        while self._work_count and time.monotonic() < deadline:
            self._selector.select(0.05)
            self._take_back_connections()
        self._take_back_connections()
        for key in list(self._selector.get_map().values()):
            if type(key.data) is _ServerConnection:
                self._unregister_and_close(key.data)

    def _close_everything(self):
        self._pool.shutdown(wait=False)
        for closeable in (self._listener, self._selector, self._wake_reader, self._wake_writer):
            try:
                closeable.close()
            except (OSError, RuntimeError):
                pass

    # -- worker threads -----------------------------------------------------------------------

    def _serve_connection(self, conn, head, rest):
        """Answer the request whose head was read, then any pipelined ones already received;
        then give a kept-alive (or lingering) connection back to the selector thread."""
        try:
            conn.buffer = rest
            keep_alive = True
            while keep_alive and head is not None:
                keep_alive = self._serve_one(conn, head) and not self._is_stopping
                if keep_alive:
                    head = self._next_head(conn)
            if keep_alive or conn.is_lingering:
                self._give_back(conn)
            else:
                conn.close()
        except _ClientDisconnected:
            conn.close()
        except Exception:
            self._log_error('kokoropy: internal server error\n' + traceback.format_exc())
            conn.close()
        except BaseException:  # SystemExit from an application: still free the socket
            conn.close()
            raise
        finally:
            self._end_work()

    def _next_head(self, conn):
        """The next request on a kept-alive connection when it is already received, or arrives
        within KEEP_ALIVE_GRACE_SECONDS while no other request waits for a worker; else None."""
        head = self._next_buffered_head(conn)
        if head is not None or conn.is_lingering or self._work_count > self.threads:
            return head
        if not _wait_for_socket(conn.sock, False, KEEP_ALIVE_GRACE_SECONDS):
            return None
        try:
            data = conn.sock.recv(_RECV_BYTES)
        except OSError as exc:
            raise _ClientDisconnected(str(exc))
        if not data:
            raise _ClientDisconnected('the client closed the connection')
        conn.buffer = conn.buffer + data if conn.buffer else data
        return self._next_buffered_head(conn)

    def _next_buffered_head(self, conn):
        """Parse a pipelined request already in conn.buffer; None when there is none complete."""
        conn.buffer = conn.buffer.lstrip(b'\r\n')
        conn.has_request_started = bool(conn.buffer)
        if not conn.buffer:
            return None
        try:
            found = self._take_head(conn)
        except HTTPParseError as exc:
            self._log_access(conn.address, '-', exc.status, 0, 0.0)
            _send_all(conn.sock, _error_response(exc.status, exc.reason), self.io_timeout)
            conn.start_lingering()
            return None
        if found is None:
            return None
        conn.buffer = found[1]
        return found[0]

    def _serve_one(self, conn, head):
        """Serve one request on a worker; return True when the connection may be kept alive.

        A connection not kept alive is left lingering (see _ServerConnection.start_lingering).
        Raises _ClientDisconnected when the client is gone or the response was cut short.
        """
        started = time.perf_counter()
        exchange = _Exchange(self, conn, head)
        try:
            self._respond(exchange)
        except _ClientDisconnected as exc:
            if not self.quiet:
                self._log_error('kokoropy: connection to %s closed mid-request: %s\n'
                                % (conn.address, exc))
            raise
        finally:
            exchange.close_body()
            if exchange.status_code:
                self._log_access(conn.address, '%s %s %s' % (head.method, head.target,
                                 head.version), exchange.status_code, exchange.bytes_sent,
                                 (time.perf_counter() - started) * 1000.0)
        if exchange.keep_alive and exchange.discard_unread_body():
            return True
        conn.start_lingering()
        return False

    def _respond(self, exchange):
        """Run the application for one request; answer 4xx/500 in its place when it fails."""
        try:
            environ = self._make_environ(exchange.conn, exchange.head, exchange.open_body())
            exchange.run_application(self.app, environ)
        except _ClientDisconnected:
            raise
        except Exception as exc:
            # A body that could not be read explains whatever the application did next.
            failure = exc if isinstance(exc, _RequestBodyError) else exchange.body_failure
            if failure is None:
                self._log_error('kokoropy: error in the application for %s %s\n%s' % (
                    exchange.head.method, exchange.head.target, traceback.format_exc()))
            if exchange.is_head_sent:
                # Too late for an error status: closing tells the client the response is cut.
                raise _ClientDisconnected('response cut short by %r' % exc)
            if failure is None:
                exchange.send_error(500, None)
            else:
                exchange.send_error(failure.status, failure.reason)

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
        now = time.monotonic()
        if not conn.is_lingering:
            conn.deadline = now + (self.head_timeout if conn.has_request_started
                                   else self.idle_timeout)
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


class _ClientDisconnected(ConnectionError):
    """The client went away or stopped reading or sending in time: close, answer nothing.

    A ConnectionError, so that an application reading wsgi.input sees an ordinary one."""


class _RequestBodyError(Exception):
    """The request body is malformed, too large or too slow: answer `status` and close."""

    def __init__(self, status, reason):
        Exception.__init__(self, '%d %s' % (status, reason))
        self.status = status
        self.reason = reason


class _ServerConnection(object):
    """A client socket and the received bytes no request has consumed yet."""

    __slots__ = ('sock', 'address', 'port', 'buffer', 'scan_from', 'deadline',
                 'has_request_started', 'is_lingering', 'discarded')

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
        return self.discarded > MAX_HEADER_BYTES + DRAIN_LIMIT_BYTES * 16

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class _Exchange(object):
    """One request and its response on a worker thread: wsgi.input, start_response, framing."""

    __slots__ = ('server', 'conn', 'sock', 'head', 'status', 'status_code', 'header_text',
                 'content_length', 'keep_alive', 'is_head_sent', 'is_chunked',
                 'is_body_suppressed', 'bytes_sent', 'body', 'body_failure',
                 'is_continue_pending')

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
        self.body = None
        self.body_failure = None
        self.is_continue_pending = head.expects_continue

    # -- the request body ---------------------------------------------------------------------

    def open_body(self):
        """Return wsgi.input. A chunked body is de-chunked now, so that bad framing and size get
        their 4xx before the application runs, unless the client waits for 100 Continue."""
        head = self.head
        if head.is_chunked:
            decode = _ChunkedDecoder(self).decode
            self.body = _DeferredInput(decode) if head.expects_continue else decode()
            return self.body
        if head.content_length:
            self.body = _ContentLengthBody(self, head.content_length)
            return io.BufferedReader(self.body, _RECV_BYTES)
        return io.BytesIO()

    def send_continue(self):
        """Send the interim 100 Continue a waiting client needs before it sends its body."""
        self.is_continue_pending = False
        if not self.is_head_sent:
            try:
                _send_all(self.sock, b'HTTP/1.1 100 Continue\r\n\r\n', self.server.io_timeout)
            except _ClientDisconnected as exc:
                raise self.fail_body(None, str(exc))

    def fail_body(self, status, reason):
        """Record why the body could not be read and return the exception to raise: the
        response becomes `status` whatever the application makes of it (None: disconnected)."""
        self.body_failure = _RequestBodyError(status or 400, reason)
        if status is None:
            return _ClientDisconnected(reason)
        return self.body_failure

    def close_body(self):
        """Close a de-chunked body's spooled file (a Content-Length body reads the socket)."""
        body = self.body
        if type(body) is _DeferredInput:
            body = body._stream
        if body is not None and hasattr(body, 'close') and type(body) is not _ContentLengthBody:
            body.close()

    def discard_unread_body(self):
        """Read what the application left of the body, so the connection can serve the next
        request; False when that is not worth it or not possible (close instead)."""
        body = self.body
        if body is None or self.body_failure is not None:
            return self.body_failure is None
        if type(body) is _DeferredInput:
            return body.is_open
        if type(body) is not _ContentLengthBody or not body.remaining:
            return True
        if self.is_continue_pending or body.remaining > DRAIN_LIMIT_BYTES:
            return False
        scratch = bytearray(min(body.remaining, _RECV_BYTES))
        try:
            while body.remaining:
                body.readinto(scratch)
        except (_ClientDisconnected, _RequestBodyError):
            return False
        return True

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
        for name, value in headers:
            lname = name.lower()
            if lname == 'content-length':
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
        if self.body_failure is not None:
            raise self.body_failure

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
        if not self.keep_alive or self.server._is_stopping or self._is_body_in_the_way():
            self.keep_alive = False
            framing += 'Connection: close\r\n'
        elif self.head.version == 'HTTP/1.0':
            framing += 'Connection: keep-alive\r\n'
        self.is_head_sent = True
        return ('HTTP/1.1 %s\r\n%s%s%s\r\n' % (self.status, self.header_text, framing,
                                               _date_line())).encode('latin-1')

    def _is_body_in_the_way(self):
        """True when an unread request body will stop the connection from being reused:
        the client still waits for 100 Continue, or too much is left to discard."""
        body = self.body
        if body is None:
            return False
        if type(body) is _DeferredInput:
            return not body.is_open
        return type(body) is _ContentLengthBody and body.remaining and (
            self.is_continue_pending or body.remaining > DRAIN_LIMIT_BYTES)

    def _send(self, data):
        _send_all(self.sock, data, self.server.io_timeout)


class _BodyReceiver(object):
    """Receives request body bytes on a worker: sends 100 Continue first when the client waits
    for it, turns timeouts and trickling into 408 and a vanished client into a disconnect."""

    __slots__ = ('exchange', 'sock', 'started', 'received', 'timeout')

    def __init__(self, exchange):
        self.exchange = exchange
        self.sock = exchange.sock
        self.started = None  # the clock starts at the first read, not when the app starts
        self.received = 0
        self.timeout = exchange.server.io_timeout

    def recv_into(self, buffer, size):
        exchange = self.exchange
        if exchange.is_continue_pending:
            exchange.send_continue()
        # A minimum average rate bounds how long a trickling body can hold a worker.
        if self.started is None:
            self.started = time.monotonic()
        allowed = self.timeout + self.received / float(MIN_BODY_BYTES_PER_SECOND)
        if time.monotonic() - self.started > allowed:
            raise exchange.fail_body(408, 'request body arrived too slowly')
        while True:
            try:
                size = self.sock.recv_into(buffer, size)
                break
            except BlockingIOError:
                if not _wait_for_socket(self.sock, False, self.timeout):
                    raise exchange.fail_body(408, 'request body timed out')
            except OSError as exc:
                raise exchange.fail_body(None, 'client disconnected: %s' % exc)
        if not size:
            raise exchange.fail_body(None, 'client disconnected before the end of the body')
        self.received += size
        return size

    def recv(self, size):
        buffer = bytearray(size)
        return bytes(buffer[:self.recv_into(buffer, size)])


class _ContentLengthBody(io.RawIOBase):
    """The raw stream of a Content-Length body: bytes already received, then the socket. It
    never reads past the body, so a pipelined request stays in the connection's buffer."""

    def __init__(self, exchange, length):
        io.RawIOBase.__init__(self)
        conn = exchange.conn
        self._early = conn.buffer[:length]
        conn.buffer = conn.buffer[length:]
        self.remaining = length - len(self._early)
        self._receiver = _BodyReceiver(exchange)

    def readable(self):
        return True

    def readinto(self, buffer):
        if self._early:
            size = min(len(buffer), len(self._early))
            buffer[:size] = self._early[:size]
            self._early = self._early[size:]
            return size
        if not self.remaining:
            return 0
        size = self._receiver.recv_into(buffer, min(len(buffer), self.remaining))
        self.remaining -= size
        return size


class _ChunkedDecoder(object):
    """De-chunks a request body (RFC 9112 section 7.1) into a spooled file, within limits."""

    def __init__(self, exchange):
        self._exchange = exchange
        self._conn = exchange.conn
        self._receiver = _BodyReceiver(exchange)
        self._buffer = bytes(exchange.conn.buffer)
        self._position = 0
        self._limit = exchange.server.max_body_bytes

    def decode(self):
        """Read the whole chunked body; return it as a file positioned at its start."""
        spool = tempfile.SpooledTemporaryFile(SPOOL_BYTES)
        try:
            self._decode_into(spool)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool

    def _decode_into(self, spool):
        total = 0
        while True:
            size = self._chunk_size(self._line(MAX_CHUNK_LINE_BYTES))
            if not size:
                break
            total += size
            if total > self._limit:
                raise self._fail(413, 'request body larger than %d bytes' % self._limit)
            self._copy(size, spool)
            if self._take(2) != b'\r\n':
                raise self._fail(400, 'chunk data not followed by CRLF')
        self._skip_trailer_section()
        self._conn.buffer = self._buffer[self._position:]

    def _fail(self, status, reason):
        return self._exchange.fail_body(status, reason)

    def _chunk_size(self, line):
        # chunk = chunk-size [ chunk-ext ] CRLF; extensions are allowed and ignored.
        size_text = line.split(b';', 1)[0].rstrip(b' \t')
        if not _CHUNK_SIZE.match(size_text) or _FORBIDDEN_HEAD_BYTES.search(line):
            raise self._fail(400, 'invalid chunk size line')
        return int(size_text, 16)

    def _skip_trailer_section(self):
        # RFC 9112 section 7.1.2: trailer fields may be discarded; they must still be well formed.
        total = 0
        while True:
            line = self._line(MAX_HEADER_BYTES)
            if not line:
                return
            total += len(line)
            name, colon, _ = line.partition(b':')
            if total > MAX_HEADER_BYTES or not colon or not _TOKEN.match(name.decode('latin-1')) \
                    or _FORBIDDEN_HEAD_BYTES.search(line):
                raise self._fail(400, 'invalid trailer section')

    def _line(self, limit):
        """Return the next line without its line ending."""
        while True:
            end = self._buffer.find(b'\n', self._position)
            if end >= 0:
                break
            if len(self._buffer) - self._position > limit:
                raise self._fail(400, 'chunk line longer than %d bytes' % limit)
            self._receive()
        line = self._buffer[self._position:end]
        self._position = end + 1
        if len(line) > limit + 1:
            raise self._fail(400, 'chunk line longer than %d bytes' % limit)
        return line[:-1] if line.endswith(b'\r') else line

    def _copy(self, size, spool):
        while size:
            if self._position >= len(self._buffer):
                self._receive()
            piece = self._buffer[self._position:self._position + size]
            spool.write(piece)
            self._position += len(piece)
            size -= len(piece)

    def _take(self, size):
        while len(self._buffer) - self._position < size:
            self._receive()
        data = self._buffer[self._position:self._position + size]
        self._position += size
        return data

    def _receive(self):
        data = self._receiver.recv(_RECV_BYTES)
        self._buffer = self._buffer[self._position:] + data
        self._position = 0


class _DeferredInput(object):
    """wsgi.input that reads its body on first use: for a client waiting for 100 Continue."""

    def __init__(self, open_stream):
        self._open_stream = open_stream
        self._stream = None

    @property
    def is_open(self):
        return self._stream is not None

    def _opened(self):
        if self._stream is None:
            self._stream = self._open_stream()
        return self._stream

    def read(self, size=-1):
        return self._opened().read(size)

    def readline(self, size=-1):
        return self._opened().readline(size)

    def readlines(self, hint=-1):
        return self._opened().readlines(hint)

    def __iter__(self):
        return iter(self._opened())


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
    except OSError:
        pass
    sock.close()


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
