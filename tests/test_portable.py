"""The framework files import only the standard library and parse as the oldest Python."""
import ast
import importlib.util
import os
import sys
import sysconfig
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import parse_as_oldest_python  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORK_FILES = ['kokoropy.py', 'rossian.py', 'wsgi.py']
OPTIONAL = {'matplotlib', 'numpy', 'gunicorn', 'waitress'}


def is_stdlib(module_name):
    """True when the top-level module is built in or lives in this Python's standard library."""
    top = module_name.split('.')[0]
    names = getattr(sys, 'stdlib_module_names', None)
    if names is not None:
        return top in names
    if top in sys.builtin_module_names:
        return True
    spec = importlib.util.find_spec(top)
    if spec is None or spec.origin in (None, 'built-in', 'frozen'):
        return spec is not None
    stdlib = os.path.realpath(sysconfig.get_paths()['stdlib'])
    origin = os.path.realpath(spec.origin)
    return origin.startswith(stdlib + os.sep) and 'site-packages' not in origin


def guarded_import_lines(tree):
    """Line numbers of imports inside `try: ... except ImportError:` (optional extras)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Try) and any(
                isinstance(h.type, ast.Name) and h.type.id in ('ImportError', 'ModuleNotFoundError')
                for h in node.handlers):
            for inner in node.body:
                for sub in ast.walk(inner):
                    if isinstance(sub, (ast.Import, ast.ImportFrom)):
                        lines.add(sub.lineno)
    return lines


def imported_modules(tree):
    """(line, module) for every absolute import in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            yield node.lineno, node.module


def python_files():
    """The framework files plus every Python file of the bundled applications."""
    files = [os.path.join(ROOT, name) for name in FRAMEWORK_FILES
             if os.path.exists(os.path.join(ROOT, name))]
    for folder, _dirs, names in os.walk(os.path.join(ROOT, 'applications')):
        files.extend(os.path.join(folder, n) for n in sorted(names) if n.endswith('.py'))
    return files


class PortabilityTest(unittest.TestCase):
    def test_kokoropy_module_exists(self):
        self.assertTrue(os.path.exists(os.path.join(ROOT, 'kokoropy.py')))

    def test_files_parse_as_the_oldest_supported_python(self):
        for path in python_files():
            with self.subTest(path=os.path.relpath(path, ROOT)):
                with open(path, encoding='utf-8') as f:
                    parse_as_oldest_python(f.read(), path)

    def test_files_import_only_the_standard_library(self):
        local = {'kokoropy', 'rossian', 'applications'}
        for path in python_files():
            with open(path, encoding='utf-8') as f:
                tree = ast.parse(f.read(), path)
            guarded = guarded_import_lines(tree)
            for line, module in imported_modules(tree):
                top = module.split('.')[0]
                if top in local or top == '__future__' or is_stdlib(module):
                    continue
                if top in OPTIONAL and line in guarded:
                    continue
                self.fail('%s:%d imports %r, which is not in the standard library'
                          % (os.path.relpath(path, ROOT), line, module))


if __name__ == '__main__':
    unittest.main()
