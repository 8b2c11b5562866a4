# Apache mod_wsgi entry point: WSGIScriptAlias / /path/to/project/kokoro.wsgi
# (see the README's deployment section). It serves the same application as wsgi.py.
import os
import sys

PROJECT_PATH = os.path.dirname(os.path.abspath(__file__))
if PROJECT_PATH not in sys.path:
    sys.path.insert(0, PROJECT_PATH)

from wsgi import application  # noqa: E402,F401
