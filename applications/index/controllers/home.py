"""The home page."""
from kokoropy import load_view


def home():
    """The site's front page: what Kokoropy is and how to start."""
    return load_view('index', 'home')
