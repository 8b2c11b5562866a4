"""The home page and the site icon."""
import os

from kokoropy import load_view, static_file

ASSETS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'assets')


def home():
    """The site's front page: what Kokoropy is and how to start."""
    return load_view('index', 'home')


def favicon():
    """The Kokoropy logo, for browsers that ask for /favicon.ico."""
    return static_file('images/kokoropy.svg', ASSETS, mimetype='image/svg+xml')
