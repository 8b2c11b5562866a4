"""The MVC demo's controller, published by Autoroute_Controller (no routes.py entry needed)."""
import sqlite3

from kokoropy import Autoroute_Controller

from ..models import Pokemon


class PokemonController(Autoroute_Controller):
    """/example/pokemon lists every pokemon; /example/pokemon/<search> (or ?search=...) lists
    those whose name contains `search`. The controller is named after its module: pokemon."""

    def get_index(self, search=''):
        try:
            found = list(Pokemon.where(name__contains=search) if search else Pokemon.all())
        except sqlite3.OperationalError as exc:
            if 'no such table' not in str(exc):
                raise
            return self.render('pokemon_missing')
        return self.render('pokemon', pokemon=found, search=search)
