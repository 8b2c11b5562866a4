"""Kokoropy: a full-stack MVC web framework in one file, using only the standard library.

Hello world::

    from kokoropy import get, run

    @get('/hello/<name>')
    def hello(name):
        return 'Hello, %s!' % name

    run(port=8080)

For a whole site with applications, views, models and migrations, use ``python rossian.py start``.

Contents, in dependency order (each section uses only those above it):

1. Helpers and HTTP utilities   escaping, markup, JSON, signing, header and form dicts
2. Routing                      Router: rules, wildcards, named routes, url building
3. Request and response         Request, Response, FileUpload, HTTPError, static_file
4. Application                  Kokoro (the WSGI app), hooks, default app, TestClient
5. HTTP server                  the built-in threaded HTTP/1.1 server
6. Sessions, flash and CSRF     signed-cookie sessions, flash messages, CSRF tokens
7. Templates                    SimpleTemplate compiler with block inheritance
8. Database and ORM             Database, dialect, fields, Model, Query
9. Migrations                   per-application schema migrations
10. Model forms and tables      Form, tables rendered from a model
11. Applications and config     Config loading, application discovery, Autoroute_Controller
12. Running                     run() and server adapters
"""
