"""Sites made before the bundled tables took their application's name keep the demo's rows in
`pokemon`: move them to example_pokemon. On a fresh site 0001 made example_pokemon already, and
a `pokemon` table there belongs to another application: nothing to do."""


def upgrade(db):
    if db.table_exists('pokemon') and not db.table_exists('example_pokemon'):
        db.rename_table('pokemon', 'example_pokemon')


def downgrade(db):
    pass    # the rows stay in example_pokemon, where the model looks for them
