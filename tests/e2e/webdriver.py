"""A small WebDriver client (W3C protocol, stdlib only) driving headless Chromium through
chromedriver, for the end-to-end browser tests.

    with Browser() as browser:
        browser.open('http://127.0.0.1:8080/')
        browser.find('h1').text
        browser.screenshot('home.png')

Only what the tests need: navigation, CSS look-ups, clicks, typing, text and attributes,
scripts, the browser console log and screenshots. No third-party import.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from support import free_port  # noqa: E402

CHROMIUM = '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver')
# The W3C WebDriver key holding an element reference (WebDriver spec, section 12.1).
ELEMENT_KEY = 'element-6066-11e4-a52e-4f735466cecf'
CHROME_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
               '--disable-background-networking', '--disable-component-update',
               '--disable-sync', '--disable-dev-shm-usage', '--lang=en-US',
               '--window-size=1280,900']
STARTUP_SECONDS = 20
COMMAND_TIMEOUT = 60


def missing_browser():
    """Why the browser tests cannot run here, or None when chromium and chromedriver exist."""
    chromium = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which('chromium')
    if not chromium:
        return 'chromium is not installed (apt-get install chromium)'
    if not CHROMEDRIVER:
        return 'chromedriver is not installed (apt-get install chromium-driver)'
    return None


class WebDriverError(Exception):
    """An error answered by chromedriver: `error` is the W3C error code, e.g. 'no such element'."""

    def __init__(self, error, message):
        Exception.__init__(self, message if message.startswith(error) else
                           '%s: %s' % (error, message))
        self.error = error


class Element(object):
    """An element of the current page, as found by Browser.find()."""

    def __init__(self, browser, element_id, selector):
        self.browser, self.id, self.selector = browser, element_id, selector

    def __repr__(self):
        return '<Element %s>' % self.selector

    def _call(self, method, action, body=None):
        return self.browser.command(method, 'element/%s/%s' % (self.id, action), body)

    @property
    def text(self):
        """The rendered text of the element."""
        return self._call('GET', 'text')

    def attribute(self, name):
        """The attribute `name` as written in the HTML (None when absent)."""
        return self._call('GET', 'attribute/' + name)

    def property(self, name):
        """The DOM property `name` (e.g. 'value', 'naturalWidth', 'checked')."""
        return self._call('GET', 'property/' + name)

    def css(self, name):
        """The computed value of the CSS property `name`."""
        return self._call('GET', 'css/' + name)

    def click(self):
        """Click the element (scrolled into view first by chromedriver)."""
        self._call('POST', 'click', {})
        return self

    def clear(self):
        """Empty a text input or textarea."""
        self._call('POST', 'clear', {})
        return self

    def type(self, text):
        """Type `text` into the element (for a file input: an absolute file path)."""
        self._call('POST', 'value', {'text': text})
        return self

    def find(self, selector):
        """The first descendant matching the CSS selector; WebDriverError when none."""
        return self.browser.find(selector, parent=self)

    def find_all(self, selector):
        """Every descendant matching the CSS selector."""
        return self.browser.find_all(selector, parent=self)


class Browser(object):
    """One headless Chromium session behind its own chromedriver process."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix='kokoropy-chromium-')
        self.port = free_port()
        self.driver = subprocess.Popen([CHROMEDRIVER, '--port=%d' % self.port],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.root = 'http://127.0.0.1:%d' % self.port
        self.session = None
        try:
            self._wait_until_ready()
            self.session = self._new_session()
        except Exception:
            self.quit()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.quit()

    # ------------------------------------------------------------------ protocol

    def _http(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode('utf-8')
        request = urllib.request.Request(self.root + path, data=data, method=method,
                                         headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=COMMAND_TIMEOUT) as answer:
                return json.loads(answer.read().decode('utf-8'))['value']
        except urllib.error.HTTPError as exc:
            value = json.loads(exc.read().decode('utf-8'))['value']
        # Raised outside the except clause, so the traceback does not chain urllib's error.
        raise WebDriverError(value.get('error', 'unknown error'),
                             value.get('message', '').split('\n')[0])

    def command(self, method, action, body=None):
        """Send one WebDriver command of this session and return its value."""
        return self._http(method, '/session/%s/%s' % (self.session, action), body)

    def _wait_until_ready(self):
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                if self._http('GET', '/status').get('ready'):
                    return
            except (OSError, ValueError):
                pass
            if time.monotonic() > deadline or self.driver.poll() is not None:
                raise RuntimeError('chromedriver did not start on port %d' % self.port)
            time.sleep(0.1)

    def _new_session(self):
        options = {'binary': CHROMIUM,
                   'args': CHROME_ARGS + ['--user-data-dir=' + self.profile]}
        capabilities = {'browserName': 'chrome', 'goog:chromeOptions': options,
                        'goog:loggingPrefs': {'browser': 'ALL'}}
        value = self._http('POST', '/session',
                           {'capabilities': {'alwaysMatch': capabilities}})
        return value['sessionId']

    # ------------------------------------------------------------------ pages

    def open(self, url):
        """Load `url` and wait for the page (and its subresources) to finish loading."""
        self.command('POST', 'url', {'url': url})
        return self

    @property
    def url(self):
        """The URL of the current page."""
        return self.command('GET', 'url')

    @property
    def title(self):
        """The title of the current page."""
        return self.command('GET', 'title')

    @property
    def page_source(self):
        """The current DOM serialised as HTML."""
        return self.command('GET', 'source')

    def back(self):
        """Go back one page in the history."""
        self.command('POST', 'back', {})
        return self

    def find(self, selector, parent=None):
        """The first element matching the CSS selector; WebDriverError 'no such element'."""
        where = 'element/%s/element' % parent.id if parent else 'element'
        found = self.command('POST', where, {'using': 'css selector', 'value': selector})
        return Element(self, found[ELEMENT_KEY], selector)

    def find_all(self, selector, parent=None):
        """Every element matching the CSS selector (maybe none)."""
        where = 'element/%s/elements' % parent.id if parent else 'elements'
        found = self.command('POST', where, {'using': 'css selector', 'value': selector})
        return [Element(self, item[ELEMENT_KEY], selector) for item in found]

    def has(self, selector):
        """Whether some element matches the CSS selector."""
        return bool(self.find_all(selector))

    def script(self, source, *args):
        """Run JavaScript (a function body: use `return`) in the page and return its result."""
        return self.command('POST', 'execute/sync', {'script': source, 'args': list(args)})

    def resources(self):
        """The page's resource timing entries: [{'name': url, 'initiatorType': ...}, ...]."""
        return self.script("return performance.getEntriesByType('resource').map(function (e) {"
                           " return {name: e.name, initiatorType: e.initiatorType,"
                           " responseStatus: e.responseStatus}; });")

    def console_log(self):
        """The browser console entries logged since the last call: [{'level', 'message'}]."""
        return self.command('POST', 'se/log', {'type': 'browser'})

    def console_errors(self):
        """The SEVERE console entries since the last call (failed loads, script errors)."""
        return [entry for entry in self.console_log() if entry.get('level') == 'SEVERE']

    def wait_until(self, condition, timeout=10.0, message='the page did not change'):
        """Call condition() until it returns a true value (returned); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                value = condition()
            except WebDriverError:      # e.g. the element is not on the new page yet
                value = None
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError('%s within %.0f s (at %s)' % (message, timeout, self.url))
            time.sleep(0.05)

    def delete_cookies(self):
        """Forget every cookie (cookies ignore ports: servers on 127.0.0.1 share them)."""
        self.command('DELETE', 'cookie')

    def screenshot(self, path, full_page=True):
        """Save a PNG of the page to `path` (folders created as needed); full_page grows the
        window to the document's height for the shot, then restores it."""
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        rect = self.command('GET', 'window/rect')
        if full_page:
            height = self.script('return document.documentElement.scrollHeight;')
            if height > rect['height']:
                self.command('POST', 'window/rect', {'width': rect['width'],
                                                     'height': min(int(height) + 120, 8000)})
        try:
            data = base64.b64decode(self.command('GET', 'screenshot'))
        finally:
            if full_page:
                self.command('POST', 'window/rect', {'width': rect['width'],
                                                     'height': rect['height']})
        with open(path, 'wb') as file:
            file.write(data)
        return path

    # ------------------------------------------------------------------ end

    def quit(self):
        """Close the browser, stop chromedriver and remove the temporary profile."""
        if self.session:
            try:
                self._http('DELETE', '/session/' + self.session)
            except (OSError, WebDriverError, ValueError):
                pass
            self.session = None
        if self.driver.poll() is None:
            self.driver.terminate()
            try:
                self.driver.wait(10)
            except subprocess.TimeoutExpired:
                self.driver.kill()
                self.driver.wait()
        shutil.rmtree(self.profile, ignore_errors=True)
