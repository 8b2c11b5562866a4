"""The Pokemon model of the MVC demo (table `example_pokemon`, see migrations/)."""
from kokoropy import Model, String


class Pokemon(Model):
    """A pokemon with a picture (a file in example/assets/images/) and an elemental type."""

    table_name = 'example_pokemon'     # bundled applications prefix their tables
    name = String(max_length=40, required=True, unique=True)
    image = String(max_length=255)
    type = String(max_length=20)
    default_order = ('name',)
