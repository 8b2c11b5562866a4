import ast
import builtins
import collections
import functools
import os
import re
import threading
import types

###############################################################################
# 7. Templates
# Bottle's SimpleTemplate syntax plus {% block %} inheritance, as a compiler:
# source -> tokenize_template() -> generate_template_code() -> compile_template(),
# cached per file. Uses helpers (html_escape, Markup), the current request and
# the config of its application (else of the default application).
###############################################################################

__all__ += ['SimpleTemplate', 'template', 'view', 'load_view', 'TemplateError', 'TEMPLATE_PATH']

# Folders searched last, after the lookup list, the current application and index/views
# (Bottle's default, so single-file Bottle programs with ./views/ keep working).
TEMPLATE_PATH = ['./', './views/']
# Names available in every template, after the builtins and before the render variables.
# Other sections and applications add helpers here (csrf_input, flash messages ...).
TEMPLATE_GLOBALS = {}
TEMPLATE_EXTENSIONS = ('tpl', 'html', 'thtml', 'stpl')
MAX_REBASE_DEPTH = 32            # a longer rebase/extends chain is a cycle
MAX_SOURCE_CACHE = 256           # templates compiled from strings kept at once

_Token = collections.namedtuple('Token', 'kind value lineno')


class TemplateError(Exception):
    """A template could not be found, compiled or rendered.

    The message names the template file, the template line and that line's text; the same are
    in `.filename`, `.lineno` and `.line` (None when unknown). The original exception, if any,
    is chained as `__cause__`.
    """

    def __init__(self, message, filename=None, lineno=None, line=None):
        self.problem, self.filename, self.lineno, self.line = message, filename, lineno, line
        text = message
        if filename is not None:
            where = 'template %s' % filename
            if lineno is not None:
                where += ', line %d' % lineno
            text = '%s: %s' % (where, message)
        if line is not None:
            text += '\n    %s' % line.strip()
        Exception.__init__(self, text)


class SimpleTemplate(object):
    r"""A template in Bottle's SimpleTemplate syntax, compiled once to Python code.

    `SimpleTemplate(source=None, name=None, lookup=None, encoding='utf8', **settings)`: give the
    source text (or a file object), or a `name` looked up in the `lookup` folders and then in the
    applications' views (see template()). Settings: `noescape=True` swaps `{{x}}` and `{{!x}}`;
    `escape_func` replaces the HTML escaping. Raises TemplateError when the name is not found or
    the source does not compile.

    Syntax: `{{expr}}` prints html_escape(expr) (None prints '', Markup is kept), `{{!expr}}`
    prints it raw; a line starting with `%` (after any indentation) is Python, `<% ... %>` holds
    several lines of it; `% end` closes `if/for/while/with/try/def/class`; `%%` or `\%` at the
    start of a line prints a literal `%`; a text line ending in `\\` before a code line joins
    the next line. In code: `include(name, **kw)`, `rebase(name, **kw)` (the output so far
    becomes `base` of that layout), `extends(name, **kw)` (the same), `defined(name)`,
    `get(name, default)`, `setdefault(name, value)`. Names assigned by template code are shared
    with its layout and includes, as in Bottle.

    Blocks: a layout marks `{% block name %}default{% endblock %}`; a template that rebases on
    (extends) it replaces any block by defining one with the same name, `{% parent %}` inserting
    the layout's content, over any number of levels. Such a template's blocks print only where
    the layout has them; its text outside blocks still becomes `base`. A line holding only block
    tags prints nothing. Names assigned inside a block are shared too (as everywhere).

    Differences from Bottle: `'` is escaped as `&#x27;` (html_escape, where Bottle writes
    `&#039;`); an unclosed `% if` or a stray `% end` is a TemplateError; `%%` at the start of a
    line prints `%` (Bottle 0.11) as `\%` does (Bottle 0.12+).
    """

    def __init__(self, source=None, name=None, lookup=None, encoding='utf8', **settings):
        self.name = name
        self.lookup = tuple(os.path.abspath(folder) for folder in lookup or ())
        self.encoding = encoding
        self.settings = settings
        self.filename = getattr(source, 'filename', None)
        if hasattr(source, 'read'):
            source = source.read()
        if source is None:
            if not name:
                raise TemplateError('no template source or name given')
            self.filename = _find_template_file(name, self.lookup)
            source = _read_template_file(self.filename, encoding)
        if isinstance(source, bytes):
            source = source.decode(encoding)
        self.source = source
        label = self.filename or name or '<string>'
        self._compiled = compile_template(source, label)
        self._helpers = _output_helpers(settings)

    @property
    def code(self):
        """The generated Python source (for debugging templates)."""
        return self._compiled.python_source

    def render(self, *args, **kwargs):
        """Render with the variables of the dict arguments and keywords; return the text."""
        variables = {}
        for mapping in args:
            variables.update(mapping)
        variables.update(kwargs)
        out = []
        _render_chain(self, out, variables)
        return ''.join(out)


def template(name_or_source, /, *dicts, template_lookup=None, template_settings=None,
             **variables):
    """Render a template, given by name or as source text, with the variables of `dicts` and
    the keywords; return the text.

    A string containing a newline, `{{` or `%` is template source; otherwise a name such as
    'base', 'base.tpl', 'index/base', 'index/views/base.tpl' or an absolute path, searched in:
    the `template_lookup` folders, the current application's views/, `app/views/` for a name
    'app/...', applications/index/views/, then TEMPLATE_PATH (see SimpleTemplate for settings).
    Compiled templates are cached; with config `debug` or `reload_templates` a changed file is
    compiled again. Raises TemplateError.
    """
    lookup = tuple(os.path.abspath(folder) for folder in template_lookup or ())
    settings = template_settings or {}
    merged = {}
    for mapping in dicts:
        merged.update(mapping)
    merged.update(variables)
    if isinstance(name_or_source, SimpleTemplate):
        compiled = name_or_source
    elif _is_template_source(name_or_source):
        compiled = _template_from_source(name_or_source, lookup, settings)
    else:
        compiled = _load_template(name_or_source, lookup, settings)
    return compiled.render(merged)


def view(name, /, **defaults):
    """Decorator: render template `name` with the dict a handler returns (over `defaults`).

    A handler returning None renders the template with `defaults` (as in Bottle); any other
    result (a string, a response ...) is returned unchanged.
    """
    def decorator(handler):
        @functools.wraps(handler)
        def wrapper(*args, **kwargs):
            result = handler(*args, **kwargs)
            if isinstance(result, dict):
                variables = dict(defaults)
                variables.update(result)
                return template(name, **variables)
            if result is None:
                return template(name, **defaults)
            return result
        return wrapper
    return decorator


def load_view(app, name, /, **variables):
    """Render view `name` of application `app` (applications/<app>/views/<name>.tpl)."""
    folder = os.path.join(_applications_folder(_lookup_context()[0]), app, 'views')
    return template(name, template_lookup=[folder], **variables)


# --- step 1: source -> tokens ----------------------------------------------------------------

# `{{ expr }}` may contain Python strings holding '}}'; `{% block name %}`, `{% endblock %}`,
# `{% endblock name %}` and `{% parent %}` are the only tags (other `{% %}` text is printed).
# (A string prefix such as r or b is matched as plain code just before the quote.)
_STRING = r'''(?:'[^'\\\n]*(?:\\.[^'\\\n]*)*'|"[^"\\\n]*(?:\\.[^"\\\n]*)*")'''
_INLINE_RE = re.compile(r'\{\{((?:%s|[^\'"\n])*?)\}\}'
                        r'|\{%%[ \t]*(block[ \t]+\w+|endblock(?:[ \t]+\w+)?|parent)[ \t]*%%\}'
                        % _STRING)
_TAGS_ONLY_RE = re.compile(r'^[ \t]*(?:\{%[ \t]*(?:block[ \t]+\w+|endblock(?:[ \t]+\w+)?|parent)'
                           r'[ \t]*%\}[ \t]*)+\r?\n?$')
# Inside Python code: strings, comments, brackets and the `%>` ending a `<% %>` block.
_PYTHON_RE = re.compile(r'(%s)|(#.*)|([\[({])|([\])}])|(%%>[ \t]*\r?\n?$)' % _STRING)
_CONTINUATION = ('\\\\\n', '\\\\\r\n')


def tokenize_template(source):
    """Split template source into Tokens (kind, value, lineno).

    Kinds: 'text', 'expr' (escaped), 'raw', 'code' (one Python statement), 'code_cont' (a line
    continuing an open bracket in a `<% %>` block), 'block' (name), 'endblock' (name or ''),
    'parent'. Raises TemplateError for a `<%` without `%>` or an empty `{{ }}`.
    """
    tokens = []
    lines = _split_lines(source)
    index = 0
    while index < len(lines):
        line, kind = lines[index], _line_kind(lines[index])
        if kind == 'code':
            tokens.append(_Token('code', line.strip()[1:].strip(), index + 1))
        elif kind == 'code_block':
            index = _read_code_block(lines, index, tokens)
            continue
        elif kind == 'tags':
            _scan_inline(line.strip(), index + 1, tokens)
        else:
            if kind == 'escaped':       # drop the first of '%%', or the backslash of '\%'
                indent = len(line) - len(line.lstrip(' \t'))
                line = line[:indent] + line[indent + 1:]
            if line.endswith(_CONTINUATION) and _joins_next_line(lines, index + 1):
                line = line[:line.rindex('\\\\')]
            _scan_inline(line, index + 1, tokens)
        index += 1
    return tokens


def _split_lines(source):
    # Only '\n' ends a line ('\r\n' keeps its '\r' in the text); str.splitlines() would also
    # split on form feeds and U+2028 inside text.
    lines = [line + '\n' for line in source.split('\n')]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def _line_kind(line):
    stripped = line.lstrip(' \t')
    if stripped.startswith(('%%', '\\%', '\\<%')):
        return 'escaped'
    if stripped.startswith('%'):
        return 'code'
    if stripped.startswith('<%'):
        return 'code_block'
    if '{%' in line and _TAGS_ONLY_RE.match(line):
        return 'tags'
    return 'text'


def _joins_next_line(lines, next_index):
    # Bottle's rule: '\\' at the end of a text line removes the newline before code.
    return next_index >= len(lines) or _line_kind(lines[next_index]) in ('code', 'code_block',
                                                                         'tags')


def _read_code_block(lines, index, tokens):
    """Tokenize the `<% ... %>` block starting at lines[index]; return the next line's index."""
    first = index
    text = lines[index].lstrip(' \t')[2:]
    depth = 0
    while True:
        code, next_depth, closed = _scan_python(text, depth)
        if code.strip():
            # A line starting inside open brackets continues the statement above it.
            tokens.append(_Token('code_cont' if depth else 'code', code.strip(), index + 1))
        depth = next_depth
        index += 1
        if closed:
            return index
        if index >= len(lines):
            raise TemplateError('"<%" is never closed by "%>"', None, first + 1, lines[first])
        text = lines[index]


def _scan_python(text, depth):
    """Return (code, bracket depth after it, whether `%>` closed the block) for one line."""
    closed = False
    end = len(text)
    for match in _PYTHON_RE.finditer(text):
        comment, opening, closing, close_tag = match.group(2, 3, 4, 5)
        if comment is not None:
            end = match.start()
            closed = comment.rstrip().endswith('%>')   # Bottle allows '%>' ending a comment
            break
        if opening:
            depth += 1
        elif closing:
            depth = max(depth - 1, 0)
        elif close_tag:
            end, closed = match.start(), True
            break
    return text[:end], depth, closed


def _scan_inline(text, lineno, tokens):
    """Append text, expr/raw and block-tag tokens for one line of template text."""
    position = 0
    for match in _INLINE_RE.finditer(text):
        if match.start() > position:
            tokens.append(_Token('text', text[position:match.start()], lineno))
        position = match.end()
        expression, tag = match.group(1, 2)
        if tag is not None:
            words = tag.split()
            tokens.append(_Token(words[0], words[1] if len(words) > 1 else '', lineno))
            continue
        expression = expression.strip()
        kind = 'raw' if expression.startswith('!') else 'expr'
        expression = expression.lstrip('!').strip()
        if not expression:
            raise TemplateError('empty "{{ }}"', None, lineno, text)
        tokens.append(_Token(kind, expression, lineno))
    if position < len(text):
        tokens.append(_Token('text', text[position:], lineno))


# --- step 2: tokens -> Python source ---------------------------------------------------------

_GeneratedCode = collections.namedtuple('GeneratedCode', 'source line_map block_names')

_END_RE = re.compile(r'end[ \t]*(?:#.*)?$')
_BLOCK_START_RE = re.compile(r'(?:if|for|while|with|try|def|class|async[ \t]+(?:for|with|def))\b')
_BLOCK_CONTINUE_RE = re.compile(r'(?:elif|else|except|finally)\b')
# Bottle 0.10 wrote `%include name key=value` and `%rebase name key=value` without parentheses.
_LEGACY_CALL_RE = re.compile(r'(include|rebase)[ \t]+([^\s(=\'"][^\s,]*)[ \t]*,?[ \t]*(.*)$')
_EXTENDS_RE = re.compile(r'(?:(?:rebase|extends)[ \t]*\(|rebase[ \t]+[^\s(=])')


def generate_template_code(tokens):
    """Translate tokens into Python source: `_template_main(_out, _escape, _str)` for the
    template body and `_block_N(_out, _parent, _escape, _str)` for each block, each appending
    text to the list `_out`. Returns a GeneratedCode(source, line_map, block_names) where
    line_map[n] is the template line of generated line n. Raises TemplateError for an unclosed
    or stray `% end` / `{% endblock %}` and `{% parent %}` outside a block.
    """
    generator = _CodeGenerator(_is_extending(tokens))
    for token in tokens:
        getattr(generator, 'on_' + token.kind)(token)
    return generator.finish()


def _is_extending(tokens):
    """Whether the template body (outside blocks) calls rebase() or extends(): then its blocks
    only define overrides for the layout, and print nothing where they stand."""
    depth = 0
    for token in tokens:
        if token.kind == 'block':
            depth += 1
        elif token.kind == 'endblock':
            depth -= 1
        elif token.kind == 'code' and depth <= 0 and _EXTENDS_RE.match(token.value):
            return True
    return False


class _FunctionWriter(object):
    """The Python lines of one generated function, with its open if/for/... blocks and the
    output pieces not yet written."""

    def __init__(self, header, lineno, block_name=None):
        self.lines = [(header, lineno),
                      ('    _append, _extend = _out.append, _out.extend', lineno)]
        self.block_name, self.lineno = block_name, lineno
        self.open = []              # [keyword statement, lineno, has a body yet]
        self.pieces = []            # Python expressions to append, text merged
        self.pieces_line = None     # template line of the expressions in self.pieces

    def write(self, statement, lineno, dedent=0):
        self.lines.append(('    ' * (1 + len(self.open) - dedent) + statement, lineno))
        if self.open and not dedent:
            self.open[-1][2] = True

    def add_text(self, text, lineno):
        if self.pieces and isinstance(self.pieces[-1], str):
            self.pieces[-1] += text
        else:
            self.pieces.append(text)
            self.pieces_line = self.pieces_line or lineno

    def add_expression(self, expression, lineno):
        # One generated line per template line, so that an error maps back to its line.
        if self.pieces_line is not None and self.pieces_line != lineno and \
                any(not isinstance(p, str) for p in self.pieces):
            self.flush()
        self.pieces.append((expression,))
        self.pieces_line = lineno

    def flush(self):
        """Write the pending output as one `_append(x)` or `_extend((x, y, ...))` call: one
        call per line is cheaper than one per piece."""
        if self.pieces:
            values = [repr(p) if isinstance(p, str) else p[0] for p in self.pieces]
            if len(values) == 1:
                self.write('_append(%s)' % values[0], self.pieces_line)
            else:
                self.write('_extend((%s))' % ', '.join(values), self.pieces_line)
            self.pieces, self.pieces_line = [], None

    def close_python_block(self):
        if not self.open[-1][2]:
            self.write('pass', self.open[-1][1])
        self.open.pop()


class _CodeGenerator(object):
    """Builds the main function and one function per {% block %} from a token stream."""

    def __init__(self, is_extending):
        self.is_extending = is_extending
        self.main = _FunctionWriter('def _template_main(_out, _escape, _str):', 1)
        self.writers = [self.main]      # the innermost open block last
        self.done = []
        self.block_names = []

    def on_text(self, token):
        self.writers[-1].add_text(token.value, token.lineno)

    def on_expr(self, token):
        self.writers[-1].add_expression('_escape(%s)' % token.value, token.lineno)

    def on_raw(self, token):
        self.writers[-1].add_expression('_str(%s)' % token.value, token.lineno)

    def on_code_cont(self, token):
        writer = self.writers[-1]
        writer.flush()
        writer.write(token.value, token.lineno)

    def on_code(self, token):
        writer, statement, lineno = self.writers[-1], token.value, token.lineno
        writer.flush()
        if _END_RE.match(statement):
            if not writer.open:
                raise TemplateError('"%% %s" closes nothing: no if/for/while/... is open'
                                    % statement, None, lineno)
            writer.close_python_block()
            return
        legacy = _LEGACY_CALL_RE.match(statement)
        if legacy:
            function, name, arguments = legacy.groups()
            statement = '%s(%r%s)' % (function, name, ', ' + arguments if arguments else '')
        if _BLOCK_CONTINUE_RE.match(statement):
            if not writer.open:
                raise TemplateError('"%% %s" without an open if/for/try' % statement, None, lineno)
            if not writer.open[-1][2]:
                writer.write('pass', lineno)
            writer.write(statement, lineno, dedent=1)
            writer.open[-1][2] = False
        elif _BLOCK_START_RE.match(statement):
            writer.write(statement, lineno)
            writer.open.append([statement, lineno, False])
        else:
            writer.write(statement, lineno)

    def on_block(self, token):
        writer, name = self.writers[-1], token.value
        writer.flush()
        if name in self.block_names:
            raise TemplateError('{%% block %s %%} is defined twice' % name, None, token.lineno)
        index = len(self.block_names)
        self.block_names.append(name)
        slot_only = writer is self.main and self.is_extending
        writer.write('%s(%r, _out)' % ('_block_slot' if slot_only else '_render_block', name),
                     token.lineno)
        self.writers.append(_FunctionWriter(
            'def _block_%d(_out, _parent, _escape, _str):  # %s' % (index, name),
            token.lineno, name))

    def on_endblock(self, token):
        writer = self.writers[-1]
        if writer is self.main:
            raise TemplateError('{% endblock %} without an open {% block %}', None, token.lineno)
        if token.value and token.value != writer.block_name:
            raise TemplateError('{%% endblock %s %%} closes {%% block %s %%} of line %d'
                                % (token.value, writer.block_name, writer.lineno),
                                None, token.lineno)
        writer.flush()
        self._check_closed(writer)
        self.done.append(self.writers.pop())

    def on_parent(self, token):
        writer = self.writers[-1]
        if writer is self.main:
            raise TemplateError('{% parent %} outside a {% block %}', None, token.lineno)
        writer.flush()
        writer.write('_parent(_out)', token.lineno)

    def finish(self):
        if len(self.writers) > 1:
            writer = self.writers[-1]
            raise TemplateError('{%% block %s %%} is never closed by {%% endblock %%}'
                                % writer.block_name, None, writer.lineno)
        self.main.flush()
        self._check_closed(self.main)
        lines = self.main.lines + [line for writer in self.done for line in writer.lines]
        source = '\n'.join(text for text, _ in lines) + '\n'
        line_map = [0] + [lineno for _, lineno in lines]
        return _GeneratedCode(source, line_map, list(self.block_names))

    @staticmethod
    def _check_closed(writer):
        if writer.open:
            statement, lineno, _ = writer.open[-1]
            raise TemplateError('"%% %s" is never closed by "%% end"' % statement, None, lineno)


# --- step 3: Python source -> code objects ---------------------------------------------------

_CompiledTemplate = collections.namedtuple(
    'CompiledTemplate',
    'filename code_filename source_lines python_source line_map main_code block_codes')

# Names the generated functions keep local (parameters and the bound append).
_GENERATED_LOCALS = frozenset(['_out', '_append', '_extend', '_escape', '_str', '_parent'])


def compile_template(source, filename='<string>'):
    """Compile template source into a CompiledTemplate holding code objects.

    Runs tokenize_template(), generate_template_code(), then Python's compiler; names that the
    template code assigns are declared global so that they live in the render namespace, as in
    Bottle. Raises TemplateError naming `filename`, the template line and its text.
    """
    if source.startswith('\ufeff'):
        source = source[1:]
    source_lines = source.split('\n')
    # Not the template's own path: a traceback would show the template's line N as if it were
    # generated line N.
    code_filename = '<template %s>' % filename
    try:
        generated = generate_template_code(tokenize_template(source))
        tree = ast.parse(generated.source, code_filename)
        _declare_globals(tree)
        code = compile(tree, code_filename, 'exec')
    except TemplateError as exc:
        raise _located_error(exc.problem, filename, source_lines, exc.lineno) from None
    except ValueError as exc:       # a null byte inside a Python expression
        raise TemplateError(str(exc), filename) from exc
    except SyntaxError as exc:
        line_map = generated.line_map
        lineno = line_map[min(exc.lineno, len(line_map) - 1)] if exc.lineno else None
        raise _located_error('SyntaxError: %s' % exc.msg, filename, source_lines,
                             lineno) from exc
    functions = {'__builtins__': builtins}
    exec(code, functions)       # defines the functions only; no template code runs here
    block_codes = tuple((name, functions['_block_%d' % index].__code__)
                        for index, name in enumerate(generated.block_names))
    return _CompiledTemplate(filename, code_filename, source_lines, generated.source,
                             generated.line_map, functions['_template_main'].__code__,
                             block_codes)


def _declare_globals(tree):
    for function in tree.body:
        names = _assigned_names(function.body) - _GENERATED_LOCALS
        if names:
            declaration = ast.copy_location(ast.Global(names=sorted(names)), function.body[0])
            function.body.insert(0, declaration)


def _assigned_names(statements):
    """Names bound by these statements in their own scope (not inside nested functions,
    classes, lambdas or comprehensions), minus those the code itself declares global."""
    names, declared = set(), set()
    pending = list(statements)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            pending.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp,
                             ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split('.')[0] for alias in node.names
                         if alias.name != '*')
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            declared.update(node.names)
        pending.extend(ast.iter_child_nodes(node))
    return names - declared


def _located_error(problem, filename, source_lines, lineno):
    line = source_lines[lineno - 1] if lineno and lineno <= len(source_lines) else None
    return TemplateError(problem, filename, lineno, line)


# --- rendering -------------------------------------------------------------------------------

# Names _Execution puts in every template namespace (after TEMPLATE_GLOBALS and the variables).
_NAMESPACE_FUNCTIONS = ('include', 'rebase', 'extends', 'get', 'setdefault', 'defined',
                        '_render_block', '_block_slot')


class _RenderState(object):
    """What the templates of one rebase chain share: the output list, and for each block name
    the block functions from the most derived template to the layout."""

    def __init__(self, out):
        self.out, self.blocks = out, {}


class _Execution(object):
    """One run of one template: builds its namespace, runs its code, and provides the
    include/rebase/block functions that code calls."""

    def __init__(self, template_object, state):
        self.template, self.state = template_object, state
        self.rebase_to, self.slots, self.env = None, [], None

    def run(self, variables):
        """Render into the shared output; return (template, kwargs) of a requested rebase."""
        compiled, helpers = self.template._compiled, self.template._helpers
        env = self.env = self._namespace(variables)
        for name, code in compiled.block_codes:
            self.state.blocks.setdefault(name, []).append(
                types.FunctionType(code, env, None, helpers))
        try:
            types.FunctionType(compiled.main_code, env, None, helpers)(self.state.out)
            if self.slots and self.rebase_to is None:
                self._fill_slots()
        except TemplateError as exc:
            if exc.filename is not None:
                raise
            raise _error_from_traceback(exc.problem, exc, compiled) from exc
        except Exception as exc:
            if isinstance(exc, HTTPResponse):       # abort()/redirect() inside a template
                raise
            problem = '%s: %s' % (type(exc).__name__, exc)
            raise _error_from_traceback(problem, exc, compiled) from exc
        return self.rebase_to

    def _namespace(self, variables):
        env = {'__builtins__': builtins}
        env.update(TEMPLATE_GLOBALS)
        env.update(variables)
        env.update(include=self.include, rebase=self.rebase, extends=self.rebase,
                   get=env.get, setdefault=env.setdefault, defined=env.__contains__,
                   _render_block=self.render_block, _block_slot=self.block_slot,
                   _kokoropy_template=self.template._compiled)
        return env

    def release(self):
        env, self.env = self.env, None
        if env is not None:
            for name in _NAMESPACE_FUNCTIONS:
                env.pop(name, None)

    def include(self, name, **kwargs):
        """Render template `name` here, with this template's variables updated by kwargs."""
        child = _load_template(name, self.template.lookup, self.template.settings)
        variables = dict(self.env)
        variables.update(kwargs)
        out = []
        _render_chain(child, out, variables)
        self.state.out.extend(out)

    def rebase(self, name, **kwargs):
        """After this template, render layout `name` with this output as `base`."""
        self.rebase_to = (_load_template(name, self.template.lookup, self.template.settings),
                          kwargs)

    def render_block(self, name, out):
        _call_block(self.state.blocks[name], 0, out)

    def block_slot(self, name, out):
        # A template that extends another prints its blocks in the layout, not here; keep the
        # place in case it ends without rebasing after all.
        self.slots.append((len(out), name))

    def _fill_slots(self):
        saved = self.state.out
        for position, name in reversed(self.slots):
            piece = self.state.out = []
            try:
                self.render_block(name, piece)
            finally:
                self.state.out = saved
            saved[position:position] = piece


def _render_chain(template_object, out, variables):
    """Run a template and then the layouts it rebases on, sharing output and blocks."""
    state = _RenderState(out)
    executions = []
    try:
        for _ in range(MAX_REBASE_DEPTH):
            execution = _Execution(template_object, state)
            executions.append(execution)
            rebase_to = execution.run(variables)
            if rebase_to is None:
                return
            template_object, kwargs = rebase_to
            variables = dict(execution.env)
            variables.update(kwargs)
            variables['base'] = ''.join(out)
            del out[:]
        raise TemplateError('more than %d levels of rebase/extends: do the templates rebase on '
                            'each other?' % MAX_REBASE_DEPTH, template_object._compiled.filename)
    finally:
        # The namespaces and the functions in them refer to each other; breaking those cycles
        # now frees a render's memory at once instead of at the next garbage collection.
        state.blocks.clear()
        for execution in executions:
            execution.release()


def _call_block(chain, index, out):
    """Run the block function chain[index]; its {% parent %} runs chain[index + 1]."""
    if index + 1 < len(chain):
        parent = functools.partial(_call_block, chain, index + 1)
    else:
        parent = _no_parent
    chain[index](out, parent)


def _no_parent(out):
    """{% parent %} in the layout's own block prints nothing."""


def _error_from_traceback(problem, exc, fallback):
    """A TemplateError at the innermost template line found in exc's traceback."""
    found = None
    trace = exc.__traceback__
    while trace is not None:
        owner = trace.tb_frame.f_globals.get('_kokoropy_template')
        if isinstance(owner, _CompiledTemplate) and \
                trace.tb_frame.f_code.co_filename == owner.code_filename:
            found = (owner, trace.tb_lineno)
        trace = trace.tb_next
    if found is None:
        return TemplateError(problem, fallback.filename)
    owner, python_line = found
    lineno = owner.line_map[python_line] if python_line < len(owner.line_map) else None
    return _located_error(problem, owner.filename, owner.source_lines, lineno)


def _to_text(value):
    """{{!value}}: the value as text, unescaped; None becomes ''."""
    return value if type(value) is str else to_str(value)


_KNOWN_SETTINGS = frozenset(['noescape', 'escape_func', 'syntax'])
_DEFAULT_SYNTAX = '<% %> % {{ }}'


def _output_helpers(settings):
    """The (escape, raw) functions behind {{x}} and {{!x}} for these settings."""
    unknown = sorted(set(settings) - _KNOWN_SETTINGS)
    if unknown:
        raise TemplateError('unknown template setting(s): %s' % ', '.join(unknown))
    syntax = settings.get('syntax')
    if syntax is not None and (syntax.split() if isinstance(syntax, str) else list(syntax)) \
            != _DEFAULT_SYNTAX.split():
        raise TemplateError('only the default syntax %r is supported' % _DEFAULT_SYNTAX)
    escape, raw = html_escape, _to_text
    escape_func = settings.get('escape_func')
    if escape_func is not None:
        def escape(value):
            return escape_func(_to_text(value))
    if settings.get('noescape'):
        escape, raw = raw, escape
    return (escape, raw)


# --- finding and caching templates -----------------------------------------------------------

_CACHE_LOCK = threading.Lock()
_FILE_TEMPLATES = {}    # (path, lookup, settings) -> (mtime_ns, SimpleTemplate)
_NAMED_TEMPLATES = {}   # (name, lookup, settings, application, project, apps) -> SimpleTemplate
_SOURCE_TEMPLATES = {}  # (source, lookup, settings) -> SimpleTemplate


def _load_template(name, lookup=(), settings=None):
    """The SimpleTemplate for a template name, compiled once; in debug/reload mode the name is
    searched again and a file whose mtime changed is compiled again."""
    settings = settings or {}
    where, reload = _lookup_cache_key()
    key = (name, lookup, _settings_key(settings)) + where
    loaded = None if reload else _NAMED_TEMPLATES.get(key)
    if loaded is None:
        path = _find_template_file(name, lookup)
        loaded = _NAMED_TEMPLATES[key] = _compiled_file(path, lookup, settings, reload)
    return loaded


def _compiled_file(path, lookup, settings, check_mtime):
    key = (path, lookup, _settings_key(settings))
    entry = _FILE_TEMPLATES.get(key)
    if entry is not None and not check_mtime:
        return entry[1]
    mtime = _mtime(path)
    if entry is not None and entry[0] == mtime:
        return entry[1]
    with _CACHE_LOCK:
        entry = _FILE_TEMPLATES.get(key)
        if entry is None or entry[0] != mtime:
            compiled = SimpleTemplate(name=path, lookup=lookup, **settings)
            entry = _FILE_TEMPLATES[key] = (mtime, compiled)
    return entry[1]


def _template_from_source(source, lookup=(), settings=None):
    settings = settings or {}
    key = (source, lookup, _settings_key(settings))
    compiled = _SOURCE_TEMPLATES.get(key)
    if compiled is None:
        compiled = SimpleTemplate(source=source, lookup=lookup, **settings)
        with _CACHE_LOCK:
            while len(_SOURCE_TEMPLATES) >= MAX_SOURCE_CACHE:
                del _SOURCE_TEMPLATES[next(iter(_SOURCE_TEMPLATES))]    # the oldest
            _SOURCE_TEMPLATES[key] = compiled
    return compiled


def _settings_key(settings):
    return tuple(sorted(settings.items())) if settings else ()


def _is_template_source(text):
    return isinstance(text, str) and ('\n' in text or '{{' in text or '%' in text)


def _mtime(path):
    try:
        return os.stat(path).st_mtime_ns
    except OSError as exc:
        raise TemplateError('cannot read template: %s' % exc, path) from exc


def _read_template_file(path, encoding):
    try:
        with open(path, encoding=encoding) as template_file:
            return template_file.read()
    except (OSError, UnicodeError) as exc:
        raise TemplateError('cannot read template: %s' % exc, path) from exc


def _find_template_file(name, lookup=()):
    """The path of template `name` (see template() for the search order).
    Raises TemplateError listing the folders searched."""
    if os.path.isabs(name) and os.path.isfile(name):
        return os.path.normpath(name)
    searched = []
    for folder, relative in _search_folders(name, lookup):
        path = _file_in_folder(folder, relative)
        if path is not None:
            return path
        searched.append(os.path.join(folder, relative))
    raise TemplateError('template %r not found; looked for %s (with .%s)'
                        % (name, ', '.join(searched), ', .'.join(TEMPLATE_EXTENSIONS)))


def _search_folders(name, lookup):
    """(folder, relative name) pairs to try, in order."""
    name = name.replace('\\', '/')
    config, current = _lookup_context()
    applications = _applications_folder(config)
    candidates = [(folder, name) for folder in lookup]
    if current:
        candidates.append((os.path.join(applications, current, 'views'), name))
    application, _, rest = name.partition('/')
    if rest:        # 'app/view' or 'app/views/view'
        if rest.startswith('views/'):
            rest = rest[len('views/'):]
        candidates.append((os.path.join(applications, application, 'views'), rest))
    candidates.append((os.path.join(applications, 'index', 'views'), name))
    candidates.extend((os.path.abspath(folder), name) for folder in TEMPLATE_PATH)
    return candidates


def _file_in_folder(folder, relative):
    root = os.path.abspath(folder)
    path = os.path.abspath(os.path.join(root, relative))
    if not path.startswith(root + os.sep):      # a name must not climb out with '..'
        return None
    for candidate in [path] + ['%s.%s' % (path, ext) for ext in TEMPLATE_EXTENSIONS]:
        if os.path.isfile(candidate):
            return candidate
    return None


def _lookup_context():
    """(config, application name) for this thread's request: the serving app's config and the
    application owning the route; outside a request the default app's config and None."""
    current = _request_in_thread()
    return _app_of(current).config, getattr(current, 'app_name', None)


def _lookup_cache_key():
    """(where, reload) for caching what a template name finds: `where` is part of the cache
    key, since the same name may mean another file for another application or applications
    folder; `reload` is true when templates are searched and compiled again (debug mode)."""
    config, application = _lookup_context()
    where = (application, config.get('project_path'), config.get('applications_path'))
    return where, bool(config.get('debug') or config.get('reload_templates'))


# The web helpers every template can call without importing them.
TEMPLATE_GLOBALS.update(url=url, base_url=base_url, request=request, csrf_token=csrf_token,
                        csrf_input=csrf_input, flash=flash,
                        get_flashed_messages=get_flashed_messages)
