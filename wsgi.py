"""The site as a WSGI application for production servers, run from the project folder:

    gunicorn wsgi:application
    waitress-serve wsgi:application

Settings come from applications/config.py and KOKOROPY_* environment variables.
"""
import os
import sys

PROJECT_PATH = os.path.dirname(os.path.abspath(__file__))
if PROJECT_PATH not in sys.path:
    sys.path.insert(0, PROJECT_PATH)

import kokoropy  # noqa: E402  (needs the project folder on sys.path)

application = kokoropy.load_project(PROJECT_PATH)
