"""URLs of the example application: (url, handler[, methods[, name]]).

The pokemon list needs no entry here: controllers/pokemon.py is an Autoroute_Controller,
published at /example/pokemon by naming convention.
"""
from .controllers import api, demos

urls = [
    ('/example', demos.index, 'GET', 'example.index'),
    ('/example/hello', demos.hello, 'GET', 'example.hello'),
    ('/example/hello/<name>', demos.hello, 'GET', 'example.hello_name'),
    ('/example/session', demos.session_demo, 'GET', 'example.session'),
    ('/example/session', demos.session_save, 'POST'),
    ('/example/session/reset', demos.session_reset, 'POST', 'example.session_reset'),
    ('/example/plot', demos.plot_page, 'GET', 'example.plot'),
    ('/example/plot.png', demos.plot_png, 'GET', 'example.plot_png'),
    ('/example/api', api.api_index, 'GET', 'example.api'),
    ('/example/api/pokemon', api.api_pokemon, 'GET', 'example.api_pokemon'),
    ('/example/api/pokemon/<id:int>', api.api_pokemon_one, 'GET', 'example.api_pokemon_one'),
    ('/example/api/hello/<name>', api.api_hello, 'GET', 'example.api_hello'),
    ('/example/api/echo', api.api_echo, 'POST', 'example.api_echo'),
]
