"""Tests for section 10, tables: Table (sort links, paging, search, row links, escaping, view
overrides) and render_detail, rendered through a real Kokoro app."""
import functools
import os
import re
import shutil
import sys
import tempfile
import unittest
from unittest import mock

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests'))
from support import OnBothBackends, with_postgresql  # noqa: E402
import kokoropy  # noqa: E402
from kokoropy import (  # noqa: E402
    Boolean, Database, FieldError, Float, ForeignKey, Integer, Kokoro, Model, Password, Request,
    String, Table, TestClient, Text, Upload, DeleteImpact, render_detail)

SCRIPT = '<script>alert(1)</script>'
ESCAPED = '&lt;script&gt;alert(1)&lt;/script&gt;'


class Shelf(Model):
    table_name = 'tables_shelf'
    name = String(max_length=40, required=True)


class Book(Model):
    table_name = 'tables_book'
    title = String(max_length=200, required=True)
    summary = Text()
    pages = Integer(min_value=1)
    price = Float()
    available = Boolean()
    cover = Upload()
    genre = String(choices=[('sf', 'Science fiction'), ('poem', 'Poetry')])
    shelf = ForeignKey(Shelf, on_delete='SET NULL')
    secret = Password()


def setUpModule():
    global PROJECT
    PROJECT = tempfile.mkdtemp()
    os.makedirs(os.path.join(PROJECT, 'applications', 'library'))


def tearDownModule():
    shutil.rmtree(PROJECT)


def add_books(*titles, **values):
    return [Book.create(title=title, **values) for title in titles]


class TableCase(OnBothBackends, unittest.TestCase):
    """Empty tables and a Kokoro app whose routes belong to the application 'library'."""

    def setUp(self):
        database = Database(self.database_url('sqlite:///' + os.path.join(PROJECT, 'tables.db')))
        self.addCleanup(database.close)
        database.bind(Shelf, Book)
        database.create_tables(Shelf, Book)
        Book.all().delete()
        Shelf.all().delete()
        self.app = Kokoro(project_path=PROJECT, secret='tables-test-secret')
        self.client = TestClient(self.app)
        self.build = lambda: Table(Book)

    def get(self, query='', app_name='library'):
        """Render self.build() in a GET request with this query string; return the text."""
        path = '/list-' + app_name
        if not any(route.rule == path for route in self.app.router.routes):
            self.app.route(path, 'GET', lambda: str(self.build()), app_name=app_name)
        answer = self.client.get(path + query)
        self.assertEqual(answer.status, 200, answer.errors)
        return answer.text

    def titles(self, html):
        """The titles in the first column, in order (the text of the cells, links or not)."""
        return re.findall(r'^<td[^>]*>(?:<a href="[^"]*">)?(.*?)(?:</a>)?</td>$',
                          html, re.MULTILINE)[::self.columns]

    columns = 1


class SortTest(TableCase):
    columns = 2

    def setUp(self):
        TableCase.setUp(self)
        add_books('Beta', 'Alpha', 'Gamma')
        self.build = lambda: Table(Book, fields=['title', 'summary'])

    def test_headers_are_sort_links_in_ascending_order_first(self):
        html = self.get()
        self.assertIn('<th scope="col"><a href="?sort=title">Title</a></th>\n'
                      '<th scope="col"><a href="?sort=summary">Summary</a></th>', html)
        self.assertEqual(self.titles(html), ['Beta', 'Alpha', 'Gamma'])

    def test_current_sort_is_marked_and_its_link_reverses_it(self):
        html = self.get('?sort=title')
        self.assertIn('<th scope="col" aria-sort="ascending"><a href="?sort=-title">Title</a>'
                      '</th>', html)
        self.assertEqual(self.titles(html), ['Alpha', 'Beta', 'Gamma'])
        html = self.get('?sort=-title')
        self.assertIn('<th scope="col" aria-sort="descending"><a href="?sort=title">Title</a>'
                      '</th>', html)
        self.assertEqual(self.titles(html), ['Gamma', 'Beta', 'Alpha'])

    def test_sort_on_a_field_not_shown_or_unknown_is_ignored(self):
        for query in ('?sort=secret', '?sort=pages', '?sort=nope', '?sort=--title', '?sort=-'):
            html = self.get(query)
            self.assertNotIn('aria-sort', html)
            self.assertEqual(self.titles(html), ['Beta', 'Alpha', 'Gamma'])

    def test_sort_links_keep_the_search_and_go_back_to_page_one(self):
        html = self.get('?q=a&sort=title&page=1')
        self.assertIn('<a href="?q=a&amp;sort=-title">Title</a>', html)
        self.assertIn('<a href="?q=a&amp;sort=summary">Summary</a>', html)

    def test_numeric_columns_are_marked_for_right_alignment(self):
        self.build = lambda: Table(Book, fields=['title', 'pages'])
        Book.all().delete()
        add_books('One', pages=12)
        html = self.get()
        self.assertIn('<th scope="col" class="numeric"><a href="?sort=pages">Pages</a></th>', html)
        self.assertIn('<td data-label="Title">One</td>\n'
                      '<td class="numeric" data-label="Pages">12</td>', html)


class PagingTest(TableCase):
    def setUp(self):
        TableCase.setUp(self)
        add_books('Book 1', 'Book 2', 'Book 3', 'Book 4', 'Book 5')
        self.build = lambda: Table(Book, fields=['title'], per_page=2)

    def test_middle_page_shows_its_rows_and_links_keeping_q_and_sort(self):
        html = self.get('?page=2&sort=title&q=book')
        self.assertEqual(self.titles(html), ['Book 3', 'Book 4'])
        self.assertIn('<nav class="pagination" aria-label="Pages">\n'
                      '<a href="?q=book&amp;sort=title&amp;page=1">Previous</a>\n'
                      '<a href="?q=book&amp;sort=title&amp;page=1">1</a>\n'
                      '<span class="current" aria-current="page">2</span>\n'
                      '<a href="?q=book&amp;sort=title&amp;page=3">3</a>\n'
                      '<a href="?q=book&amp;sort=title&amp;page=3">Next</a>\n</nav>', html)

    def test_summary_says_which_rows_are_shown_of_how_many(self):
        self.assertIn('<p class="table-summary">3–4 of 5</p>', self.get('?page=2'))
        self.assertIn('<p class="table-summary">5–5 of 5</p>', self.get('?page=3'))
        self.assertNotIn('table-summary', self.get('?q=nothing-matches'))

    def test_first_and_last_pages_disable_previous_and_next(self):
        first = self.get()
        self.assertEqual(self.titles(first), ['Book 1', 'Book 2'])
        self.assertIn('<span class="disabled">Previous</span>', first)
        last = self.get('?page=3')
        self.assertEqual(self.titles(last), ['Book 5'])
        self.assertIn('<span class="disabled">Next</span>', last)

    def test_page_past_the_end_shows_the_last_page_and_garbage_the_first(self):
        self.assertEqual(self.titles(self.get('?page=99')), ['Book 5'])
        self.assertEqual(self.titles(self.get('?page=abc')), ['Book 1', 'Book 2'])
        self.assertEqual(self.titles(self.get('?page=-4')), ['Book 1', 'Book 2'])

    def test_many_pages_are_elided_around_the_current_one(self):
        add_books(*['More %d' % n for n in range(15)])      # 20 rows: 10 pages
        html = self.get('?page=6')
        numbers = [line for line in html.splitlines() if line.startswith(('<a href="?page=',
                                                                          '<span'))]
        self.assertEqual([line.rsplit('>', 2)[-2].split('<')[0] for line in numbers],
                         ['Previous', '1', '…', '4', '5', '6', '7', '8', '…', '10', 'Next'])

    def test_single_page_has_no_pagination(self):
        self.build = lambda: Table(Book, fields=['title'], per_page=20)
        self.assertNotIn('pagination', self.get())

    def test_page_attribute_is_the_orm_page(self):
        table = Table(Book.all(), fields=['title'], per_page=2,
                      request=Request({'QUERY_STRING': 'page=2'}))
        self.assertEqual((table.page.page, table.page.pages, table.page.total), (2, 3, 5))
        self.assertEqual([book.title for book in table.page.items], ['Book 3', 'Book 4'])


class SearchTest(TableCase):
    columns = 2

    def setUp(self):
        TableCase.setUp(self)
        Book.create(title='Dune', summary='Sand and spice')
        Book.create(title='Spice Girls story', summary='Pop')
        Book.create(title='Emma', summary='A novel')
        self.build = lambda: Table(Book, fields=['title', 'summary'])

    def test_search_matches_any_search_field_ignoring_case(self):
        self.assertEqual(self.titles(self.get('?q=SPICE')), ['Dune', 'Spice Girls story'])

    def test_search_box_keeps_the_query_and_the_sort(self):
        html = self.get('?q=spice&sort=-title')
        self.assertIn('<div class="toolbar">\n<p class="table-summary">1–2 of 2</p>\n'
                      '<form class="search" method="get" action="" '
                      'role="search">\n<input type="hidden" name="sort" value="-title">\n'
                      '<input type="search" name="q" value="spice" aria-label="Search" '
                      'placeholder="Search">\n<button type="submit" class="button">Search'
                      '</button>\n</form>\n</div>', html)
        self.assertEqual(self.titles(html), ['Spice Girls story', 'Dune'])

    def test_explicit_search_fields_limit_the_search(self):
        self.build = lambda: Table(Book, fields=['title', 'summary'], search_fields=['summary'])
        self.assertEqual(self.titles(self.get('?q=spice')), ['Dune'])

    def test_no_text_fields_means_no_search_box(self):
        self.build = lambda: Table(Book, fields=['pages'])
        self.assertNotIn('type="search"', self.get())

    def test_table_of_a_query_keeps_its_filter(self):
        self.build = lambda: Table(Book.where(summary__ne='Pop'), fields=['title', 'summary'])
        self.assertEqual(self.titles(self.get('?q=e')), ['Dune', 'Emma'])

    def test_search_matching_nothing_says_so_with_the_query_escaped(self):
        html = self.get('?q=%3Cb%3Ezzz')
        self.assertIn('<p class="empty">Nothing matches “&lt;b&gt;zzz”.</p>', html)
        self.assertNotIn('<table', html)

    def test_empty_table_shows_the_empty_state(self):
        Book.all().delete()
        self.assertIn('<p class="empty">There is nothing here yet.</p>', self.get())


class RowTest(TableCase):
    def test_row_links_come_from_the_callables_and_the_first_column_links_to_the_row(self):
        book, = add_books('Dune')
        self.build = lambda: Table(Book, fields=['title'], detail_url=lambda b: '/b/%d' % b.id,
                                   edit_url=lambda b: '/b/%d/edit' % b.id,
                                   delete_url=lambda b: '/b/%d/delete' % b.id)
        html = self.get()
        self.assertIn('<th scope="col" class="table-actions">Actions</th>', html)
        self.assertIn('<td data-label="Title"><a href="/b/{0}">Dune</a></td>\n'
                      '<td class="table-actions"><div class="button-group">\n'
                      '<a class="button button-small" href="/b/{0}">Show</a>\n'
                      '<a class="button button-small" href="/b/{0}/edit">Edit</a>\n'
                      '<a class="button button-small button-danger" href="/b/{0}/delete">Delete'
                      '</a>\n</div></td>'.format(book.id), html)
        self.assertNotIn('<script', html)
        self.assertNotIn('style=', html)
        self.assertEqual(html.count('<form'), 1)        # the search box only

    def add_book_routes(self):
        for rule, name in (('/book/<book_id:int>', 'library.book.show'),
                           ('/book/<book_id:int>/edit', 'library.book.edit'),
                           ('/book/<slug>/delete', 'library.book.delete'),
                           ('/books', 'library.book.list'),
                           ('/book/<book_id:int>/<part>', 'library.book.part')):
            self.app.route(rule, 'GET', lambda **kw: 'x', name=name, app_name='library')

    def test_route_names_give_the_urls_url_would_give_under_the_site_root(self):
        book, = add_books('Dune')
        self.add_book_routes()
        self.build = lambda: Table(Book, fields=['title'], detail_url='library.book.show',
                                   edit_url='library.book.edit',
                                   delete_url='library.book.delete')
        self.get()      # adds the route /list-library
        answer = self.client.get('/list-library', environ={'SCRIPT_NAME': '/my site'})
        self.assertEqual(answer.status, 200, answer.errors)
        html = answer.text
        self.assertIn('<td data-label="Title"><a href="/my%20site/book/{0}">Dune</a></td>\n'
                      '<td class="table-actions"><div class="button-group">\n'
                      '<a class="button button-small" href="/my%20site/book/{0}">Show</a>\n'
                      '<a class="button button-small" href="/my%20site/book/{0}/edit">Edit</a>\n'
                      '<a class="button button-small button-danger" href="/my%20site/book/{0}/'
                      'delete">Delete</a>\n</div></td>'.format(book.id), html)

    def test_a_route_name_that_cannot_link_a_row_is_a_route_build_error(self):
        add_books('Dune')
        self.add_book_routes()
        self.get()      # adds the route /list-library
        for name in ('library.book.nope', 'library.book.list', 'library.book.part'):
            self.build = lambda: Table(Book, detail_url=name)
            answer = self.client.get('/list-library')
            self.assertEqual(answer.status, 500)
            self.assertIn('RouteBuildError', answer.errors)
            self.assertIn(repr(name), answer.errors)

    def test_without_url_callables_there_is_no_actions_column(self):
        add_books('Dune')
        self.assertNotIn('Actions', self.get())

    def test_cells_show_related_rows_booleans_choices_thumbnails_and_cut_long_text(self):
        shelf = Shelf.create(name='Top shelf')
        Book.create(title='Dune', summary='x' * 100, available=True, genre='sf', shelf=shelf,
                    cover='uploads/dune.png', secret='hidden-value')
        html = self.get()
        self.assertIn('<td data-label="Title">Dune</td>\n'
                      '<td class="cell-long" data-label="Summary">%s…</td>\n'
                      '<td class="numeric" data-label="Pages"></td>\n'
                      '<td class="numeric" data-label="Price"></td>\n'
                      '<td class="cell-boolean" data-label="Available">Yes</td>\n'
                      '<td class="cell-image" data-label="Cover"><a href="/library/assets/uploads/'
                      'dune.png"><img class="thumbnail" src="/library/assets/uploads/dune.png" '
                      'alt="Cover of Dune" loading="lazy"></a></td>\n'
                      '<td data-label="Genre">Science fiction</td>\n'
                      '<td data-label="Shelf">Top shelf</td>' % ('x' * 59), html)
        self.assertNotIn('Secret', html)
        self.assertNotIn('hidden-value', html)

    def test_other_uploads_are_a_short_link_named_by_their_type(self):
        Book.create(title='Notes', cover='uploads/3f2a9c.pdf')
        self.build = lambda: Table(Book, fields=['title', 'cover'])
        self.assertIn('<td class="cell-file" data-label="Cover"><a href="/library/assets/uploads/'
                      '3f2a9c.pdf">PDF file</a></td>', self.get())

    def test_default_columns_are_the_editable_fields_but_passwords(self):
        self.assertEqual(list(Table(Book, request=Request({})).fields),
                         ['title', 'summary', 'pages', 'price', 'available', 'cover', 'genre',
                          'shelf'])

    def test_unknown_column_raises_field_error(self):
        with self.assertRaises(FieldError):
            Table(Book, fields=['nope'], request=Request({}))

    def test_outside_a_request_without_request_argument_is_an_error(self):
        with self.assertRaises(RuntimeError):
            Table(Book)

    def test_markup_in_values_labels_and_related_rows_is_escaped(self):
        shelf = Shelf.create(name=SCRIPT)
        Book.create(title=SCRIPT, summary=SCRIPT, shelf=shelf)
        self.build = lambda: Table(Book, fields=['title', 'summary', 'shelf'],
                                   detail_url=lambda b: '/"><script>')
        html = self.get('?q=%3Cscript%3E&sort=title')
        self.assertNotIn('<script', html)
        self.assertIn('<td data-label="Title"><a href="/&quot;&gt;&lt;script&gt;">{0}</a></td>\n'
                      '<td class="cell-long" data-label="Summary">{0}</td>\n'
                      '<td data-label="Shelf">{0}</td>'.format(ESCAPED), html)
        self.assertIn('value="&lt;script&gt;"', html)


class BuiltinMarkupTest(TableCase):
    """Table writes the built-in view's markup directly (for speed): it must equal what the
    view's template source, FORM_VIEWS['kokoropy/table'], renders from the same table."""

    def assertSameAsTheTemplate(self, query='', **options):
        def compare():
            table = Table(Book, **options)
            source = kokoropy.FORM_VIEWS['kokoropy/table']
            expected = kokoropy.SimpleTemplate(source=source).render(
                **table._view_variables()).rstrip('\n')
            written = table._builtin_markup()
            self.assertEqual(written, expected)
            self.assertEqual(str(table.render()), expected)
            return 'compared'
        path = '/compare-%d' % len(self.app.router.routes)
        self.app.route(path, 'GET', compare, app_name='library')
        answer = self.client.get(path + query)
        self.assertEqual((answer.status, answer.text), (200, 'compared'), answer.errors)

    def test_every_kind_of_cell_button_and_page_link(self):
        shelves = [Shelf.create(name=name) for name in ('Top', SCRIPT)]
        for n in range(45):
            Book.create(title='Book %d %s' % (n, SCRIPT if n % 7 == 0 else ''),
                        summary=('x' * (n * 3)) or None, pages=n or None,
                        price=n * 1.5 if n % 2 else None, available=bool(n % 3),
                        cover=('uploads/%d.png' % n if n % 4 == 0 else
                               'uploads/%d.pdf' % n if n % 4 == 1 else None),
                        genre=('sf', 'poem', None)[n % 3], shelf=shelves[n % 2] if n % 5 else None,
                        # A few set (masked) and the others empty: each one is a slow hash.
                        secret='s%d' % n if n % 10 == 3 else None)
        everything = ['title', 'summary', 'pages', 'price', 'available', 'cover', 'genre',
                      'shelf', 'secret']
        for rule, name in (('/book/<book_id:int>', 'library.book.show'),
                           ('/book/<book_id:int>/edit', 'library.book.edit'),
                           ('/book/<slug>/delete', 'library.book.delete')):
            self.app.route(rule, 'GET', lambda **kw: 'x', name=name, app_name='library')
        buttons = dict(detail_url=lambda b: '/b/%d?x=1&y="2"' % b.id,
                       edit_url=lambda b: '/b/%d/edit' % b.id,
                       delete_url=lambda b: '/b/%d/delete' % b.id)
        for query in ('', '?page=2', '?page=3&sort=-price', '?q=Book&sort=title&page=2',
                      '?q=%3Cscript', '?q=nothing-matches', '?sort=pages'):
            self.assertSameAsTheTemplate(query)
            self.assertSameAsTheTemplate(query, fields=everything, per_page=5, **buttons)
            self.assertSameAsTheTemplate(query, fields=['cover', 'title'], per_page=4,
                                         detail_url=buttons['detail_url'])
            self.assertSameAsTheTemplate(query, fields=['pages', 'title'], search_fields=[],
                                         edit_url=buttons['edit_url'])
            self.assertSameAsTheTemplate(query, fields=['shelf', 'title', 'price'], per_page=6,
                                         detail_url='library.book.show',
                                         edit_url=buttons['edit_url'],
                                         delete_url='library.book.delete')
            self.assertSameAsTheTemplate(query, fields=['title'], edit_url='library.book.edit')

    def test_odd_shapes(self):
        add_books('Dune', ' x ', SCRIPT, 'Tom & "Jerry\'s" <b>')
        Book.create(title='Emma', summary='')
        self.assertSameAsTheTemplate(fields=[])
        self.assertSameAsTheTemplate(fields=[], delete_url=lambda b: '/d/%d' % b.id)
        self.assertSameAsTheTemplate(fields=['title', 'pages'], detail_url=lambda b: '')
        self.assertSameAsTheTemplate(fields=['summary', 'title'], detail_url=lambda b: None)
        # A route whose fixed parts need escaping in HTML ("'" and "&" stay in a path).
        self.app.route("/b'&k/<book_id:int>/x", 'GET', lambda book_id: 'x',
                       name='library.book.odd', app_name='library')
        self.assertSameAsTheTemplate(fields=['title'], detail_url='library.book.odd',
                                     delete_url='library.book.odd')
        self.assertSameAsTheTemplate('?q=Dune', fields=['title'], detail_url='library.book.odd')

    def test_rows_read_as_attributes_or_through_getattr_alike(self):
        # Rows read as row.title fall back to getattr(row, name, None) for a row missing one;
        # a name that is no plain attribute (a keyword, say) is read with getattr() always.
        class Row:
            def __init__(self, id, **values):
                self.id = id
                self.__dict__.update(values)

        def show(row):
            return '/b/%s' % row.id
        rows = [Row(1, title='<a>', pages=3, **{'class': 'x'}), Row('two', pages=2.5),
                Row(3, title='', pages=None, **{'class': 7}), Row(-4, title='t' * 70)]
        shape = ('plain', 'plain', 'plain', 'fast button', 'button')
        plan = kokoropy._display_plan(Book._fields['title'])
        starts = dict((kind, '<td>') for kind in kokoropy._CELL_KINDS)
        row_url = kokoropy._int_row_url('library.book.show', 'book_id', '/b/', '')
        constants = ['title', '<td a>', None, 'pages', '<td b>', None, 'class', '<td c>', None,
                     row_url, '<a href="', '">Show</a>', '/b/', '', show, '<a x="', '">X</a>',
                     '', '']
        cells = [functools.partial(kokoropy._cell_markup, plan, {}, starts)] * 3
        outputs = []
        for attributes in (('title', 'pages', 'class'), None):
            writer = kokoropy._compiled_row_writer(shape, True, attributes)
            out = []
            with mock.patch.object(kokoropy, 'url', lambda name, **params: '/b/%s' % params[
                    'book_id']):
                writer(rows, out.append, constants, cells)
            outputs.append(''.join(out))
        self.assertEqual(outputs[0], outputs[1])
        self.assertIn('<a href="/b/two">Show</a><a x="/b/two">X</a>', outputs[0])
        self.assertIn('&lt;a&gt;', outputs[0])
        self.assertIn('<td c>x</td>', outputs[0])

    def test_a_false_detail_url_links_no_first_cell(self):
        # The template links the first cell when the detail URL is true: not for 0 or False
        # (whose text the Show button still shows), but for an object whose markup is empty.
        class EmptyMarkup:
            def __html__(self):
                return ''
        add_books('Dune', SCRIPT, cover='uploads/c.png', genre='sf', shelf=None)
        Book.create(title='Emma', genre='poem', pages=3)
        for detail in (lambda b: 0, lambda b: False, lambda b: EmptyMarkup(),
                       lambda b: b.id % 2 and '/b/%d' % b.id):
            for fields in (['title', 'pages'], ['genre', 'title'], ['pages'], ['cover'],
                           ['shelf', 'title']):
                self.assertSameAsTheTemplate(fields=fields, detail_url=detail)

    def test_changed_choices_cell_classes_and_text_limit(self):
        # What the columns are worked out from once may change between pages.
        add_books('Dune', 'x' * 50, genre='sf')
        genre = Book._fields['genre']
        choices, classes, limit = genre.choices, dict(kokoropy.CELL_CLASSES), \
            kokoropy.TABLE_TEXT_LIMIT

        def restore():
            genre.choices = choices
            kokoropy.CELL_CLASSES.clear()
            kokoropy.CELL_CLASSES.update(classes)
            kokoropy.TABLE_TEXT_LIMIT = limit
        self.addCleanup(restore)
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        genre.choices = [('sf', 'Sci-fi'), ('poem', 'Poetry')]
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        genre.choices.append(('x', 'X'))
        genre.choices[0] = ('sf', 'SF')
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        genre.choices = []
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        kokoropy.CELL_CLASSES['text'] = 'plain'
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        kokoropy.TABLE_TEXT_LIMIT = 20
        self.assertSameAsTheTemplate(fields=['genre', 'title'])
        Book.create(title='y' * 80, pages=123456789012345678)
        kokoropy.TABLE_TEXT_LIMIT = 10          # a number's text is cut too
        self.assertSameAsTheTemplate(fields=['genre', 'title', 'pages'])
        kokoropy.TABLE_TEXT_LIMIT = None        # no text is cut
        self.assertSameAsTheTemplate(fields=['genre', 'title', 'pages'])

    def test_header_rows_follow_q_sort_buttons_and_overridden_links(self):
        # The header row's markup is kept per q, sort and class of table: never another's.
        add_books('Dune', 'Emma')

        class Filtered(Table):
            def link(self, **changes):
                return Table.link(self, **changes) + '&shelf=2'

        for query in ('', '?sort=title', '?sort=-title', '?q=a%3Cb', '?q=x&sort=pages', ''):
            self.assertSameAsTheTemplate(query, fields=['title', 'pages'])
            self.assertSameAsTheTemplate(query, fields=['title', 'pages'],
                                         detail_url=lambda book: '/b/%d' % book.id)
        table, headers = [], []

        def page():
            for kind in (Table, Filtered, Table):
                table.append(kind(Book, fields=['title', 'pages']))
                headers.append(str(table[-1]).split('</thead>')[0])
            return 'ok'
        self.app.route('/headers', 'GET', page, app_name='library')
        self.assertEqual(self.client.get('/headers?sort=title').text, 'ok')
        self.assertEqual(headers[0], headers[2])
        self.assertEqual(headers[1].count('&amp;shelf=2'), 2)
        self.assertNotIn('shelf=2', headers[0])

    def test_header_rows_of_a_subclass_whose_links_read_the_request(self):
        # A link() keeping another parameter of the page's own query string: its header row
        # is never one made for another request.
        add_books('Dune', 'Emma')

        class Shelved(Table):
            def link(self, **changes):
                return Table.link(self, **changes) + '&shelf=' + self.request.query.get('shelf')

        self.build = lambda: Shelved(Book, fields=['title', 'pages'])
        self.assertIn('?sort=title&amp;shelf=1"', self.get('?shelf=1'))
        html = self.get('?shelf=2')
        self.assertIn('?sort=title&amp;shelf=2"', html)
        self.assertNotIn('shelf=1', html)

    def test_links_are_what_urlencode_gives(self):
        from urllib.parse import urlencode
        for q in ('', 'abc', 'a b', 'a~b', 'é', 'a&b=c', 'x-y_z.1', '%41'):
            for sort in ('', 'title', '-title'):
                query = urlencode([('q', q), ('sort', sort)])
                table = Table(Book, fields=['title'], request=Request({'QUERY_STRING': query}))
                pairs = [(key, value) for key, value in (('q', table.q), ('sort', table.sort))
                         if value]
                self.assertEqual(table.link(), '?' + urlencode(pairs))
                self.assertEqual(table.link(page=3), '?' + urlencode(pairs + [('page', 3)]))
                self.assertEqual(table.link(sort='-title'), '?' + urlencode(
                    [pair for pair in pairs if pair[0] == 'q'] + [('sort', '-title')]))

    def test_an_empty_table(self):
        self.assertSameAsTheTemplate()
        self.assertSameAsTheTemplate('?q=x&sort=-title', fields=['title'], search_fields=[])

    def test_an_override_of_the_view_gets_the_same_variables(self):
        views = os.path.join(PROJECT, 'applications', 'listing', 'views', 'kokoropy')
        os.makedirs(views)
        self.addCleanup(shutil.rmtree, os.path.join(PROJECT, 'applications', 'listing'))
        with open(os.path.join(views, 'table.tpl'), 'w') as f:
            f.write('% for cells, actions in rows:\n{{cells[0].text}}|{{actions[0][1]}};\n% end\n'
                    '{{summary}} {{len(columns)}} {{len(pages)}}\n')
        add_books('Dune', 'Emma')
        self.build = lambda: Table(Book, fields=['title'], detail_url=lambda b: '/b/%d' % b.id)
        html = self.get(app_name='listing')
        self.assertIn('Dune|/b/', html)
        self.assertIn('1–2 of 2 1 0', html)


class DetailTest(TableCase):
    def test_detail_lists_every_field_with_readable_values(self):
        shelf = Shelf.create(name='Top shelf')
        book = Book.create(title='Dune', available=False, genre='poem', shelf=shelf, pages=412,
                           cover='uploads/dune.png', secret='hidden-value')
        self.build = lambda: render_detail(Book.get(book.id), fields=['title', 'pages',
                                                                     'available', 'genre',
                                                                     'shelf', 'cover', 'summary'])
        self.assertEqual(self.get(), '<dl class="detail">\n'
                         '<dt>Title</dt>\n<dd>Dune</dd>\n'
                         '<dt>Pages</dt>\n<dd class="numeric">412</dd>\n'
                         '<dt>Available</dt>\n<dd class="cell-boolean">No</dd>\n'
                         '<dt>Genre</dt>\n<dd>Poetry</dd>\n'
                         '<dt>Shelf</dt>\n<dd>Top shelf</dd>\n'
                         '<dt>Cover</dt>\n<dd class="cell-image"><a href="/library/assets/uploads/'
                         'dune.png"><img class="detail-image" src="/library/assets/uploads/'
                         'dune.png" alt="Cover of Dune"></a></dd>\n'
                         '<dt>Summary</dt>\n<dd class="empty-value">—</dd>\n'
                         '</dl>')

    def test_detail_shows_long_text_whole(self):
        book = Book.create(title='Dune', summary='x' * 100 + '\nThe end.')
        self.build = lambda: render_detail(book, fields=['summary'])
        self.assertEqual(self.get(), '<dl class="detail">\n<dt>Summary</dt>\n'
                         '<dd class="cell-long">%s\nThe end.</dd>\n</dl>' % ('x' * 100))

    def test_default_detail_has_id_and_times_but_no_password(self):
        book = Book.create(title='Dune', secret='hidden-value')
        html = str(render_detail(Book.get(book.id)))
        self.assertIn('<dt>ID</dt>\n<dd class="numeric">%d</dd>' % book.id, html)
        self.assertIn('<dt>Created at</dt>', html)
        self.assertNotIn('Secret', html)

    def test_password_named_explicitly_is_masked(self):
        book = Book.create(title='Dune', secret='hidden-value')
        html = str(render_detail(Book.get(book.id), fields=['secret']))
        self.assertIn('<dt>Secret</dt>\n<dd>••••••</dd>', html)
        self.assertNotIn('hidden', html)

    def test_non_image_upload_is_a_short_link_and_markup_is_escaped(self):
        book = Book.create(title=SCRIPT, cover='uploads/notes.pdf')
        self.build = lambda: render_detail(book, fields=['title', 'cover'])
        html = self.get()
        self.assertIn('<dt>Title</dt>\n<dd>%s</dd>' % ESCAPED, html)
        self.assertIn('<dd class="cell-file"><a href="/library/assets/uploads/notes.pdf">PDF file'
                      '</a></dd>', html)
        self.assertNotIn('<script', html)


class ViewOverrideTest(TableCase):
    def setUp(self):
        TableCase.setUp(self)
        views = os.path.join(PROJECT, 'applications', 'plain', 'views', 'kokoropy')
        os.makedirs(views)
        self.addCleanup(shutil.rmtree, os.path.join(PROJECT, 'applications', 'plain'))
        with open(os.path.join(views, 'table.tpl'), 'w', encoding='utf-8') as view:
            view.write('<ul>\n% for cells, actions in rows:\n<li>{{cells[0][0]}}</li>\n% end\n'
                       '</ul>\n')
        with open(os.path.join(views, 'detail.tpl'), 'w', encoding='utf-8') as view:
            view.write('% for label, kind, text, href in rows:\n{{label}}={{text}};\\\\\n% end\n')

    def test_application_views_replace_the_built_in_table_and_detail(self):
        book, = add_books(SCRIPT)
        self.build = lambda: Table(Book, fields=['title'])
        self.assertEqual(self.get(app_name='plain'), '<ul>\n<li>%s</li>\n</ul>' % ESCAPED)
        self.build = lambda: render_detail(book, fields=['title', 'pages'])
        self.assertEqual(self.get(app_name='plain'), 'Title=%s;Pages=;' % ESCAPED)
        self.build = lambda: Table(Book, fields=['title'])
        self.assertTrue(self.get(app_name='library').startswith('<div class="toolbar">'))

class Maker(Model):
    table_name = 'impact_maker'
    name = String(max_length=40)


class Toy(Model):
    table_name = 'impact_toy'
    name = String(max_length=40)
    maker = ForeignKey(Maker, on_delete='RESTRICT', related_name='toys')


class Batch(Model):
    table_name = 'impact_batch'
    name = String(max_length=40)
    maker = ForeignKey(Maker, on_delete='CASCADE', related_name='batches')


class Label(Model):
    table_name = 'impact_label'
    name = String(max_length=40)
    batch = ForeignKey(Batch, on_delete='SET NULL', related_name='labels')


class DeleteImpactTest(OnBothBackends, unittest.TestCase):
    """DeleteImpact: what a delete page says the delete removes, empties or is refused by."""

    def setUp(self):
        database = Database(self.database_url('sqlite:///' + os.path.join(PROJECT, 'impact.db')))
        self.addCleanup(database.close)
        database.bind(Maker, Toy, Batch, Label)
        database.create_tables(Maker, Toy, Batch, Label)
        for model in (Label, Batch, Toy, Maker):
            model.all().delete()

    def maker_with(self, toys=(), batches=(), labels=()):
        maker = Maker.create(name='Acme')
        for name in toys:
            Toy.create(name=name, maker=maker)
        for name in batches:
            batch = Batch.create(name=name, maker=maker)
            for label in labels:
                Label.create(name=label, batch=batch)
        return maker

    def test_restricting_rows_block_the_delete_with_counts_and_names(self):
        impact = DeleteImpact(self.maker_with(toys=['Ball', 'Car', 'Doll']))
        self.assertEqual(impact.blocking, [('toys', 3, ['Ball', 'Car', 'Doll'])])
        self.assertEqual(impact.refusal, 'Acme is used by 3 toys: Ball, Car, Doll.')
        self.assertIn('<div class="alert alert-error delete-impact" role="alert">', str(impact))

    def test_only_the_first_five_names_are_listed_and_the_rest_counted(self):
        impact = DeleteImpact(self.maker_with(toys=['T%d' % n for n in range(7)]))
        self.assertEqual(impact.blocking, [('toys', 7, ['T0', 'T1', 'T2', 'T3', 'T4'])])
        self.assertTrue(impact.refusal.endswith('7 toys: T0, T1, T2, T3, T4 and 2 more.'))

    def test_cascaded_rows_and_emptied_references_are_listed_further_down(self):
        maker = self.maker_with(batches=['May'], labels=['red', 'blue'])
        impact = DeleteImpact(maker)
        self.assertIsNone(impact.refusal)
        self.assertEqual(impact.blocking, [])
        self.assertEqual(impact.deleted, [('batches', 1, ['May'])])
        self.assertEqual(impact.cleared, [('labels', 2, ['red', 'blue'])])
        html = str(impact)
        self.assertIn('<p>Deleting it also deletes:</p>\n<ul>\n<li>1 batch: May</li>', html)
        self.assertIn('<li>2 labels: red, blue</li>', html)

    def test_a_row_nothing_refers_to_says_so(self):
        impact = DeleteImpact(self.maker_with())
        self.assertEqual((impact.blocking, impact.deleted, impact.cleared), ([], [], []))
        self.assertEqual(str(impact), '<p class="delete-impact">Nothing else refers to it: only '
                                      'this row is deleted.</p>')

    def test_names_are_escaped(self):
        impact = DeleteImpact(self.maker_with(toys=[SCRIPT]))
        self.assertIn(ESCAPED, str(impact))
        self.assertNotIn(SCRIPT, str(impact))


with_postgresql(globals())



class ColumnNameTest(unittest.TestCase):
    def test_a_column_name_python_reads_as_another_name_shows_its_own_value(self):
        # Python reads the identifier 'ﬁle' (a ligature) in source code as 'file': a row
        # writer reading row.<name> would show the other column's value.
        ligature = '\ufb01le'
        Document = type('Document', (Model,), {
            '__module__': __name__, 'table_name': 'tables_document',
            'file': String(max_length=40), ligature: String(max_length=40)})
        database = Database('sqlite:///' + os.path.join(PROJECT, 'documents.db'))
        self.addCleanup(database.close)
        database.bind(Document)
        database.create_tables(Document)
        Document.create(**{'file': 'plain', ligature: 'ligature'})
        table = Table(Document, fields=['file', ligature], request=Request({}))
        self.assertEqual(re.findall(r'<td[^>]*>([^<]*)</td>', str(table)),
                         ['plain', 'ligature'])

if __name__ == '__main__':
    unittest.main()

