"""Time rendering one page with Kokoropy's templates, Bottle's SimpleTemplate and Jinja2.

usage: bench/.venv/bin/python bench/bench_templates.py [rounds]
The page: a layout with title and content blocks; a child with a 100-row table of 4 escaped
fields (an int, two plain strings, one string with & < > ' to escape) and one include (a nav
bar). Kokoropy uses {% block %} inheritance, and also Bottle's rebase/base style; Bottle uses
rebase/base (it has no blocks); Jinja2 uses extends/blocks with autoescape on. Every template is
compiled before timing; rendering only is timed, the systems interleaved, the best round counts.
Systems not installed are skipped. Outputs are checked to hold the same table first.
"""
import os
import shutil
import sys
import tempfile
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import kokoropy  # noqa: E402

try:
    import bottle
except ImportError:
    bottle = None
try:
    import jinja2
except ImportError:
    jinja2 = None

ROWS = [{'id': i, 'name': 'User %d' % i, 'email': 'user%d@example.com' % i,
         'note': "Tom & Jerry's <%d>" % i if i % 3 == 0 else 'plain note %d' % i}
        for i in range(100)]
NUMBER = 20                 # renders per timing
VARIABLES = {'title': 'Users & friends', 'user': 'alice', 'rows': ROWS}

NAV = '<nav>Signed in as {{user}} | <a href="/">Home</a></nav>\n'
ROW = ("<tr><td>{{row['id']}}</td><td>{{row['name']}}</td><td>{{row['email']}}</td>"
       "<td>{{row['note']}}</td></tr>\n")
TABLE = '<table>\n% for row in rows:\n' + ROW + '% end\n</table>\n'
STPL_FILES = {
    # Kokoropy: blocks
    'layout.tpl': '''<!DOCTYPE html>
<html>
<head><title>{% block title %}Site{% endblock %}</title></head>
<body>
{% block content %}{% endblock %}
</body>
</html>
''',
    'page.tpl': "% extends('layout')\n{% block title %}{{title}}{% endblock %}\n"
                "{% block content %}\n% include('nav', user=user)\n" + TABLE + '{% endblock %}\n',
    # Bottle style (also rendered by Kokoropy)
    'layout_rebase.tpl': '''<!DOCTYPE html>
<html>
<head><title>{{title}}</title></head>
<body>
{{!base}}
</body>
</html>
''',
    'page_rebase.tpl': "% rebase('layout_rebase', title=title)\n% include('nav', user=user)\n"
                       + TABLE,
    'nav.tpl': NAV,
}
JINJA_FILES = {
    'layout.html': STPL_FILES['layout.tpl'],
    'page.html': '''{% extends 'layout.html' %}
{% block title %}{{title}}{% endblock %}
{% block content %}
{% include 'nav.html' %}
<table>
{% for row in rows %}
''' + ROW + '''{% endfor %}
</table>
{% endblock %}
''',
    'nav.html': NAV.replace('{{user}}', '{{ user }}'),
}


def write_files(folder, files):
    for name, text in files.items():
        with open(os.path.join(folder, name), 'w', encoding='utf-8') as f:
            f.write(text)


def renderers(folder):
    """(label, render function) for each installed system, templates compiled already."""
    systems = []
    blocks = kokoropy.SimpleTemplate(name='page', lookup=[folder])
    systems.append(('Kokoropy (blocks)', lambda: blocks.render(VARIABLES)))
    rebased = kokoropy.SimpleTemplate(name='page_rebase', lookup=[folder])
    systems.append(('Kokoropy (rebase)', lambda: rebased.render(VARIABLES)))
    if bottle is not None:
        bottle_page = bottle.SimpleTemplate(name='page_rebase', lookup=[folder])
        systems.append(('Bottle %s SimpleTemplate' % bottle.__version__,
                        lambda: bottle_page.render(VARIABLES)))
    if jinja2 is not None:
        environment = jinja2.Environment(loader=jinja2.FileSystemLoader(folder),
                                         autoescape=True)
        jinja_page = environment.get_template('page.html')
        systems.append(('Jinja2 %s (autoescape)' % jinja2.__version__,
                        lambda: jinja_page.render(VARIABLES)))
    return systems


def check_same_table(systems):
    expected = None
    for label, render in systems:
        html = render()
        # Each system spells the escaped apostrophe its own way.
        html = html.replace('&#039;', '&#x27;').replace('&#39;', '&#x27;')
        rows = [line.strip() for line in html.splitlines() if line.strip().startswith('<tr>')]
        if expected is None:
            expected = rows
        elif rows != expected:
            raise SystemExit('%s renders a different table' % label)
        if 'Tom &amp; Jerry' not in html or '<nav>Signed in as alice' not in html:
            raise SystemExit('%s: escaping or include missing' % label)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    folder = tempfile.mkdtemp(prefix='bench_templates_')
    try:
        write_files(folder, STPL_FILES)
        write_files(folder, JINJA_FILES)
        systems = renderers(folder)
        check_same_table(systems)
        best = {label: float('inf') for label, _ in systems}
        for _ in range(rounds):
            for label, render in systems:
                # Many short timings: on a busy machine the quiet ones still show up.
                seconds = min(timeit.repeat(render, number=NUMBER, repeat=5)) / NUMBER
                best[label] = min(best[label], seconds)
    finally:
        shutil.rmtree(folder)
    reference = best.get(systems[2][0]) if bottle is not None else None
    print('| system | µs per render | vs Bottle |')
    print('| --- | ---: | ---: |')
    for label, _ in systems:
        ratio = '%.2fx' % (best[label] / reference) if reference else 'n/a'
        print('| %s | %.0f | %s |' % (label, best[label] * 1e6, ratio))
    print('\nPython %s, %d rounds, best of each.' % (sys.version.split()[0], rounds))


if __name__ == '__main__':
    main()
