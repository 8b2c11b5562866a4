"""A health check for load balancers and monitoring: is this host able to serve pages?"""
import logging

from kokoropy import default_database, response

log = logging.getLogger('kokoropy')


def healthz():
    """200 and {"status": "ok"} when the database answers, else 503 (the load balancer then
    sends visitors to the other hosts). The reason goes to the log, never to the client."""
    response.headers['Cache-Control'] = 'no-store'
    try:
        default_database().execute('SELECT 1').fetchall()
    except Exception as exc:
        log.warning('health check: the database does not answer: %s: %s',
                    exc.__class__.__name__, exc)
        response.status = 503
        return {'status': 'unavailable', 'database': 'unavailable'}
    return {'status': 'ok', 'database': 'ok'}
