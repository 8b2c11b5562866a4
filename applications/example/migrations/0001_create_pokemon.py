"""Create the example_pokemon table of the MVC demo and fill it with a few rows.

Bundled applications prefix their tables with their name, so that a `pokemon` table of your
own (as in the original Kokoropy's tutorial) is free.
"""
import datetime

from kokoropy import String

SEED = [
    ('Bulbasaur', 'bulbasaur.svg', 'grass'),
    ('Charmander', 'charmander.svg', 'fire'),
    ('Squirtle', 'squirtle.svg', 'water'),
    ('Pikachu', 'pikachu.svg', 'electric'),
    ('Jigglypuff', 'jigglypuff.svg', 'fairy'),
    ('Eevee', 'eevee.svg', 'normal'),
]


def upgrade(db):
    db.create_table('example_pokemon', {
        'name': String(max_length=40, required=True, unique=True),
        'image': String(max_length=255),
        'type': String(max_length=20),
    })
    now = datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M:%S.%f')
    db.executemany('INSERT INTO example_pokemon (name, image, type, created_at, updated_at) '
                   'VALUES (?, ?, ?, ?, ?)', [row + (now, now) for row in SEED])


def downgrade(db):
    db.drop_table('example_pokemon')
