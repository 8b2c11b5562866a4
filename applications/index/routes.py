"""URLs of the home application. Its layout and CSS are used by every other application."""
from .controllers.health import healthz
from .controllers.home import favicon, home

urls = [
    ('/', home, 'GET', 'index.home'),
    # Browsers ask for /favicon.ico whatever the page says; answer with the site's logo.
    ('/favicon.ico', favicon, 'GET', 'index.favicon'),
    # For load balancers: 200 while this host reaches its database, else 503.
    ('/healthz', healthz, 'GET', 'index.healthz'),
]
