"""Settings of this Kokoropy project.

Uncomment a line to change a setting. Each one can also come from an environment variable named
KOKOROPY_<NAME> (for example KOKOROPY_DEBUG=1), which wins over this file, and from
`python rossian.py start` flags, which win over both.
"""

# The path (or full URL) the site is served under, e.g. '/kokoropy/' behind a reverse proxy.
# BASE_URL = '/'

# Secret key signing session and other cookies. None: use KOKOROPY_SECRET, else a random secret
# generated once into RUNTIME_PATH/secret. Never commit a real secret to version control.
# To rotate it, list the new one first: ['new-secret', 'old-secret'] signs with the new one and
# still accepts cookies signed with the old (KOKOROPY_SECRET='new-secret,old-secret' likewise).
# SECRET = None

# The database models use; sqlite paths are relative to the project folder.
# DATABASE_URL = 'sqlite:///db/kokoropy.db'

# Folder for files Kokoropy writes at run time (the generated secret), relative to the project.
# RUNTIME_PATH = '.runtime'

# Debug mode: tracebacks in the browser and template reloading. Never on a public server.
# DEBUG = False

# Reload templates when their files change (always on in debug mode).
# RELOAD_TEMPLATES = False

# Largest request body accepted, in bytes (larger requests get 413).
# MAX_BODY_BYTES = 10 * 1024 * 1024

# Where uploaded files are kept: None keeps each application's in its assets/uploads/ folder;
# a folder (a volume every host mounts, when several serve the site) keeps them in
# UPLOAD_FOLDER/<application>/. Either way they are served at /<application>/assets/uploads/.
# UPLOAD_FOLDER = None

# Request bodies (and uploads) above this size are spooled to a temporary file, in bytes.
# MAX_MEMFILE_BYTES = 1024 * 1024

# Seconds a session lasts after it was last saved; 0 ends it when the browser closes.
# SESSION_MAX_AGE = 14 * 24 * 3600

# How many reverse proxies in front of the site to trust for X-Forwarded-For/-Proto/-Host.
# TRUSTED_PROXIES = 0

# Check a CSRF token on POST/PUT/PATCH/DELETE form submissions.
# CSRF = True
