"""The Pokemon model of the MVC demo (table `pokemon`, see migrations/0001_create_pokemon.py)."""
from kokoropy import Model, String


class Pokemon(Model):
    """A pokemon with a picture (a file in example/assets/images/) and an elemental type."""

    name = String(max_length=40, required=True, unique=True)
    image = String(max_length=255)
    type = String(max_length=20)
    default_order = ('name',)
