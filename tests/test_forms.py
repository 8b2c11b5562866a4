"""Tests for section 10, forms: Form and BoundField rendered from a model, each field type's
widget, submissions through a real Kokoro app (invalid, valid, uploads), escaping, view
overrides, and the README's CRUD controller run end to end."""
import datetime
import io
import os
import re
import shutil
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import kokoropy  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import OnBothBackends, with_postgresql  # noqa: E402
from kokoropy import (  # noqa: E402
    Boolean, Database, Date, DateTime, Email, FieldError, Float, ForeignKey, Form, Integer,
    Kokoro, Model, Password, String, TestClient, Text, Upload, ValidationError,
    load_applications)

PNG_BYTES = b'\x89PNG\r\n\x1a\nnot really an image'
SCRIPT = '<script>alert(1)</script>'


class Maker(Model):
    table_name = 'forms_maker'
    name = String(max_length=40, required=True, unique=True)


class Gadget(Model):
    table_name = 'forms_gadget'
    name = String(max_length=80, required=True, help_text='Shown in lists')
    notes = Text()
    stock = Integer(min_value=0, max_value=500)
    price = Float(min_value=0)
    active = Boolean()
    released = Date()
    restocked_at = DateTime()
    contact = Email()
    pin = Password(min_length=4)
    photo = Upload(allowed=['png', 'jpg'])
    size = String(max_length=1, choices=[('s', 'Small'), ('l', 'Large')])
    maker = ForeignKey(Maker, on_delete='SET NULL')


class Part(Model):
    table_name = 'forms_part'
    name = String(max_length=20)
    maker = ForeignKey(Maker, required=True)
    manual = Upload()


class Trap(Model):
    """Labels, help text and choices carrying markup, to prove all of it is escaped."""
    table_name = 'forms_trap'
    title = String(label=SCRIPT, help_text=SCRIPT, required=True)
    kind = String(choices=[(SCRIPT, SCRIPT), ('plain', 'Plain')])
    maker = ForeignKey(Maker)


class Poster(Model):
    """Its before_save hook refuses the title 'boom' after the uploads were written."""
    table_name = 'forms_poster'
    title = String()
    image = Upload()

    def before_save(self):
        if self.title == 'boom':
            raise RuntimeError('refused by a hook')


MODELS = (Maker, Gadget, Part, Trap, Poster)


def setUpModule():
    global PROJECT
    PROJECT = tempfile.mkdtemp()
    os.makedirs(os.path.join(PROJECT, 'applications', 'shop'))


def tearDownModule():
    shutil.rmtree(PROJECT)


def csrf_of(page):
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def uploads_folder(app_name='shop'):
    return os.path.join(PROJECT, 'applications', app_name, 'assets', 'uploads')


class FormCase(OnBothBackends, unittest.TestCase):
    """Fresh tables and a Kokoro app whose routes belong to the application 'shop'."""

    def setUp(self):
        database = Database(self.database_url('sqlite:///' + os.path.join(PROJECT, 'forms.db')))
        self.addCleanup(database.close)
        database.bind(*MODELS)
        database.create_tables(*MODELS)
        for model in reversed(MODELS):
            model.all().delete()
        self.app = Kokoro(project_path=PROJECT, secret='forms-test-secret')
        self.client = TestClient(self.app)
        self.addCleanup(shutil.rmtree, uploads_folder(), True)

    def serve(self, handler, path='/t', app_name='shop'):
        self.app.route(path, ['GET', 'POST'], handler, app_name=app_name)

    def render(self, build, app_name='shop'):
        """The text of `build()` rendered while a request of application `app_name` runs."""
        self.serve(lambda: str(build()), '/render-' + app_name, app_name)
        answer = self.client.get('/render-' + app_name)
        self.assertEqual(answer.status, 200, answer.errors)
        return answer.text


class WidgetTest(FormCase):
    def widget(self, name, instance=Gadget):
        return str(Form(instance)[name].widget)

    def test_string_is_a_text_input_with_maxlength_required_and_help(self):
        self.assertEqual(self.widget('name'), '<input type="text" id="field-name" name="name" '
                         'value="" maxlength="80" required aria-describedby="field-name-help">')

    def test_text_is_a_textarea_keeping_a_leading_newline(self):
        gadget = Gadget(name='x', notes='\nfirst line')
        self.assertEqual(self.widget('notes', gadget),
                         '<textarea id="field-notes" name="notes">\n\nfirst line</textarea>')

    def test_integer_is_a_number_with_step_1_and_min_max(self):
        self.assertEqual(self.widget('stock', Gadget(stock=7)),
                         '<input type="number" id="field-stock" name="stock" value="7" step="1" '
                         'min="0" max="500">')

    def test_float_is_a_number_with_step_any(self):
        self.assertEqual(self.widget('price', Gadget(price=2.5)),
                         '<input type="number" id="field-price" name="price" value="2.5" '
                         'step="any" min="0">')

    def test_boolean_is_a_checkbox_checked_from_the_instance(self):
        self.assertEqual(self.widget('active', Gadget(active=True)),
                         '<input type="checkbox" id="field-active" name="active" value="1" '
                         'checked>')
        self.assertNotIn('checked', self.widget('active'))

    def test_date_and_datetime_are_date_and_datetime_local_inputs(self):
        gadget = Gadget(released=datetime.date(2024, 2, 29),
                        restocked_at=datetime.datetime(2024, 3, 1, 9, 30))
        self.assertEqual(self.widget('released', gadget), '<input type="date" id="field-released"'
                         ' name="released" value="2024-02-29">')
        self.assertEqual(self.widget('restocked_at', gadget),
                         '<input type="datetime-local" id="field-restocked_at" '
                         'name="restocked_at" value="2024-03-01T09:30">')

    def test_datetime_with_seconds_gets_step_1_so_the_browser_accepts_it(self):
        gadget = Gadget(restocked_at=datetime.datetime(2024, 3, 1, 9, 30, 15))
        self.assertIn('value="2024-03-01T09:30:15" step="1"', self.widget('restocked_at', gadget))

    def test_email_is_an_email_input(self):
        self.assertEqual(self.widget('contact', Gadget(contact='a@example.org')),
                         '<input type="email" id="field-contact" name="contact" '
                         'value="a@example.org" maxlength="254">')

    def test_password_is_never_prefilled(self):
        gadget = Gadget(name='x', pin='1234').save()
        self.assertEqual(self.widget('pin', gadget), '<input type="password" id="field-pin" '
                         'name="pin" maxlength="1024" minlength="4">')

    def test_upload_is_a_file_input_accepting_the_allowed_types_and_showing_the_current_file(self):
        gadget = Gadget(name='x', photo='uploads/abc.png')
        html = self.render(lambda: Form(gadget)['photo'].widget)
        self.assertEqual(html, '<div class="current-file">\n<a href="/shop/assets/uploads/abc.png">'
                         '<img class="thumbnail" src="/shop/assets/uploads/abc.png" alt=""></a>\n'
                         '<span class="help">Current file: <a href="/shop/assets/uploads/'
                         'abc.png">PNG file</a>; choose another to replace it.</span>\n</div>\n'
                         '<input type="file" id="field-photo" name="photo" accept=".png,.jpg">')

    def test_current_file_that_is_no_image_is_a_link_without_thumbnail(self):
        gadget = Gadget(name='x', photo='uploads/notes.pdf')
        html = self.render(lambda: Form(gadget)['photo'].widget)
        self.assertNotIn('<img', html)
        self.assertIn('Current file: <a href="/shop/assets/uploads/notes.pdf">PDF file</a>',
                      html)

    def test_upload_without_allowed_list_accepts_the_default_types(self):
        self.assertIn('accept=".png,.jpg,.jpeg,.gif,.webp,.pdf,.txt,.csv"',
                      self.widget('manual', Part))

    def test_choices_are_a_select_with_the_current_value_selected(self):
        self.assertEqual(self.widget('size', Gadget(size='l')),
                         '<select id="field-size" name="size">\n<option value=""></option>\n'
                         '<option value="s">Small</option>\n'
                         '<option value="l" selected>Large</option>\n</select>')

    def test_foreign_key_is_a_select_of_related_rows_by_str_with_an_empty_option(self):
        acme = Maker.create(name='Acme')
        Maker.create(name='Bolt')
        self.assertEqual(self.widget('maker', Gadget(maker=acme)),
                         '<select id="field-maker" name="maker">\n<option value=""></option>\n'
                         '<option value="%d" selected>Acme</option>\n<option value="%d">Bolt'
                         '</option>\n</select>' % (acme.id, acme.id + 1))

    def test_required_foreign_key_has_no_empty_option_once_chosen(self):
        acme = Maker.create(name='Acme')
        self.assertEqual(self.widget('maker', Part(maker=acme)),
                         '<select id="field-maker" name="maker" required>\n'
                         '<option value="%d" selected>Acme</option>\n</select>' % acme.id)
        self.assertIn('<option value="" selected></option>', self.widget('maker', Part))

    def test_label_points_at_the_widget_and_marks_required_fields(self):
        form = Form(Gadget)
        self.assertEqual(str(form['name'].html_label), '<label for="field-name">Name '
                         '<span aria-hidden="true">*</span></label>')
        self.assertEqual(str(form['notes'].html_label), '<label for="field-notes">Notes</label>')
        self.assertEqual(form['name'].label, 'Name')

    def test_checkbox_row_puts_the_box_before_its_label(self):
        self.assertEqual(str(Form(Gadget)['active']),
                         '<div class="field field-inline">\n<input type="checkbox" '
                         'id="field-active" name="active" value="1">\n'
                         '<label for="field-active">Active</label>\n</div>')

    def test_no_inline_script_or_style_anywhere(self):
        html = self.render(lambda: Form(Gadget).render())
        self.assertNotIn('<script', html)
        self.assertNotIn('style=', html)
        self.assertIsNone(re.search(r'\son[a-z]+=', html))


class FieldSelectionTest(FormCase):
    def test_default_fields_are_the_editable_ones_in_declaration_order(self):
        self.assertEqual(list(Form(Gadget).fields), ['name', 'notes', 'stock', 'price', 'active',
                                                     'released', 'restocked_at', 'contact', 'pin',
                                                     'photo', 'size', 'maker'])

    def test_fields_choose_and_order_and_exclude_removes(self):
        self.assertEqual(list(Form(Gadget, fields=['price', 'name']).fields), ['price', 'name'])
        self.assertNotIn('notes', Form(Gadget, exclude=['notes']).fields)

    def test_unknown_or_automatic_field_raises_field_error(self):
        with self.assertRaises(FieldError):
            Form(Gadget, fields=['nope'])
        with self.assertRaises(FieldError):
            Form(Gadget, fields=['id'])
        with self.assertRaises(KeyError):
            Form(Gadget)['nope']

    def test_empty_field_list_renders_only_the_csrf_input_and_the_button(self):
        gadget = Gadget(name='Lamp').save()
        html = self.render(lambda: Form(gadget, fields=[], submit_label='Delete').render())
        self.assertRegex(html, r'^<form class="form" method="post" action="">\n'
                               r'<input type="hidden" name="csrf_token" value="[^"]+">\n'
                               r'<div class="form-actions">\n<button type="submit" '
                               r'class="button button-primary">Delete</button>\n</div>\n</form>$')

    def test_delete_confirmation_can_have_a_danger_button_and_a_cancel_link(self):
        gadget = Gadget(name='Lamp').save()
        html = self.render(lambda: Form(gadget, fields=[], submit_label='Delete',
                                        submit_style='danger', cancel_url='/g?a=1&b="2"').render())
        self.assertTrue(html.endswith('<div class="form-actions">\n<button type="submit" '
                                      'class="button button-danger">Delete</button>\n'
                                      '<a class="button" href="/g?a=1&amp;b=&quot;2&quot;">Cancel'
                                      '</a>\n</div>\n</form>'), html)

    def test_get_form_has_no_csrf_input_and_no_multipart(self):
        html = str(Form(Gadget, fields=['name', 'photo'], method='get', action='/find').render())
        self.assertTrue(html.startswith('<form class="form" method="get" action="/find">\n'))
        self.assertNotIn('csrf_token', html)

    def test_post_form_with_an_upload_is_multipart(self):
        html = self.render(lambda: Form(Gadget, fields=['photo']).render())
        self.assertTrue(html.startswith('<form class="form" method="post" action="" '
                                        'enctype="multipart/form-data">\n'))

    def test_render_fields_gives_the_rows_without_the_form(self):
        html = str(Form(Gadget, fields=['name', 'notes']).render_fields())
        self.assertTrue(html.startswith('<div class="field">\n<label for="field-name">'))
        self.assertNotIn('<form', html)
        self.assertEqual(html.count('<div class="field">'), 2)

    def test_submit_label_defaults_to_create_then_save(self):
        self.assertEqual(Form(Gadget).submit_label, 'Create')
        self.assertEqual(Form(Gadget(name='x').save()).submit_label, 'Save')


class ValidationTest(FormCase):
    def test_valid_data_is_converted_into_the_instance(self):
        maker = Maker.create(name='Acme')
        form = Form(Gadget, {'name': ' Lamp ', 'stock': '3', 'price': '9.5', 'active': '1',
                             'released': '2024-01-31', 'restocked_at': '2024-02-01T08:15',
                             'size': 's', 'maker': str(maker.id), 'pin': 'abcd'})
        self.assertTrue(form.is_valid(), form.errors)
        gadget = form.save()
        self.assertEqual((gadget.name, gadget.stock, gadget.price, gadget.active, gadget.size),
                         ('Lamp', 3, 9.5, True, 's'))
        self.assertEqual(str(gadget.released), '2024-01-31')
        self.assertEqual(str(gadget.restocked_at), '2024-02-01 08:15:00')
        self.assertEqual(gadget.maker, maker)
        self.assertTrue(Gadget.get(gadget.id).check_password('pin', 'abcd'))

    def test_conversion_error_is_reported_and_the_typed_text_kept(self):
        form = Form(Gadget, {'name': 'Lamp', 'stock': 'many'})
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors, {'stock': 'Stock must be a whole number.'})
        self.assertEqual(form['stock'].value, 'many')
        self.assertEqual(form['stock'].error, 'Stock must be a whole number.')

    def test_unchecked_checkbox_sends_nothing_and_means_false(self):
        gadget = Gadget(name='Lamp', active=True).save()
        form = Form(gadget, {'name': 'Lamp'})
        self.assertTrue(form.is_valid(), form.errors)
        self.assertIs(form.save().active, False)

    def test_blank_password_on_an_edit_keeps_the_stored_hash(self):
        gadget = Gadget(name='Lamp', pin='1234').save()
        form = Form(gadget, {'name': 'Lamp 2', 'pin': ''})
        self.assertFalse(form['pin'].is_required)
        self.assertTrue(form.is_valid(), form.errors)
        form.save()
        stored = Gadget.get(gadget.id)
        self.assertEqual(stored.name, 'Lamp 2')
        self.assertTrue(stored.check_password('pin', '1234'))

    def test_new_password_is_validated_then_hashed(self):
        gadget = Gadget(name='Lamp', pin='1234').save()
        short = Form(gadget, {'name': 'Lamp', 'pin': 'abc'})
        self.assertFalse(short.is_valid())
        self.assertEqual(short.errors, {'pin': 'Pin must be at least 4 characters.'})
        Form(gadget, {'name': 'Lamp', 'pin': 'wxyz'}).save()
        self.assertTrue(Gadget.get(gadget.id).check_password('pin', 'wxyz'))

    def test_fields_not_submitted_keep_their_value(self):
        gadget = Gadget(name='Lamp', notes='keep me').save()
        Form(gadget, {'name': 'Lamp 2'}, fields=['name', 'notes']).save()
        self.assertEqual(Gadget.get(gadget.id).notes, 'keep me')

    def test_errors_about_fields_outside_the_form_are_listed_at_the_top(self):
        form = Form(Gadget, {'notes': 'hi'}, fields=['notes'])
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors, {'name': 'Name is required.'})
        html = self.render(form.render)
        self.assertIn('<div class="alert alert-error" role="alert">\n<p>Please correct the errors '
                      'below.</p>\n<ul>\n<li>Name is required.</li>\n</ul>\n</div>', html)

    def test_unique_and_missing_related_row_are_field_errors(self):
        Maker.create(name='Acme')
        form = Form(Maker, {'name': 'Acme'})
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors, {'name': 'Name is already taken.'})
        part = Form(Part, {'maker': '999'})
        self.assertFalse(part.is_valid())
        self.assertEqual(part.errors, {'maker': 'Maker must be chosen from the list.'})

    def test_row_refused_when_saved_puts_the_message_in_errors(self):
        form = Form(Maker, {'name': 'Acme'})
        self.assertTrue(form.is_valid())
        Maker.create(name='Acme')       # another request was faster
        with self.assertRaises(ValidationError):
            form.save()
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors, {'name': 'Name is already taken.'})

    def test_save_of_an_invalid_form_raises_validation_error(self):
        form = Form(Gadget, {'name': ''})
        with self.assertRaises(ValidationError) as raised:
            form.save()
        self.assertEqual(raised.exception.errors, {'name': 'Name is required.'})
        self.assertEqual(Gadget.all().count(), 0)

    def test_unbound_form_is_not_valid_and_shows_no_errors(self):
        form = Form(Gadget)
        self.assertFalse(form.is_bound)
        self.assertFalse(form.is_valid())
        self.assertEqual(form.errors, {})


class RoundTripTest(FormCase):
    def setUp(self):
        FormCase.setUp(self)

        def gadget_form():
            from kokoropy import request
            if request.method == 'POST':
                form = Form(Gadget, request.forms, request.files)
                if form.is_valid():
                    return 'saved #%d' % form.save().id
                return form.render()
            return Form(Gadget).render()
        self.serve(gadget_form)

    def test_get_shows_the_form_with_its_csrf_input(self):
        page = self.client.get('/t').text
        self.assertTrue(page.startswith('<form class="form" method="post" action="" '
                                        'enctype="multipart/form-data">\n<input type="hidden" '
                                        'name="csrf_token" value="'))
        self.assertEqual(page.count('<div class="field'), 12)

    def test_invalid_post_shows_the_message_beside_the_field_and_keeps_the_input(self):
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/t', data={'csrf_token': token, 'name': 'Lamp & co',
                                              'stock': '501', 'pin': 'secret-pin',
                                              'notes': 'two\nlines'})
        self.assertEqual(answer.status, 200)
        self.assertIn('<div class="field has-error">\n<label for="field-stock">Stock</label>\n'
                      '<input type="number" id="field-stock" name="stock" value="501" step="1" '
                      'min="0" max="500" aria-invalid="true" aria-describedby="field-stock-error">'
                      '\n<span class="error-message" id="field-stock-error">Stock must be at most '
                      '500.</span>\n</div>', answer.text)
        self.assertIn('name="name" value="Lamp &amp; co"', answer.text)
        self.assertIn('<textarea id="field-notes" name="notes">\ntwo\nlines</textarea>',
                      answer.text)
        self.assertNotIn('secret-pin', answer.text)
        self.assertIn('<input type="password" id="field-pin" name="pin" maxlength="1024" '
                      'minlength="4">', answer.text)
        self.assertEqual(Gadget.all().count(), 0)

    def test_valid_post_saves_the_row(self):
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/t', data={'csrf_token': token, 'name': 'Lamp',
                                              'stock': '4', 'active': '1', 'size': 'l'})
        gadget = Gadget.all().first()
        self.assertEqual(answer.text, 'saved #%d' % gadget.id)
        self.assertEqual((gadget.name, gadget.stock, gadget.active, gadget.size),
                         ('Lamp', 4, True, 'l'))

    def test_post_without_csrf_token_is_refused(self):
        self.client.get('/t')
        self.assertEqual(self.client.post('/t', data={'name': 'Lamp'}).status, 403)
        self.assertEqual(Gadget.all().count(), 0)

    def test_allowed_upload_is_saved_under_the_app_assets_with_a_random_name(self):
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/t', data={'csrf_token': token, 'name': 'Lamp'},
                                  files={'photo': ('../../My Photo.PNG', PNG_BYTES, 'image/png')})
        gadget = Gadget.all().first()
        self.assertEqual(answer.text, 'saved #%d' % gadget.id)
        self.assertRegex(gadget.photo, r'^uploads/[0-9a-f]{32}\.png$')
        with open(os.path.join(PROJECT, 'applications', 'shop', 'assets', gadget.photo),
                  'rb') as saved:
            self.assertEqual(saved.read(), PNG_BYTES)

    def test_upload_goes_to_the_shared_upload_folder_when_one_is_set(self):
        shared = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, shared)
        self.app.config['upload_folder'] = shared
        token = csrf_of(self.client.get('/t').text)
        self.client.post('/t', data={'csrf_token': token, 'name': 'Lamp'},
                         files={'photo': ('lamp.png', PNG_BYTES, 'image/png')})
        stored = Gadget.all().first().photo
        self.assertRegex(stored, r'^uploads/[0-9a-f]{32}\.png$')
        with open(os.path.join(shared, 'shop', stored.split('/')[1]), 'rb') as saved:
            self.assertEqual(saved.read(), PNG_BYTES)
        self.assertFalse(os.path.exists(uploads_folder()))

    def test_refused_upload_type_is_a_field_error_and_writes_nothing(self):
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/t', data={'csrf_token': token, 'name': 'Lamp'},
                                  files={'photo': ('evil.svg', b'<svg onload="x()">',
                                                   'image/svg+xml')})
        self.assertEqual(answer.status, 200)
        self.assertIn('<span class="error-message" id="field-photo-error">Photo must be a file of '
                      'type png, jpg.</span>', answer.text)
        self.assertEqual(Gadget.all().count(), 0)
        self.assertFalse(os.path.exists(uploads_folder()))

    def test_files_of_a_row_that_failed_to_save_are_removed(self):
        def poster():
            from kokoropy import request
            form = Form(Poster, request.forms, request.files)
            try:
                form.save()
            except RuntimeError as exc:
                return str(exc)
        self.serve(poster, '/poster')
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/poster', data={'csrf_token': token, 'title': 'boom'},
                                  files={'image': ('a.png', PNG_BYTES, 'image/png')})
        self.assertEqual(answer.text, 'refused by a hook')
        self.assertEqual(os.listdir(uploads_folder()), [])
        self.assertEqual(Poster.all().count(), 0)

    def test_edit_without_a_new_file_keeps_the_current_one(self):
        gadget = Gadget(name='Lamp', photo='uploads/old.png').save()

        def edit():
            from kokoropy import request
            form = Form(Gadget.get(gadget.id), request.forms, request.files)
            return 'saved' if form.is_valid() and form.save() else form.render()
        self.serve(edit, '/edit')
        token = csrf_of(self.client.get('/t').text)
        answer = self.client.post('/edit', data={'csrf_token': token, 'name': 'Lamp 2'})
        self.assertEqual(answer.text, 'saved')
        self.assertEqual(Gadget.get(gadget.id).photo, 'uploads/old.png')

    def test_invalid_post_with_a_new_file_still_shows_the_stored_file(self):
        gadget = Gadget(name='Lamp', photo='uploads/old.png').save()
        new_file = kokoropy.FileUpload(io.BytesIO(PNG_BYTES), 'photo', 'new.png')
        self.serve(lambda: Form(Gadget.get(gadget.id), {'name': ''}, {'photo': new_file})
                   .render(), '/edit')
        page = self.client.get('/edit').text
        self.assertIn('Current file: <a href="/shop/assets/uploads/old.png">PNG file</a>', page)
        self.assertFalse(os.path.exists(uploads_folder()))


class EscapingTest(FormCase):
    def test_markup_in_values_labels_help_and_choices_is_escaped_everywhere(self):
        maker = Maker.create(name=SCRIPT)
        form = Form(Trap, {'title': SCRIPT + '"\'', 'kind': SCRIPT, 'maker': str(maker.id)})
        form.is_valid()
        form.errors['title'] = SCRIPT       # a message carrying markup is escaped too
        html = self.render(form.render)
        self.assertNotIn('<script', html)
        escaped = '&lt;script&gt;alert(1)&lt;/script&gt;'
        self.assertIn('<label for="field-title">%s <span aria-hidden="true">*</span></label>'
                      % escaped, html)
        self.assertIn('value="%s&quot;&#x27;"' % escaped, html)
        self.assertIn('<span class="help" id="field-title-help">%s</span>' % escaped, html)
        self.assertIn('<span class="error-message" id="field-title-error">%s</span>' % escaped,
                      html)
        self.assertIn('<option value="%s" selected>%s</option>' % (escaped, escaped), html)
        self.assertIn('<option value="%d" selected>%s</option>' % (maker.id, escaped), html)

    def test_markup_in_labels_and_choices_is_escaped_in_tables_and_details_too(self):
        maker = Maker.create(name=SCRIPT)
        trap = Trap.create(title=SCRIPT, kind=SCRIPT, maker=maker)
        html = self.render(lambda: '%s\n%s' % (kokoropy.Table(Trap), kokoropy.render_detail(trap)))
        self.assertNotIn('<script', html)
        escaped = '&lt;script&gt;alert(1)&lt;/script&gt;'
        self.assertIn('<th scope="col"><a href="?sort=title">%s</a></th>' % escaped, html)
        self.assertIn('<td data-label="{0}">{0}</td>\n<td data-label="Kind">{0}</td>\n'
                      '<td data-label="Maker">{0}</td>'.format(escaped), html)
        self.assertIn('<dt>%s</dt>\n<dd>%s</dd>' % (escaped, escaped), html)

    def test_markup_in_the_submit_label_and_action_is_escaped(self):
        html = str(Form(Trap, fields=[], method='get', action='"><script>',
                        submit_label=SCRIPT).render())
        self.assertNotIn('<script', html)
        self.assertIn('action="&quot;&gt;&lt;script&gt;"', html)


class ViewOverrideTest(FormCase):
    def setUp(self):
        FormCase.setUp(self)
        views = os.path.join(PROJECT, 'applications', 'custom', 'views', 'kokoropy')
        os.makedirs(views)
        self.addCleanup(shutil.rmtree, os.path.join(PROJECT, 'applications', 'custom'))
        with open(os.path.join(views, 'form.tpl'), 'w', encoding='utf-8') as view:
            view.write('<form class="mine" method="{{method}}">{{csrf}}\n'
                       '% for field in fields:\n[{{field.label}}: {{field.widget}}]\n% end\n'
                       '</form>\n')

    def test_application_view_replaces_the_built_in_form(self):
        html = self.render(lambda: Form(Gadget, fields=['name']).render(), app_name='custom')
        self.assertRegex(html, r'^<form class="mine" method="post"><input type="hidden" '
                               r'name="csrf_token" value="[^"]+">\n\[Name: <input type="text" '
                               r'id="field-name" name="name" value="" maxlength="80" required '
                               r'aria-describedby="field-name-help">\]\n</form>$')

    def test_other_applications_keep_the_built_in_form(self):
        html = self.render(lambda: Form(Gadget, fields=['name']).render(), app_name='shop')
        self.assertTrue(html.startswith('<form class="form"'))


def readme_crud_controller():
    """The README's CRUD controller: the python block after its readme-crud-controller mark."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'README.md')
    with open(path, encoding='utf-8') as f:
        text = f.read()
    block = text.split('<!-- readme-crud-controller -->', 1)[1].split('```python\n', 1)[1]
    return block.split('```', 1)[0]


# The README's CRUD example: this exact controller must run (see CrudControllerTest).
README_CONTROLLER = readme_crud_controller()

README_MODEL = '''\
from kokoropy import Boolean, Float, Model, String, Upload


class Product(Model):
    name = String(max_length=80, required=True)
    price = Float(min_value=0)
    in_stock = Boolean()
    photo = Upload(allowed=['png', 'jpg'])
'''

README_VIEW = '''\
% extends('index/base')
{% block title %}{{title}}{% endblock %}
{% block content %}
<div class="page-header">
  <h1>{{title}}</h1>
  <a class="button button-primary" href="{{url('shop.product.edit')}}">New product</a>
</div>
{{content}}
{% endblock %}
'''


class CrudControllerTest(OnBothBackends, unittest.TestCase):
    """The README's controller in a project of its own, with the bundled index layout."""

    def setUp(self):
        self.project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.project)
        applications = os.path.join(self.project, 'applications')
        shutil.copytree(os.path.join(ROOT, 'applications', 'index'),
                        os.path.join(applications, 'index'))
        files = {'__init__.py': '', 'shop/__init__.py': '', 'shop/models/__init__.py': '',
                 'shop/controllers/__init__.py': '', 'shop/models/product.py': README_MODEL,
                 'shop/controllers/product.py': README_CONTROLLER,
                 'shop/views/product.tpl': README_VIEW}
        for relative, text in files.items():
            path = os.path.join(applications, relative)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(textwrap.dedent(text))
        self.app = Kokoro(project_path=self.project, secret='crud-test-secret')
        loaded = load_applications(self.app)
        self.assertTrue(all(application.ok for application in loaded), loaded)
        self.product = sys.modules['applications.shop.models.product'].Product
        self.database = Database(self.database_url(
            'sqlite:///' + os.path.join(self.project, 'shop.db')))
        self.addCleanup(self.database.close)
        self.database.bind(self.product)
        self.database.create_tables(self.product)
        self.client = TestClient(self.app)

    def test_readme_controller_lists_creates_shows_edits_and_deletes(self):
        client, Product = self.client, self.product
        empty = client.get('/shop/product')
        self.assertEqual(empty.status, 200)
        self.assertIn('<p class="empty">There is nothing here yet.</p>', empty.text)

        token = csrf_of(client.get('/shop/product/edit').text)
        invalid = client.post('/shop/product/edit', data={'csrf_token': token, 'price': '-1'})
        self.assertIn('<span class="error-message" id="field-name-error">Name is required.'
                      '</span>', invalid.text)
        self.assertIn('<span class="error-message" id="field-price-error">Price must be at '
                      'least 0.</span>', invalid.text)
        self.assertIn('name="price" value="-1"', invalid.text)

        created = client.post('/shop/product/edit', data={'csrf_token': token, 'name': 'Kite',
                                                          'price': '12.5', 'in_stock': '1'},
                              files={'photo': ('kite.png', PNG_BYTES, 'image/png')})
        kite = Product.all().first()
        self.assertEqual(created.status, 303)
        self.assertEqual(created.headers['Location'], '/shop/product/show/%d' % kite.id)
        shown = client.get('/shop/product/show/%d' % kite.id)
        self.assertIn('<div class="alert alert-success">Saved Kite.</div>', shown.text)
        self.assertIn('<dt>In stock</dt>\n<dd class="cell-boolean">Yes</dd>', shown.text)
        self.assertIn('<img class="detail-image" src="/shop/%s" alt="Photo of Kite">'
                      % ('assets/' + kite.photo), shown.text)
        served = client.get('/shop/assets/' + kite.photo)
        self.assertEqual((served.status, served.body), (200, PNG_BYTES))

        listed = client.get('/shop/product?sort=-name')
        self.assertIn('<th scope="col" aria-sort="descending"><a href="?sort=name">Name</a></th>',
                      listed.text)
        self.assertIn('<a class="button button-small" href="/shop/product/edit/%d">Edit</a>'
                      % kite.id, listed.text)

        edited = client.post('/shop/product/edit/%d' % kite.id,
                             data={'csrf_token': token, 'name': 'Big kite', 'price': '20'})
        self.assertEqual(edited.status, 303)
        kite = Product.get(kite.id)
        self.assertEqual((kite.name, kite.price, kite.in_stock), ('Big kite', 20.0, False))
        self.assertRegex(kite.photo, r'^uploads/[0-9a-f]{32}\.png$')

        confirm = client.get('/shop/product/delete/%d' % kite.id)
        self.assertIn('<h1>Delete Big kite?</h1>', confirm.text)
        self.assertIn('<button type="submit" class="button button-primary">Delete</button>',
                      confirm.text)
        deleted = client.post('/shop/product/delete/%d' % kite.id, data={'csrf_token': token})
        self.assertEqual(deleted.status, 303)
        self.assertEqual(Product.all().count(), 0)
        self.assertEqual(client.get('/shop/product/show/%d' % kite.id).status, 404)


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
