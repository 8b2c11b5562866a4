"""URLs of the home application. Its layout and CSS are used by every other application."""
from .controllers.home import home

urls = [
    ('/', home, 'GET', 'index.home'),
]
