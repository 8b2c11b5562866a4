"""Tests for section 5, the built-in HTTP server: parse_request_head(), ContentLengthReader and
ChunkedDecoder without sockets, then a live KokoroServer on a free port of 127.0.0.1 serving
plain WSGI functions."""
import io
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import unittest
import weakref

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import kokoropy  # noqa: E402
from kokoropy import (ChunkedDecoder, ContentLengthReader, HTTPParseError, Kokoro,  # noqa: E402
                      KokoroServer, parse_request_head)
from kokoropy import request as request_proxy  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import read_http_response  # noqa: E402


def parse_status(data):
    """Return the HTTPParseError status that parse_request_head(data) raises."""
    try:
        parse_request_head(data)
    except HTTPParseError as exc:
        return exc.status
    raise AssertionError('%r parsed without error' % (data,))


class ParseRequestHeadTests(unittest.TestCase):

    def test_simple_get_gives_method_target_version_and_headers(self):
        head = parse_request_head(b'GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\nX-A: 1\r\n\r\n')
        self.assertEqual((head.method, head.target, head.version), ('GET', '/a?b=1', 'HTTP/1.1'))
        self.assertEqual(head.headers, [('Host', 'example.com'), ('X-A', '1')])
        self.assertEqual((head.content_length, head.is_chunked, head.keep_alive),
                         (None, False, True))

    def test_header_values_lose_surrounding_whitespace_and_names_keep_case(self):
        head = parse_request_head(b'GET / HTTP/1.1\r\nHost: h\r\nX-Thing:  \t a b \t\r\n')
        self.assertEqual(head.headers[1], ('X-Thing', 'a b'))

    def test_empty_lines_before_the_request_line_are_ignored(self):
        head = parse_request_head(b'\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual(head.method, 'GET')

    def test_bare_lf_line_endings_are_accepted(self):
        head = parse_request_head(b'GET / HTTP/1.1\nHost: h\nA: b\n\n')
        self.assertEqual(head.headers, [('Host', 'h'), ('A', 'b')])

    def test_request_line_over_8_kib_gives_414(self):
        target = b'/' + b'a' * kokoropy.MAX_REQUEST_LINE_BYTES
        self.assertEqual(parse_status(b'GET ' + target + b' HTTP/1.1\r\nHost: h\r\n'), 414)

    def test_request_line_of_exactly_8_kib_is_accepted(self):
        target = b'/' + b'a' * (kokoropy.MAX_REQUEST_LINE_BYTES - len(b'GET / HTTP/1.1'))
        line = b'GET ' + target + b' HTTP/1.1'
        self.assertEqual(len(line), kokoropy.MAX_REQUEST_LINE_BYTES)
        self.assertEqual(parse_request_head(line + b'\r\nHost: h\r\n').method, 'GET')

    def test_header_section_over_64_kib_gives_431(self):
        big = b''.join(b'X-%d: %s\r\n' % (i, b'v' * 1000) for i in range(70))
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\n' + big), 431)

    def test_more_than_100_header_fields_gives_431(self):
        many = b''.join(b'X-%d: v\r\n' % i for i in range(101))
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\n' + many), 431)

    def test_malformed_request_lines_give_400(self):
        for line in (b'GET /', b'GET  / HTTP/1.1', b'GET / HTTP/1.1 x', b'/ HTTP/1.1',
                     b'GET / http/1.1', b'GET / HTTP/1', b'GET / HTTP/1.1.1', b'G(T / HTTP/1.1',
                     b'GET / HTTP/11.1', b''):
            self.assertEqual(parse_status(line + b'\r\nHost: h\r\n\r\n'), 400, line)

    def test_unsupported_http_versions_give_505(self):
        for version in (b'HTTP/2.0', b'HTTP/0.9', b'HTTP/3.0'):
            self.assertEqual(parse_status(b'GET / ' + version + b'\r\nHost: h\r\n'), 505)

    def test_higher_minor_version_is_served_as_http_1_1(self):
        self.assertEqual(parse_request_head(b'GET / HTTP/1.7\r\nHost: h\r\n').version, 'HTTP/1.1')

    def test_request_targets_must_be_origin_absolute_or_options_asterisk(self):
        for target in (b'a/b', b'*', b'example.com:443', b'ftp://x/y', b'/a#frag', b'/a%zz',
                       b'/a%4'):
            self.assertEqual(parse_status(b'GET ' + target + b' HTTP/1.1\r\nHost: h\r\n'), 400)
        self.assertEqual(parse_request_head(b'OPTIONS * HTTP/1.1\r\nHost: h\r\n').target, '*')
        head = parse_request_head(b'GET http://example.com/x?y HTTP/1.1\r\nHost: h\r\n')
        self.assertEqual(head.target, 'http://example.com/x?y')

    def test_obsolete_line_folding_gives_400(self):
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n  more\r\n'), 400)

    def test_whitespace_in_or_after_a_header_name_gives_400(self):
        for line in (b'X-A : 1', b'X A: 1', b' X-A: 1', b'X-A\t: 1'):
            self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\n' + line + b'\r\n'), 400)

    def test_header_line_without_colon_or_with_bad_name_gives_400(self):
        for line in (b'X-A 1', b': value', b'X(A): 1', b'X\xe9: 1'):
            self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\n' + line + b'\r\n'), 400)

    def test_nul_bare_cr_and_control_characters_give_400(self):
        for value in (b'a\x00b', b'a\rb', b'a\x01b', b'a\x7fb'):
            self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: h\r\nX: ' + value + b'\r\n'),
                             400, value)
        self.assertEqual(parse_status(b'GET /a\x00b HTTP/1.1\r\nHost: h\r\n'), 400)

    def test_obs_text_in_header_values_is_kept_as_latin_1(self):
        head = parse_request_head(b'GET / HTTP/1.1\r\nHost: h\r\nX: caf\xe9\r\n')
        self.assertEqual(head.headers[1], ('X', 'caf\xe9'))

    def test_content_length_and_transfer_encoding_together_give_400(self):
        data = b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n'
        self.assertEqual(parse_status(data), 400)

    def test_invalid_content_lengths_give_400(self):
        for value in (b'abc', b'-1', b'+5', b'5 5', b'0x10', b'', b'1.0', b'\xb2'):
            data = b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: ' + value + b'\r\n'
            self.assertEqual(parse_status(data), 400, value)

    def test_differing_content_lengths_give_400_and_identical_ones_merge(self):
        twice = b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: %s\r\n'
        self.assertEqual(parse_status(twice % b'6'), 400)
        self.assertEqual(parse_request_head(twice % b'5').content_length, 5)
        listed = b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 6\r\n'
        self.assertEqual(parse_status(listed), 400)

    def test_transfer_codings_other_than_chunked(self):
        base = b'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: %s\r\n'
        self.assertEqual(parse_status(base % b'gzip, chunked'), 501)
        self.assertEqual(parse_status(base % b'gzip'), 400)
        self.assertEqual(parse_status(base % b'chunked, chunked'), 400)
        self.assertEqual(parse_status(base % b'chunked,'), 400)
        self.assertTrue(parse_request_head(base % b'Chunked').is_chunked)

    def test_transfer_encoding_in_http_1_0_gives_400(self):
        self.assertEqual(parse_status(b'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n'), 400)

    def test_host_header_rules(self):
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nX: 1\r\n'), 400)
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n'), 400)
        self.assertEqual(parse_status(b'GET / HTTP/1.1\r\nHost: a b/c\r\n'), 400)
        self.assertEqual(parse_request_head(b'GET / HTTP/1.0\r\n').headers, [])
        self.assertEqual(parse_request_head(b'GET / HTTP/1.1\r\nHost: [::1]:80\r\n').method, 'GET')

    def test_connection_header_decides_keep_alive(self):
        self.assertFalse(parse_request_head(b'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n')
                         .keep_alive)
        self.assertFalse(parse_request_head(b'GET / HTTP/1.0\r\n').keep_alive)
        self.assertTrue(parse_request_head(b'GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n')
                        .keep_alive)

    def test_expect_100_continue_and_unknown_expectations(self):
        head = parse_request_head(b'POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\n')
        self.assertTrue(head.expects_continue)
        self.assertEqual(parse_status(b'POST / HTTP/1.1\r\nHost: h\r\nExpect: coffee\r\n'), 417)
        self.assertFalse(parse_request_head(b'POST / HTTP/1.0\r\nExpect: 100-continue\r\n')
                         .expects_continue)


def feed_pieces(reader, pieces):
    """Feed the pieces to reader until it gives a rest; return (body, rest and the pieces
    not fed), or (body so far, None). A piece b'' means the client closed the connection."""
    body = b''
    for number, piece in enumerate(pieces):
        part, rest = reader.feed(piece)
        body += part
        if rest is not None:
            return body, rest + b''.join(pieces[number + 1:])
    return body, None


def feed_status(reader, pieces):
    """Return the HTTPParseError status that feeding `pieces` to reader raises."""
    try:
        feed_pieces(reader, pieces)
    except HTTPParseError as exc:
        return exc.status
    raise AssertionError('%r decoded without error' % (pieces,))


def every_split(data):
    """data in one piece, byte by byte, and cut at each position in two."""
    yield [data]
    yield [data[i:i + 1] for i in range(len(data))]
    for i in range(1, len(data)):
        yield [data[:i], data[i:]]


class ContentLengthReaderTests(unittest.TestCase):

    def test_body_and_what_follows_it_however_the_bytes_are_split(self):
        # (Content-Length, bytes received, body, rest)
        cases = [
            (5, b'hello', b'hello', b''),
            (5, b'helloGET / HTTP/1.1\r\n', b'hello', b'GET / HTTP/1.1\r\n'),
            (1, b'ab', b'a', b'b'),
        ]
        for length, data, body, rest in cases:
            for pieces in every_split(data):
                self.assertEqual(feed_pieces(ContentLengthReader(length), pieces), (body, rest),
                                 pieces)

    def test_a_body_still_arriving_gives_its_bytes_and_no_rest(self):
        reader = ContentLengthReader(10)
        self.assertEqual(reader.feed(b'abc'), (b'abc', None))
        self.assertEqual(reader.remaining, 7)

    def test_connection_closed_before_the_end_of_the_body_gives_400(self):
        for pieces in ([b''], [b'abc', b''], [b'abcd', b'']):
            self.assertEqual(feed_status(ContentLengthReader(5), pieces), 400, pieces)

    def test_connection_closed_after_the_body_is_no_error(self):
        self.assertEqual(feed_pieces(ContentLengthReader(2), [b'ab']), (b'ab', b''))


class ChunkedDecoderTests(unittest.TestCase):

    def test_bodies_decode_however_the_bytes_are_split(self):
        # (bytes received, body, rest)
        cases = [
            (b'0\r\n\r\n', b'', b''),
            (b'5\r\nhello\r\n0\r\n\r\n', b'hello', b''),
            (b'5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n', b'hello world', b''),
            (b'A\r\n0123456789\r\n0\r\n\r\n', b'0123456789', b''),
            (b'0005\r\nhello\r\n000\r\n\r\n', b'hello', b''),                  # leading zeros
            (b'5;name=value;x\r\nhello\r\n0;last\r\n\r\n', b'hello', b''),    # extensions
            (b'5 ;a="q;\\"x"\r\nhello\r\n0\r\n\r\n', b'hello', b''),          # BWS, quoted
            (b'2\r\nhi\r\n0\r\nX-Sum: 1\r\nY: 2\r\n\r\n', b'hi', b''),          # trailers
            (b'2\r\nhi\r\n0\r\n\r\nGET / HTTP/1.1\r\n', b'hi', b'GET / HTTP/1.1\r\n'),
            (b'3\r\n\r\n\n\r\n0\r\n\r\n', b'\r\n\n', b''),                      # CRLF as data
        ]
        for data, body, rest in cases:
            for pieces in every_split(data):
                self.assertEqual(feed_pieces(ChunkedDecoder(100), pieces), (body, rest),
                                 pieces)

    def test_partial_chunks_give_their_bytes_as_they_come(self):
        decoder = ChunkedDecoder(100)
        self.assertEqual(decoder.feed(b'5\r\nhel'), (b'hel', None))
        self.assertEqual(decoder.feed(b'lo\r'), (b'lo', None))
        self.assertEqual(decoder.feed(b'\n0\r\n'), (b'', None))
        self.assertEqual(decoder.feed(b'\r\n'), (b'', b''))
        self.assertEqual(decoder.size, 5)

    def test_malformed_framing_gives_400(self):
        cases = [
            b'zz\r\nhello\r\n0\r\n\r\n',            # size not hex
            b'-1\r\nhello\r\n0\r\n\r\n',            # negative
            b'0x5\r\nhello\r\n0\r\n\r\n',           # 0x prefix
            b' 5\r\nhello\r\n0\r\n\r\n',            # space before the size
            b'+5\r\nhello\r\n0\r\n\r\n',            # sign
            b'\r\nhello\r\n0\r\n\r\n',              # no size
            b'1' * 17 + b'\r\n',                    # 17 hex digits
            b'5\nhello\r\n0\r\n\r\n',               # bare LF after the size
            b'5\r\nhello\n0\r\n\r\n',               # bare LF after the data
            b'2\r\nhello\r\n0\r\n\r\n',             # chunk longer than its size
            b'5\r\nhelloXY0\r\n\r\n',               # no CRLF after the data
            b'5;a=\x00\r\nhello\r\n0\r\n\r\n',      # NUL in an extension
            b'5;a=\rb\r\nhello\r\n0\r\n\r\n',       # bare CR in an extension
            b'5;' + b'e' * 5000 + b'\r\n',          # size line over 4 KiB
            b'5;' + b'e' * 5000,                    # ... refused before its end arrives
            b'2\r\nhi\r\n0\r\nnot a trailer\r\n\r\n',
            b'2\r\nhi\r\n0\r\nBad Name: v\r\n\r\n',
            b'2\r\nhi\r\n0\r\nX: v\n\r\n',          # bare LF in the trailer section
            b'2\r\nhi\r\n0\r\n' + b'X: ' + b'v' * 70000 + b'\r\n\r\n',
        ]
        for data in cases:
            self.assertEqual(feed_status(ChunkedDecoder(100), [data]), 400, data[:40])

    def test_extensions_and_trailers_are_bounded_together(self):
        chunk = b'1;' + b'e' * 4000 + b'\r\nx\r\n'
        self.assertEqual(feed_status(ChunkedDecoder(100), [chunk * 17]), 400)
        self.assertEqual(feed_pieces(ChunkedDecoder(100), [chunk * 15 + b'0\r\n\r\n']),
                         (b'x' * 15, b''))

    def test_body_over_the_limit_gives_413_as_soon_as_a_size_says_so(self):
        self.assertEqual(feed_status(ChunkedDecoder(10), [b'b\r\n']), 413)
        self.assertEqual(feed_status(ChunkedDecoder(10), [b'ffffffffffffffff\r\n']), 413)
        self.assertEqual(feed_status(ChunkedDecoder(10), [b'6\r\nhello!\r\n5\r\n']), 413)
        self.assertEqual(feed_pieces(ChunkedDecoder(10), [b'a\r\n0123456789\r\n0\r\n\r\n']),
                         (b'0123456789', b''))

    def test_connection_closed_before_the_last_chunk_gives_400(self):
        for pieces in ([b''], [b'5\r\nhel', b''], [b'5\r\nhello\r\n', b''],
                       [b'0\r\n', b''], [b'0\r\nX: 1\r\n', b'']):
            self.assertEqual(feed_status(ChunkedDecoder(100), pieces), 400, pieces)


# -- a live server --------------------------------------------------------------------------

def echo_app(environ, start_response):
    """Answers with the body it read and a few environ values in headers."""
    body = environ['wsgi.input'].read()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('X-Path', environ['PATH_INFO'].encode('latin-1').decode('utf-8')),
                              ('X-Query', environ['QUERY_STRING']),
                              ('X-Length', environ.get('CONTENT_LENGTH', '-')),
                              ('X-Terminated', str(environ.get('wsgi.input_terminated', False)))])
    return [body or b'hello']


class LiveServer(object):
    """A KokoroServer on a free port, served by a thread until stop()."""

    def __init__(self, app, **options):
        options.setdefault('quiet', True)
        self.server = KokoroServer(app, port=0, **options)
        self.port = self.server.port
        self.thread = threading.Thread(target=self.server.serve_forever)
        self.thread.daemon = True
        self.thread.start()

    def connect(self, timeout=5.0):
        return socket.create_connection(('127.0.0.1', self.port), timeout=timeout)

    def stop(self):
        self.server.shutdown(timeout=2.0)
        self.thread.join(5.0)


_READERS = weakref.WeakKeyDictionary()


def read_response(sock, method='GET'):
    """Read one response from sock (one reader per socket, so pipelined answers queue)."""
    reader = _READERS.get(sock)
    if reader is None:
        reader = _READERS[sock] = sock.makefile('rb')
    return read_http_response(reader, method)


def request(port, data, method='GET'):
    """Send raw bytes on a new connection and return the first response."""
    with socket.create_connection(('127.0.0.1', port), timeout=5.0) as sock:
        sock.sendall(data)
        return read_response(sock, method)


def is_closed_by_server(sock):
    """True when the server closed the connection (reads EOF or a reset)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


class BasicServingTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.live = LiveServer(echo_app, max_body_bytes=1000)

    @classmethod
    def tearDownClass(cls):
        cls.live.stop()

    def send(self, data, method='GET'):
        return request(self.live.port, data, method)

    def test_get_is_answered_with_content_length_and_date(self):
        status, headers, body = self.send(b'GET /x?a=1 HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual((status, body), (200, b'hello'))
        self.assertEqual(headers['content-length'], '5')
        self.assertEqual((headers['x-path'], headers['x-query']), ('/x', 'a=1'))
        self.assertIn('GMT', headers['date'])

    def test_path_info_is_percent_decoded_latin_1(self):
        status, headers, _ = self.send(b'GET /caf%C3%A9/a%2Fb HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual(headers['x-path'], '/caf\xe9/a/b')


    def test_two_requests_on_one_kept_alive_connection(self):
        with self.live.connect() as sock:
            for path in (b'/one', b'/two'):
                sock.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: h\r\n\r\n')
                status, headers, _ = read_response(sock)
                self.assertEqual((status, headers['x-path']), (200, path.decode()))

    def test_pipelined_requests_are_answered_in_order(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET /1 HTTP/1.1\r\nHost: h\r\n\r\n'
                         b'POST /2 HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc'
                         b'GET /3 HTTP/1.1\r\nHost: h\r\n\r\n')
            answers = [read_response(sock) for _ in range(3)]
        self.assertEqual([(a[1]['x-path'], a[2]) for a in answers],
                         [('/1', b'hello'), ('/2', b'abc'), ('/3', b'hello')])

    def test_http_1_0_request_is_answered_and_closed(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET / HTTP/1.0\r\n\r\n')
            status, headers, body = read_response(sock)
            self.assertEqual((status, headers['connection'], body), (200, 'close', b'hello'))
            self.assertTrue(is_closed_by_server(sock))

    def test_http_1_0_keep_alive_is_honoured(self):
        with self.live.connect() as sock:
            for _ in range(2):
                sock.sendall(b'GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n')
                status, headers, _ = read_response(sock)
                self.assertEqual((status, headers['connection']), (200, 'keep-alive'))

    def test_connection_close_request_is_closed_after_the_response(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n')
            status, headers, _ = read_response(sock)
            self.assertEqual((status, headers['connection']), (200, 'close'))
            self.assertTrue(is_closed_by_server(sock))

    def test_content_length_body_reaches_the_app(self):
        status, headers, body = self.send(
            b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world')
        self.assertEqual((status, body, headers['x-length']), (200, b'hello world', '11'))

    def test_chunked_body_is_dechunked_without_content_length(self):
        status, headers, body = self.send(
            b'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n'
            b'5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n')
        self.assertEqual((status, body), (200, b'hello world'))
        self.assertEqual((headers['x-length'], headers['x-terminated']), ('-', 'True'))

    def test_bad_chunk_size_gives_400(self):
        status, _, body = self.send(b'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked'
                                    b'\r\n\r\nzz\r\nhello\r\n0\r\n\r\n')
        self.assertEqual((status, body), (400, b'400 Bad Request: invalid chunk size line\n'))

    def test_chunk_without_crlf_after_its_data_gives_400(self):
        status, _, _ = self.send(b'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked'
                                 b'\r\n\r\n2\r\nhello\r\n0\r\n\r\n')
        self.assertEqual(status, 400)

    def test_chunked_body_over_the_limit_gives_413(self):
        chunk = b'100\r\n' + b'x' * 256 + b'\r\n'
        status, headers, _ = self.send(b'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: '
                                       b'chunked\r\n\r\n' + chunk * 5 + b'0\r\n\r\n')
        self.assertEqual((status, headers['connection']), (413, 'close'))

    def test_content_length_over_the_limit_gives_413_before_the_app(self):
        status, headers, _ = self.send(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1001'
                                       b'\r\n\r\n')
        self.assertEqual((status, headers['connection']), (413, 'close'))

    def test_errors_are_short_text_with_connection_close_and_the_server_goes_on(self):
        cases = [(b'GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n', 400),
                 (b'GET /' + b'a' * 9000 + b' HTTP/1.1\r\nHost: h\r\n\r\n', 414),
                 (b'GET / HTTP/1.1\r\nHost: h\r\n' + b'X: ' + b'v' * 70000 + b'\r\n\r\n', 431),
                 (b'GET / HTTP/2.0\r\nHost: h\r\n\r\n', 505),
                 (b'GET / HTTP/1.1\r\n\r\n', 400)]
        for data, expected in cases:
            status, headers, body = self.send(data)
            self.assertEqual(status, expected, data[:40])
            self.assertEqual(headers['connection'], 'close')
            self.assertEqual(headers['content-type'], 'text/plain; charset=utf-8')
            self.assertTrue(body.startswith(str(expected).encode()), body)
            self.assertEqual(self.send(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0], 200)

    def test_request_line_too_long_is_refused_before_its_end_arrives(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET /' + b'a' * 9000)
            self.assertEqual(read_response(sock)[0], 414)

    def test_head_request_gets_headers_without_body(self):
        with self.live.connect() as sock:
            sock.sendall(b'HEAD / HTTP/1.1\r\nHost: h\r\n\r\n'
                         b'GET /after HTTP/1.1\r\nHost: h\r\n\r\n')
            status, headers, body = read_response(sock, 'HEAD')
            self.assertEqual((status, headers['content-length'], body), (200, '5', b''))
            self.assertEqual(read_response(sock)[1]['x-path'], '/after')

    def test_underscore_headers_are_dropped_and_duplicates_joined(self):
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            start_response('200 OK', [])
            return [b'']
        live = LiveServer(app)
        try:
            request(live.port, b'GET / HTTP/1.1\r\nHost: h\r\nX-User: a\r\nX_User: evil\r\n'
                    b'X-User: b\r\nCookie: a=1\r\nCookie: b=2\r\nProxy: http://evil\r\n\r\n')
        finally:
            live.stop()
        self.assertEqual(seen['HTTP_X_USER'], 'a, b')
        self.assertEqual(seen['HTTP_COOKIE'], 'a=1; b=2')
        self.assertNotIn('HTTP_PROXY', seen)
        self.assertEqual((seen['SERVER_PROTOCOL'], seen['REMOTE_ADDR']), ('HTTP/1.1', '127.0.0.1'))
        self.assertEqual(seen['SERVER_PORT'], str(live.port))
        self.assertEqual((seen['wsgi.multithread'], seen['wsgi.url_scheme']), (True, 'http'))

    def test_absolute_form_target_gives_its_path_and_replaces_host(self):
        seen = {}

        def app(environ, start_response):
            seen.update(environ)
            start_response('200 OK', [])
            return [b'']
        live = LiveServer(app)
        try:
            request(live.port, b'GET http://example.com:81/p/q?z=2 HTTP/1.1\r\nHost: x\r\n\r\n')
        finally:
            live.stop()
        self.assertEqual((seen['PATH_INFO'], seen['QUERY_STRING'], seen['HTTP_HOST']),
                         ('/p/q', 'z=2', 'example.com:81'))


class ResponseFramingTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        def app(environ, start_response):
            path = environ['PATH_INFO']
            if path == '/stream':
                start_response('200 OK', [('Content-Type', 'text/plain')])
                return (piece for piece in [b'one ', b'', b'two'])
            if path == '/write':
                write = start_response('200 OK', [('Content-Length', '10')])
                write(b'wri')
                return [b'tten', b'!!!']
            if path == '/head':
                start_response('200 OK', [('Content-Length', '1000')])
                return iter([])  # a HEAD answer with the length of the GET body, no body
            if path == '/empty':
                start_response('204 No Content', [])
                return []
            if path == '/dated':
                start_response('200 OK', [('Date', 'Thu, 01 Jan 2026 00:00:00 GMT'),
                                          ('Content-Length', '2'), ('Connection', 'close')])
                return [b'ok']
            if path == '/inject':
                start_response('302 Found', [('Location', '/a\r\nSet-Cookie: x=1')])
                return [b'']
            if path == '/file':
                handle = open(__file__, 'rb')
                size = os.path.getsize(__file__)
                start_response('200 OK', [('Content-Length', str(size))])
                return environ['wsgi.file_wrapper'](handle)
            start_response('200 OK', [('Connection', 'close')])
            return [b'bye']
        cls.live = LiveServer(app)

    @classmethod
    def tearDownClass(cls):
        cls.live.stop()

    def test_unknown_length_is_sent_chunked_to_http_1_1(self):
        status, headers, body = request(self.live.port, b'GET /stream HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual((status, headers['transfer-encoding'], body), (200, 'chunked', b'one two'))

    def test_unknown_length_to_http_1_0_ends_with_the_connection(self):
        status, headers, body = request(self.live.port, b'GET /stream HTTP/1.0\r\n\r\n')
        self.assertEqual((status, body, headers['connection']), (200, b'one two', 'close'))
        self.assertNotIn('transfer-encoding', headers)

    def test_one_date_header_the_applications_when_it_sends_one(self):
        for path, expected in ((b'/dated', [b'Thu, 01 Jan 2026 00:00:00 GMT']), (b'/', None)):
            with self.live.connect() as sock:
                sock.sendall(b'GET ' + path + b' HTTP/1.1\r\nHost: h\r\n\r\n')
                raw = b''
                while True:
                    data = sock.recv(65536)
                    if not data:
                        break
                    raw += data
            dates = re.findall(rb'\r\nDate: ([^\r]*)', raw.split(b'\r\n\r\n')[0])
            self.assertEqual(len(dates), 1, raw)
            if expected:
                self.assertEqual(dates, expected)

    def test_write_callable_and_iterable_are_sent_in_order(self):
        _, headers, body = request(self.live.port, b'GET /write HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual((headers['content-length'], body), ('10', b'written!!!'))

    def test_204_has_no_body_and_no_content_length(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET /empty HTTP/1.1\r\nHost: h\r\n\r\nGET /stream HTTP/1.1\r\nHost: h'
                         b'\r\n\r\n')
            status, headers, _ = read_response(sock)
            self.assertEqual(status, 204)
            self.assertNotIn('content-length', headers)
            self.assertEqual(read_response(sock)[2], b'one two')

    def test_head_answer_with_content_length_and_no_body_keeps_the_connection(self):
        with self.live.connect() as sock:
            sock.sendall(b'HEAD /head HTTP/1.1\r\nHost: h\r\n\r\n'
                         b'GET /stream HTTP/1.1\r\nHost: h\r\n\r\n')
            status, headers, _ = read_response(sock, 'HEAD')
            self.assertEqual((status, headers['content-length']), (200, '1000'))
            self.assertNotIn('connection', headers)
            self.assertEqual(read_response(sock)[2], b'one two')

    def test_header_injection_by_the_app_gives_500(self):
        with QuietStderr():
            status, headers, _ = request(self.live.port, b'GET /inject HTTP/1.1\r\nHost: h\r\n\r\n')
        self.assertEqual(status, 500)
        self.assertNotIn('set-cookie', headers)

    def test_file_wrapper_sends_the_whole_file(self):
        _, _, body = request(self.live.port, b'GET /file HTTP/1.1\r\nHost: h\r\n\r\n')
        with open(__file__, 'rb') as handle:
            self.assertEqual(body, handle.read())

    def test_app_asking_to_close_gets_connection_close(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET /bye HTTP/1.1\r\nHost: h\r\n\r\n')
            status, headers, _ = read_response(sock)
            self.assertEqual((status, headers['connection']), (200, 'close'))
            self.assertTrue(is_closed_by_server(sock))


class ContinueTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        def app(environ, start_response):
            if environ['PATH_INFO'] == '/read':
                body = environ['wsgi.input'].read()
            else:
                body = b'not read'
            start_response('200 OK', [])
            return [body]
        cls.live = LiveServer(app, max_body_bytes=100)

    @classmethod
    def tearDownClass(cls):
        cls.live.stop()

    def test_100_continue_is_sent_when_the_app_reads_the_body(self):
        with self.live.connect() as sock:
            sock.sendall(b'POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n'
                         b'Expect: 100-continue\r\n\r\n')
            self.assertEqual(sock.recv(100), b'HTTP/1.1 100 Continue\r\n\r\n')
            sock.sendall(b'data')
            status, _, body = read_response(sock)
            self.assertEqual((status, body), (200, b'data'))

    def test_100_continue_works_for_a_chunked_body(self):
        with self.live.connect() as sock:
            sock.sendall(b'POST /read HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n'
                         b'Expect: 100-continue\r\n\r\n')
            self.assertEqual(sock.recv(100), b'HTTP/1.1 100 Continue\r\n\r\n')
            sock.sendall(b'3\r\nabc\r\n0\r\n\r\n')
            self.assertEqual(read_response(sock)[2], b'abc')

    def test_100_continue_is_sent_and_the_body_read_even_when_the_app_ignores_it(self):
        # The server reads every body before the application runs (RFC 9110 section 10.1.1
        # allows a 100 and reading on), so the connection stays usable.
        with self.live.connect() as sock:
            sock.sendall(b'POST /ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n'
                         b'Expect: 100-continue\r\n\r\n')
            self.assertEqual(sock.recv(100), b'HTTP/1.1 100 Continue\r\n\r\n')
            sock.sendall(b'data')
            status, headers, body = read_response(sock)
            self.assertEqual((status, body, headers.get('connection')), (200, b'not read', None))
            sock.sendall(b'POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok')
            self.assertEqual(read_response(sock)[:3:2], (200, b'ok'))

    def test_body_sent_without_waiting_for_100_gets_no_100(self):
        with self.live.connect() as sock:
            sock.sendall(b'POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n'
                         b'Expect: 100-continue\r\n\r\ndata')
            status, headers, body = read_response(sock)
            self.assertEqual((status, body, headers['interim']), (200, b'data', []))

    def test_too_large_body_with_expect_gets_413_instead_of_100(self):
        with self.live.connect() as sock:
            sock.sendall(b'POST /read HTTP/1.1\r\nHost: h\r\nContent-Length: 101\r\n'
                         b'Expect: 100-continue\r\n\r\n')
            status, headers, _ = read_response(sock)
            self.assertEqual((status, headers['interim']), (413, []))


def input_app(environ, start_response):
    """Answers with the body it read and, in X-Input, the type of wsgi.input."""
    stream = environ['wsgi.input']
    body = stream.read()
    start_response('200 OK', [('X-Input', type(stream).__name__)])
    return [body]


class BodyInTheLoopTests(unittest.TestCase):
    """Bodies are read by the selector thread; a worker gets only a complete request."""

    def test_a_trickling_body_holds_no_worker(self):
        live = LiveServer(input_app, threads=1)
        try:
            with live.connect() as slow:
                slow.sendall(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc')
                for _ in range(3):  # the only worker is free for other clients meanwhile
                    self.assertEqual(request(live.port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0],
                                     200)
                slow.sendall(b'defghij')
                self.assertEqual(read_response(slow)[::2], (200, b'abcdefghij'))
        finally:
            live.stop()

    def test_small_bodies_stay_in_memory_and_large_ones_go_to_a_temporary_file(self):
        live = LiveServer(input_app, max_memfile_bytes=100)
        try:
            for size, is_in_memory in ((100, True), (101, False), (5000, False)):
                data = bytes(bytearray(range(256))) * (size // 256) + b'z' * (size % 256)
                status, headers, body = request(
                    live.port, b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: %d\r\n\r\n%s'
                    % (size, data))
                self.assertEqual((status, body), (200, data))
                self.assertEqual(headers['x-input'] == 'BytesIO', is_in_memory, size)
            chunked = b'40\r\n' + b'c' * 64 + b'\r\n'
            status, headers, body = request(live.port, b'POST / HTTP/1.1\r\nHost: h\r\n'
                                            b'Transfer-Encoding: chunked\r\n\r\n'
                                            + chunked * 3 + b'0\r\n\r\n')
            self.assertEqual((status, body), (200, b'c' * 192))
            self.assertNotEqual(headers['x-input'], 'BytesIO')
        finally:
            live.stop()

    def test_body_past_body_timeout_gets_408_whatever_its_rate(self):
        live = LiveServer(input_app, body_timeout=0.3, head_timeout=0.2)
        try:
            with live.connect() as sock:
                sock.sendall(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n')
                try:
                    for _ in range(60):  # far above the minimum rate, for up to 3 s
                        sock.sendall(b'x' * 1000)
                        if select_readable(sock, 0.05):
                            break
                except OSError:
                    pass
                status, headers, body = read_response(sock)
            self.assertEqual((status, body), (408, b'408 Request Timeout: request body not '
                                                   b'received in time\n'))
        finally:
            live.stop()

    def test_requests_are_served_in_arrival_order_across_connections(self):
        # One worker, held by the first request: a request pipelined behind it on the same
        # connection arrives after another client's, and is served after it.
        seen, release = [], threading.Event()

        def app(environ, start_response):
            seen.append(environ['PATH_INFO'])
            if environ['PATH_INFO'] == '/hold':
                release.wait(5)
            start_response('200 OK', [])
            return [b'ok']
        live = LiveServer(app, threads=1)
        try:
            with live.connect() as first, live.connect() as second:
                first.sendall(b'GET /hold HTTP/1.1\r\nHost: h\r\n\r\n')
                wait_until(lambda: seen == ['/hold'])
                second.sendall(b'GET /second HTTP/1.1\r\nHost: h\r\n\r\n')
                wait_until(lambda: live.server._work_count == 2)
                first.sendall(b'GET /pipelined HTTP/1.1\r\nHost: h\r\n\r\n')
                release.set()
                self.assertEqual([read_response(first)[0], read_response(first)[0],
                                  read_response(second)[0]], [200, 200, 200])
        finally:
            live.stop()
        self.assertEqual(seen, ['/hold', '/second', '/pipelined'])


class BodyBufferTests(unittest.TestCase):

    def setUp(self):
        self.saved = kokoropy.MAX_BODY_MEMORY_BYTES
        kokoropy.MAX_BODY_MEMORY_BYTES = 150

    def tearDown(self):
        kokoropy.MAX_BODY_MEMORY_BYTES = self.saved

    def test_bodies_share_a_memory_budget_and_spill_to_files_beyond_it(self):
        budget = [0]
        first, second = kokoropy._BodyBuffer(100, budget), kokoropy._BodyBuffer(100, budget)
        first.write(b'a' * 100)
        second.write(b'b' * 40)
        self.assertEqual((budget, first.file, second.file), ([140], None, None))
        second.write(b'b' * 20)  # 160 bytes would pass the budget: to a file
        self.assertIsNotNone(second.file)
        self.assertEqual(budget, [100])
        self.assertEqual(second.open().read(), b'b' * 60)
        self.assertEqual(first.open().read(), b'a' * 100)
        self.assertEqual(budget, [0])
        first.close()
        second.close()
        self.assertEqual(budget, [0])

    def test_a_body_dropped_while_arriving_gives_its_memory_back(self):
        budget = [0]
        body = kokoropy._BodyBuffer(100, budget)
        body.write(b'x' * 30)
        body.close()
        self.assertEqual(budget, [0])


def select_readable(sock, timeout):
    return bool(select.select([sock], [], [], timeout)[0])


def wait_until(condition, timeout=5.0):
    """Poll `condition` until it holds; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError('condition not met within %g s' % timeout)
        time.sleep(0.005)


# A server in a subprocess under a descriptor limit: prints its max_connections and port.
LIMITED_SERVER = '''
import resource, sys
sys.path.insert(0, sys.argv[1])
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[2]), int(sys.argv[2])))
import kokoropy

def app(environ, start_response):
    start_response('200 OK', [])
    return [b'ok']

server = kokoropy.KokoroServer(app, port=0, threads=2, quiet=True, **eval(sys.argv[3]))
print(server.max_connections, server.port, flush=True)
server.serve_forever()
'''


@unittest.skipUnless(os.name == 'posix', 'RLIMIT_NOFILE is Unix-only')
class DescriptorLimitTests(unittest.TestCase):

    def start(self, limit, **options):
        process = subprocess.Popen([sys.executable, '-c', LIMITED_SERVER, ROOT, str(limit),
                                    repr(options)], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(process.wait, 10)
        self.addCleanup(process.stderr.close)
        self.addCleanup(process.stdout.close)
        self.addCleanup(process.kill)
        max_connections, port = map(int, process.stdout.readline().split())
        return process, max_connections, port

    def test_max_connections_leaves_descriptors_for_workers_and_files(self):
        _, max_connections, _ = self.start(256)
        self.assertEqual(max_connections, 256 - kokoropy.RESERVED_DESCRIPTORS - 2 * 2)

    def test_clients_over_max_connections_get_503_at_once(self):
        _, max_connections, port = self.start(100)
        clients = [socket.create_connection(('127.0.0.1', port), timeout=5)
                   for _ in range(max_connections)]
        try:
            self.assertEqual(request(port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0], 503)
            clients.pop().close()
            wait_until(lambda: request(port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0] == 200)
        finally:
            for sock in clients:
                sock.close()

    def test_out_of_descriptors_new_clients_get_503_and_one_log_line(self):
        process, _, port = self.start(64, max_connections=1000)
        clients = []
        try:
            for _ in range(100):  # more than the server has descriptors for
                clients.append(socket.create_connection(('127.0.0.1', port), timeout=5))
            statuses = [request(port, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")[0] for _ in range(3)]
            self.assertEqual(statuses, [503] * 3)
            for sock in clients:
                sock.close()
            wait_until(lambda: request(port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0] == 200)
        finally:
            for sock in clients:
                sock.close()
            process.terminate()
        log = process.stderr.read().decode()
        self.assertEqual(log.count('accept failed'), 1, log)
        self.assertIn('Too many open files', log)
        self.assertNotIn('Traceback', log)

    def test_repeated_server_errors_are_logged_once_per_interval(self):
        server = KokoroServer(echo_app, port=0)
        try:
            with CapturedStderr() as captured:
                for _ in range(1000):
                    server._log_throttled('accept', 'kokoropy: accept failed\n')
                last_logged, _ = server._error_log_times['accept']
                server._error_log_times['accept'] = (
                    last_logged - kokoropy.ERROR_LOG_INTERVAL_SECONDS, 999)
                server._log_throttled('accept', 'kokoropy: accept failed\n')
        finally:
            server.shutdown()
        self.assertEqual(captured.text, 'kokoropy: accept failed\nkokoropy: accept failed '
                                        '(and 999 more since the last report)\n')


class CapturedStderr(object):
    """Collects what is written to sys.stderr inside the with block in `text`."""

    def __enter__(self):
        self.saved, sys.stderr = sys.stderr, io.StringIO()
        return self

    def __exit__(self, *exc_info):
        self.text = sys.stderr.getvalue()
        sys.stderr = self.saved


class TimeoutTests(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.live = LiveServer(echo_app, idle_timeout=0.2, head_timeout=0.3, io_timeout=0.5)

    @classmethod
    def tearDownClass(cls):
        cls.live.stop()

    def test_idle_connection_is_closed_after_the_idle_timeout(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
            self.assertEqual(read_response(sock)[0], 200)
            self.assertTrue(is_closed_by_server(sock))

    def test_head_not_finished_before_the_deadline_gets_408_and_is_closed(self):
        with self.live.connect() as sock:
            sock.sendall(b'GET / HTTP/1.1\r\nHo')
            status, headers, _ = read_response(sock)
            self.assertEqual((status, headers['connection']), (408, 'close'))
            self.assertTrue(is_closed_by_server(sock))

    def test_body_that_stops_arriving_gets_408(self):
        with self.live.connect() as sock:
            sock.sendall(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc')
            status, headers, _ = read_response(sock)
            self.assertEqual((status, headers['connection']), (408, 'close'))


class FaultTests(unittest.TestCase):

    def test_client_disconnecting_mid_body_does_not_leak_a_worker(self):
        live = LiveServer(echo_app, threads=2)
        try:
            for _ in range(6):
                with live.connect() as sock:
                    sock.sendall(b'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nab')
            for _ in range(10):
                self.assertEqual(request(live.port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[0], 200)
        finally:
            live.stop()

    def test_client_vanishing_mid_body_is_no_application_error(self):
        # A Kokoro app reading the cut-short body sees a 400, not an exception with a traceback.
        app = Kokoro()
        app.post('/echo', lambda: request_proxy.body.read())
        errors = io.StringIO()
        app_errors = lambda environ, start_response: app(dict(environ, **{'wsgi.errors': errors}),
                                                         start_response)
        live = LiveServer(app_errors, threads=2)
        try:
            with live.connect() as sock:
                sock.sendall(b'POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 100\r\n\r\nab')
            self.assertEqual(request(live.port, b'GET /nothing HTTP/1.1\r\nHost: h\r\n\r\n')[0],
                             404)
        finally:
            live.stop()
        self.assertNotIn('Traceback', errors.getvalue())

    def test_client_disconnecting_mid_response_does_not_leak_a_worker(self):
        def big_app(environ, start_response):
            start_response('200 OK', [])
            return (b'x' * 65536 for _ in range(40))
        live = LiveServer(big_app, threads=2)
        try:
            for _ in range(4):
                sock = live.connect()
                sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
                sock.recv(100)
                # SO_LINGER on, 0 s: close() sends a reset, as a crashed client would
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
                sock.close()
            for _ in range(4):
                with live.connect() as sock:
                    sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
                    self.assertEqual(len(read_response(sock)[2]), 65536 * 40)
        finally:
            live.stop()

    def test_app_exception_gives_500_and_the_next_request_succeeds(self):
        def app(environ, start_response):
            if environ['PATH_INFO'] == '/boom':
                raise RuntimeError('boom')
            start_response('200 OK', [])
            return [b'fine']
        live = LiveServer(app)
        try:
            with QuietStderr():
                status, _, body = request(live.port, b'GET /boom HTTP/1.1\r\nHost: h\r\n\r\n')
            self.assertEqual((status, body), (500, b'500 Internal Server Error\n'))
            self.assertEqual(request(live.port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[2], b'fine')
        finally:
            live.stop()

    def test_app_raising_system_exit_costs_its_connection_not_the_worker(self):
        def app(environ, start_response):
            if environ['PATH_INFO'] == '/exit':
                raise SystemExit(3)
            start_response('200 OK', [])
            return [b'fine']
        live = LiveServer(app, threads=1)
        try:
            with live.connect() as sock:
                sock.sendall(b'GET /exit HTTP/1.1\r\nHost: h\r\n\r\n')
                self.assertTrue(is_closed_by_server(sock))
            self.assertEqual(request(live.port, b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')[2], b'fine')
        finally:
            live.stop()

    def test_app_exception_after_the_head_was_sent_closes_the_connection(self):
        def app(environ, start_response):
            start_response('200 OK', [])
            yield b'partial'
            raise RuntimeError('late boom')
        live = LiveServer(app)
        try:
            with QuietStderr(), live.connect() as sock:
                sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
                data = b''
                while True:
                    piece = sock.recv(65536)
                    if not piece:
                        break
                    data += piece
            self.assertTrue(data.startswith(b'HTTP/1.1 200 OK\r\n'))
            self.assertTrue(data.endswith(b'7\r\npartial\r\n'))
        finally:
            live.stop()

    def test_connections_over_the_limit_get_503(self):
        live = LiveServer(echo_app, max_connections=2)
        try:
            first, second = live.connect(), live.connect()
            first.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
            self.assertEqual(read_response(first)[0], 200)
            with live.connect() as third:
                self.assertEqual(read_response(third)[0], 503)
            first.close()
            second.close()
        finally:
            live.stop()

    def test_graceful_shutdown_finishes_the_request_in_flight(self):
        started, release = threading.Event(), threading.Event()

        def slow_app(environ, start_response):
            started.set()
            release.wait(5)
            start_response('200 OK', [])
            return [b'finished']
        live = LiveServer(slow_app)
        with live.connect() as busy, live.connect() as idle:
            busy.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
            started.wait(5)
            stopper = threading.Thread(target=live.stop)
            stopper.start()
            self.assertTrue(is_closed_by_server(idle))
            release.set()
            status, headers, body = read_response(busy)
            stopper.join(5)
        self.assertEqual((status, body, headers['connection']), (200, b'finished', 'close'))
        self.assertFalse(live.thread.is_alive())
        self.assertRaises(OSError, socket.create_connection, ('127.0.0.1', live.port), 1)

    def test_64_concurrent_keep_alive_clients_all_get_200(self):
        live = LiveServer(echo_app)
        statuses, errors = [], []

        def client():
            try:
                with live.connect() as sock:
                    for _ in range(20):
                        sock.sendall(b'GET / HTTP/1.1\r\nHost: h\r\n\r\n')
                        statuses.append(read_response(sock)[0])
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
        try:
            clients = [threading.Thread(target=client) for _ in range(64)]
            for thread in clients:
                thread.start()
            for thread in clients:
                thread.join(30)
        finally:
            live.stop()
        self.assertEqual(errors, [])
        self.assertEqual(statuses, [200] * 64 * 20)

class QuietStderr(object):
    """Keeps the server's expected error log out of the test output."""

    def __enter__(self):
        self.saved = sys.stderr
        sys.stderr = open(os.devnull, 'w')
        return self

    def __exit__(self, *exc_info):
        sys.stderr.close()
        sys.stderr = self.saved


class PortInUseTests(unittest.TestCase):

    def test_port_in_use_gives_one_line_and_status_1(self):
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen(1)
            port = taken.getsockname()[1]
            code = ('import sys; sys.path.insert(0, %r); import kokoropy; '
                    'kokoropy.run(lambda e, s: [], host="127.0.0.1", port=%d, quiet=True)'
                    % (ROOT, port))
            result = subprocess.run([sys.executable, '-c', code], stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr.decode(), 'kokoropy: cannot listen on 127.0.0.1:%d: '
                         'address already in use\n' % port)

    def test_binding_an_address_in_use_raises_oserror(self):
        live = LiveServer(echo_app)
        try:
            self.assertRaises(OSError, KokoroServer, echo_app, port=live.port)
        finally:
            live.stop()



CAN_PIN = hasattr(os, 'sched_setaffinity') and len(os.sched_getaffinity(0)) > 1


def affinity_app(environ, start_response):
    """Answers the CPUs the worker thread running it may use, e.g. '1'."""
    body = ','.join(str(cpu) for cpu in sorted(os.sched_getaffinity(0))).encode()
    start_response('200 OK', [('Content-Type', 'text/plain'),
                              ('Content-Length', str(len(body)))])
    return [body]


@unittest.skipUnless(CAN_PIN, 'keeping threads to one CPU needs Linux and two CPUs or more')
class OneCpuTests(unittest.TestCase):
    """The server's threads keep to one CPU (the GIL passed between cores costs throughput)."""

    def serve_and_ask(self, **options):
        """The CPUs a worker may use, and the serving thread's CPUs during and after serving."""
        live = LiveServer(affinity_app, **options)
        try:
            status, _, body = request(live.port, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
            self.assertEqual(status, 200)
        finally:
            live.stop()
        return body.decode()

    def test_auto_keeps_the_workers_on_one_allowed_cpu(self):
        allowed = os.sched_getaffinity(0)
        answer = self.serve_and_ask()
        self.assertIn(int(answer), allowed)
        self.assertEqual(os.sched_getaffinity(0), allowed)  # this thread was left alone

    def test_a_cpu_number_is_the_one_kept(self):
        cpu = max(os.sched_getaffinity(0))
        self.assertEqual(self.serve_and_ask(cpu=cpu), str(cpu))

    def test_none_lets_the_workers_run_on_every_allowed_cpu(self):
        allowed = ','.join(str(cpu) for cpu in sorted(os.sched_getaffinity(0)))
        self.assertEqual(self.serve_and_ask(cpu=None), allowed)

    def test_the_serving_thread_gets_its_cpus_back_after_shutdown(self):
        allowed = os.sched_getaffinity(0)
        seen = {}
        server = KokoroServer(affinity_app, port=0, quiet=True, cpu=min(allowed))

        def serve():
            seen['before'] = os.sched_getaffinity(0)
            server.serve_forever()
            seen['after'] = os.sched_getaffinity(0)
        thread = threading.Thread(target=serve)
        thread.start()
        status, _, body = request(server.port, b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        server.shutdown(timeout=2.0)
        thread.join(5.0)
        self.assertEqual((status, body), (200, str(min(allowed)).encode()))
        self.assertEqual(seen['before'], allowed)
        self.assertEqual(seen['after'], allowed)

    def test_a_cpu_the_process_may_not_use_is_a_value_error(self):
        for cpu in (max(os.sched_getaffinity(0)) + 4096, -1, 'fast', True, 1.0):
            with self.assertRaises(ValueError) as caught:
                KokoroServer(affinity_app, port=0, quiet=True, cpu=cpu)
            self.assertIn('cpu must be', str(caught.exception))


if __name__ == '__main__':
    unittest.main()
