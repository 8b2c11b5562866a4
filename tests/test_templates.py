"""Tests for section 7, Templates: SimpleTemplate syntax, blocks, lookup, caching, errors."""
import contextlib
import gc
import json
import os
import shutil
import tempfile
import threading
import unittest
from unittest import mock

import kokoropy
from kokoropy import Markup, SimpleTemplate, TemplateError, load_view, template, view

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures', 'templates')


def render(source, **variables):
    return SimpleTemplate(source).render(**variables)


def compile_source(source):
    """Compile template source now (SimpleTemplate compiles on first use, as Bottle's does)."""
    return SimpleTemplate(source).co


def write_files(folder, files):
    """Write {relative path: text} under folder."""
    for name, text in files.items():
        path = os.path.join(folder, *name.split('/'))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write(text)


class FolderTestCase(unittest.TestCase):
    """A temporary lookup folder; `files` are written into it."""
    files = {}

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix='kokoropy_tpl_')
        self.addCleanup(shutil.rmtree, self.folder)
        write_files(self.folder, self.files)

    def render_file(self, name, **variables):
        return template(name, template_lookup=[self.folder], **variables)


class ExpressionTest(unittest.TestCase):

    def test_expression_escapes_all_five_characters(self):
        self.assertEqual(render('{{v}}', v='<a href="x">Tom & Jerry\'s</a>'),
                         '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#x27;s&lt;/a&gt;')

    def test_raw_expression_is_not_escaped(self):
        self.assertEqual(render('{{!v}}|{{ !v }}', v='<b>&</b>'), '<b>&</b>|<b>&</b>')

    def test_none_renders_empty_escaped_and_raw(self):
        self.assertEqual(render('[{{v}}][{{!v}}]', v=None), '[][]')

    def test_markup_and_html_objects_pass_through(self):
        class Widget(object):
            def __html__(self):
                return '<i>w</i>'
        self.assertEqual(render('{{m}} {{w}}', m=Markup('<b>x</b>'), w=Widget()),
                         '<b>x</b> <i>w</i>')

    def test_numbers_booleans_and_bytes_are_converted(self):
        self.assertEqual(render('{{0}} {{1.5}} {{False}} {{b}} {{!b}}', b=b'<caf\xc3\xa9>'),
                         '0 1.5 False &lt;café&gt; <café>')

    def test_each_character_alone_is_escaped_in_every_kind_of_statement(self):
        # {{x}} calls html_escape() only for values other than a str free of & < > " '
        source = ('{{a}}|{{b}}\n% for v in values:\n[{{v}}]\n% end\n'
                  '% if 1:\n% try:\n{{a}}\n% except Exception:\n% pass\n% end\n% end\n')
        values = ['&', '<', '>', '"', "'", 'plain', '', 7, None, Markup('<i>'), ['<']]
        self.assertEqual(render(source, a='x&y', b='ok', values=values),
                         'x&amp;y|ok\n[&amp;]\n[&lt;]\n[&gt;]\n[&quot;]\n[&#x27;]\n[plain]\n'
                         "[]\n[7]\n[]\n[<i>]\n[[&#x27;&lt;&#x27;]]\nx&amp;y\n")

    def test_line_of_several_values_escapes_each_as_html_escape(self):
        # Such a line searches its str values joined first, and then each (_JOINT_CHECK).
        tpl = SimpleTemplate('<td>{{a}}</td>{{b}}{{c}}\n')
        samples = ['plain', 'a&b', '<', '>', '"', "'", '', 'x\'y"z', 7, None, 2.5, True,
                   Markup('<i>&</i>'), b'<b>']
        for a in samples:
            for b in samples:
                for c in samples[:3]:
                    expected = '<td>%s</td>%s%s\n' % tuple(kokoropy.html_escape(value)
                                                          for value in (a, b, c))
                    self.assertEqual(tpl.render(a=a, b=b, c=c), expected, (a, b, c))

    def test_values_are_computed_and_escaped_in_order(self):
        seen = []

        class Noted(object):
            def __init__(self, name):
                self.name = name

            def __html__(self):
                seen.append('html ' + self.name)
                return self.name

        def note(name):
            seen.append('value ' + name)
            return Noted(name)
        self.assertEqual(render('{{note("a")}}-{{note("b")}}', note=note), 'a-b')
        self.assertEqual(seen, ['value a', 'html a', 'value b', 'html b'])

    def test_raw_and_escaped_values_are_computed_in_their_order(self):
        # {{!x}} among {{x}}: the escape checks must not compute the escaped values first.
        counter = iter(range(1, 100))
        self.assertEqual(render('{{!next(c)}}-{{next(c)}}-{{!next(c)}}|{{next(c)}}{{!next(c)}}',
                                c=counter), '1-2-3|45')
        seen = []
        self.assertEqual(render('{{!f("a")}}{{f("b")}}\n{{f("c")}}{{!f("d")}}{{f("e")}}',
                                f=lambda name: seen.append(name) or name), 'ab\ncde')
        self.assertEqual(seen, ['a', 'b', 'c', 'd', 'e'])
        tpl = SimpleTemplate('{{!next(c)}}{{next(c)}}', escape_func=lambda text: '<%s>' % text)
        self.assertEqual(tpl.render(c=iter('xy')), 'x<y>')

    def test_escape_func_sees_every_value(self):
        tpl = SimpleTemplate('{{a}} {{b}}', escape_func=lambda text: '<%s>' % text)
        self.assertEqual(tpl.render(a='plain', b=3), '<plain> <3>')

    def test_python_expressions_with_strings_holding_braces(self):
        self.assertEqual(render("{{'}}' + x}} {{ {'k': 1}['k'] }}", x='!'), '}}! 1')

    def test_several_expressions_on_one_line(self):
        self.assertEqual(render('<td>{{a}}</td><td>{{b}}</td>\n', a=1, b='<'),
                         '<td>1</td><td>&lt;</td>\n')

    def test_unicode_text_and_values(self):
        self.assertEqual(render('心から {{v}} — ok\n', v='こんにちは <b>'),
                         '心から こんにちは &lt;b&gt; — ok\n')

    def test_crlf_line_endings_are_kept(self):
        self.assertEqual(render('a\r\n% if 1:\r\nb {{1}}\r\n% end\r\nc'), 'a\r\nb 1\r\nc')

    def test_render_merges_dict_arguments_and_keywords(self):
        tpl = SimpleTemplate('{{a}}{{b}}{{c}}')
        self.assertEqual(tpl.render({'a': 1, 'b': 1}, {'b': 2}, c=3), '123')

    def test_noescape_setting_swaps_escaped_and_raw(self):
        tpl = SimpleTemplate('{{v}}|{{!v}}', noescape=True)
        self.assertEqual(tpl.render(v='<'), '<|&lt;')

    def test_each_setting_prints_values_alone_and_among_text_alike(self):
        # {{x}} is done inline only where it is html_escape(): the other settings call theirs.
        values = ['<&>"\'', 'plain', 7, True, None, 2.5, Markup('<i>')]
        settings = [({}, ['&lt;&amp;&gt;&quot;&#x27;', 'plain', '7', 'True', '', '2.5', '<i>']),
                    ({'noescape': True}, ['<&>"\'', 'plain', '7', 'True', '', '2.5', '<i>']),
                    ({'escape_func': lambda text: '[%s]' % text},
                     ['[<&>"\']', '[plain]', '[7]', '[True]', '[]', '[2.5]', '[<i>]'])]
        for options, expected in settings:
            alone = SimpleTemplate('{{v}}', **options)
            among = SimpleTemplate('<{{v}}|{{!v}}>', **options)
            raw = kokoropy.html_escape if options.get('noescape') else kokoropy.to_str
            for value, text in zip(values, expected):
                self.assertEqual(alone.render(v=value), text, (options, value))
                self.assertEqual(among.render(v=value), '<%s|%s>' % (text, raw(value)),
                                 (options, value))

    def test_escape_func_setting_replaces_escaping(self):
        tpl = SimpleTemplate('{{v}}', escape_func=lambda text: text.upper())
        self.assertEqual(tpl.render(v='abc'), 'ABC')

    def test_unknown_setting_is_an_error(self):
        with self.assertRaises(TemplateError):
            SimpleTemplate('x', colour='blue')


class CodeTest(unittest.TestCase):

    def test_code_lines_at_any_indentation(self):
        source = '<ul>\n    % for i in items:\n  <li>{{i}}</li>\n        % end\n</ul>\n'
        self.assertEqual(render(source, items=[1, 2]), '<ul>\n  <li>1</li>\n  <li>2</li>\n</ul>\n')

    def test_loop_variable_stays_in_the_namespace(self):
        # The loop body reads the variable from a local copy (_local_loop_reads), and the
        # namespace still holds it at each turn and after the loop.
        source = ('% for row in rows:\n{{row}}{{get("row")}}{{defined("row")}}'
                  '{{[row for _ in "a"][0]}}{{(lambda: row)()}}\n% end\n{{row}}\n')
        self.assertEqual(render(source, rows=[1, 2]), '11True11\n22True22\n2\n')

    def test_loop_variable_holds_its_last_value_after_the_loop(self):
        # A body printing only is run without storing the variable at each turn; the
        # namespace has it after the loop all the same (or keeps its value when no turn ran).
        source = ('% for row in rows:\n{{row}}\n% if row == stop: break; end\n% end\n'
                  '{{defined("row")}} {{get("row")}}\n')
        self.assertEqual(render(source, rows=[1, 2, 3], stop=None), '1\n2\n3\nTrue 3\n')
        self.assertEqual(render(source, rows=[1, 2, 3], stop=2), '1\n2\nTrue 2\n')
        self.assertEqual(render(source, rows=[], stop=None), 'False \n')
        self.assertEqual(render(source, rows=[], stop=None, row='before'), 'True before\n')

    def test_empty_inner_loop_leaves_its_variable_as_it_was(self):
        source = ('% for group in groups:\n% for item in group:\n{{item}}\n% end\n'
                  '[{{item}}]\n% end\n')
        self.assertEqual(render(source, groups=[[1, 2], [], [3], []], item=0),
                         '1\n2\n[2]\n[2]\n3\n[3]\n[3]\n')
        with self.assertRaises(TemplateError):
            render(source, groups=[[]])

    def test_loop_variable_is_current_for_what_the_loop_runs(self):
        sources = ['% for row in rows:\n{{get("row")}}\n% end\n',
                   '% for row in rows:\n{{[row for _ in "a"][0]}}\n% end\n',
                   '% for row in rows:\n{{row}}\n% else:\n{{row}}\n% end\n']
        expected = ['ab\nc\n', 'ab\nc\n', 'ab\nc\nc\n']
        for source, text in zip(sources, expected):
            with self.subTest(source=source):
                self.assertEqual(render(source, rows=['ab', 'c']), text)

    def test_loop_left_by_return_has_its_variable_in_the_namespace(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        write_files(folder, {'find.tpl': '% for row in rows:\n% if row == 2: return; end\n'
                                         '% end\n'})
        tpl = SimpleTemplate("{{include('find', rows=[1, 2, 3])['row']}}", lookup=[folder])
        self.assertEqual(tpl.render(), '2')

    def test_loop_variable_is_current_for_code_the_loop_body_runs(self):
        # Code the template defines may read the variable from the namespace while the loop
        # runs without a call in the body: a value's __str__, a generator a nested loop runs,
        # a handler after an exception in the loop, the code after a with that swallowed it.
        sources = [
            '% class Shown:\n%   def __str__(self):\n%     return "<%s>" % row\n%   end\n'
            '% end\n% shown = Shown()\n% for row in rows:\n{{shown}}\n% end\n',
            '% current = (row for _ in iter(int, 1))\n% for row in rows:\n'
            '% for seen in current:\n{{seen}}\n% break\n% end\n% end\n',
            '% try:\n% for row in rows:\n{{row[1]}}\n% end\n% except IndexError:\n'
            '<{{row}}>\n% end\n',
            '% with suppress(IndexError):\n% for row in rows:\n{{row[1]}}\n% end\n% end\n'
            '<{{row}}>\n']
        expected = ['&lt;ab&gt;\n&lt;c&gt;\n', 'ab\nc\n', 'b\n<c>\n', 'b\n<c>\n']
        for source, text in zip(sources, expected):
            with self.subTest(source=source):
                self.assertEqual(render(source, rows=['ab', 'c'], suppress=contextlib.suppress),
                                 text)

    def test_loop_variable_changed_elsewhere_is_read_from_the_namespace(self):
        sources = [
            '% def bump():\n%   global row\n%   row = 10\n% end\n'
            '% for row in rows:\n% bump()\n{{row}}\n% end\n',
            '% for row in rows:\n% row = 10\n{{row}}\n% end\n',
            '% for row in rows:\n% exec("global row; row = 10")\n{{row}}\n% end\n',
            '% for row in rows:\n% for row in [10]:\n% end\n{{row}}\n% end\n']
        for source in sources:
            self.assertEqual(render(source, rows=[1, 2]), '10\n10\n', source)

    def test_namespace_of_an_included_partial_holds_its_names_only(self):
        # A partial calling no include/get/... is rendered without those functions.
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        write_files(folder, {'leaf.tpl': '% y = x + 1\n<{{y}}>'})
        tpl = SimpleTemplate("% ns = include('leaf', x=1)\n"
                             "{{ns['y']}} {{sorted(set(ns) & {'include', 'get', 'rebase'})}}"
                             " {{get('y', 'none')}}", lookup=[folder])
        self.assertEqual(tpl.render(), '<2>2 [] none')

    def test_included_template_sees_the_loop_variable(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        write_files(folder, {'item.tpl': '<{{row}}>'})
        tpl = SimpleTemplate("% for row in rows:\n% include('item')\n% end\n", lookup=[folder])
        self.assertEqual(tpl.render(rows=[1, 2]), '<1><2>')

    def test_if_elif_else(self):
        source = '% if n < 0:\nneg\n% elif n == 0:\nzero\n% else:\npos\n% end\n'
        self.assertEqual([render(source, n=n) for n in (-1, 0, 1)], ['neg\n', 'zero\n', 'pos\n'])

    def test_while_with_try_except_finally(self):
        source = ('% i = 0\n% while i < 2:\n{{i}}\n%   i += 1\n% end\n'
                  '% try:\n{{ 1 // z }}\n% except ZeroDivisionError:\ndiv\n% finally:\nfin\n% end\n'
                  '% with open(path) as f:\n{{f.read()}}\n% end\n')
        self.assertEqual(render(source, z=0, path=os.devnull), '0\n1\ndiv\nfin\n\n')

    def test_def_in_template_prints_where_called(self):
        source = '% def cell(v):\n<td>{{v}}</td>\n% end\n% cell(1)\n% cell("<")\n'
        self.assertEqual(render(source), '<td>1</td>\n<td>&lt;</td>\n')

    def test_end_may_carry_a_comment(self):
        self.assertEqual(render('% for i in range(2):\n{{i}}\n% end  # for\n'), '0\n1\n')

    def test_empty_branch_is_allowed(self):
        self.assertEqual(render('% if x:\n% else:\nno\n% end\n', x=True), '')

    def test_multiline_code_block(self):
        source = ('a\n<%\n  # a comment\n  total = 0\n  for n in numbers:\n    total += n\n'
                  '  end\n%>\n{{total}}')
        self.assertEqual(render(source, numbers=[1, 2, 3]), 'a\n6')

    def test_single_line_code_block_and_brackets_over_lines(self):
        source = "<% x = 'a %> b' %>\n<% y = [1,\n      2] %>\n{{x}} {{sum(y)}}"
        self.assertEqual(render(source), 'a %&gt; b 3')

    def test_percent_lines_that_are_text(self):
        source = '%% literal\n  %%indented\n\\% backslash\n\\<% tag\n50 % of it\n'
        self.assertEqual(render(source),
                         '% literal\n  %indented\n% backslash\n<% tag\n50 % of it\n')

    def test_double_backslash_joins_a_line_to_the_code_below(self):
        source = '<div>\\\\\n% if True:\n<span>x</span>\\\\\n% end\n</div>\\\\\n'
        self.assertEqual(render(source), '<div><span>x</span></div>')

    def test_double_backslash_before_text_stays_as_bottle_leaves_it(self):
        self.assertEqual(render('a\\\\\nb'), 'a\\\\\nb')

    def test_defined_get_setdefault(self):
        source = ("% setdefault('title', 'T')\n% x = 1\n"
                  "{{title}} {{defined('x')}} {{defined('y')}} {{get('y', 'dflt')}} {{get('x')}}")
        self.assertEqual(render(source), 'T True False dflt 1')
        self.assertEqual(render(source, title='given'), 'given True False dflt 1')

    def test_template_globals_are_available_and_overridden_by_variables(self):
        with mock.patch.dict(kokoropy.TEMPLATE_GLOBALS, {'site': 'S', 'shout': str.upper}):
            self.assertEqual(render('{{site}} {{shout("hi")}}'), 'S HI')
            self.assertEqual(render('{{site}}', site='mine'), 'mine')

    def test_web_helpers_are_template_globals(self):
        for name in ('url', 'base_url', 'request'):
            self.assertIs(kokoropy.TEMPLATE_GLOBALS[name], getattr(kokoropy, name))

    def test_code_property_shows_generated_python(self):
        self.assertIn('_append(_escape(x))', SimpleTemplate('{{x}}').code)


class IncludeRebaseTest(FolderTestCase):
    files = {
        'base.tpl': '<title>{{title}}</title>\n{{!base}}<footer>{{get("who", "-")}}</footer>\n',
        'child.tpl': "% rebase('base', title='T & U')\n% who = 'child'\n<p>{{msg}}</p>\n",
        'legacy.tpl': "%rebase base title='Legacy'\n<p>old</p>\n%include header heading='L'\n",
        'header.tpl': '<h1>{{heading}} {{msg}}</h1>\n',
        'page.tpl': "% include('header', heading='H')\n<p>after</p>\n",
        'nested.tpl': "<div>\n% include('child')\n</div>\n",
        'loop.tpl': "% rebase('loop')\n",
    }

    def test_rebase_passes_output_as_base_and_keywords(self):
        self.assertEqual(self.render_file('child', msg='<hi>'),
                         '<title>T &amp; U</title>\n<p>&lt;hi&gt;</p>\n<footer>child</footer>\n')

    def test_legacy_rebase_and_include_without_parentheses(self):
        self.assertEqual(self.render_file('legacy', msg='m'),
                         '<title>Legacy</title>\n<p>old</p>\n<h1>L m</h1>\n<footer>-</footer>\n')

    def test_include_sees_caller_variables_and_keywords(self):
        self.assertEqual(self.render_file('page', msg='m'), '<h1>H m</h1>\n<p>after</p>\n')

    def test_included_template_may_rebase(self):
        self.assertEqual(self.render_file('nested', msg='x'),
                         '<div>\n<title>T &amp; U</title>\n<p>x</p>\n<footer>child</footer>\n'
                         '</div>\n')

    def test_rebase_cycle_is_an_error(self):
        with self.assertRaises(TemplateError) as caught:
            self.render_file('loop')
        self.assertIn('levels of rebase', str(caught.exception))

    def test_template_accepts_source_and_dict_arguments(self):
        self.assertEqual(template('{{a}}-{{b}}', {'a': 1}, b=2), '1-2')
        self.assertEqual(template("% include('header', heading='x')\n",
                                  template_lookup=[self.folder], msg='y'), '<h1>x y</h1>\n')

    def test_same_name_in_two_lookups_finds_each_file(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        write_files(other, {'header.tpl': 'other {{heading}}'})
        source = "% include('header', heading='h', msg='m')\n"
        mine = SimpleTemplate(source, lookup=[self.folder])
        theirs = SimpleTemplate(source, lookup=[other])
        for _ in range(2):      # the second time from what each includer remembers
            self.assertEqual((mine.render(), theirs.render()), ('<h1>h m</h1>\n', 'other h'))

    def test_a_global_an_except_clause_took_is_back_for_include_and_layout(self):
        # Python deletes the name of `except ... as name` when the handler ends.
        write_files(self.folder, {
            'ex_page.tpl': ("% try:\n% 1/0\n% except Exception as base_url:\nE\n% end\n"
                            "% include('ex_part')\n"),
            'ex_part.tpl': "{{base_url('/x')}}\n",
            'ex_child.tpl': ("% try:\n% 1/0\n% except Exception as base_url:\n% pass\n% end\n"
                             "% rebase('ex_part')\n")})
        self.assertEqual(self.render_file('ex_page'), 'E\n/x\n')
        self.assertEqual(self.render_file('ex_child'), '/x\n')

    def test_a_changed_lookup_is_followed_by_the_next_include(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        write_files(other, {'header.tpl': 'other {{heading}}'})
        page = SimpleTemplate("% include('header', heading='h', msg='m')\n",
                              lookup=[self.folder])
        self.assertEqual(page.render(), '<h1>h m</h1>\n')
        page.lookup.insert(0, other)        # changed in place
        self.assertEqual(page.render(), 'other h')
        page.lookup = [self.folder]         # replaced
        self.assertEqual(page.render(), '<h1>h m</h1>\n')

    def test_layout_of_a_template_deleting_a_global_still_has_it(self):
        # The layout's names start from TEMPLATE_GLOBALS again, then the child's.
        write_files(self.folder, {'del_page.tpl': "% del url\n% rebase('del_layout')\n",
                                  'del_layout.tpl': "{{defined('url')}}"})
        self.assertEqual(self.render_file('del_page'), 'True')


class BlockTest(FolderTestCase):
    files = {
        'layout.tpl': ('<title>{% block title %}Site{% endblock %}</title>\n'
                       '{% block content %}\n<p>default</p>\n{% endblock %}\n'
                       '<aside>{% block sidebar %}side{% endblock sidebar %}</aside>\n'
                       '{{!get("base", "")}}'),
        'page.tpl': ("% extends('layout')\n"
                     '{% block title %}{{title}} - {% parent %}{% endblock %}\n'
                     'outside the blocks\n'
                     '{% block content %}\n<p>page</p>\n{% endblock %}\n'),
        'section.tpl': ("% rebase('layout')\n"
                        '{% block title %}Section | {% parent %}{% endblock %}\n'
                        '{% block content %}\n<section>\n{% block inner %}inner{% endblock %}\n'
                        '</section>\n{% endblock %}\n'),
        'article.tpl': ("% extends('section')\n"
                        '{% block title %}Article | {% parent %}{% endblock %}\n'
                        "{% block inner %}{% parent %} + article \\\\\n% include('item', n=2)\n"
                        '{% endblock %}\n'),
        'item.tpl': '<i>{{n}}</i>',
        'with_include.tpl': ("% extends('layout')\n{% block content %}\n"
                             "% include('item', n=1)\n\n{% endblock %}\n"),
        'maybe.tpl': ("% if use_layout:\n%   extends('layout')\n% end\n"
                      '[{% block title %}Mine{% endblock %}]\n'),
        'rows.tpl': ('% for row in rows:\n{% block row %}<{{row}}>{% endblock %}\n% end\n'),
        'maybe_inline.tpl': ("% extends('layout') if use_layout else None\n"
                             '[{% block title %}Mine{% endblock %}]\n'),
        'vars_layout.tpl': ("% in_layout = 'L'\n{% block a %}{% endblock %}|{% block b %}"
                            "{% endblock %}|{{get('from_block', 'none')}}\n"),
        'vars_page.tpl': ("% extends('vars_layout')\n% top = 'T'\n"
                          "{% block a %}\n% from_block = 'A'\n{{from_block}}{% endblock %}\n"
                          "{% block b %}{{from_block}} {{top}} {{get('in_layout', '-')}}"
                          "{% endblock %}\n"),
        'globals_layout.tpl': ('{{sorted(name for name in globals() if name in ("include", '
                               '"rebase", "extends", "get", "setdefault", "defined", '
                               '"_render_block", "_block_slot"))}}'),
        'globals_page.tpl': "% extends('globals_layout')\n",
    }

    def test_layout_rendered_alone_shows_its_blocks(self):
        self.assertEqual(self.render_file('layout'),
                         '<title>Site</title>\n<p>default</p>\n<aside>side</aside>\n')

    def test_child_overrides_blocks_parent_inserts_layout_content(self):
        self.assertEqual(self.render_file('page', title='<T>'),
                         '<title>&lt;T&gt; - Site</title>\n<p>page</p>\n<aside>side</aside>\n'
                         '\noutside the blocks\n')

    def test_three_levels_with_parent_and_nested_block(self):
        self.assertEqual(self.render_file('article'),
                         '<title>Article | Section | Site</title>\n<section>\n'
                         'inner + article <i>2</i>\n</section>\n<aside>side</aside>\n\n')

    def test_middle_level_rendered_directly(self):
        self.assertEqual(self.render_file('section'),
                         '<title>Section | Site</title>\n<section>\ninner\n</section>\n'
                         '<aside>side</aside>\n\n')

    def test_include_inside_block(self):
        self.assertEqual(self.render_file('with_include'),
                         '<title>Site</title>\n<i>1</i>\n<aside>side</aside>\n')

    def test_blocks_print_in_place_when_extends_is_not_reached(self):
        self.assertEqual(self.render_file('maybe', use_layout=False), '[Mine]\n')
        self.assertEqual(self.render_file('maybe', use_layout=True),
                         '<title>Mine</title>\n<p>default</p>\n<aside>side</aside>\n[]\n')

    def test_block_in_a_loop_renders_each_time(self):
        self.assertEqual(self.render_file('rows', rows=[1, 2]), '<1>\n<2>\n')

    def test_render_leaves_no_reference_cycles(self):
        tpl = SimpleTemplate(name='article', lookup=[self.folder])
        tpl.render()
        gc.collect()
        gc.disable()
        self.addCleanup(gc.enable)
        for _ in range(3):
            tpl.render()
        self.assertEqual(gc.collect(), 0)

    def test_blocks_work_in_source_templates(self):
        self.assertEqual(render('{% block a %}A{% endblock a %}{% block b %}B{% endblock %}'),
                         'AB')

    def test_blocks_print_in_place_when_a_one_line_extends_is_not_taken(self):
        self.assertEqual(self.render_file('maybe_inline', use_layout=False), '[Mine]\n')
        self.assertEqual(self.render_file('maybe_inline', use_layout=True),
                         '<title>Mine</title>\n<p>default</p>\n<aside>side</aside>\n[]\n')

    def test_child_blocks_share_the_childs_names_not_the_layouts(self):
        # A name set in a child's block is seen by its next block, not by the layout; a name
        # the layout sets is not seen by the child's blocks.
        for _ in range(2):
            self.assertEqual(self.render_file('vars_page'), 'A|A T -|none\n')

    def test_layout_calling_globals_sees_every_template_function(self):
        self.assertEqual(self.render_file('globals_page'), SimpleTemplate('{{x}}').render(
            x=sorted(['include', 'rebase', 'extends', 'get', 'setdefault', 'defined',
                      '_render_block', '_block_slot'])))


class ErrorTest(FolderTestCase):
    files = {
        'broken.tpl': 'line 1\nline 2\n<p>{{ user.name }}</p>\n',
        'layout.tpl': '<h1>{% block title %}{% endblock %}</h1>\n',
        'child.tpl': "% extends('layout')\n\n{% block title %}\n{{ 1 / zero }}\n{% endblock %}\n",
        'outer.tpl': "ok\n% include('broken')\n",
        'missing.tpl': "a\n% rebase('no_such_layout')\n",
    }

    def assert_error(self, callable_, lineno, line, problem, filename='<string>'):
        with self.assertRaises(TemplateError) as caught:
            callable_()
        error = caught.exception
        self.assertEqual((error.filename, error.lineno, error.line.strip()),
                         (filename, lineno, line))
        self.assertIn(problem, str(error))
        self.assertIn('line %d' % lineno, str(error))
        self.assertIn(line, str(error))
        return error

    def test_exception_in_expression_names_line_and_chains_cause(self):
        error = self.assert_error(lambda: render('a\nb\n{{ 1 / z }}\n', z=0), 3, '{{ 1 / z }}',
                                  'ZeroDivisionError: division by zero')
        self.assertIsInstance(error.__cause__, ZeroDivisionError)

    def test_exception_in_file_names_the_file(self):
        path = os.path.join(self.folder, 'broken.tpl')
        error = self.assert_error(lambda: self.render_file('broken', user=None), 3,
                                  '<p>{{ user.name }}</p>', 'AttributeError', path)
        self.assertIn(path, str(error))

    def test_exception_in_child_block_rendered_by_layout_names_the_child(self):
        self.assert_error(lambda: self.render_file('child', zero=0), 4, '{{ 1 / zero }}',
                          'ZeroDivisionError', os.path.join(self.folder, 'child.tpl'))

    def test_exception_in_included_template_names_the_included_file(self):
        self.assert_error(lambda: self.render_file('outer', user=None), 3,
                          '<p>{{ user.name }}</p>', 'AttributeError',
                          os.path.join(self.folder, 'broken.tpl'))

    def test_unknown_rebase_target_names_the_rebase_line(self):
        error = self.assert_error(lambda: self.render_file('missing'), 2,
                                  "% rebase('no_such_layout')", 'no_such_layout',
                                  os.path.join(self.folder, 'missing.tpl'))
        self.assertIn('not found', str(error))

    def test_syntax_error_names_template_line(self):
        error = self.assert_error(lambda: compile_source('ok\n% x = = 1\nok'), 2, '% x = = 1',
                                  'SyntaxError')
        self.assertIsInstance(error.__cause__, SyntaxError)

    def test_syntax_error_in_expression(self):
        self.assert_error(lambda: compile_source('a\n\n<b>{{ 1 + }}</b>'), 3, '<b>{{ 1 + }}</b>',
                          'SyntaxError')

    def test_unclosed_if_names_its_line(self):
        self.assert_error(lambda: compile_source('a\n% for x in y:\n% if x:\n{{x}}\n% end\n'),
                          2, '% for x in y:', 'never closed by "% end"')

    def test_stray_end(self):
        self.assert_error(lambda: compile_source('a\n% if 1:\n% end\n% end\n'), 4, '% end',
                          'closes nothing')

    def test_else_without_if(self):
        self.assert_error(lambda: compile_source('a\n% else:\n'), 2, '% else:', 'without an open')

    def test_unclosed_block(self):
        self.assert_error(lambda: compile_source('a\n{% block main %}\nb\n'), 2,
                          '{% block main %}', 'never closed by {% endblock %}')

    def test_unclosed_if_inside_block(self):
        self.assert_error(lambda: compile_source('{% block a %}\n% if x:\n{% endblock %}\n'), 2,
                          '% if x:', 'never closed')

    def test_stray_endblock_and_mismatched_name(self):
        self.assert_error(lambda: compile_source('a\n{% endblock %}'), 2, '{% endblock %}',
                          'without an open')
        self.assert_error(lambda: compile_source('{% block a %}\n{% endblock b %}'), 2,
                          '{% endblock b %}', 'closes {% block a %} of line 1')

    def test_duplicate_block_and_parent_outside_block(self):
        self.assert_error(lambda: compile_source('{% block a %}{% endblock %}\n'
                                                 '{% block a %}{% endblock %}'),
                          2, '{% block a %}{% endblock %}', 'defined twice')
        self.assert_error(lambda: compile_source('x\n{% parent %}'), 2, '{% parent %}',
                          'outside')

    def test_unclosed_code_block(self):
        self.assert_error(lambda: compile_source('a\n<% x = 1\ny = 2\n'), 2, '<% x = 1',
                          'never closed by "%>"')

    def test_empty_expression(self):
        self.assert_error(lambda: compile_source('a {{ }}'), 1, 'a {{ }}', 'empty')

    def test_http_errors_raised_in_templates_pass_through(self):
        with self.assertRaises(kokoropy.HTTPError):
            render('% abort(404)\n', abort=kokoropy.abort)

    def test_template_error_is_an_exception(self):
        self.assertTrue(issubclass(TemplateError, Exception))


class ApplicationLookupTest(unittest.TestCase):
    """Lookup in an applications tree set through default_app().config."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix='kokoropy_apps_')
        self.addCleanup(shutil.rmtree, self.root)
        write_files(self.root, {
            'index/views/base.tpl': 'index base {{x}}',
            'index/views/partials/nav.tpl': 'index nav',
            'index/views/page.html': 'index html page',
            'shop/views/base.tpl': 'shop base {{x}}',
            'shop/views/item.tpl': "shop item {{x}} + {{!include_text}}\\\\\n% include('base')\n",
        })
        config = kokoropy.default_app().config
        saved = {key: config.get(key) for key in ('applications_path', 'debug',
                                                   'reload_templates')}
        config['applications_path'] = self.root
        self.addCleanup(config.update, saved)

    def test_every_name_form_finds_the_index_view(self):
        for name in ('base', 'base.tpl', 'index/base', 'index/views/base',
                     'index/views/base.tpl', os.path.join(self.root, 'index/views/base.tpl')):
            self.assertEqual(template(name, x=1), 'index base 1', name)
        self.assertEqual(template('partials/nav'), 'index nav')
        self.assertEqual(template('page'), 'index html page')

    def test_app_prefix_names_that_application(self):
        self.assertEqual(template('shop/base', x=2), 'shop base 2')
        self.assertEqual(template('shop/views/base.tpl', x=2), 'shop base 2')

    def test_current_application_views_come_first(self):
        app = kokoropy.Kokoro()
        app.config['applications_path'] = self.root
        app.get('/shop', app_name='shop', callback=lambda: template('base', x=3))
        app.get('/home', callback=lambda: template('base', x=4))
        client = kokoropy.TestClient(app)
        self.assertEqual(client.get('/shop').text, 'shop base 3')
        self.assertEqual(client.get('/home').text, 'index base 4')

    def test_explicit_lookup_comes_first(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, folder)
        write_files(folder, {'base.tpl': 'lookup base'})
        self.assertEqual(template('base', template_lookup=[folder]), 'lookup base')

    def test_load_view_renders_an_application_view(self):
        self.assertEqual(load_view('shop', 'item', x='<', include_text='<b>'),
                         'shop item &lt; + <b>shop base &lt;')

    def test_unknown_name_lists_the_folders_searched(self):
        with self.assertRaises(TemplateError) as caught:
            template('nothing_here')
        message = str(caught.exception)
        self.assertIn("'nothing_here' not found", message)
        self.assertIn(os.path.join(self.root, 'index', 'views', 'nothing_here'), message)

    def test_names_cannot_climb_out_of_a_views_folder(self):
        write_files(self.root, {'secret.tpl': 'secret'})
        with self.assertRaises(TemplateError):
            template('../../secret')

    def test_another_applications_folder_is_searched_again(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        write_files(other, {'index/views/base.tpl': 'other base'})
        self.assertEqual(template('base', x=1), 'index base 1')
        kokoropy.default_app().config['applications_path'] = other
        self.assertEqual(template('base'), 'other base')

    def test_compiled_once_then_served_from_cache(self):
        write_files(self.root, {'index/views/counted.tpl': 'v1'})
        with mock.patch.object(kokoropy, 'compile_template',
                               wraps=kokoropy.compile_template) as compiler:
            self.assertEqual([template('counted') for _ in range(3)], ['v1'] * 3)
        self.assertEqual(compiler.call_count, 1)

    def test_changed_file_recompiled_in_debug_mode_only(self):
        path = os.path.join(self.root, 'index', 'views', 'changing.tpl')
        write_files(self.root, {'index/views/changing.tpl': 'v1'})
        self.assertEqual(template('changing'), 'v1')
        write_files(self.root, {'index/views/changing.tpl': 'v2'})
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10 ** 9))
        self.assertEqual(template('changing'), 'v1')
        kokoropy.default_app().config['debug'] = True
        self.assertEqual(template('changing'), 'v2')

    def test_source_templates_are_cached(self):
        source = 'cached {{x}} %d' % id(self)
        with mock.patch.object(kokoropy, 'compile_template',
                               wraps=kokoropy.compile_template) as compiler:
            template(source, x=1)
            template(source, x=2)
        self.assertEqual(compiler.call_count, 1)

    def test_an_environ_passed_on_to_another_app_finds_that_apps_views(self):
        # A WSGI fallback handing the same environ to a second Kokoro app, whose project has
        # views of the same application and name: the second app's are found.
        apps = []
        for text in ('first', 'second'):
            project = tempfile.mkdtemp()
            self.addCleanup(shutil.rmtree, project)
            write_files(os.path.join(project, 'applications'), {'shop/views/page.tpl': text})
            app = kokoropy.Kokoro(project_path=project, secret='x')
            app.get('/page', app_name='shop', callback=lambda: template('page'))
            apps.append(app)
        environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/page', 'SERVER_NAME': 'localhost',
                   'SERVER_PORT': '80', 'wsgi.url_scheme': 'http'}
        self.addCleanup(setattr, kokoropy._local, 'request', None)    # as TestClient does
        self.addCleanup(setattr, kokoropy._local, 'response', None)
        answers = [b''.join(app(environ, lambda status, headers, exc_info=None: None))
                   for app in apps]
        self.assertEqual(answers, [b'first', b'second'])

    def change_file(self, name, text, seconds):
        """Write a view again with a later mtime (by `seconds`), as an edit would."""
        path = os.path.join(self.root, *name.split('/'))
        write_files(self.root, {name: text})
        stat = os.stat(path)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + seconds * 10 ** 9))

    def test_include_follows_a_template_compiled_again_in_debug_mode(self):
        write_files(self.root, {'index/views/part.tpl': 'v1'})
        page = SimpleTemplate("% include('part')\n")
        self.assertEqual(page.render(), 'v1')
        self.change_file('index/views/part.tpl', 'v2', 5)
        self.assertEqual(page.render(), 'v1')
        kokoropy.default_app().config['debug'] = True
        self.assertEqual(page.render(), 'v2')
        self.change_file('index/views/part.tpl', 'v3', 10)
        self.assertEqual(page.render(), 'v3')
        kokoropy.default_app().config['debug'] = False
        self.assertEqual(page.render(), 'v3')

    def test_include_compiles_again_after_templates_are_cleared(self):
        write_files(self.root, {'index/views/part.tpl': 'v1'})
        page = SimpleTemplate("% include('part')\n")
        self.assertEqual(page.render(), 'v1')
        self.change_file('index/views/part.tpl', 'v2', 5)
        kokoropy.TEMPLATES.clear()
        self.assertEqual(page.render(), 'v2')

    def test_one_template_includes_the_view_of_each_applications_folder(self):
        other = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, other)
        write_files(other, {'index/views/base.tpl': 'other base {{x}}'})
        page = SimpleTemplate("% include('base', x=1)\n")
        config = kokoropy.default_app().config
        for folder, expected in [(self.root, 'index'), (other, 'other'), (self.root, 'index')]:
            config['applications_path'] = folder
            self.assertEqual(page.render(), expected + ' base 1')

    def test_one_template_includes_the_view_of_each_current_application(self):
        page = SimpleTemplate("% include('base', x=5)\n")
        app = kokoropy.Kokoro()
        app.config['applications_path'] = self.root
        app.get('/shop', app_name='shop', callback=page.render)
        app.get('/home', callback=page.render)
        client = kokoropy.TestClient(app)
        self.assertEqual([client.get(path).text for path in ('/shop', '/home', '/shop')],
                         ['shop base 5', 'index base 5', 'shop base 5'])

    def test_concurrent_renders_share_one_compiled_template(self):
        write_files(self.root, {'index/views/threads.tpl': '{{n}}'})
        results = {}

        def work(n):
            results[n] = template('threads', n=n)
        threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        self.assertEqual(results, {n: str(n) for n in range(8)})


class ViewDecoratorTest(unittest.TestCase):

    def setUp(self):
        if not hasattr(kokoropy, 'Kokoro') or not hasattr(kokoropy, 'TestClient'):
            self.skipTest('kokoropy.Kokoro/TestClient (section 4) not available')
        self.folder = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.folder)
        write_files(self.folder, {'hello.tpl': 'Hello {{name}} from {{site}}'})

    def test_view_renders_dict_and_passes_other_results(self):
        app = kokoropy.Kokoro()
        lookup = [self.folder]

        @app.get('/hello/<name>')
        @view('hello', site='K', template_lookup=lookup)
        def hello(name):
            return {'name': name}

        @app.get('/plain')
        @view('hello', template_lookup=lookup)
        def plain():
            return 'not a dict'

        @app.get('/defaults')
        @view('hello', name='nobody', site='D', template_lookup=lookup)
        def defaults():
            return None

        client = kokoropy.TestClient(app)
        self.assertEqual(client.get('/hello/%3Cb%3E').text, 'Hello &lt;b&gt; from K')
        self.assertEqual(client.get('/plain').text, 'not a dict')
        self.assertEqual(client.get('/defaults').text, 'Hello nobody from D')
        self.assertEqual(hello.__name__, 'hello')


class BottleCompatibilityTest(unittest.TestCase):
    """Templates written as Bottle's documentation shows them render exactly as Bottle 0.13
    renders them (expected outputs in fixtures/templates/bottle/cases.json came from Bottle)."""

    def test_bottle_templates_render_as_bottle_does(self):
        folder = os.path.join(FIXTURES, 'bottle')
        with open(os.path.join(folder, 'cases.json'), encoding='utf-8') as f:
            cases = json.load(f)
        self.assertGreaterEqual(len(cases), 10)
        for key, case in sorted(cases.items()):
            with self.subTest(case=key):
                name = key.split('/')[0]
                self.assertEqual(template(name, template_lookup=[folder], **case['variables']),
                                 case['expected'])
                tpl = SimpleTemplate(name=name, lookup=[folder])
                self.assertEqual(tpl.render(**case['variables']), case['expected'])


class BottleSyntaxTest(FolderTestCase):
    """The SimpleTemplate forms Bottle 0.13 documents beyond the basics."""

    files = {
        'card.tpl': '% def card(title):\n<div>{{title}}</div>\n% end\n% answer = 42\n',
        'page.tpl': "% names = include('card')\n% names['card']('Hi')\n{{names['answer']}}\n",
        'wrap.tpl': '[{{!base}}]',
        'inner.tpl': "% rebase('wrap')\ninner",
        'outer.tpl': "before\n% include('inner')\nafter\n",
    }

    def test_one_line_if_block_closed_by_end(self):
        self.assertEqual(render('% if x: a = 1; end\n{{a}}', x=True, a=0), '1')
        self.assertEqual(render('% if x: a = 1; end\n{{a}}', x=False, a=0), '0')

    def test_one_line_for_block_closed_by_end(self):
        self.assertEqual(render("% for i in l: a += str(i); end\n{{a}}", l=[1, 2, 3], a=''),
                         '123')

    def test_one_line_if_and_else_closed_by_end(self):
        source = '% if x: a = "yes"\n% else: a = "no"; end\n{{a}}'
        self.assertEqual((render(source, x=1), render(source, x=0)), ('yes', 'no'))

    def test_end_inside_a_string_does_not_close(self):
        self.assertEqual(render("% if x: a = '; end'\n% end\n{{a}}", x=1), '; end')

    def test_comprehension_running_over_code_lines(self):
        self.assertEqual(render('% squares = [n * n\n%    for n in range(4)]\n{{squares}}'),
                         '[0, 1, 4, 9]')

    def test_dict_running_over_code_lines(self):
        self.assertEqual(render("% d = {'a': 1,\n%      'b': 2}\n{{sorted(d)}}"),
                         "[&#x27;a&#x27;, &#x27;b&#x27;]")

    def test_triple_quoted_string_running_over_lines(self):
        self.assertEqual(render('% s = """one\n  two"""\n{{s}}'), 'one\n  two')

    def test_backslash_continues_a_code_line(self):
        self.assertEqual(render('% if 1 \\\n%    and 1:\nyes\n% end\n'), 'yes\n')

    def test_include_returns_the_included_namespace(self):
        self.assertEqual(self.render_file('page'), '<div>Hi</div>\n42\n')

    def test_included_template_rebasing_wraps_only_its_own_output(self):
        self.assertEqual(self.render_file('outer'), 'before\n[inner]after\n')

    def test_custom_syntax(self):
        tpl = SimpleTemplate('<% a = 1 %>\n$ b = 2\n[a]+[!b]', syntax='<% %> $ [ ]')
        self.assertEqual(tpl.render(), '1+2')

    def test_custom_syntax_with_words(self):
        tpl = SimpleTemplate('begin x = 3\ny = 4 finish\nline z = 5\n(( x + y + z ))',
                             syntax='begin finish line (( ))')
        self.assertEqual(tpl.render(), '12')

    def test_syntax_needs_five_markers(self):
        with self.assertRaises(TemplateError):
            SimpleTemplate('x', syntax='<% %> %')

    def test_syntax_error_is_a_syntax_error_naming_the_line(self):
        tpl = SimpleTemplate('ok\n% for x in\n% end\n')
        with self.assertRaises(SyntaxError) as caught:
            tpl.render()
        self.assertIsInstance(caught.exception, TemplateError)
        self.assertEqual((caught.exception.filename, caught.exception.lineno),
                         ('<string>', 2))

    def test_defaults_are_seen_by_every_render(self):
        class Branded(SimpleTemplate):
            defaults = {'site': 'Shop'}
        self.assertEqual(Branded('{{site}}/{{page}}').render(page='home'), 'Shop/home')
        self.assertEqual(Branded('{{site}}').render(site='Other'), 'Other')

    def test_global_config_sets_settings_of_new_templates(self):
        class Raw(SimpleTemplate):
            pass
        Raw.global_config('noescape', True)
        self.assertEqual(Raw.global_config('noescape'), True)
        self.assertEqual(Raw('{{x}}').render(x='<b>'), '<b>')
        self.assertEqual(SimpleTemplate('{{x}}').render(x='<b>'), '&lt;b&gt;')

    def test_base_template_is_the_adapter_interface(self):
        class Upper(kokoropy.BaseTemplate):
            def prepare(self, **settings):
                self.text = self.source

            def render(self, *args, **kwargs):
                return (self.text % self._variables(args, kwargs)).upper()
        self.assertEqual(template('hi %(who)s', template_adapter=Upper, who='x'), 'HI X')
        self.assertTrue(issubclass(SimpleTemplate, kokoropy.BaseTemplate))

    def test_html_quote(self):
        self.assertEqual(kokoropy.html_quote('a"b\n<'), '"a&quot;b&#10;&lt;"')

    def test_template_included_from_cache(self):
        tpl = SimpleTemplate("% include('part', x=1)")
        tpl.cache['part'] = SimpleTemplate('part {{x}}')
        self.assertEqual(tpl.render(), 'part 1')

    def test_coding_line_names_the_encoding_of_bytes(self):
        tpl = SimpleTemplate('%#coding: iso8859_15\n\u20ac'.encode('iso8859_15'))
        self.assertEqual((tpl.render(), tpl.encoding), ('\u20ac', 'iso8859_15'))


class TemplateEnginesTest(unittest.TestCase):
    """jinja2_template/mako_template and their views, when those libraries are installed."""

    def test_missing_engine_says_how_to_install_it(self):
        with mock.patch.dict('sys.modules', {'jinja2': None, 'mako': None,
                                             'mako.lookup': None}):
            with self.assertRaises(TemplateError) as caught:
                kokoropy.jinja2_template('{{ x }} one', x=1)
            self.assertIn('pip install jinja2', str(caught.exception))
            with self.assertRaises(TemplateError) as caught:
                kokoropy.mako_template('${x} two', x=2)
            self.assertIn('pip install mako', str(caught.exception))

    def test_jinja2_template_escapes_by_default(self):
        try:
            import jinja2  # noqa: F401
        except ImportError:
            self.skipTest('jinja2 is not installed')
        self.assertEqual(kokoropy.jinja2_template('<p>{{ x }}</p>\n', x='<b>'),
                         '<p>&lt;b&gt;</p>')

        @kokoropy.jinja2_view('{{ a }}-{{ b }}', b=2)
        def handler():
            return {'a': 1}
        self.assertEqual(handler(), '1-2')

    def test_mako_template_escapes_by_default(self):
        try:
            import mako  # noqa: F401
        except ImportError:
            self.skipTest('mako is not installed')
        self.assertEqual(kokoropy.mako_template('<p>${x}</p>\n', x='<b>'), '<p>&lt;b&gt;</p>\n')


class CompilerStepsTest(unittest.TestCase):

    def test_tokenize_generate_compile_are_separate_steps(self):
        source = 'a {{x}}\n% if x:\n{% block b %}{{!y}}{% endblock %}\n% end\n'
        tokens = kokoropy.tokenize_template(source)
        self.assertEqual([(t.kind, t.value, t.lineno) for t in tokens], [
            ('text', 'a ', 1), ('expr', 'x', 1), ('text', '\n', 1), ('code', 'if x:', 2),
            ('block', 'b', 3), ('raw', 'y', 3), ('endblock', '', 3), ('text', '\n', 3),
            ('code', 'end', 4)])
        generated = kokoropy.generate_template_code(tokens)
        self.assertEqual(generated.block_names, ['b'])
        self.assertIn("_render_block('b', _out)", generated.source)
        compiled = kokoropy.compile_template('{{x}}', 'name.tpl')
        self.assertEqual((compiled.filename, compiled.main_code.co_name),
                         ('name.tpl', '_template_main'))


if __name__ == '__main__':
    unittest.main()
