"""Uploaded files go when their row does: Database.on_commit(), and the file of a deleted row
or of an upload replaced through a Form removed once the transaction commits (issue 12)."""
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import (Database, Form, Kokoro, Model, String, TestClient, Upload,  # noqa: E402
                      default_app, request)


class Photo(Model):
    table_name = 'removal_photo'
    title = String(max_length=40)
    image = Upload(allowed=['png'])


class Record(Model):
    table_name = 'removal_record'
    title = String(max_length=40)
    scan = Upload(allowed=['png'], keep_files=True)


class ShopPhoto(Model):
    """A model as applications/shop/models/ would declare it."""
    __module__ = 'applications.shop.models.photo'
    table_name = 'removal_shop_photo'
    image = Upload(allowed=['png'])


PNG = b'\x89PNG\r\n\x1a\n'


class OnCommitTest(unittest.TestCase):

    def setUp(self):
        self.db = Database(':memory:')
        self.db.execute('CREATE TABLE t (a INTEGER)')
        self.calls = []

    def remember(self, name):
        return lambda: self.calls.append(name)

    def test_outside_a_transaction_runs_at_once(self):
        self.db.on_commit(self.remember('now'))
        self.assertEqual(self.calls, ['now'])

    def test_runs_after_the_outermost_commit(self):
        with self.db.transaction():
            self.db.on_commit(self.remember('outer'))
            with self.db.transaction():
                self.db.on_commit(self.remember('inner'))
            self.assertEqual(self.calls, [])
        self.assertEqual(self.calls, ['outer', 'inner'])

    def test_never_runs_after_a_rollback(self):
        with self.assertRaises(ZeroDivisionError):
            with self.db.transaction():
                self.db.on_commit(self.remember('lost'))
                1 / 0
        with self.db.transaction():
            pass
        self.assertEqual(self.calls, [])

    def test_a_rolled_back_savepoint_drops_only_its_own(self):
        with self.db.transaction():
            self.db.on_commit(self.remember('kept'))
            try:
                with self.db.transaction():
                    self.db.on_commit(self.remember('dropped'))
                    raise KeyError('x')
            except KeyError:
                pass
        self.assertEqual(self.calls, ['kept'])

    def test_a_failing_callback_is_logged_and_the_others_run(self):
        with self.assertLogs('kokoropy', 'ERROR'):
            with self.db.transaction():
                self.db.on_commit(lambda: 1 / 0)
                self.db.on_commit(self.remember('after'))
        self.assertEqual(self.calls, ['after'])


class UploadRemovalTest(unittest.TestCase):

    def setUp(self):
        self.project = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.project)
        self.db = Database(os.path.join(self.project, 'site.db'))
        self.db.bind(Photo, Record, ShopPhoto)
        self.db.create_tables(Photo, Record, ShopPhoto)
        self.addCleanup(self.db.close)
        self.app = Kokoro(project_path=self.project, secret='s', csrf=False)
        self.uploads = os.path.join(self.project, 'applications', 'shop', 'assets', 'uploads')
        self.app.route('/photo/new', 'POST', self.create, app_name='shop')
        self.app.route('/photo/<photo_id:int>', 'POST', self.edit, app_name='shop')
        self.app.route('/photo/<photo_id:int>/delete', 'POST', self.delete, app_name='shop')
        self.app.route('/record/new', 'POST', self.create_record, app_name='shop')
        self.app.route('/record/<record_id:int>/delete', 'POST', self.delete_record,
                       app_name='shop')
        self.client = TestClient(self.app)

    def create(self):
        return str(Form(Photo, request.forms, request.files).save().id)

    def edit(self, photo_id):
        form = Form(Photo.get(photo_id), request.forms, request.files)
        if request.forms.get('fail'):
            try:
                with self.db.transaction():
                    form.save()
                    raise RuntimeError('rolled back')
            except RuntimeError:
                return 'rolled back'
        form.save()
        return 'saved'

    def delete(self, photo_id):
        Photo.get(photo_id).delete()
        return 'deleted'

    def create_record(self):
        return str(Form(Record, request.forms, request.files).save().id)

    def delete_record(self, record_id):
        Record.get(record_id).delete()
        return 'deleted'

    def upload(self, path, name='a.png', **fields):
        return self.client.post(path, data=dict(fields, title='t'),
                                files={'image': (name, PNG, 'image/png'),
                                       'scan': (name, PNG, 'image/png')})

    def stored_file(self, value):
        return os.path.join(self.uploads, value.split('/', 1)[1])

    def test_replaced_upload_is_removed(self):
        photo_id = int(self.upload('/photo/new').text)
        first = Photo.get(photo_id).image
        self.assertTrue(os.path.isfile(self.stored_file(first)))
        self.assertEqual(self.upload('/photo/%d' % photo_id, 'b.png').text, 'saved')
        second = Photo.get(photo_id).image
        self.assertNotEqual(first, second)
        self.assertFalse(os.path.exists(self.stored_file(first)))
        self.assertTrue(os.path.isfile(self.stored_file(second)))

    def test_saving_without_a_new_file_keeps_the_current_one(self):
        photo_id = int(self.upload('/photo/new').text)
        first = Photo.get(photo_id).image
        self.assertEqual(self.client.post('/photo/%d' % photo_id, data={'title': 'u'}).text,
                         'saved')
        self.assertEqual(Photo.get(photo_id).image, first)
        self.assertTrue(os.path.isfile(self.stored_file(first)))

    def test_deleted_row_takes_its_file_along(self):
        photo_id = int(self.upload('/photo/new').text)
        stored = self.stored_file(Photo.get(photo_id).image)
        self.assertEqual(self.client.post('/photo/%d/delete' % photo_id).text, 'deleted')
        self.assertFalse(os.path.exists(stored))

    def test_rolled_back_replacement_keeps_the_old_file(self):
        photo_id = int(self.upload('/photo/new').text)
        first = Photo.get(photo_id).image
        answer = self.upload('/photo/%d' % photo_id, 'b.png', fail='1')
        self.assertEqual(answer.text, 'rolled back')
        self.assertEqual(Photo.get(photo_id).image, first)
        self.assertTrue(os.path.isfile(self.stored_file(first)))

    def test_keep_files_keeps_them(self):
        record_id = int(self.upload('/record/new').text)
        stored = self.stored_file(Record.get(record_id).scan)
        self.client.post('/record/%d/delete' % record_id)
        self.assertTrue(os.path.isfile(stored))
        self.assertIn("keep_files=True", Record.scan.declaration())

    def test_a_value_naming_another_file_is_never_removed(self):
        victim = os.path.join(self.project, 'site.db')
        for value in ['../../../site.db', 'uploads/../../../../site.db', victim, 'uploads/.x']:
            photo = Photo.create(title='t', image=value)
            self.assertEqual(self.client.post('/photo/%d/delete' % photo.id).text, 'deleted')
        self.assertTrue(os.path.isfile(victim))

    def test_deleting_outside_a_request_removes_the_file_of_an_applications_model(self):
        os.makedirs(self.uploads)
        stored = os.path.join(self.uploads, 'abc.png')
        with open(stored, 'wb') as f:
            f.write(PNG)
        photo = ShopPhoto.create(image='uploads/abc.png')
        with mock.patch.dict(default_app().config, project_path=self.project,
                             applications_path=None):
            photo.delete()
        self.assertFalse(os.path.exists(stored))

    def test_deleting_outside_a_request_leaves_a_file_no_application_owns(self):
        photo_id = int(self.upload('/photo/new').text)
        stored = self.stored_file(Photo.get(photo_id).image)
        Photo.get(photo_id).delete()
        self.assertTrue(os.path.isfile(stored))


if __name__ == '__main__':
    unittest.main()
