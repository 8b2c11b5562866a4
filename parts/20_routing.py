import re
import threading
from urllib.parse import quote, urlencode

###############################################################################
# 2. Routing
# Router maps (method, decoded path) to a target and its converted arguments, and builds paths
# from named routes. It knows nothing of WSGI. Uses only section 1 (to_str).
###############################################################################

__all__ += ['Router', 'Route', 'RouteError', 'RouteNotFound', 'MethodNotAllowed',
            'RouteBuildError']

# Methods a route added for 'ANY' answers, as reported by Router.allowed_methods().
STANDARD_METHODS = ('DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT')
# Dynamic rules are joined into alternation regexes of at most this many rules each.
RULES_PER_REGEX = 50
_INT_PATTERN = '-?[0-9]+'                      # <x:int>, and int-annotated action arguments
_FLOAT_PATTERN = r'-?[0-9]+(?:\.[0-9]+)?'     # <x:float>, and float-annotated ones
_ALWAYS = float('inf')     # an add position later than any rule's


class RouteError(ValueError):
    """A route rule is malformed: unbalanced '<', unknown filter or bad regex. Names the rule."""


class RouteNotFound(LookupError):
    """No route matches the path, whatever the method (HTTP 404)."""

    def __init__(self, method, path):
        LookupError.__init__(self, 'no route matches %s %r' % (method, path))
        self.method, self.path = method, path


class MethodNotAllowed(LookupError):
    """A route matches the path but not the method (HTTP 405).

    `.allowed` is the sorted list of methods the path answers, for the Allow header
    (RFC 9110 section 15.5.6); it includes HEAD when GET is allowed, and OPTIONS.
    """

    def __init__(self, method, path, allowed):
        LookupError.__init__(self, '%s is not allowed for %r (allowed: %s)'
                             % (method, path, ', '.join(allowed)))
        self.method, self.path, self.allowed = method, path, allowed


class RouteBuildError(LookupError):
    """Router.build() got an unknown route name, or a missing or unfit parameter."""


class Route:
    """One rule bound to one method and a target; `.config` is free for other sections to fill.

    Routes made by one Router.add() call (a list of methods) share one config dict.
    """

    __slots__ = ('rule', 'method', 'target', 'name', 'config')

    def __init__(self, rule, method, target, name=None, config=None):
        self.rule, self.method, self.target, self.name = rule, method, target, name
        self.config = {} if config is None else config

    def __repr__(self):
        return '<Route %s %r -> %r>' % (self.method, self.rule, self.target)


class Router:
    """Match (method, path) to a Route and build paths from named routes.

    Rules: `/user/<id:int>`, `<name>` (one segment), `<x:float>`, `<p:path>` (the rest of the
    path), `<c:re:[a-z]+>`, plus filters added with add_filter(). Static rules are found with
    one dict lookup and always beat dynamic ones; among dynamic rules the first added wins.
    HEAD falls back to GET, and 'ANY' routes answer every method after the exact method's own
    (a static 'ANY' route still beats a dynamic one for the exact method).
    Matching is exact: '/a' and '/a/' are different rules.
    """

    def __init__(self):
        self.routes = []
        self._filters = {
            'default': ('[^/]+', str, to_str),
            'int': (_INT_PATTERN, int, to_str),
            'float': (_FLOAT_PATTERN, float, _float_to_url),
            'path': ('(?s:.+)', str, to_str),
        }
        self._static = {}      # rule -> {method: Route}
        self._dynamic = {}     # method -> {rule: (_ParsedRule, Route)}, in add order
        self._named = {}       # name -> (_ParsedRule, Route)
        self._parsed = {}      # rule -> _ParsedRule, for rules added with the current filters
        self._index = {}       # method -> (buckets, wild); see _index_rules()
        self._dirty = False
        self._lock = threading.Lock()

    def add_filter(self, name, regex, to_python=str, to_url=to_str):
        """Register `<arg:name>` for rules added from now on: `regex` matches the text,
        to_python converts it for the target, to_url turns a value back into text for build().
        Groups in `regex` are fine.

        Raises RouteError for a bad regex. to_python must accept any text the regex matches.
        """
        try:
            regex = _without_captures(regex)
        except (re.error, ValueError) as exc:
            raise RouteError('filter %r: bad regex %r: %s' % (name, regex, exc))
        self._filters[name] = (regex, to_python, to_url)
        self._parsed.clear()

    def add(self, rule, method, target, name=None, config=None):
        """Add a rule for one method ('GET', 'POST', ... or 'ANY') or a list of them; return the
        (first) Route. Adding a rule and method again replaces the target and keeps its place.

        Raises RouteError when the rule is malformed.
        """
        parsed = self._parse(rule)
        methods = [method] if isinstance(method, str) else list(method)
        if not methods:
            raise RouteError('route %r: no method given' % (rule,))
        shared_config = dict(config or {})
        added = [self._add_route(parsed, m.upper(), target, name, shared_config)
                 for m in methods]
        return added[0]

    def match(self, method, path):
        """Return (route, args) for a method and a decoded path; args maps wildcard names to
        converted values. Raises RouteNotFound (404) or MethodNotAllowed (405).
        """
        # Fast path: a static route for the exact method costs one dict lookup and one get.
        by_method = self._static.get(path)
        if by_method is not None:
            route = by_method.get(method)
            if route is not None:
                return route, {}
        return self._match_slowly(method, path, by_method)

    def allowed_methods(self, path):
        """Return the sorted methods `path` answers (with HEAD when GET is allowed, and
        OPTIONS), or [] when no rule matches it. An 'ANY' route allows STANDARD_METHODS."""
        return self._allowed_methods(path, ())

    def _allowed_methods(self, path, known_unmatched):
        methods = set(self._static.get(path, ()))
        for method in self._current_index():
            if method in methods or method in known_unmatched:
                continue
            if self._match_dynamic(method, path) is not None:
                methods.add(method)
        if not methods:
            return []
        if 'ANY' in methods:
            methods.discard('ANY')
            methods.update(STANDARD_METHODS)
        if 'GET' in methods:
            methods.add('HEAD')
        methods.add('OPTIONS')
        return sorted(methods)

    def build(self, name, /, **params):
        """Return the path of the route named `name` with wildcards filled from params.

        Values pass through the filter's to_url and are percent-encoded ('/' is kept only for
        path wildcards); params not in the rule become a sorted query string (None values are
        left out). Raises RouteBuildError for an unknown name or a missing or unfit value.
        """
        if name not in self._named:
            raise RouteBuildError('no route named %r' % (name,))
        parsed, route = self._named[name]
        pieces = []
        for piece in parsed.build_pieces:
            if isinstance(piece, str):
                pieces.append(piece)
            else:
                pieces.append(_build_wildcard(route, piece, params.pop(piece[0], None)))
        path = ''.join(pieces)
        query = sorted((key, value) for key, value in params.items() if value is not None)
        return path + '?' + urlencode(query, doseq=True) if query else path

    def _add_route(self, parsed, method, target, name, config):
        route = Route(parsed.rule, method, target, name, config)
        if parsed.is_static:
            by_method = self._static.setdefault(parsed.rule, {})
            replaced = by_method.get(method)
            by_method[method] = route
        else:
            by_rule = self._dynamic.setdefault(method, {})
            replaced = by_rule.get(parsed.rule, (None, None))[1]
            by_rule[parsed.rule] = (parsed, route)  # a replaced key keeps its place (priority)
            self._dirty = True
        if replaced is None:
            self.routes.append(route)
        else:
            self.routes[self.routes.index(replaced)] = route
        if name is not None:
            self._named[name] = (parsed, route)
        return route

    def _parse(self, rule):
        parsed = self._parsed.get(rule)
        if parsed is None:
            if not isinstance(rule, str):
                raise RouteError('route rule must be text, not %r' % (rule,))
            parsed = self._parsed[rule] = _ParsedRule(rule, self._filters)
        return parsed

    def _match_slowly(self, method, path, static_by_method):
        candidates = ('HEAD', 'GET', 'ANY') if method == 'HEAD' else (method, 'ANY')
        if static_by_method is not None:
            for candidate in candidates:
                route = static_by_method.get(candidate)
                if route is not None:
                    return route, {}
        if self._dirty:
            self._compile_index()
        for candidate in candidates:
            found = self._match_dynamic(candidate, path)
            if found is not None:
                return found
        allowed = self._allowed_methods(path, candidates)
        if allowed:
            raise MethodNotAllowed(method, path, allowed)
        raise RouteNotFound(method, path)

    def _match_dynamic(self, method, path):
        """Return (route, args) from the dynamic rules of exactly `method`, or None."""
        index = self._index.get(method)
        if index is None:
            return None
        buckets, wild = index
        slash = path.find('/', 1)
        bucket = buckets.get(path[1:slash] if slash > 0 else path[1:])
        best = _search_chunks(bucket, path, _ALWAYS) if bucket else None
        if wild:
            earlier = _search_chunks(wild, path, best[0][0] if best else _ALWAYS)
            best = earlier or best
        if best is None:
            return None
        (_, route, rule_regex, conversions), found = best
        if rule_regex is not None:
            found = rule_regex.fullmatch(path)
        args = found.groupdict()    # wildcards are named groups; the marker group is not
        for name, convert in conversions:
            args[name] = convert(args[name])
        return route, args

    def _current_index(self):
        """Return the dynamic index, compiling it first if rules were added since."""
        if self._dirty:
            self._compile_index()
        return self._index

    def _compile_index(self):
        with self._lock:
            if self._dirty:     # another thread may have compiled while this one waited
                self._index = {method: _index_rules(list(by_rule.values()))
                               for method, by_rule in list(self._dynamic.items())}
                self._dirty = False     # only now: a thread seeing False uses self._index


class _ParsedRule:
    """A rule split into its regex, its wildcards and the pieces build() joins."""

    __slots__ = ('rule', 'is_static', 'pattern', 'flat_pattern', 'regex', 'wildcards',
                 'first_segment', 'build_pieces')

    def __init__(self, rule, filters):
        self.rule = rule
        self.pattern, self.flat_pattern, self.wildcards, self.build_pieces = '', '', [], []
        for piece in _split_rule(rule):
            if isinstance(piece, str):
                self.pattern += re.escape(piece)
                self.flat_pattern += re.escape(piece)
                self.build_pieces.append(quote(piece, safe="/:@!$&'()*+,;="))
            else:
                self._add_wildcard(piece, filters)
        self.is_static = not self.wildcards
        # Dynamic rules whose first segment is literal are indexed by it (see _index_rules).
        head = rule.split('/', 2)
        is_literal = len(head) == 3 and head[0] == '' and '<' not in head[1]
        self.first_segment = head[1] if is_literal else None
        try:
            self.regex = re.compile(self.pattern)
        except re.error as exc:
            raise RouteError('route %r: bad regex: %s' % (rule, exc))

    def _add_wildcard(self, piece, filters):
        name, filter_name, config = piece
        if filter_name == 're':
            try:
                regex, to_python, to_url = _without_captures(config), str, to_str
            except (re.error, ValueError) as exc:
                raise RouteError('route %r: bad regex %r: %s' % (self.rule, config, exc))
        elif filter_name in filters and config is None:
            regex, to_python, to_url = filters[filter_name]
        elif filter_name in filters:
            raise RouteError('route %r: filter %r takes no configuration'
                             % (self.rule, filter_name))
        else:
            raise RouteError('route %r: unknown filter %r (known: %s)' % (
                self.rule, filter_name, ', '.join(sorted(set(filters) - {'default'}) + ['re'])))
        if any(name == known for known, _ in self.wildcards):
            raise RouteError('route %r: wildcard <%s> appears twice' % (self.rule, name))
        self.pattern += '(?P<%s>%s)' % (name, regex)
        self.flat_pattern += '(?:%s)' % regex
        self.wildcards.append((name, to_python))
        safe = '/' if filter_name == 'path' else ''
        self.build_pieces.append((name, to_url, safe, re.compile(regex).fullmatch))


def _split_rule(rule):
    """Return the rule as literal strings and (name, filter, config) wildcard triples."""
    pieces, position = [], 0
    while position < len(rule):
        opening = rule.find('<', position)
        literal = rule[position:] if opening < 0 else rule[position:opening]
        if '>' in literal:
            raise RouteError("route %r: '>' without a matching '<'" % (rule,))
        if literal:
            pieces.append(literal)
        if opening < 0:
            break
        closing = _wildcard_end(rule, opening + 1)
        name, _, spec = rule[opening + 1:closing].partition(':')
        filter_name, colon, config = spec.partition(':')
        if not name.isidentifier():
            raise RouteError('route %r: wildcard name %r is not an identifier' % (rule, name))
        pieces.append((name, filter_name or 'default', config if colon else None))
        position = closing + 1
    return pieces


def _wildcard_end(rule, position):
    """Return the index of the '>' closing a wildcard; a '>' inside the wildcard's regex
    (escaped, in a [class] or in parentheses, as in (?<=x)) does not close it."""
    depth, in_class = 0, False
    while position < len(rule):
        char = rule[position]
        if char == '\\':
            position += 1
        elif in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            position += _class_opening_length(rule, position) - 1
        elif char == '(':
            depth += 1
        elif char == ')':
            depth -= 1
        elif char == '>' and depth <= 0:
            return position
        position += 1
    raise RouteError("route %r: unbalanced '<'" % (rule,))


def _class_opening_length(text, position):
    """Length of the '[' at `position` with a '^' and a ']' that follow it: a ']' first in a
    character class is literal and does not close it."""
    end = position + 1
    end += text.startswith('^', end)
    end += text.startswith(']', end)
    return end - position


_INLINE_GLOBAL_FLAGS = re.compile(r'\(\?[aiLmsux]+\)')


def _without_captures(regex):
    """Return `regex` with its capturing groups made non-capturing, so that a rule's regex
    joined with others still numbers its wildcards' groups as the router expects.

    Raises ValueError for backreferences and global inline flags, which would change the
    meaning of the combined regex, and re.error for a regex that does not compile.
    """
    out, position, in_class = [], 0, False
    while position < len(regex):
        char, step = regex[position], 1
        if char == '\\':
            if regex[position + 1:position + 2] in set('123456789'):
                raise ValueError('backreferences are not supported')
            step = 2
        elif in_class:
            in_class = char != ']'
        elif char == '[':
            in_class = True
            step = _class_opening_length(regex, position)
        elif regex.startswith('(?P<', position):
            out.append('(?:')
            position = regex.index('>', position) + 1
            continue
        elif regex.startswith('(?P=', position):
            raise ValueError('backreferences are not supported')
        elif _INLINE_GLOBAL_FLAGS.match(regex, position):
            raise ValueError('global inline flags are not supported; use a group like (?i:...)')
        elif char == '(' and not regex.startswith('(?', position):
            out.append('(?:')
            position += 1
            continue
        out.append(regex[position:position + step])
        position += step
    flat = ''.join(out)
    if re.compile(flat).groups:
        raise ValueError('could not make its groups non-capturing')
    return flat


def _index_rules(rules):
    """Index one method's dynamic rules, [(parsed, route)] in add order: return (buckets, wild).

    Rules whose first segment is literal go to the bucket of that segment, the others to
    `wild`; both hold chunks of alternation regexes (see _combine_rules). A match looks in the
    bucket named by the path's first segment, then in `wild` only among rules added earlier
    than the bucket's match, so it costs a dict lookup and one regex call or two however many
    rules there are, and each rule is compiled once.
    """
    entries = [(position, parsed, route) for position, (parsed, route) in enumerate(rules)]
    by_segment = {}
    for entry in entries:
        if entry[1].first_segment is not None:
            by_segment.setdefault(entry[1].first_segment, []).append(entry)
    wild = [entry for entry in entries if entry[1].first_segment is None]
    buckets = {segment: _combine_rules(bucket) for segment, bucket in by_segment.items()}
    return buckets, _combine_rules(wild)


def _combine_rules(entries):
    """Join rules (in add order) into chunks of alternation regexes:
    [(first rule's add position, regex, {marker group: (position, route, regex, conversions)})].

    Each alternative is a rule with non-capturing wildcards and an empty marker group at its
    end, so a failing alternative sets no group (sre's group bookkeeping grows with the number
    of groups passed) and the match's lastindex names the rule. The rule's own regex, with a
    named group per wildcard, then captures the arguments; a chunk of one rule uses that regex
    directly (and stores None instead of it).
    """
    combined = []
    for start in range(0, len(entries), RULES_PER_REGEX):
        chunk = entries[start:start + RULES_PER_REGEX]
        alternatives, rules_by_marker = [], {}
        for position, parsed, route in chunk:
            conversions = tuple((name, convert) for name, convert in parsed.wildcards
                                if convert is not str)
            if len(chunk) == 1:
                alternatives.append(parsed.pattern + '()')
                marker, rule_regex = len(parsed.wildcards) + 1, None
            else:
                alternatives.append(parsed.flat_pattern + '()')
                marker, rule_regex = len(alternatives), parsed.regex
            rules_by_marker[marker] = (position, route, rule_regex, conversions)
        combined.append((chunk[0][0], re.compile('|'.join(alternatives)), rules_by_marker))
    return combined


def _search_chunks(chunks, path, added_before):
    """Return (rule data, match) for the first-added rule in chunks that matches path and was
    added before position `added_before`, or None."""
    for first_position, regex, rules_by_marker in chunks:
        if first_position >= added_before:
            return None
        found = regex.fullmatch(path)
        if found is not None:
            rule = rules_by_marker[found.lastindex]
            return (rule, found) if rule[0] < added_before else None
    return None


def _build_wildcard(route, piece, value):
    """Return the percent-encoded text of one wildcard value for Router.build()."""
    name, to_url, safe, fits = piece
    if value is None:
        raise RouteBuildError('route %r (%s) needs the parameter %r'
                              % (route.name, route.rule, name))
    try:
        text = to_str(to_url(value))
    except (TypeError, ValueError) as exc:
        raise RouteBuildError('route %r: cannot convert %s=%r: %s'
                              % (route.name, name, value, exc))
    # A value its own rule would not match gives a path that leads elsewhere: refuse it.
    if not fits(text):
        raise RouteBuildError('route %r (%s): %s=%r does not match the rule'
                              % (route.name, route.rule, name, value))
    return quote(text, safe=safe)


def _float_to_url(value):
    """Text for a float wildcard, written without an exponent so that it matches again."""
    text = to_str(value)
    if isinstance(value, float) and 'e' in text:
        text = ('%.20f' % value).rstrip('0').rstrip('.')
    return text
