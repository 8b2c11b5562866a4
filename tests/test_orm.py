"""Tests of section 8's ORM: fields, models, validation, queries, relations, passwords."""
import datetime
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import OnBothBackends, sqlite_only, with_postgresql  # noqa: E402
from kokoropy import (  # noqa: E402
    Boolean, Database, Date, DateTime, Email, Field, FieldError, Float, ForeignKey, Integer,
    Model, Page, Password, Q, Query, RestrictedDeleteError, String, Text, Upload,
    ValidationError)
from kokoropy import _now_text  # noqa: E402


class Category(Model):
    name = String(max_length=40, required=True, unique=True)


class Product(Model):
    name = String(max_length=80, required=True)
    price = Float(min_value=0, max_value=10000)
    quantity = Integer(default=0, min_value=0)
    size = String(max_length=2, choices=[('S', 'Small'), ('M', 'Medium'), ('L', 'Large')])
    available = Boolean()
    released = Date()
    description = Text()
    category = ForeignKey(Category)


class Review(Model):
    product = ForeignKey(Product, on_delete='RESTRICT')
    stars = Integer(choices=[1, 2, 3, 4, 5], required=True)


class Shelf(Model):
    label = String(max_length=10)


class Book(Model):
    title = String(required=True)
    shelf = ForeignKey('Shelf', on_delete='SET NULL', related_name='books_on_it')


class Supplier(Model):
    name = String(required=True)
    email = Email(unique=True)
    starts = DateTime()


class Account(Model):
    username = String(max_length=30, required=True)
    password = Password(min_length=8)


class OrderLine(Model):
    unit_price = Float(label='Price each')
    note = Text()


MODELS = (Category, Product, Review, Shelf, Book, Supplier, Account, OrderLine)


class DatabaseTestCase(OnBothBackends, unittest.TestCase):
    def setUp(self):
        self.db = Database(self.database_url())
        self.db.bind(*MODELS)
        self.db.create_tables(*MODELS)

    def tearDown(self):
        self.db.close()

    def make_products(self):
        tools = Category.create(name='Tools')
        garden = Category.create(name='Garden')
        rows = [('Hammer', 12.5, 3, 'S', tools), ('Saw', 30.0, 0, 'M', tools),
                ('Rake', 18.0, 7, 'L', garden), ('Hose 50%_off', 9.99, 12, None, garden),
                ('Shovel', None, 1, None, None)]
        return [Product.create(name=name, price=price, quantity=quantity, size=size,
                               category=category)
                for name, price, quantity, size, category in rows]

    def names(self, query):
        return [product.name for product in query]


class ModelDeclarationTest(unittest.TestCase):
    def test_fields_listed_in_declaration_order_with_automatic_columns(self):
        self.assertEqual(list(Product._fields), [
            'id', 'name', 'price', 'quantity', 'size', 'available', 'released',
            'description', 'category', 'created_at', 'updated_at'])

    def test_field_metadata_for_forms(self):
        field = Product._fields['name']
        self.assertEqual((field.name, field.column, field.label, field.required),
                         ('name', 'name', 'Name', True))
        self.assertEqual(field.max_length, 80)
        self.assertEqual(Product._fields['category'].column, 'category_id')
        self.assertIs(Product._fields['category'].related_model, Category)
        self.assertIs(Product._fields['category'].model, Product)
        self.assertEqual(Product._fields['size'].choices,
                         [('S', 'Small'), ('M', 'Medium'), ('L', 'Large')])
        self.assertEqual(Review._fields['stars'].choices, [(i, str(i)) for i in range(1, 6)])
        self.assertFalse(Product._fields['id'].editable)
        self.assertFalse(Product._fields['created_at'].editable)
        self.assertTrue(Product._fields['price'].editable)

    def test_input_types(self):
        kinds = dict((name, field.input_type) for name, field in Product._fields.items())
        self.assertEqual(kinds['description'], 'textarea')
        self.assertEqual(kinds['available'], 'checkbox')
        self.assertEqual(kinds['released'], 'date')
        self.assertEqual(kinds['price'], 'number')
        self.assertEqual(Supplier._fields['email'].input_type, 'email')
        self.assertEqual(Supplier._fields['starts'].input_type, 'datetime-local')
        self.assertEqual(Account._fields['password'].input_type, 'password')
        self.assertEqual(Upload().input_type, 'file')
        self.assertEqual((Float.step, Integer.step), ('any', '1'))

    def test_label_defaults_to_readable_name_unless_given(self):
        class Invoice(Model):
            unit_price = Float()
        self.assertEqual(Invoice._fields['unit_price'].label, 'Unit price')
        self.assertEqual(OrderLine._fields['unit_price'].label, 'Price each')
        self.assertEqual(Invoice._fields['id'].label, 'ID')

    def test_table_name_is_snake_case_or_given(self):
        class HTTPLogEntry(Model):
            path = String()

        class Named(Model):
            table_name = 'my_things'
        self.assertEqual(OrderLine.table_name, 'order_line')
        self.assertEqual(HTTPLogEntry.table_name, 'http_log_entry')
        self.assertEqual(Named._meta.table, 'my_things')

    def test_declaring_a_clashing_or_automatic_name_is_refused(self):
        with self.assertRaisesRegex(FieldError, 'save: the name is used by Model'):
            type('Broken', (Model,), {'save': String()})
        with self.assertRaisesRegex(FieldError, 'created_at is added automatically'):
            type('Broken2', (Model,), {'created_at': DateTime()})
        with self.assertRaisesRegex(ValueError, 'invalid table name'):
            type('Broken3', (Model,), {'table_name': 'x; DROP TABLE y'})

    def test_declaration_renders_field_back_as_source(self):
        self.assertEqual(String(max_length=80, required=True).declaration(),
                         'String(max_length=80, required=True)')
        self.assertEqual(String().declaration(), 'String()')
        self.assertEqual(Integer(default=0, min_value=0).declaration(),
                         'Integer(min_value=0, default=0)')
        self.assertEqual(Boolean().declaration(), 'Boolean()')
        self.assertEqual(Boolean(default=True).declaration(), 'Boolean(default=True)')
        self.assertEqual(Email(unique=True).declaration(), 'Email(unique=True)')
        self.assertEqual(Product._fields['category'].declaration(), "ForeignKey('category')")
        self.assertEqual(Book._fields['shelf'].declaration(),
                         "ForeignKey('shelf', on_delete='SET NULL', related_name='books_on_it')")
        self.assertEqual(Product._fields['size'].declaration(),
                         "String(max_length=2, choices=[('S', 'Small'), ('M', 'Medium'), "
                         "('L', 'Large')])")
        self.assertEqual(DateTime(default=datetime.datetime.now).declaration(), 'DateTime()')

    def test_abstract_models_share_fields_without_a_table(self):
        class Named(Model):
            abstract = True
            name = String(required=True)

        class Planet(Named):
            moons = Integer()
        self.assertIsNone(Named._meta)
        self.assertEqual(list(Planet._fields)[:3], ['id', 'name', 'moons'])
        with self.assertRaisesRegex(TypeError, 'abstract'):
            Named()

    def test_unknown_constructor_argument_names_the_fields(self):
        with self.assertRaisesRegex(TypeError, "Category has no field 'colour'; its fields "
                                               "are: id, name, created_at, updated_at"):
            Category(colour='red')


class FieldConversionTest(unittest.TestCase):
    def test_to_python_converts_form_strings(self):
        self.assertEqual(Integer().to_python(' 42 '), 42)
        self.assertEqual(Integer().to_python('42.0'), 42)
        self.assertIsNone(Integer().to_python(''))
        self.assertEqual(Float().to_python('3.5'), 3.5)
        self.assertEqual(String().to_python('  hi  '), 'hi')
        self.assertIsNone(String().to_python('   '))
        self.assertEqual(Text().to_python('  keep  '), '  keep  ')
        self.assertEqual(Date().to_python('2024-02-29'), datetime.date(2024, 2, 29))
        self.assertEqual(DateTime().to_python('2024-02-29T13:45'),
                         datetime.datetime(2024, 2, 29, 13, 45))
        self.assertEqual(DateTime().to_python('2024-02-29 13:45:10Z'),
                         datetime.datetime(2024, 2, 29, 13, 45, 10,
                                           tzinfo=datetime.timezone.utc))
        self.assertEqual(ForeignKey('category').to_python('7'), 7)

    def test_iso_text_is_read_alike_on_every_python(self):
        utc_minus_3 = datetime.timezone(datetime.timedelta(hours=-3))
        good = [('2024-12-31', datetime.datetime(2024, 12, 31)),
                ('2024-12-31T23', datetime.datetime(2024, 12, 31, 23)),
                ('2024-12-31 23:59', datetime.datetime(2024, 12, 31, 23, 59)),
                ('2024-12-31T23:59:58.5', datetime.datetime(2024, 12, 31, 23, 59, 58, 500000)),
                ('2024-12-31 23:59:58.000123', datetime.datetime(2024, 12, 31, 23, 59, 58, 123)),
                ('2024-12-31T23:59-03:00',
                 datetime.datetime(2024, 12, 31, 23, 59, tzinfo=utc_minus_3))]
        for text, expected in good:
            with self.subTest(text=text):
                self.assertEqual(DateTime().from_db(text), expected)
        for text in ('2024-02-30', '2024-1-2', '2024-12-31X10:00', '2024-12-31 25:00',
                     '2024-12-31 10:00:00.1234567', '٢٠٢٤-12-31', '2024-12-31 10:00+5'):
            with self.subTest(text=text), self.assertRaises(ValueError):
                DateTime().from_db(text)
        self.assertEqual(Date().from_db('2024-02-29 10:00:00'), datetime.date(2024, 2, 29))
        for text in ('2023-02-29', '24-02-29', '2024-02-2x'):
            with self.subTest(text=text), self.assertRaises(ValueError):
                Date().from_db(text)

    def test_boolean_to_python_reads_checkbox_values(self):
        field = Boolean()
        for raw in ('on', '1', 'true', 'TRUE', 'yes'):
            self.assertIs(field.to_python(raw), True, raw)
        for raw in (None, '', '0', 'false', 'off', 'no'):
            self.assertIs(field.to_python(raw), False, raw)

    def test_to_python_raises_user_facing_messages(self):
        price = Product._fields['price']
        cases = [(Product._fields['quantity'], 'many', 'Quantity must be a whole number.'),
                 (Product._fields['quantity'], '1.5', 'Quantity must be a whole number.'),
                 (price, 'cheap', 'Price must be a number.'),
                 (price, 'nan', 'Price must be a number.'),
                 (Product._fields['released'], '31/12/2024',
                  'Released must be a date like 2024-12-31.'),
                 (Supplier._fields['starts'], 'soon',
                  'Starts must be a date and time like 2024-12-31 23:59.'),
                 (Product._fields['available'], 'maybe', 'Available must be yes or no.'),
                 (Product._fields['category'], 'x1', 'Category must be chosen from the list.')]
        for field, raw, message in cases:
            with self.assertRaises(ValueError) as caught:
                field.to_python(raw)
            self.assertEqual(str(caught.exception), message)

    def test_to_db_and_from_db(self):
        self.assertEqual(Date().to_db(datetime.date(2024, 1, 2)), '2024-01-02')
        self.assertEqual(DateTime().to_db(datetime.datetime(2024, 1, 2, 3, 4, 5)),
                         '2024-01-02 03:04:05.000000')
        aware = datetime.datetime(2024, 1, 2, 12, 0, tzinfo=datetime.timezone(
            datetime.timedelta(hours=9)))
        self.assertEqual(DateTime().to_db(aware), '2024-01-02 03:00:00.000000')
        self.assertEqual(DateTime().from_db('2024-01-02 03:04:05.000006'),
                         datetime.datetime(2024, 1, 2, 3, 4, 5, 6))
        self.assertIs(Boolean().from_db(1), True)


class ValidationTest(DatabaseTestCase):
    def assertErrors(self, instance, expected):
        self.assertEqual(instance.validate(), expected)

    def test_valid_instance_has_no_errors(self):
        category = Category.create(name='Tools')
        self.assertErrors(Product(name='Hammer', price=1.0, category=category), {})

    def test_required_messages(self):
        self.assertErrors(Product(), {'name': 'Name is required.'})
        self.assertErrors(Product(name=''), {'name': 'Name is required.'})
        self.assertErrors(Review(), {'stars': 'Stars is required.'})

    def test_length_range_type_and_choice_messages(self):
        product = Product(name='x' * 81, price=-1, quantity='3', size='XL', available='yes',
                          released='someday', description=5)
        self.assertErrors(product, {
            'name': 'Name must be at most 80 characters.',
            'price': 'Price must be at least 0.',
            'quantity': 'Quantity must be a whole number.',
            'size': 'Size must be one of: Small, Medium, Large.',
            'available': 'Available must be yes or no.',
            'released': 'Released must be a date like 2024-12-31.',
            'description': 'Description must be text.'})
        self.assertErrors(Product(name='x', price=10001.0), {
            'price': 'Price must be at most 10000.'})
        self.assertErrors(Product(name='x', price=float('inf')), {
            'price': 'Price must be a number.'})
        self.assertErrors(Product(name='x', quantity=True), {
            'quantity': 'Quantity must be a whole number.'})
        self.assertErrors(Review(stars=9), {'stars': 'Stars must be one of: 1, 2, 3, 4, 5.'})

    def test_email_shape_and_unique_messages(self):
        Supplier.create(name='Acme', email='sales@acme.example')
        for bad in ('acme', 'a@b', 'a b@c.de', '@acme.example'):
            self.assertErrors(Supplier(name='X', email=bad),
                              {'email': 'Email must be a valid email address.'})
        self.assertErrors(Supplier(name='X', email='sales@acme.example'),
                          {'email': 'Email is already taken.'})

    def test_unique_check_ignores_the_row_itself(self):
        acme = Supplier.create(name='Acme', email='sales@acme.example')
        acme.name = 'Acme Ltd'
        self.assertErrors(acme, {})
        acme.save()

    def test_missing_related_row_message(self):
        self.assertErrors(Product(name='x', category=99),
                          {'category': 'Category must be chosen from the list.'})

    def test_save_raises_validation_error_with_errors_dict(self):
        with self.assertRaises(ValidationError) as caught:
            Product.create(name='', price=-5)
        self.assertEqual(caught.exception.errors, {'name': 'Name is required.',
                                                   'price': 'Price must be at least 0.'})
        self.assertEqual(Product.all().count(), 0)

    def test_validation_error_accepts_a_plain_message(self):
        self.assertEqual(ValidationError('Choose a file.').errors, {'__all__': 'Choose a file.'})

    def test_database_unique_violation_becomes_validation_error(self):
        Category.create(name='Tools')
        with self.assertRaises(ValidationError) as caught:
            Category(name='Tools').save(validate=False)
        self.assertEqual(caught.exception.errors, {'name': 'Name is already taken.'})

    def test_messages_can_be_overridden_per_field_class(self):
        class Polite(String):
            messages = dict(String.messages, required='Please fill in {label}.')

        class Guest(Model):
            name = Polite(required=True)
        self.assertEqual(Guest().validate(), {'name': 'Please fill in Name.'})


class CrudTest(DatabaseTestCase):
    def test_create_assigns_id_and_timestamps(self):
        product = Product.create(name='Hammer', price=12.5)
        self.assertEqual(product.id, 1)
        self.assertIsInstance(product.created_at, datetime.datetime)
        self.assertEqual(product.created_at, product.updated_at)
        self.assertLess(abs(datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
                            - product.created_at), datetime.timedelta(minutes=5))

    def test_get_returns_instance_or_none(self):
        made = Product.create(name='Hammer', price=12.5, released=datetime.date(2024, 5, 6),
                              available=True)
        product = Product.get(made.id)
        self.assertEqual((product.name, product.price, product.quantity), ('Hammer', 12.5, 0))
        self.assertIs(product.available, True)
        self.assertEqual(product.released, datetime.date(2024, 5, 6))
        self.assertIsNone(Product.get(999))
        self.assertEqual(product, made)

    def test_save_updates_row_and_updated_at(self):
        product = Product.create(name='Hammer', price=12.5)
        first_update = product.updated_at
        product.price = 15.0
        product.save()
        again = Product.get(product.id)
        self.assertEqual(again.price, 15.0)
        self.assertGreaterEqual(again.updated_at, first_update)
        self.assertEqual(again.created_at, product.created_at)
        self.assertEqual(Product.all().count(), 1)

    def test_delete_instance(self):
        product = Product.create(name='Hammer')
        product.delete()
        self.assertIsNone(Product.get(product.id))

    def test_str_is_first_string_field_or_model_and_id(self):
        self.assertEqual(str(Product.create(name='Hammer')), 'Hammer')
        line = OrderLine.create(unit_price=2.0)
        self.assertEqual(str(line), 'OrderLine #%d' % line.id)
        self.assertEqual(repr(Category(name='x')), "<Category #None 'x'>")

    def test_default_values_and_callable_defaults(self):
        calls = []

        class Ticket(Model):
            code = String(default=lambda: 'T%d' % len(calls.append(1) or calls))
            seats = Integer(default=2)
        self.db.bind(Ticket)
        self.db.create_tables(Ticket)
        self.assertEqual((Ticket().code, Ticket().code, Ticket().seats), ('T1', 'T2', 2))

    def test_as_dict_is_json_friendly(self):
        category = Category.create(name='Tools')
        product = Product.create(name='Hammer', price=1.5, category=category,
                                 released=datetime.date(2024, 1, 2), available=True)
        data = Product.get(product.id).as_dict()
        self.assertEqual(data['released'], '2024-01-02')
        self.assertEqual(data['category_id'], category.id)
        self.assertIs(data['available'], True)
        self.assertEqual(data['created_at'], product.created_at.isoformat())
        self.assertEqual(sorted(data), sorted(['id', 'name', 'price', 'quantity', 'size',
                                               'available', 'released', 'description',
                                               'category_id', 'created_at', 'updated_at']))

    def test_refresh_reloads_values(self):
        product = Product.create(name='Hammer')
        Product.where(id=product.id).update(name='Mallet')
        self.assertEqual(product.refresh().name, 'Mallet')

    def test_saving_with_a_hand_set_id_inserts_it(self):
        Category(id=42, name='Answers').save()
        self.assertEqual(Category.get(42).name, 'Answers')
        self.assertEqual(Category.create(name='Next').id, 43)  # ids go on after it


class QueryTest(DatabaseTestCase):
    def setUp(self):
        DatabaseTestCase.setUp(self)
        self.products = self.make_products()

    def test_all_iterates_every_row(self):
        self.assertEqual(self.names(Product.all()),
                         ['Hammer', 'Saw', 'Rake', 'Hose 50%_off', 'Shovel'])

    def test_integers_beyond_64_bits_compare_as_numbers_do(self):
        every = len(self.products)
        for value in (10 ** 30, -10 ** 30):
            above = value > 0
            self.assertIsNone(Product.get(value))
            self.assertEqual(Product.where(id=value).count(), 0)
            self.assertEqual(Product.where(id__ne=value).count(), every)
            self.assertEqual(Product.where(id__lt=value).count(), every if above else 0)
            self.assertEqual(Product.where(id__gte=value).count(), 0 if above else every)
            self.assertEqual(Product.where(id__in=[value, self.products[0].id]).count(), 1)
            self.assertEqual(Product.where(id__in=[value]).count(), 0)

    def test_comparison_operators(self):
        by_price = Product.all().order_by('price')
        self.assertEqual(self.names(by_price.where(price=12.5)), ['Hammer'])
        self.assertEqual(self.names(by_price.where(price__gt=12.5)), ['Rake', 'Saw'])
        self.assertEqual(self.names(by_price.where(price__gte=12.5)), ['Hammer', 'Rake', 'Saw'])
        self.assertEqual(self.names(by_price.where(price__lt=12.5)), ['Hose 50%_off'])
        self.assertEqual(self.names(by_price.where(price__lte=12.5)),
                         ['Hose 50%_off', 'Hammer'])

    def test_ne_keeps_rows_where_the_field_is_null(self):
        self.assertEqual(self.names(Product.where(price__ne=12.5).order_by('name')),
                         ['Hose 50%_off', 'Rake', 'Saw', 'Shovel'])

    def test_in_operator_and_empty_list(self):
        self.assertEqual(self.names(Product.where(size__in=['S', 'L']).order_by('name')),
                         ['Hammer', 'Rake'])
        self.assertEqual(self.names(Product.where(id__in=[])), [])

    def test_like_contains_startswith_endswith(self):
        self.assertEqual(self.names(Product.where(name__like='%a%e%').order_by('name')),
                         ['Hammer', 'Rake'])
        self.assertEqual(self.names(Product.where(name__contains='AM')), ['Hammer'])
        self.assertEqual(self.names(Product.where(name__contains='50%_')), ['Hose 50%_off'])
        self.assertEqual(self.names(Product.where(name__contains='0%')), ['Hose 50%_off'])
        self.assertEqual(self.names(Product.where(name__contains='_')), ['Hose 50%_off'])
        self.assertEqual(self.names(Product.where(name__startswith='sh')), ['Shovel'])
        self.assertEqual(self.names(Product.where(name__endswith='w')), ['Saw'])

    def test_isnull_and_equal_none(self):
        self.assertEqual(self.names(Product.where(price__isnull=True)), ['Shovel'])
        self.assertEqual(self.names(Product.where(price=None)), ['Shovel'])
        self.assertEqual(len(list(Product.where(size__isnull=False))), 3)

    def test_filters_combine_with_and(self):
        self.assertEqual(self.names(Product.where(price__gt=10, quantity__gt=0)
                                    .where(size__ne='L')), ['Hammer'])

    def test_q_objects_or_and_not(self):
        query = Product.where(Q(name='Saw') | Q(quantity__gte=7)).order_by('name')
        self.assertEqual(self.names(query), ['Hose 50%_off', 'Rake', 'Saw'])
        query = Product.where(Q(price__gt=10) & ~Q(name='Saw')).order_by('name')
        self.assertEqual(self.names(query), ['Hammer', 'Rake'])
        query = Product.where((Q(size='S') | Q(size='M')) & Q(quantity=0))
        self.assertEqual(self.names(query), ['Saw'])

    def test_where_any_and_exclude(self):
        self.assertEqual(self.names(Product.all().where_any(name__contains='ham',
                                                            size='L').order_by('name')),
                         ['Hammer', 'Rake'])
        self.assertEqual(self.names(Product.all().exclude(size__isnull=True)
                                    .order_by('name')), ['Hammer', 'Rake', 'Saw'])

    def test_order_by_several_fields_and_descending(self):
        self.assertEqual(self.names(Product.all().order_by('-quantity')),
                         ['Hose 50%_off', 'Rake', 'Hammer', 'Shovel', 'Saw'])
        self.assertEqual(self.names(Product.all().order_by('category', '-name')),
                         ['Shovel', 'Saw', 'Hammer', 'Rake', 'Hose 50%_off'])

    def test_limit_offset_first(self):
        ordered = Product.all().order_by('name')
        self.assertEqual(self.names(ordered.limit(2)), ['Hammer', 'Hose 50%_off'])
        self.assertEqual(self.names(ordered.limit(2).offset(2)), ['Rake', 'Saw'])
        self.assertEqual(self.names(ordered.offset(4)), ['Shovel'])
        self.assertEqual(ordered.first().name, 'Hammer')
        self.assertIsNone(Product.where(name='Nothing').first())
        with self.assertRaises(ValueError):
            ordered.limit(-1)

    def test_count_and_exists(self):
        self.assertEqual(Product.all().count(), 5)
        self.assertEqual(Product.where(price__gt=10).count(), 3)
        self.assertEqual(Product.all().order_by('name').limit(2).count(), 2)
        self.assertTrue(Product.where(name='Saw').exists())
        self.assertFalse(Product.where(name='Drill').exists())

    def test_query_get_within_the_query(self):
        saw = self.products[1]
        self.assertEqual(Product.where(size='M').get(saw.id), saw)
        self.assertIsNone(Product.where(size='S').get(saw.id))

    def test_paginate(self):
        page = Product.all().order_by('name').paginate(2, 2)
        self.assertIsInstance(page, Page)
        self.assertEqual([p.name for p in page.items], ['Rake', 'Saw'])
        self.assertEqual((page.page, page.per_page, page.total, page.pages),
                         (2, 2, 5, 3))
        self.assertEqual((page.has_prev, page.has_next, page.prev_num, page.next_num),
                         (True, True, 1, 3))
        last = Product.all().order_by('name').paginate(3, 2)
        self.assertEqual(([p.name for p in last], last.has_next, last.next_num),
                         (['Shovel'], False, None))
        empty = Product.where(name='none').paginate(1, 10)
        self.assertEqual((empty.items, empty.total, empty.pages, empty.has_next),
                         ([], 0, 1, False))
        self.assertEqual(Product.all().paginate(0, 2).page, 1)

    def test_page_iter_pages_marks_gaps(self):
        page = Page([], 10, 1, 20)
        self.assertEqual(list(page.iter_pages()), [1, None, 8, 9, 10, 11, 12, None, 20])
        self.assertEqual(list(Page([], 1, 10, 25).iter_pages()), [1, 2, 3])

    def test_page_iter_pages_takes_numbers_that_are_not_ints(self):
        page = Page([], 5, 10, 100)
        self.assertEqual(list(page.iter_pages(edge=1.0, around=1.5)),
                         [1, None, 4, 5, 6, None, 10])
        self.assertEqual(list(page.iter_pages(edge=0.5, around=float('inf'))), list(range(1, 11)))
        self.assertEqual(list(page.iter_pages(edge=True, around=0)), [1, None, 5, None, 10])

    def test_query_delete_and_update_return_counts(self):
        self.assertEqual(Product.where(price__lt=15).update(quantity=100), 2)
        self.assertEqual(self.names(Product.where(quantity=100).order_by('name')),
                         ['Hammer', 'Hose 50%_off'])
        self.assertEqual(Product.where(quantity=100).delete(), 2)
        self.assertEqual(Product.all().count(), 3)
        self.assertEqual(Product.all().order_by('name').limit(1).delete(), 1)
        self.assertEqual(self.names(Product.all().order_by('name')), ['Saw', 'Shovel'])

    def test_queries_are_immutable_and_lazy(self):
        base = Product.where(price__gt=10)
        cheaper = base.where(price__lt=20)
        self.assertEqual(base.count(), 3)
        self.assertEqual(cheaper.count(), 2)
        Product.create(name='Drill', price=50.0)
        self.assertEqual(base.count(), 4)

    def test_filter_values_are_converted(self):
        Product.where(name='Hammer').update(released=datetime.date(2024, 3, 1))
        self.assertEqual(self.names(Product.where(released__gte=datetime.date(2024, 1, 1))),
                         ['Hammer'])
        tools = Category.where(name='Tools').first()
        self.assertEqual(self.names(Product.where(category=tools)), ['Hammer', 'Saw'])
        self.assertEqual(self.names(Product.where(category_id=tools.id)), ['Hammer', 'Saw'])

    def test_query_truth_asks_for_rows(self):
        self.assertTrue(Product.where(name='Saw'))
        self.assertFalse(Product.where(name='Drill'))

    def test_bulk_update_to_a_taken_unique_value_is_a_validation_error(self):
        with self.assertRaises(ValidationError) as caught:
            Category.where(name='Garden').update(name='Tools')
        self.assertEqual(caught.exception.errors, {'name': 'Name is already taken.'})

    def test_contains_like_and_startswith_ignore_case_in_every_script(self):
        Product.create(name='École Kit')
        self.assertEqual(self.names(Product.where(name__contains='éCOLE')), ['École Kit'])
        self.assertEqual(self.names(Product.where(name__like='%KIT')), ['École Kit'])
        self.assertEqual(self.names(Product.where(name__startswith='éc')), ['École Kit'])

    def test_sql_shows_bound_parameters(self):
        sql, params = Product.where(name='Saw').order_by('-price').limit(3).sql()
        dialect = self.db.dialect
        self.assertTrue(sql.endswith('FROM "product" WHERE "name" = %s ORDER BY %s LIMIT %s' % (
            dialect.param, dialect.order_term('price', True), dialect.param)), sql)
        self.assertEqual(params, ['Saw', 3])

    def test_unknown_field_or_operator_is_a_clear_error(self):
        with self.assertRaises(FieldError) as caught:
            Product.where(colour='red')
        self.assertEqual(str(caught.exception),
                         "Product has no field 'colour'; valid fields: id, name, price, "
                         "quantity, size, available, released, description, category, "
                         "created_at, updated_at")
        with self.assertRaisesRegex(FieldError, "unknown filter operator 'near' in "
                                                "'price__near'"):
            Product.where(price__near=3)
        with self.assertRaisesRegex(FieldError, "no field 'colour' to order by"):
            Product.all().order_by('-colour')


class InjectionTest(DatabaseTestCase):
    HOSTILE = "Robert'); DROP TABLE product; --"

    def test_hostile_values_are_stored_literally(self):
        product = Product.create(name=self.HOSTILE, description='" OR 1=1 --')
        self.assertEqual(Product.get(product.id).name, self.HOSTILE)
        self.assertEqual(Product.where(name=self.HOSTILE).count(), 1)
        self.assertEqual(Product.where(name__contains="'); DROP").count(), 1)
        self.assertEqual(Product.where(description='" OR 1=1 --').count(), 1)
        self.assertIn('product', self.db.tables())

    def test_hostile_field_names_are_refused(self):
        Product.create(name='Hammer')
        for key in ('name = name OR 1=1 --', 'name"; DROP TABLE product; --',
                    'name__gt) OR (1=1'):
            with self.assertRaises(FieldError):
                Product.where(**{key: 'x'})
        with self.assertRaises(FieldError):
            Product.all().order_by('name; DROP TABLE product')
        with self.assertRaises(FieldError):
            Product.all().update(**{'name = 1 --': 'x'})
        self.assertEqual(Product.all().count(), 1)

    def test_dialect_quotes_identifiers(self):
        self.assertEqual(self.db.dialect.quote('a"b'), '"a""b"')
        self.assertEqual(self.db.dialect.literal("it's"), "'it''s'")


class RelationTest(DatabaseTestCase):
    def test_foreign_key_loads_on_access_and_caches(self):
        tools = Category.create(name='Tools')
        product = Product.get(Product.create(name='Hammer', category=tools).id)
        self.assertEqual(product.category_id, tools.id)
        self.assertEqual(product.category.name, 'Tools')
        self.assertIs(product.category, product.category)

    def test_assigning_instance_or_id(self):
        tools = Category.create(name='Tools')
        garden = Category.create(name='Garden')
        product = Product.create(name='Hammer', category=tools)
        product.category = garden.id
        self.assertEqual(product.category.name, 'Garden')
        product.category_id = tools.id
        self.assertEqual(product.category.name, 'Tools')
        product.category = None
        self.assertIsNone(product.category)
        self.assertIsNone(product.category_id)
        with self.assertRaises(TypeError):
            product.category = Shelf.create(label='A')

    def test_unsaved_related_instance_is_saved_first(self):
        tools = Category(name='Tools')
        product = Product(name='Hammer', category=tools)
        self.assertIs(product.category, tools)
        tools.save()
        product.save()
        self.assertEqual(Product.get(product.id).category_id, tools.id)

    def test_reverse_relation_is_a_query(self):
        tools = Category.create(name='Tools')
        Product.create(name='Saw', category=tools, price=3.0)
        Product.create(name='Hammer', category=tools, price=5.0)
        Product.create(name='Rake')
        self.assertIsInstance(tools.products, Query)
        self.assertEqual([p.name for p in tools.products.order_by('name')], ['Hammer', 'Saw'])
        self.assertEqual(tools.products.where(price__gt=4).count(), 1)
        shelf = Shelf.create(label='A1')
        Book.create(title='Dune', shelf=shelf)
        self.assertEqual([b.title for b in shelf.books_on_it], ['Dune'])

    def test_foreign_key_by_model_name_string_resolves(self):
        self.assertIs(Book._fields['shelf'].related_model, Shelf)
        self.assertEqual(Book._fields['shelf'].related_table, 'shelf')

    def test_on_delete_cascade(self):
        tools = Category.create(name='Tools')
        Product.create(name='Hammer', category=tools)
        Product.create(name='Rake')
        tools.delete()
        self.assertEqual([p.name for p in Product.all()], ['Rake'])

    def test_on_delete_set_null(self):
        shelf = Shelf.create(label='A1')
        book = Book.create(title='Dune', shelf=shelf)
        shelf.delete()
        self.assertIsNone(Book.get(book.id).shelf_id)

    def test_on_delete_restrict_raises_clear_integrity_error(self):
        product = Product.create(name='Hammer')
        Review.create(product=product, stars=5)
        with self.assertRaises(RestrictedDeleteError) as caught:
            product.delete()
        self.assertIsInstance(caught.exception, sqlite3.IntegrityError)
        self.assertEqual(str(caught.exception),
                         'cannot delete Product #%d: rows of Review.product still refer to '
                         'it (on_delete=RESTRICT); delete or reassign them first' % product.id)
        with self.assertRaises(RestrictedDeleteError):
            Product.all().delete()
        self.assertIsNotNone(Product.get(product.id))

    def test_database_refusing_a_missing_parent_gives_the_validation_message(self):
        with self.assertRaises(ValidationError) as caught:
            Product(name='Hammer', category=77).save(validate=False)
        self.assertEqual(caught.exception.errors,
                         {'category': 'Category must be chosen from the list.'})


class PasswordTest(DatabaseTestCase):
    def test_password_is_stored_as_salted_hash_and_checked(self):
        account = Account.create(username='ann', password='correct horse')
        stored = self.db.query('SELECT password FROM account')[0]['password']
        self.assertNotIn('correct horse', stored)
        self.assertTrue(stored.startswith(('scrypt$', 'pbkdf2_sha256$')), stored)
        loaded = Account.get(account.id)
        self.assertTrue(loaded.check_password('password', 'correct horse'))
        self.assertFalse(loaded.check_password('password', 'wrong horse'))
        self.assertTrue(Account._fields['password'].check_password(stored, 'correct horse'))

    def test_same_password_gets_different_hashes(self):
        first = Account.create(username='a', password='same secret')
        second = Account.create(username='b', password='same secret')
        self.assertNotEqual(first.password, second.password)

    def test_saving_again_does_not_rehash(self):
        account = Account.create(username='ann', password='correct horse')
        stored = account.password
        account.username = 'anne'
        account.save()
        self.assertEqual(Account.get(account.id).password, stored)
        self.assertTrue(Account.get(account.id).check_password('password', 'correct horse'))

    def test_password_validation_applies_to_plain_text(self):
        self.assertEqual(Account(username='ann', password='short').validate(),
                         {'password': 'Password must be at least 8 characters.'})

    def test_password_never_in_as_dict(self):
        account = Account.create(username='ann', password='correct horse')
        self.assertNotIn('password', account.as_dict())

    def test_query_update_hashes_password(self):
        account = Account.create(username='ann', password='correct horse')
        Account.where(id=account.id).update(password='battery staple')
        self.assertTrue(Account.get(account.id).check_password('password', 'battery staple'))

    def test_unknown_hash_format_never_matches(self):
        self.assertFalse(Account._fields['password'].check_password('md5$abc', 'abc'))
        with self.assertRaises(FieldError):
            Account().check_password('username', 'x')


class FormDataTest(DatabaseTestCase):
    def test_from_form_converts_strings(self):
        category = Category.create(name='Tools')
        product, errors = Product.from_form({
            'name': ' Hammer ', 'price': '12.50', 'quantity': '3', 'available': 'on',
            'released': '2024-02-29', 'category': str(category.id), 'size': 'S'})
        self.assertEqual(errors, {})
        self.assertEqual((product.name, product.price, product.quantity, product.available),
                         ('Hammer', 12.5, 3, True))
        self.assertEqual(product.released, datetime.date(2024, 2, 29))
        self.assertEqual(product.category, category)
        product.save()
        self.assertIsNotNone(product.id)

    def test_conversion_and_validation_errors_in_one_dict(self):
        product, errors = Product.from_form({'name': '', 'price': 'cheap', 'quantity': '-1',
                                             'released': '2024-13-01'})
        self.assertEqual(errors, {'name': 'Name is required.',
                                  'price': 'Price must be a number.',
                                  'quantity': 'Quantity must be at least 0.',
                                  'released': 'Released must be a date like 2024-12-31.'})

    def test_unchecked_checkbox_becomes_false(self):
        product = Product.create(name='Hammer', available=True)
        errors = product.update_from({'name': 'Hammer'})
        self.assertEqual(errors, {})
        self.assertIs(product.available, False)

    def test_fields_limit_what_a_form_may_set(self):
        product = Product.create(name='Hammer', price=5.0)
        errors = product.update_from({'name': 'Mallet', 'price': '0'}, fields=['name'])
        self.assertEqual((errors, product.name, product.price), ({}, 'Mallet', 5.0))
        with self.assertRaisesRegex(FieldError, "no editable field 'id'"):
            product.update_from({}, fields=['id'])

    def test_foreign_key_by_column_name_and_blank_password_keeps_hash(self):
        category = Category.create(name='Tools')
        product, errors = Product.from_form({'name': 'Saw', 'category_id': str(category.id)})
        self.assertEqual((errors, product.category_id), ({}, category.id))
        account = Account.create(username='ann', password='correct horse')
        stored = account.password
        self.assertEqual(account.update_from({'username': 'anne', 'password': ''}), {})
        self.assertEqual(account.password, stored)

    def test_upload_file_objects_are_left_to_the_form(self):
        class Photo(Model):
            image = Upload(allowed=['png'])
        photo, errors = Photo.from_form({'image': object()})
        self.assertEqual((errors, photo.image), ({}, None))
        photo, errors = Photo.from_form({'image': 'uploads/a.png'})
        self.assertEqual(photo.image, 'uploads/a.png')
        self.assertEqual(Photo._fields['image'].allowed, ['png'])

    def test_form_dict_lists_use_last_value(self):
        product, errors = Product.from_form({'name': ['First', 'Last']})
        self.assertEqual(product.name, 'Last')



class Gadget(Model):
    name = String(max_length=20, required=True)
    code = String(max_length=3, min_length=3)
    price = Float(min_value=0, max_value=100)
    stock = Integer(default=5, min_value=0)
    size = String(max_length=2, choices=['S', 'M'])
    active = Boolean()
    released = Date()
    checked_at = DateTime()
    notes = Text()
    token = String(default=lambda: 'fresh')


class Booking(Model):
    starts = Integer(required=True)
    ends = Integer(required=True)

    def validate(self):
        errors = Model.validate(self)
        if not errors and self.ends < self.starts:
            errors['ends'] = 'Ends must not be before it starts.'
        return errors


class Slugged(Model):
    title = String(required=True)
    slug = String()

    def save(self, validate=True):
        self.slug = self.title.lower().replace(' ', '-')
        return Model.save(self, validate)


class CreateTest(DatabaseTestCase):
    """create() inserts by itself for models whose save() is one INSERT: same rows, same
    defaults, same errors as save()."""

    def setUp(self):
        DatabaseTestCase.setUp(self)
        self.db.bind(Gadget, Booking, Slugged)
        self.db.create_tables(Gadget, Booking, Slugged)

    def test_every_field_given_is_stored_and_read_back(self):
        values = dict(name='Lamp', code='LMP', price=9.5, stock=2, size='S', active=True,
                      released=datetime.date(2024, 5, 6),
                      checked_at=datetime.datetime(2024, 5, 6, 7, 8, 9, 10), notes='bright',
                      token='given')
        gadget = Gadget.create(**values)
        again = Gadget.get(gadget.id)
        self.assertEqual(again.as_dict(), gadget.as_dict())
        self.assertEqual(dict((name, getattr(again, name)) for name in values), values)
        line_values = {'unit_price': 2.5, 'note': 'boxed'}  # no callable default this time
        line = OrderLine.create(**line_values)
        self.assertEqual(OrderLine.get(line.id).as_dict(), line.as_dict())
        self.assertEqual((line.id, line.unit_price, line.note), (1, 2.5, 'boxed'))
        self.assertEqual(line_values, {'unit_price': 2.5, 'note': 'boxed'})

    def test_fields_not_given_get_their_defaults(self):
        gadget = Gadget.create(name='Lamp')
        row = self.db.query('SELECT stock, active, token, price FROM gadget WHERE id = ?',
                            (gadget.id,))[0]
        self.assertEqual(tuple(row), (5, 0, 'fresh', None))
        self.assertEqual((gadget.stock, gadget.active, gadget.token), (5, False, 'fresh'))

    def test_timestamps_are_stored_as_equal_microsecond_text(self):
        gadget = Gadget.create(name='Lamp')
        created, updated = self.db.execute(
            'SELECT created_at, updated_at FROM gadget WHERE id = ?', (gadget.id,)).fetchone()
        created, updated = DateTime().to_db(created), DateTime().to_db(updated)
        self.assertRegex(created, r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$')
        self.assertEqual(created, updated)
        self.assertEqual(gadget.created_at, DateTime().from_db(created))

    def test_refuses_what_save_refuses_with_the_same_messages(self):
        bad_values = [
            dict(name=''), dict(name=None), dict(name='x' * 21), dict(name=5),
            dict(name='Lamp', code='AB'), dict(name='Lamp', price=-1.0),
            dict(name='Lamp', price=float('nan')), dict(name='Lamp', price=True),
            dict(name='Lamp', price=101), dict(name='Lamp', stock=2.5),
            dict(name='Lamp', stock=True), dict(name='Lamp', size='XL'),
            dict(name='Lamp', active='maybe'), dict(name='Lamp', released='someday'),
            dict(name='Lamp', notes=5), dict(name='x' * 21, stock=-1, size='L')]
        for values in bad_values:
            with self.assertRaises(ValidationError) as by_save:
                Gadget(**values).save()
            with self.assertRaises(ValidationError) as by_create:
                Gadget.create(**values)
            self.assertEqual(by_create.exception.errors, by_save.exception.errors)
        self.assertEqual(by_create.exception.errors, {
            'name': 'Name must be at most 20 characters.',
            'stock': 'Stock must be at least 0.',
            'size': 'Size must be one of: S, M.'})
        self.assertEqual(Gadget.all().count(), 0)

    def test_values_settled_by_validate_not_by_quick_rules_are_accepted(self):
        gadget = Gadget.create(name='Lamp', price=5, stock=None, active=1, notes='')
        self.assertEqual(Gadget.get(gadget.id).price, 5)
        self.assertIsNone(Gadget.get(gadget.id).stock)

    def test_overridden_validate_and_save_still_run(self):
        with self.assertRaises(ValidationError) as caught:
            Booking.create(starts=5, ends=1)
        self.assertEqual(caught.exception.errors, {'ends': 'Ends must not be before it starts.'})
        self.assertEqual(Booking.create(starts=1, ends=5).id, 1)
        slugged = Slugged.create(title='Hello There')
        self.assertEqual(Slugged.get(slugged.id).slug, 'hello-there')



class Counted(Model):
    """A model with a callable default that counts its calls."""
    label = String(max_length=10)
    serial = Integer(default=lambda: Counted.next_serial())
    calls = []

    @classmethod
    def next_serial(cls):
        cls.calls.append(1)
        return len(cls.calls)


class Tagged(Gadget):
    """A subclass of a model create() is compiled for, with a field more and a new default."""
    stock = Integer(default=7, min_value=0)
    tag = String(max_length=5, default='new')


class Logged(Gadget):
    """A subclass whose own create() calls Model.create() through super()."""
    created = []

    @classmethod
    def create(cls, **values):
        instance = super().create(**values)
        cls.created.append(instance.id)
        return instance


class Strict(Gadget):
    """A subclass whose validate() adds a rule: create() must not skip it."""
    def validate(self):
        errors = Model.validate(self)
        if self.name == 'forbidden':
            errors['name'] = 'Name is forbidden.'
        return errors


class Label(str):
    """A str subclass: valid text, though not of class str."""


class CompiledCreateTest(DatabaseTestCase):
    """create() compiled per model (its columns as parameters, its checks written out) does
    exactly what Model(**values).save() does: same rows, instances, errors and calls."""

    models = (Gadget, Counted, Tagged, Logged, Strict)

    def setUp(self):
        DatabaseTestCase.setUp(self)
        self.db.bind(*self.models)
        self.db.create_tables(*self.models)
        Counted.calls = []

    def stored(self, model, instance):
        """The row of `instance` as stored, without id and timestamps."""
        columns = [column for column in model._meta.columns
                   if column not in ('id', 'created_at', 'updated_at')]
        row = self.db.query('SELECT %s FROM %s WHERE id = %s' % (
            ', '.join(columns), model.table_name, int(instance.id)))[0]
        return tuple(row)

    def both_ways(self, model, values):
        """(compiled create()'s instance, save()'s instance) for the same values."""
        return model.create(**values), model(**values).save()

    def without_automatic(self, instance):
        return dict((key, value) for key, value in instance.__dict__.items()
                    if key not in ('id', 'created_at', 'updated_at'))

    def test_models_that_qualify_get_a_compiled_create(self):
        self.assertIsNotNone(Gadget._meta.quick_create)
        self.assertIs(Gadget.__dict__['create'].__func__, Gadget._meta.quick_create)
        self.assertIs(Tagged.__dict__['create'].__func__, Tagged._meta.quick_create)
        # A create() written by hand stays; Model.create() reaches the compiled one.
        self.assertIsNotNone(Logged._meta.quick_create)
        self.assertIsNot(Logged.__dict__['create'].__func__, Logged._meta.quick_create)
        self.assertIsNone(Strict._meta.quick_create)       # validate() overridden
        self.assertIsNone(Product._meta.quick_create)      # a ForeignKey: save() queries
        self.assertEqual(Gadget.create.__doc__, Model.create.__doc__)

    def test_a_create_written_by_hand_in_an_abstract_base_is_kept(self):
        class Audited(Model):
            abstract = True

            @classmethod
            def create(cls, **values):
                return ('audited', Model.create.__func__(cls, **values))

        class Note(Audited):
            text = String()
        self.db.bind(Note)
        self.db.create_tables(Note)
        self.assertIsNotNone(Note._meta.quick_create)
        kind, note = Note.create(text='hello')
        self.assertEqual((kind, Note.get(note.id).text), ('audited', 'hello'))

    def test_stored_rows_and_instances_are_those_of_save(self):
        cases = [
            dict(name='Lamp'),
            dict(name='Lamp', price=5, stock=0, active=1, notes=''),
            dict(name=Label('Lamp'), code=Label('LMP'), price=99.5, stock=2, size='M',
                 active=True, released=datetime.date(2024, 5, 6),
                 checked_at=datetime.datetime(2024, 5, 6, 7, 8, 9, 10), notes='n', token='t'),
            dict(name='Lamp', price=2.0, stock=None, active=False, released=None),
            dict(name='Lamp', price=100, active=0, token=''),
            dict(name='Lamp', checked_at=datetime.datetime(2024, 5, 6, 7, 8, 9),
                 released='2024-05-06', active=1.0),
            dict(name='Lamp', checked_at=datetime.datetime(
                2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))),
        ]
        for values in cases:
            made, saved = self.both_ways(Gadget, values)
            self.assertEqual(self.without_automatic(made), self.without_automatic(saved))
            self.assertEqual(list(made.__dict__), list(saved.__dict__))  # same order too
            self.assertEqual([type(v) for v in made.__dict__.values()],
                             [type(v) for v in saved.__dict__.values()])
            self.assertEqual(self.stored(Gadget, made), self.stored(Gadget, saved))
            self.assertEqual(made.as_dict().keys(), Gadget.get(made.id).as_dict().keys())
            self.assertEqual(self.without_automatic(Gadget.get(made.id)),
                             self.without_automatic(Gadget.get(saved.id)))

    def test_every_refusal_matches_save(self):
        bad_values = [
            dict(), dict(name=None), dict(name=''), dict(name='x' * 21), dict(name=b'Lamp'),
            dict(name='Lamp', stock=True), dict(name='Lamp', stock=False),
            dict(name='Lamp', stock=2.5), dict(name='Lamp', stock=2.0),
            dict(name='Lamp', stock=-1), dict(name='Lamp', stock=2 ** 63),
            dict(name='Lamp', stock='3'), dict(name='Lamp', price=True),
            dict(name='Lamp', price=float('inf')), dict(name='Lamp', price=-0.5),
            dict(name='Lamp', price=100.5), dict(name='Lamp', price='1.5'),
            dict(name='Lamp', active=2), dict(name='Lamp', active='yes'),
            dict(name='Lamp', token=5), dict(name='Lamp', code=Label('AB')),
            dict(name=5, price=-1, stock=-1, size='XL', active=None, token=5),
            dict(name=5, price=-1, stock=-1, size='XL', active=3, token=5)]
        for values in bad_values:
            with self.assertRaises(ValidationError) as by_save:
                Gadget(**values).save()
            with self.assertRaises(ValidationError) as by_create:
                Gadget.create(**values)
            self.assertEqual(by_create.exception.errors, by_save.exception.errors, values)
            self.assertEqual(by_create.exception.instance.__dict__,
                             by_save.exception.instance.__dict__, values)
        self.assertEqual(by_create.exception.errors, {
            'name': 'Name must be text.', 'price': 'Price must be at least 0.',
            'stock': 'Stock must be at least 0.', 'size': 'Size must be one of: S, M.',
            'active': 'Active must be yes or no.', 'token': 'Token must be text.'})
        self.assertEqual(Gadget.all().count(), 0)

    def test_nan_is_refused_by_a_float_field_without_bounds(self):
        class Reading(Model):
            plain = Float()
            wide = Float(min_value=-float('inf'), max_value=float('inf'))
        self.db.bind(Reading)
        self.db.create_tables(Reading)
        self.assertIsNotNone(Reading._meta.quick_create)
        for values in (dict(plain=float('nan')), dict(wide=float('nan'))):
            with self.assertRaises(ValidationError) as by_save:
                Reading(**values).save()
            with self.assertRaises(ValidationError) as by_create:
                Reading.create(**values)
            self.assertEqual(by_create.exception.errors, by_save.exception.errors)
        self.assertEqual(Reading.create(plain=1.5, wide=-2.5).wide, -2.5)
        self.assertEqual(Reading.all().count(), 1)

    def test_a_field_of_its_own_with_set_is_still_validated(self):
        # Such a field is no parameter of a compiled create(), which would then never check it.
        class Kept(Field):
            type_name = 'string'
            is_data_descriptor = True

            def __set__(self, instance, value):
                instance.__dict__[self.column] = value

            def __get__(self, instance, owner):
                return self if instance is None else instance.__dict__.get(self.column)

        class Sealed(Model):
            seal = Kept(required=True)
            name = String()
        self.db.bind(Sealed)
        self.db.create_tables(Sealed)
        for call in (lambda: Sealed.create(name='x'), lambda: Sealed(name='x').save()):
            with self.assertRaises(ValidationError) as refused:
                call()
            self.assertIn('seal', refused.exception.errors)
        self.assertEqual(Sealed.create(name='x', seal='s').seal, 's')
        self.assertEqual(Sealed.all().count(), 1)

    def test_unknown_and_automatic_keywords_are_treated_as_by_save(self):
        with self.assertRaises(TypeError) as by_save:
            Gadget(name='Lamp', colour='red').save()
        with self.assertRaises(TypeError) as by_create:
            Gadget.create(name='Lamp', colour='red')
        self.assertEqual(str(by_create.exception), str(by_save.exception))
        self.assertIn("Gadget has no field 'colour'", str(by_create.exception))
        when = datetime.datetime(2020, 1, 2, 3, 4, 5)
        made = Gadget.create(name='Lamp', created_at=when)
        self.assertEqual(Gadget.get(made.id).created_at, when)
        self.assertEqual(Gadget.all().count(), 1)

    def test_a_callable_default_runs_once_per_row_as_with_save(self):
        first = Counted.create(label='a')
        given = Counted.create(label='b', serial=50)
        saved = Counted(label='c').save()
        self.assertEqual((first.serial, given.serial, saved.serial), (1, 50, 3))
        self.assertEqual(len(Counted.calls), 3)   # the given value still ran the default
        self.assertEqual(Counted.get(first.id).serial, 1)

    def test_subclasses_get_their_own_fields_defaults_and_methods(self):
        tagged = Tagged.create(name='Lamp', tag='old')
        self.assertEqual((tagged.stock, tagged.tag), (7, 'old'))
        self.assertEqual(self.stored(Tagged, tagged)[3], 7)
        self.assertEqual(Gadget.create(name='Lamp').stock, 5)
        # Gadget's compiled create() called for a subclass leaves it to the subclass.
        through_parent = Gadget._meta.quick_create(Tagged, name='Lamp')
        self.assertIsInstance(through_parent, Tagged)
        self.assertEqual((through_parent.stock, through_parent.tag), (7, 'new'))
        logged = Logged.create(name='Lamp', price=1.5)
        self.assertEqual(Logged.created, [logged.id])
        self.assertEqual(Logged.get(logged.id).price, 1.5)
        with self.assertRaises(ValidationError) as caught:
            Strict.create(name='forbidden')
        self.assertEqual(caught.exception.errors, {'name': 'Name is forbidden.'})

    def test_a_database_error_on_insert_is_reported_as_by_save(self):
        self.db.execute('CREATE UNIQUE INDEX gadget_code_unique ON gadget (code)')
        Gadget.create(name='Lamp', code='LMP')
        with self.assertRaises(ValidationError) as by_create:
            Gadget.create(name='Lamp', code='LMP')
        with self.assertRaises(ValidationError) as by_save:
            Gadget(name='Lamp', code='LMP').save()
        self.assertEqual(by_create.exception.errors, {'code': 'Code is already taken.'})
        self.assertEqual(by_create.exception.errors, by_save.exception.errors)
        self.assertIsNone(by_create.exception.instance.id)
        self.assertEqual(by_create.exception.instance.code, 'LMP')

    def test_timestamps_are_the_time_of_each_row_to_the_microsecond(self):
        before = datetime.datetime.utcnow().replace(microsecond=0)
        rows = [Gadget.create(name='Lamp %d' % number) for number in range(50)]
        after = datetime.datetime.utcnow() + datetime.timedelta(microseconds=1)
        texts = [row.__dict__['created_at'] for row in rows]
        for text in texts:
            self.assertRegex(text, r'^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$')
        self.assertEqual(texts, sorted(texts))
        self.assertEqual(texts, [row.__dict__['updated_at'] for row in rows])
        for row in rows:
            self.assertTrue(before <= Gadget.get(row.id).created_at <= after)

    def test_the_timestamp_is_the_clock_to_the_microsecond(self):
        clock = Gadget._meta.quick_create.__globals__   # its _now_text() written out
        second = 1700000000 * 10 ** 9                      # 2023-11-14 22:13:20 UTC
        for nanoseconds, text in [
                (second, '2023-11-14 22:13:20.000000'),
                (second + 999, '2023-11-14 22:13:20.000000'),
                (second + 1000, '2023-11-14 22:13:20.000001'),
                (second + 123456789, '2023-11-14 22:13:20.123456'),
                (second + 999999999, '2023-11-14 22:13:20.999999'),
                (second + 10 ** 9, '2023-11-14 22:13:21.000000'),
                (second - 1000, '2023-11-14 22:13:19.999999')]:
            with mock.patch.dict(clock, {'_time_ns': lambda: nanoseconds}):
                made = Gadget.create(name='Lamp')
            self.assertEqual((made.__dict__['created_at'], made.__dict__['updated_at']),
                             (text, text))
            self.assertEqual(_now_text(lambda: nanoseconds), text)

    @sqlite_only
    def test_threads_creating_at_once_each_get_their_rows(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        shared = Database(os.path.join(folder, 'shared.db'))
        self.addCleanup(shared.close)
        shared.create_tables(Gadget)
        shared.bind(Gadget)
        self.addCleanup(self.db.bind, Gadget)
        made, failures = [], []

        def work(number):
            try:
                for count in range(40):
                    made.append(Gadget.create(name='T%d-%d' % (number, count)))
            except Exception as exc:  # reported below: a thread's exception is otherwise lost
                failures.append(exc)
        threads = [threading.Thread(target=work, args=(number,)) for number in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(failures, [])
        self.assertEqual(sorted(row.id for row in made), list(range(1, 161)))
        stored = dict((row.id, (row.name, row.__dict__['created_at']))
                      for row in Gadget.all())
        self.assertEqual(stored, dict((row.id, (row.name, row.__dict__['created_at']))
                                      for row in made))

    @sqlite_only
    def test_each_call_uses_the_database_the_model_is_bound_to_now(self):
        create = Gadget.create      # taken once, as a bulk insert may
        other = Database(':memory:')
        self.addCleanup(other.close)
        other.create_tables(Gadget)
        self.assertEqual(create(name='Here').id, 1)
        other.bind(Gadget)
        self.assertEqual((create(name='There').id, create(name='There too').id), (1, 2))
        self.db.bind(Gadget)
        self.assertEqual(create(name='Here again').id, 2)
        self.assertEqual([g.name for g in Gadget.all().order_by('id')], ['Here', 'Here again'])
        other.bind(Gadget)
        self.assertEqual([g.name for g in Gadget.all().order_by('id')], ['There', 'There too'])
        self.db.bind(Gadget)


class CompiledCreateFallbackTest(OnBothBackends, unittest.TestCase):
    """Models whose columns cannot be keyword parameters keep the create() that saves."""

    def test_columns_named_as_the_compiled_code_names_leave_create_to_save(self):
        fields = {'len': Integer(min_value=0), 'float': Float(), 'class': String()}
        for name, field in fields.items():
            model = type('Odd' + name.title(), (Model,), {
                name: field, 'label': String(required=True), '__module__': __name__})
            self.assertIsNone(model._meta.quick_create, name)
            db = Database(self.database_url())
            self.addCleanup(db.close)
            db.bind(model)
            db.create_tables(model)
            with self.assertRaises(ValidationError):
                model.create(**{name: None})
            self.assertEqual(model.create(**{name: None, 'label': 'x'}).label, 'x')

    def test_a_model_of_300_columns_is_created_on_every_python(self):
        # Python 3.6 refuses a function of more than 255 parameters: create() then saves.
        fields = dict(('f%d' % number, Integer()) for number in range(300))
        wide = type('Wide', (Model,), dict(fields, __module__=__name__))
        db = Database(self.database_url())
        self.addCleanup(db.close)
        db.bind(wide)
        db.create_tables(wide)
        made = wide.create(f0=1, f299=2)
        self.assertEqual((wide.get(made.id).f0, wide.get(made.id).f299), (1, 2))


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
