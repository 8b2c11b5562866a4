"""Hostile input gets a 4xx or a correct answer, never a 500: form field limits, digits that
are not ASCII, integers too big for the database, JSON that is not JSON, strict signatures,
template names outside the views folders and private database files (issue 12)."""
import os
import shutil
import stat
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kokoropy  # noqa: E402
from kokoropy import (Database, ForeignKey, Form, Integer, Kokoro, Model, String,  # noqa: E402
                      TemplateError, TestClient, parse_range_header, request, sign_value,
                      static_file, template, unsign_value)
from kokoropy import MAX_FORM_FIELDS, _parse_qs, _TooManyFields  # noqa: E402


class Shelf(Model):
    label = String(max_length=20)


class Box(Model):
    count = Integer()
    shelf = ForeignKey(Shelf)


class UrlencodedParserTest(unittest.TestCase):
    """_parse_qs() from a table of inputs: '&' separates, '+' is a space, the field count is
    bounded by MAX_FORM_FIELDS."""

    CASES = [
        ('', []),
        ('a=1', [('a', '1')]),
        ('a=1&b=2', [('a', '1'), ('b', '2')]),
        ('a=1&a=2', [('a', '1'), ('a', '2')]),
        ('a', [('a', '')]),
        ('a=', [('a', '')]),
        ('=x', [('', 'x')]),
        ('a=b=c', [('a', 'b=c')]),
        ('a=1&&b=2&', [('a', '1'), ('b', '2')]),
        ('q=two+words', [('q', 'two words')]),
        ('q=%2B%26%3D', [('q', '+&=')]),
        ('q=%C3%A9t%C3%A9', [('q', 'été')]),
        ('q=%zz%4', [('q', '%zz%4')]),
        ('q=%FF', [('q', '\ufffd')]),
        ('a=1;b=2', [('a', '1;b=2')]),
        ('na%6De=v', [('name', 'v')]),
    ]

    def test_each_input_gives_its_fields(self):
        for text, expected in self.CASES:
            with self.subTest(text=text):
                self.assertEqual(list(_parse_qs(text).allitems()), expected)

    def test_limit_counts_fields_and_allows_exactly_the_maximum(self):
        for count, refused in [(MAX_FORM_FIELDS - 1, False), (MAX_FORM_FIELDS, False),
                               (MAX_FORM_FIELDS + 1, True), (MAX_FORM_FIELDS * 50, True)]:
            text = '&'.join(['a='] * count)
            with self.subTest(count=count):
                if refused:
                    self.assertRaises(_TooManyFields, _parse_qs, text)
                else:
                    self.assertEqual(len(_parse_qs(text).getall('a')), count)

    def test_trailing_separators_after_the_last_allowed_field_are_not_fields(self):
        text = '&'.join(['a=1'] * MAX_FORM_FIELDS) + '&&&'
        self.assertEqual(len(_parse_qs(text).getall('a')), MAX_FORM_FIELDS)

    def test_a_smaller_limit_is_honoured(self):
        self.assertRaises(_TooManyFields, _parse_qs, 'a&b&c', max_fields=2)
        self.assertEqual(list(_parse_qs('a&b', max_fields=2)), ['a', 'b'])


def make_app():
    app = Kokoro(secret='s', csrf=False, project_path=tempfile.mkdtemp())

    @app.post('/form')
    def form():
        return '%d fields' % len(list(request.forms.allitems()))

    @app.get('/query')
    def query():
        return '%d fields' % len(list(request.query.allitems()))

    @app.post('/json')
    def echo():
        return {'received': request.json}

    @app.post('/length')
    def length():
        return str(request.content_length)
    return app


class RequestInputTest(unittest.TestCase):

    def setUp(self):
        self.app = make_app()
        self.client = TestClient(self.app)

    def tearDown(self):
        shutil.rmtree(self.app.config['project_path'], ignore_errors=True)

    def test_form_with_too_many_fields_is_413(self):
        answer = self.client.post('/form', data='a=&' * (MAX_FORM_FIELDS + 1))
        self.assertEqual(answer.status, 200)      # no form Content-Type: not parsed
        answer = self.client.post('/form', data='a=&' * (MAX_FORM_FIELDS + 1),
                                  headers={'Content-Type': 'application/x-www-form-urlencoded'})
        self.assertEqual(answer.status, 413)
        self.assertIn('more than %d fields' % MAX_FORM_FIELDS, answer.text)

    def test_form_with_the_maximum_of_fields_is_read(self):
        answer = self.client.post('/form', data=[('a', '')] * MAX_FORM_FIELDS)
        self.assertEqual((answer.status, answer.text), (200, '%d fields' % MAX_FORM_FIELDS))

    def test_query_with_too_many_fields_is_414(self):
        answer = self.client.get('/query?' + 'a&' * (MAX_FORM_FIELDS + 1))
        self.assertEqual(answer.status, 414)
        self.assertEqual(self.client.get('/query?a=1&b=2').text, '2 fields')

    def test_json_lone_surrogate_is_400(self):
        for body in [b'"\\ud800"', b'{"\\udc00": 1}', b'[["\\uDBFF"]]']:
            answer = self.client.post('/json', data=body,
                                      headers={'Content-Type': 'application/json'})
            self.assertEqual(answer.status, 400, body)
            self.assertIn('unpaired surrogate', answer.text)

    def test_json_surrogate_pair_is_one_character(self):
        answer = self.client.post('/json', data=b'"\\ud83d\\ude00"',
                                  headers={'Content-Type': 'application/json'})
        self.assertEqual((answer.status, answer.json), (200, {'received': '\U0001F600'}))

    def test_json_non_finite_numbers_are_400(self):
        for body in [b'{"a": 1e999}', b'[-1e400]', b'NaN', b'{"a": Infinity}', b'-Infinity']:
            answer = self.client.post('/json', data=body,
                                      headers={'Content-Type': 'application/json'})
            self.assertEqual(answer.status, 400, body)
            self.assertIn('not valid JSON', answer.text)

    def test_json_ordinary_numbers_are_kept(self):
        answer = self.client.post('/json', json={'a': 1.5e300, 'b': -2, 'c': 0.1})
        self.assertEqual(answer.json, {'received': {'a': 1.5e300, 'b': -2, 'c': 0.1}})

    def test_json_with_a_byte_order_mark_is_read(self):
        answer = self.client.post('/json', data=b'\xef\xbb\xbf{"a": 1}',
                                  headers={'Content-Type': 'application/json'})
        self.assertEqual((answer.status, answer.json), (200, {'received': {'a': 1}}))

    def test_json_that_is_not_utf8_is_400(self):
        answer = self.client.post('/json', data=b'"\xff"',
                                  headers={'Content-Type': 'application/json'})
        self.assertEqual(answer.status, 400)

    def test_content_length_with_non_ascii_digits_is_400(self):
        for value in ['²', '١٢', '1²']:
            answer = self.client.post('/length', data=b'', environ={'CONTENT_LENGTH': value})
            self.assertEqual(answer.status, 400, value)
            self.assertIn('Malformed Content-Length', answer.text)


class RangeDigitsTest(unittest.TestCase):
    """A Range header with digits int() cannot read is ignored (the whole file, 200)."""

    CASES = [
        ('bytes=²-', None), ('bytes=-²', None), ('bytes=0-²', None), ('bytes=٣-', None),
        ('bytes=-', None), ('bytes=0-1', [(0, 2)]), ('bytes=-3', [(7, 10)]),
        ('bytes=8-', [(8, 10)]), ('bytes=20-', []),
    ]

    def test_range_parser_table(self):
        for header, expected in self.CASES:
            with self.subTest(header=header):
                self.assertEqual(parse_range_header(header, 10), expected)

    def test_static_file_with_superscript_range_is_the_whole_file(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        with open(os.path.join(folder, 'data.txt'), 'wb') as f:
            f.write(b'0123456789')
        app = Kokoro()
        app.get('/<name>', callback=lambda name: static_file(name, folder))
        answer = TestClient(app).get('/data.txt', headers={'Range': 'bytes=²-'})
        self.assertEqual((answer.status, answer.body), (200, b'0123456789'))


class HugeIntegerTest(unittest.TestCase):
    """Integers beyond SQLite's 64 bits find no row, or fail validation; they never reach the
    driver (which raises OverflowError)."""

    def setUp(self):
        self.db = Database(':memory:')
        self.db.bind(Shelf, Box)
        self.db.create_tables(Shelf, Box)
        self.shelf = Shelf.create(label='top')

    def test_get_of_an_id_beyond_64_bits_is_none(self):
        for value in [10 ** 30, -10 ** 30, 2 ** 63]:
            self.assertIsNone(Shelf.get(value))
        self.assertEqual(Shelf.get(self.shelf.id).label, 'top')

    def test_filters_with_integers_beyond_64_bits_keep_their_meaning(self):
        shelf_id = self.shelf.id
        self.assertIsNone(Shelf.where(id=10 ** 30).first())
        self.assertIsNone(Shelf.all().get(10 ** 30))
        self.assertEqual(Shelf.where(id__lt=10 ** 30).count(), 1)
        self.assertEqual(Shelf.where(id__gt=-10 ** 400).count(), 1)
        self.assertEqual(Shelf.where(id__gt=10 ** 30).count(), 0)
        self.assertEqual(Shelf.where(id__ne=10 ** 30).count(), 1)
        self.assertEqual(Shelf.where(id__in=[shelf_id, 10 ** 40]).count(), 1)

    def test_paginate_of_a_huge_page_is_empty(self):
        page = Shelf.all().paginate(10 ** 30, 10)
        self.assertEqual((page.items, page.total), ([], 1))

    def test_form_reference_beyond_64_bits_is_a_field_error(self):
        form = Form(Box, {'shelf': str(10 ** 30), 'count': '1'})
        self.assertFalse(form.is_valid())
        self.assertIn('shelf', form.errors)
        form = Form(Box, {'shelf': '²', 'count': '1'})
        self.assertFalse(form.is_valid())
        self.assertIn('shelf', form.errors)

    def test_integer_field_beyond_64_bits_is_a_field_error(self):
        form = Form(Box, {'count': str(10 ** 30)})
        self.assertFalse(form.is_valid())
        self.assertEqual(list(form.errors), ['count'])
        self.assertEqual(Box(count=2 ** 63).validate(), {'count': 'Count must be a whole number.'})
        self.assertEqual(Box(count=2 ** 63 - 1).validate(), {})

    def test_route_with_a_huge_id_is_404(self):
        app = Kokoro(csrf=False)

        @app.get('/shelf/<shelf_id:int>')
        def show(shelf_id):
            shelf = Shelf.get(shelf_id)
            if shelf is None:
                kokoropy.abort(404, 'No such shelf.')
            return shelf.label
        client = TestClient(app)
        self.assertEqual(client.get('/shelf/%d' % 10 ** 30).status, 404)
        self.assertEqual(client.get('/shelf/%d' % self.shelf.id).text, 'top')


class LongNumberInPathTest(unittest.TestCase):
    """Python 3.11+ refuses int() of more than 4300 digits: such a path matches no route."""

    def test_int_wildcard_too_long_for_int_is_404(self):
        app = Kokoro(csrf=False)
        app.get('/n/<n:int>', callback=lambda n: str(n % 10))
        client = TestClient(app)
        has_limit = hasattr(sys, 'set_int_max_str_digits')
        answer = client.get('/n/' + '9' * 5000)
        self.assertEqual((answer.status, answer.errors), (404 if has_limit else 200, ''))
        self.assertEqual(client.get('/n/' + '9' * 40).text, '9')


class SignedTokenTest(unittest.TestCase):

    def test_a_signature_verifies_only_as_it_was_written(self):
        token = sign_value(b'payload', 'secret')
        self.assertEqual(unsign_value(token, 'secret'), b'payload')
        for junk in ['!', '!!', '=', '==', '\n', '.', '*x', 'A', 'é']:
            self.assertIsNone(unsign_value(token + junk, 'secret'), junk)

    def test_a_changed_payload_does_not_verify(self):
        token = sign_value(b'payload', 'secret')
        self.assertIsNone(unsign_value('x' + token, 'secret'))
        self.assertIsNone(unsign_value(token, 'other secret'))


class TemplateConfinementTest(unittest.TestCase):

    def setUp(self):
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)
        self.views = os.path.join(self.folder, 'views')
        os.makedirs(self.views)
        with open(os.path.join(self.views, 'hello.tpl'), 'w') as f:
            f.write('Hello {{name}}')
        with open(os.path.join(self.folder, 'secret.txt'), 'w') as f:
            f.write('top secret')

    def test_absolute_path_outside_the_view_folders_is_refused(self):
        secret = os.path.join(self.folder, 'secret.txt')
        with self.assertRaises(TemplateError) as raised:
            template(secret, template_lookup=[self.views])
        self.assertIn('is not inside a views folder', str(raised.exception))

    def test_parent_folder_names_are_refused(self):
        for name in ['../secret.txt', 'a/../../secret.txt', '../secret']:
            with self.assertRaises(TemplateError):
                template(name, template_lookup=[self.views])

    def test_absolute_path_inside_a_view_folder_renders(self):
        path = os.path.join(self.views, 'hello.tpl')
        self.assertEqual(template(path, template_lookup=[self.views], name='Ann'), 'Hello Ann')
        self.assertEqual(template('hello', template_lookup=[self.views], name='Bo'), 'Hello Bo')


class DatabaseFileModeTest(unittest.TestCase):

    def test_new_database_file_is_readable_by_its_owner_only(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        path = os.path.join(folder, 'db', 'site.db')
        database = Database(path)
        database.execute('CREATE TABLE t (a TEXT)')
        database.execute("INSERT INTO t VALUES ('x')")
        names = sorted(os.listdir(os.path.dirname(path)))
        self.assertIn('site.db', names)
        for name in names:
            mode = stat.S_IMODE(os.stat(os.path.join(folder, 'db', name)).st_mode)
            self.assertEqual(mode, 0o600, name)
        database.close()


if __name__ == '__main__':
    unittest.main()
