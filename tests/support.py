"""Helpers shared by the test modules (test modules import from here, never from each other)."""
import ast
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def oldest_python():
    """(3, X) from setup.cfg's `python_requires = >=3.X`: the oldest Python Kokoropy supports."""
    with open(os.path.join(ROOT, 'setup.cfg'), encoding='utf-8') as f:
        match = re.search(r'python_requires\s*=\s*>=\s*3\.(\d+)', f.read())
    return (3, int(match.group(1)))


def parse_as_oldest_python(source, path='<source>'):
    """Parse `source` with the grammar of the oldest supported Python; raise SyntaxError.

    From 3.8 on, ast.parse() takes `feature_version`; on an older Python the running parser
    is itself at most that old, so a plain parse is the same check.
    """
    if sys.version_info >= (3, 8):
        return ast.parse(source, path, feature_version=oldest_python())
    return ast.parse(source, path)


def scaffold_shop(folder):
    """Copy the project (kokoropy.py, rossian.py, applications/) into `folder` and run the
    scaffold commands of the shop the list-page tests and bench/bench_page.py use: a category
    and a product CRUD (name, price, stock, category), migrations applied."""
    import shutil
    import subprocess
    for name in ('kokoropy.py', 'rossian.py'):
        shutil.copy(os.path.join(ROOT, name), folder)
    shutil.copytree(os.path.join(ROOT, 'applications'), os.path.join(folder, 'applications'),
                    ignore=shutil.ignore_patterns('__pycache__', 'uploads', '*.db'))
    environment = dict(os.environ)
    environment.pop('KOKOROPY_RELOADER_CHILD', None)
    for arguments in (['scaffold-application', 'shop'],
                      ['scaffold-crud', 'shop', 'category', 'name:string:required:unique'],
                      ['scaffold-crud', 'shop', 'product', 'name:string:required',
                       'price:float', 'stock:integer', 'category:ref:category'],
                      ['migration-upgrade']):
        subprocess.check_call([sys.executable, 'rossian.py'] + arguments, cwd=folder,
                              env=environment, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, timeout=60)
