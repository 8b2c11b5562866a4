"""The original Kokoropy's tutorial, step by step, on a fresh project served under
--baseurl=/kokoropy/: an application `demo` whose Pokemon model owns a table called `pokemon`
(the bundled example keeps its own rows in example_pokemon), an autorouted controller, a view
with a block and rebase('index/views/base'), the same pages by manual routes, a custom 404."""
import os
import sqlite3
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from support import Browser, ProjectTestCase  # noqa: E402

MY_MODEL = '''\
from kokoropy import Model, String, Upload


class Pokemon(Model):
    name = String(50, required=True)
    image = Upload()


class My_Model(object):
    """Get the pokemon."""

    def get_pokemon(self, keyword=None):
        query = Pokemon.all().order_by('name')
        return query.where(name__contains=keyword) if keyword else query
'''

MY_CONTROLLER = '''\
from kokoropy import Autoroute_Controller, load_view


class My_Controller(Autoroute_Controller):

    def __init__(self):
        # import models
        from ..models.my_model import My_Model
        self.model = My_Model()

    def action_pokemon(self, keyword=None):
        # get pokemons
        pokemon_list = self.model.get_pokemon(keyword)
        return load_view('demo', 'my_view', pokemon_list=pokemon_list)
'''

MY_VIEW = '''\
{% block content %}
<h3>Pokemon List</h3>
<table class="table">
% for pokemon in pokemon_list:
    <tr>
        <td>{{ pokemon.name }}</td>
        <td>
%   if not pokemon.image:
            No image available
%   else:
            <img src="{{ base_url('demo/assets/' + pokemon.image) }}" style="height:65px;">
%   end
        </td>
    </tr>
% end
</table>
{% endblock %}
% rebase('index/views/base', title='Pokemon List')
'''

MANUAL_ROUTES = '''

# The same pages by manual routing, and a page of our own for 404.
from kokoropy import load_view  # noqa: E402
from applications.demo.models.my_model import My_Model  # noqa: E402


def pokemon(keyword=None):
    return load_view('demo', 'my_view', pokemon_list=My_Model().get_pokemon(keyword))


def not_found(error):
    return '<h1>Lost?</h1><p>There is nothing at this address.</p>'


urls = urls + [('/demo/pokemon', pokemon), ('/demo/pokemon/<keyword>', pokemon)]
errors = [(404, not_found)]
'''

SEED = '''\
from applications.demo.models.my_model import Pokemon
for name in ('Bulbasaur', 'Charmander', 'Squirtle'):
    Pokemon.create(name=name, image='uploads/%s.png' % name.lower())
print(Pokemon.all().count())
'''


class OriginalTutorialTest(ProjectTestCase):
    def test_the_tutorial_runs_verbatim_under_a_base_url(self):
        self.assertSucceeds('scaffold-application', 'demo')
        self.project.write('applications/demo/models/my_model.py', MY_MODEL)
        self.assertSucceeds('scaffold-migration', 'demo', 'create_pokemon', 'pokemon',
                            'name:string', 'image:upload')
        self.assertIn('applied demo/migrations/0001_create_pokemon.py',
                      self.assertSucceeds('migration-upgrade', 'demo').stdout)
        self.assertIn('applied example/migrations/0001_create_pokemon.py',
                      self.assertSucceeds('migration-upgrade').stdout)
        os.makedirs(self.project.path('applications', 'demo', 'assets', 'uploads'))
        for name in ('bulbasaur', 'charmander', 'squirtle'):
            self.project.write('applications/demo/assets/uploads/%s.png' % name, name)
        seeded = self.project.rossian('shell', '-c', SEED)
        self.assertEqual(seeded.stdout, '3\n', seeded.stderr)
        self.project.write('applications/demo/controllers/my_controller.py', MY_CONTROLLER)
        self.project.write('applications/demo/views/my_view.tpl', MY_VIEW)
        self.project.write('applications/demo/routes.py',
                           self.project.read('applications', 'demo', 'routes.py') +
                           MANUAL_ROUTES)

        server = self.project.start('--baseurl=/kokoropy/')
        browser = Browser(server)
        for path in ('/kokoropy/demo/my_controller/pokemon', '/kokoropy/demo/pokemon'):
            with self.subTest(path=path):
                page = browser.get(path)
                self.assertEqual(page.status, 200, page.text)
                self.assertIn('<title>Pokemon List · Kokoropy</title>', page.text)
                self.assertIn('<h3>Pokemon List</h3>', page.text)
                for name in ('Bulbasaur', 'Charmander', 'Squirtle'):
                    self.assertIn('<td>%s</td>' % name, page.text)
                image = server.url('/kokoropy/demo/assets/uploads/bulbasaur.png')
                self.assertIn('<img src="%s"' % image, page.text)
                found = browser.get(path + '/sa')
                self.assertIn('<td>Bulbasaur</td>', found.text)
                self.assertNotIn('Squirtle', found.text)
        picture = browser.get('/kokoropy/demo/assets/uploads/squirtle.png')
        self.assertEqual((picture.status, picture.text), (200, 'squirtle'))
        lost = browser.get('/kokoropy/no/such/page')
        self.assertEqual((lost.status, lost.text),
                         (404, '<h1>Lost?</h1><p>There is nothing at this address.</p>'))
        demo = browser.get('/kokoropy/example/pokemon')
        self.assertIn('Pikachu', demo.text)


class TableOwnershipTest(ProjectTestCase):
    OWNED = ("table 'example_pokemon' belongs to application example "
             "(applications/example/migrations/0001_create_pokemon.py): choose another name, set "
             "table_name, or give demo its own DATABASE_URL")

    def test_no_command_of_another_application_writes_onto_a_table(self):
        self.assertSucceeds('scaffold-application', 'demo')
        self.assertUsageError(['scaffold-migration', 'demo', 'add_colour', 'example_pokemon',
                               'colour:string'], self.OWNED)
        self.assertUsageError(['scaffold-model', 'demo', 'example_pokemon', 'colour:string'],
                              self.OWNED)
        self.assertUsageError(['scaffold-crud', 'demo', 'example_pokemon', 'colour:string'],
                              self.OWNED)
        self.project.write('applications/demo/models/catch.py',
                           'from kokoropy import Model, String\n\n\nclass Catch(Model):\n'
                           "    table_name = 'example_pokemon'\n    name = String()\n")
        self.assertUsageError(['scaffold-crud', 'demo', 'catch'], self.OWNED)

    def test_the_owner_may_still_change_its_own_table(self):
        self.assertSucceeds('migration-upgrade')
        self.assertSucceeds('scaffold-migration', 'example', 'add_colour', 'example_pokemon',
                            'colour:string')


BROKEN_MIGRATION = ('def upgrade(db):\n    db.execute("CREATE TABLE half (x)")\n'
                    '    raise ValueError("no luck")\n\n\ndef downgrade(db):\n    pass\n')


class FailingMigrationTest(ProjectTestCase):
    def setUp(self):
        ProjectTestCase.setUp(self)
        self.assertSucceeds('scaffold-application', 'aardvark')     # migrated before example
        self.project.write('applications/aardvark/migrations/0001_broken.py', BROKEN_MIGRATION)
        self.assertSucceeds('scaffold-model', 'zoo', 'animal', 'name:string')

    def test_upgrade_names_the_failure_and_still_migrates_the_other_applications(self):
        result = self.rossian('migration-upgrade')
        self.assertEqual(result.returncode, 1)
        self.assertEqual(result.stderr, 'rossian: error: aardvark/migrations/0001_broken.py failed '
                         'during upgrade and was rolled back: ValueError: no luck\n')
        self.assertIn('applied example/migrations/0001_create_pokemon.py', result.stdout)
        self.assertIn('applied zoo/migrations/0001_create_animal.py', result.stdout)
        self.assertEqual(self.project.columns('half'), [])
        self.assertEqual(self.project.columns('animal')[:2], ['id', 'name'])
        log = self.assertSucceeds('migration-log').stdout
        self.assertRegex(log, r'pending\s+aardvark\s+0001_broken')

    def test_start_serves_the_other_applications_and_warns(self):
        server = self.project.start()
        browser = Browser(server)
        self.assertEqual(browser.get('/example/pokemon').status, 200)
        self.assertEqual(browser.get('/zoo').status, 200)
        self.assertIn('rossian: warning: aardvark/migrations/0001_broken.py failed during '
                      'upgrade and was rolled back: ValueError: no luck; the other '
                      'applications are served\n', server.output())


class ApplicationDatabaseTest(ProjectTestCase):
    """shop keeps `note` in the site database, blog keeps its own `note` in db/blog.db."""

    def setUp(self):
        ProjectTestCase.setUp(self)
        self.assertSucceeds('scaffold-crud', 'shop', 'note', 'text:string:required')
        self.assertSucceeds('scaffold-application', 'blog')
        self.project.write('applications/blog/__init__.py',
                           self.project.read('applications', 'blog', '__init__.py') +
                           "DATABASE_URL = 'sqlite:///db/blog.db'\n")
        self.assertSucceeds('scaffold-crud', 'blog', 'note', 'title:string:required')
        self.assertSucceeds('migration-upgrade')

    def tables(self, database):
        connection = sqlite3.connect(self.project.path('db', database))
        try:
            return sorted(row[0] for row in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"))
        finally:
            connection.close()

    def history(self, database):
        connection = sqlite3.connect(self.project.path('db', database))
        try:
            return sorted(connection.execute('SELECT application, version FROM '
                                             'kokoropy_migrations').fetchall())
        finally:
            connection.close()

    def test_each_application_migrates_and_records_its_own_database(self):
        self.assertEqual(self.tables('blog.db'), ['kokoropy_migrations', 'note'])
        self.assertEqual(self.history('blog.db'), [('blog', 1)])
        self.assertIn('note', self.tables('kokoropy.db'))
        self.assertEqual(self.history('kokoropy.db'), [('example', 1), ('example', 2),
                                                       ('shop', 1)])
        self.assertEqual(self.project.columns('note'), ['id', 'text', 'created_at',
                                                        'updated_at'])
        log = self.assertSucceeds('migration-log').stdout
        self.assertRegex(log, r'blog\s+0001_create_note')
        self.assertRegex(log, r'shop\s+0001_create_note')
        self.assertIn('reverted blog/migrations/0001_create_note.py',
                      self.assertSucceeds('migration-downgrade', 'blog').stdout)
        self.assertEqual(self.tables('blog.db'), ['kokoropy_migrations'])
        self.assertIn('note', self.tables('kokoropy.db'))

    def test_both_applications_serve_their_own_rows_through_their_pages(self):
        server = self.project.start()
        browser = Browser(server)
        token = browser.csrf('/shop/note/new')
        self.assertEqual(browser.post('/shop/note/new', {'text': 'in the site database',
                                                         'csrf_token': token}).status, 303)
        token = browser.csrf('/blog/note/new')
        self.assertEqual(browser.post('/blog/note/new', {'title': 'in blog.db',
                                                         'csrf_token': token}).status, 303)
        self.assertIn('in the site database', browser.get('/shop/note').text)
        self.assertNotIn('in blog.db', browser.get('/shop/note').text)
        self.assertIn('in blog.db', browser.get('/blog/note').text)
        counted = self.rossian('shell', '-c', 'print(shop_Note.all().count(), '
                               'blog_Note.all().count(), blog_Note._database.path[-7:])')
        self.assertEqual(counted.stdout, '1 1 blog.db\n', counted.stderr)
        result = self.rossian('test')
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn('Ran 12 tests', result.stderr + result.stdout)

    def test_a_dump_loads_back_into_both_databases(self):
        self.rossian('shell', '-c', "shop_Note.create(text='site'); blog_Note.create(title='own')")
        dump = self.rossian('db-dump').stdout
        self.project.write('site.json', dump)
        self.rossian('shell', '-c', "shop_Note.create(text='later'); blog_Note.create(title='x')")
        loaded = self.rossian('db-load', 'site.json', '--replace')
        self.assertEqual(loaded.returncode, 0, loaded.stderr)
        self.assertEqual(self.rossian('db-dump').stdout, dump)

    def test_a_reference_to_a_model_in_another_database_is_refused(self):
        self.project.write('applications/blog/models/link.py',
                           'from kokoropy import ForeignKey, Model\n'
                           'from applications.shop.models.note import Note\n\n\n'
                           'class Link(Model):\n    note = ForeignKey(Note)\n')
        result = self.rossian('shell', '-c', 'from applications.blog.models.link import Link\n'
                              'Link.note.related_model')
        self.assertEqual(result.returncode, 1)
        self.assertIn('FieldError: ForeignKey Link.note refers to applications.shop.models.note.'
                      'Note, whose rows live in another database (the site database, not ',
                      result.stderr)


if __name__ == '__main__':
    unittest.main()
