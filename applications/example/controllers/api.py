"""JSON API of the example application: handlers return dicts and lists, sent as JSON."""
import sqlite3

from kokoropy import HTTPResponse, csrf_exempt, json_dumps, request

from ..models import Pokemon


def api_index():
    """What this API offers."""
    return {'endpoints': ['/example/api/pokemon', '/example/api/pokemon/<id>',
                          '/example/api/hello/<name>', 'POST /example/api/echo']}


def api_pokemon():
    """Every pokemon (?search= filters by name)."""
    search = request.query.get('search', '')
    query = Pokemon.where(name__contains=search) if search else Pokemon.all()
    try:
        return {'pokemon': [_public(p) for p in query]}
    except sqlite3.OperationalError:
        return _json_error(503, 'The pokemon table does not exist yet: run '
                                'python rossian.py migration-upgrade')


def api_pokemon_one(id):
    """One pokemon by id, or 404."""
    try:
        found = Pokemon.get(id)
    except sqlite3.OperationalError:
        return _json_error(503, 'The pokemon table does not exist yet: run '
                                'python rossian.py migration-upgrade')
    if found is None:
        return _json_error(404, 'No pokemon with id %d.' % id)
    return _public(found)


def api_hello(name):
    """A greeting as JSON."""
    return {'message': 'Hello, %s!' % name}


@csrf_exempt
def api_echo():
    """Send back the JSON body. Exempt from the CSRF check, as a JSON API that uses no session
    or cookie may be: a request from another site can do nothing here that it could not do
    itself."""
    return {'received': request.json}


def _public(pokemon):
    return {'id': pokemon.id, 'name': pokemon.name, 'type': pokemon.type,
            'image': request.script_name + '/example/assets/images/' + pokemon.image}


def _json_error(status, message):
    return HTTPResponse(json_dumps({'error': message}), status,
                        Content_Type='application/json')
