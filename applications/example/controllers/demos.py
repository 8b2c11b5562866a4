"""Handlers of the example pages routed in routes.py: hello, the session demo and the plot."""
import io
import math

from kokoropy import (abort, flash, get_secret, load_view, redirect, request, response,
                      url)

VISITOR_COOKIE = 'example_visitor'


def index():
    """The list of examples."""
    return load_view('example', 'index')


def hello(name=None):
    """Greet `name`: from the URL (/example/hello/Ann), else the form's ?name=Ann, else the
    world (autoescaped by the template, so <script> is harmless)."""
    name = name or request.query.get('name', '').strip()[:40] or 'world'
    return load_view('example', 'hello', name=name)


def session_demo():
    """Count visits in the session and show the name kept in a signed cookie."""
    visits = request.session.get('visits', 0) + 1
    request.session['visits'] = visits
    visitor = request.get_cookie(VISITOR_COOKIE, secret=get_secret())
    return load_view('example', 'session', visits=visits, visitor=visitor)


def session_save():
    """Store the posted name in a signed cookie, flash a message, go back (POST-redirect-GET)."""
    name = request.forms.get('name', '').strip()
    if not name:
        flash('Please type a name.', 'error')
    elif len(name) > 40:
        flash('That name is longer than 40 characters.', 'error')
    else:
        response.set_cookie(VISITOR_COOKIE, name, secret=get_secret(), max_age=30 * 24 * 3600,
                            path=_site_path())
        flash('Hello, %s! Your name is now kept in a signed cookie.' % name, 'success')
    redirect(url('example.session'))


def session_reset():
    """Forget the visit counter and the cookie."""
    request.session.pop('visits', None)
    response.delete_cookie(VISITOR_COOKIE, path=_site_path())
    flash('The counter and the cookie were reset.', 'info')
    redirect(url('example.session'))


def _site_path():
    """The cookie path of the site: '/', or its base URL ('/kokoropy/') under --baseurl."""
    return request.script_name + '/'


def plot_page():
    """A page showing the plot, or how to install matplotlib when it is missing."""
    return load_view('example', 'plot', has_matplotlib=_figure_class() is not None)


def plot_png():
    """The plot itself, drawn by matplotlib as a PNG image."""
    figure_class = _figure_class()
    if figure_class is None:
        abort(404, 'matplotlib is not installed: pip install matplotlib')
    figure = figure_class(figsize=(6, 3.5), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    points = [i / 10.0 for i in range(0, 101)]
    axes.plot(points, [_wave(x, 1.0) for x in points], label='sin(x)', color='#c2185b')
    axes.plot(points, [_wave(x, 0.5) for x in points], label='sin(x / 2)', color='#1565c0')
    axes.set_xlabel('x')
    axes.legend(loc='lower left')
    axes.grid(True, alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format='png')
    response.content_type = 'image/png'
    return buffer.getvalue()


def _wave(x, frequency):
    return math.sin(x * frequency)


def _figure_class():
    """matplotlib's Figure class, or None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use('Agg')   # draw without a display
        from matplotlib.figure import Figure
    except ImportError:
        return None
    return Figure
