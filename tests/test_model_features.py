"""Tests of the model features of issue 7: lifecycle hooks, soft delete and ordering."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import OnBothBackends, sqlite_only, with_postgresql  # noqa: E402
from kokoropy import Database, Integer, Model, String, ValidationError  # noqa: E402

CALLS = []


class Note(Model):
    title = String(required=True)
    slug = String()

    def before_save(self):
        CALLS.append('before_save')
        self.slug = (self.title or '').lower().replace(' ', '-')
        if self.title == 'abort before':
            raise RuntimeError('refused by before_save')

    def before_insert(self):
        CALLS.append('before_insert')

    def after_insert(self):
        CALLS.append('after_insert')
        if self.title == 'abort after':
            raise RuntimeError('refused by after_insert')

    def before_update(self):
        CALLS.append('before_update')

    def after_update(self):
        CALLS.append('after_update')

    def after_save(self):
        CALLS.append('after_save')

    def before_delete(self):
        CALLS.append('before_delete')
        if self.title == 'keep me':
            raise PermissionError('this note stays')

    def after_delete(self):
        CALLS.append('after_delete')


class AuditLog(Model):
    message = String()


class Post(Model):
    soft_delete = True
    title = String(required=True)

    def before_trash(self):
        CALLS.append('before_trash')
        if self.title == 'pinned':
            raise PermissionError('pinned posts stay')

    def after_trash(self):
        CALLS.append('after_trash')
        AuditLog.create(message='trashed %s' % self.title)

    def before_untrash(self):
        CALLS.append('before_untrash')

    def after_untrash(self):
        CALLS.append('after_untrash')


class Slide(Model):
    ordered = True
    caption = String()


class Chapter(Model):
    ordered = True
    soft_delete = True
    name = String()


class Ranked(Model):
    default_order = ('-score', 'name')
    name = String()
    score = Integer()


MODELS = (Note, AuditLog, Post, Slide, Chapter, Ranked)


class FeatureTestCase(OnBothBackends, unittest.TestCase):
    def setUp(self):
        del CALLS[:]
        self.db = Database(self.database_url())
        self.db.bind(*MODELS)
        self.db.create_tables(*MODELS)
        self.addCleanup(self.db.close)


class HookTest(FeatureTestCase):
    def test_insert_hooks_run_in_order(self):
        note = Note.create(title='Hello World')
        self.assertEqual(CALLS, ['before_save', 'before_insert', 'after_insert', 'after_save'])
        self.assertEqual(Note.get(note.id).slug, 'hello-world')

    def test_update_hooks_run_in_order(self):
        note = Note.create(title='Hello')
        del CALLS[:]
        note.title = 'Hello Again'
        note.save()
        self.assertEqual(CALLS, ['before_save', 'before_update', 'after_update', 'after_save'])
        self.assertEqual(Note.get(note.id).slug, 'hello-again')

    def test_before_save_runs_before_validation(self):
        with self.assertRaises(ValidationError):
            Note.create(title='')
        self.assertEqual(CALLS, ['before_save', 'before_insert'])

    def test_raising_before_hook_aborts_the_save(self):
        with self.assertRaisesRegex(RuntimeError, 'refused by before_save'):
            Note.create(title='abort before')
        self.assertEqual(Note.all().count(), 0)

    def test_raising_after_hook_rolls_the_insert_back(self):
        with self.assertRaisesRegex(RuntimeError, 'refused by after_insert'):
            Note.create(title='abort after')
        self.assertEqual(Note.all().count(), 0)

    def test_aborted_save_inside_a_transaction_keeps_earlier_work(self):
        with self.db.transaction():
            Note.create(title='first')
            with self.assertRaises(RuntimeError):
                Note.create(title='abort after')
        self.assertEqual([note.title for note in Note.all()], ['first'])

    def test_delete_hooks_and_aborted_delete(self):
        note = Note.create(title='Bye')
        del CALLS[:]
        note.delete()
        self.assertEqual(CALLS, ['before_delete', 'after_delete'])
        kept = Note.create(title='keep me')
        with self.assertRaisesRegex(PermissionError, 'this note stays'):
            kept.delete()
        self.assertIsNotNone(Note.get(kept.id))

    def test_trash_hooks_run_inside_the_transaction(self):
        post = Post.create(title='Old news')
        post.trash()
        post.untrash()
        self.assertEqual(CALLS, ['before_trash', 'after_trash', 'before_untrash',
                                 'after_untrash'])
        self.assertEqual([log.message for log in AuditLog.all()], ['trashed Old news'])
        pinned = Post.create(title='pinned')
        with self.assertRaises(PermissionError):
            pinned.trash()
        self.assertFalse(Post.get(pinned.id).is_trashed)


class SoftDeleteTest(FeatureTestCase):
    def setUp(self):
        FeatureTestCase.setUp(self)
        self.kept = Post.create(title='kept')
        self.gone = Post.create(title='gone')
        self.gone.trash()

    def titles(self, query):
        return sorted(post.title for post in query)

    def test_soft_delete_adds_trashed_at(self):
        self.assertIn('trashed_at', Post._fields)
        self.assertIn('trashed_at', self.db.columns('post'))
        self.assertTrue(self.gone.is_trashed)
        self.assertIsNotNone(self.gone.trashed_at)

    def test_queries_skip_trashed_rows(self):
        self.assertEqual(self.titles(Post.all()), ['kept'])
        self.assertEqual(Post.all().count(), 1)
        self.assertEqual(self.titles(Post.where(title='gone')), [])
        self.assertIsNone(Post.get(self.gone.id))
        self.assertEqual(Post.get(self.gone.id, with_trashed=True).title, 'gone')

    def test_with_trashed_and_only_trashed(self):
        self.assertEqual(self.titles(Post.all().with_trashed()), ['gone', 'kept'])
        self.assertEqual(self.titles(Post.all().only_trashed()), ['gone'])
        self.assertEqual(Post.all().only_trashed().count(), 1)

    def test_untrash_brings_the_row_back(self):
        Post.all().only_trashed().first().untrash()
        self.assertEqual(self.titles(Post.all()), ['gone', 'kept'])

    def test_delete_removes_for_good(self):
        self.gone.delete()
        self.assertEqual(self.titles(Post.all().with_trashed()), ['kept'])

    def test_saving_a_stale_instance_does_not_untrash(self):
        stale = Post.get(self.kept.id)
        self.kept.trash()
        stale.title = 'edited'
        stale.save()
        self.assertEqual(self.titles(Post.all().only_trashed()), ['edited', 'gone'])

    def test_trash_on_a_plain_model_is_refused(self):
        with self.assertRaisesRegex(TypeError, 'soft_delete = True'):
            Note.create(title='x').trash()


class OrderingTest(FeatureTestCase):
    def setUp(self):
        FeatureTestCase.setUp(self)
        self.slides = [Slide.create(caption=caption) for caption in 'ABCD']

    def captions(self):
        return ''.join(slide.caption for slide in Slide.all())

    def test_new_rows_go_last_and_queries_sort_by_position(self):
        self.assertEqual([slide.position for slide in self.slides], [1, 2, 3, 4])
        self.assertEqual(self.captions(), 'ABCD')
        self.assertEqual(Slide.all().first().caption, 'A')

    def test_move_up_and_down(self):
        self.slides[2].move_up()
        self.assertEqual(self.captions(), 'ACBD')
        self.slides[0].move_down()
        self.assertEqual(self.captions(), 'CABD')
        self.assertEqual(self.slides[0].position, 2)

    def test_moves_past_the_ends_change_nothing(self):
        self.slides[0].move_up()
        self.slides[3].move_down()
        self.assertEqual(self.captions(), 'ABCD')

    def test_move_to(self):
        self.slides[3].move_to(1)
        self.assertEqual(self.captions(), 'DABC')
        self.slides[3].move_to(3)
        self.assertEqual(self.captions(), 'ABDC')
        self.slides[0].move_to(99)
        self.assertEqual(self.captions(), 'BDCA')
        self.assertEqual([s.position for s in Slide.all()], [1, 2, 3, 4])

    def test_explicit_order_by_wins_over_position(self):
        self.slides[3].move_to(1)
        self.assertEqual(''.join(s.caption for s in Slide.all().order_by('caption')), 'ABCD')

    def test_saving_a_stale_instance_keeps_the_new_position(self):
        stale = Slide.get(self.slides[0].id)
        self.slides[0].move_to(4)
        stale.caption = 'A2'
        stale.save()
        self.assertEqual([s.caption for s in Slide.all()], ['B', 'C', 'D', 'A2'])

    def test_ordering_with_soft_delete_counts_visible_rows(self):
        chapters = [Chapter.create(name=name) for name in 'XYZ']
        chapters[1].trash()
        chapters[2].move_to(1)
        self.assertEqual([c.name for c in Chapter.all()], ['Z', 'X'])
        with self.assertRaisesRegex(LookupError, 'trashed'):
            chapters[1].move_up()

    def test_move_on_a_plain_model_is_refused(self):
        with self.assertRaisesRegex(TypeError, 'ordered = True'):
            Note.create(title='x').move_up()

    def test_default_order_class_option(self):
        for name, score in (('b', 1), ('a', 5), ('c', 5)):
            Ranked.create(name=name, score=score)
        self.assertEqual([r.name for r in Ranked.all()], ['a', 'c', 'b'])


with_postgresql(globals())


if __name__ == '__main__':
    unittest.main()
