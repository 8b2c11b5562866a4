"""sanitize_html(): the allow-list HTML cleaner of section 1, from a table of inputs."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from kokoropy import Markup, sanitize_html  # noqa: E402

CASES = [
    # kept as written
    ('<p>We <em>make</em> kites.</p>', '<p>We <em>make</em> kites.</p>'),
    ('<h2 class="x" title="t">Head</h2>', '<h2 class="x" title="t">Head</h2>'),
    ('<ul><li>a</li><li>b</li></ul>', '<ul><li>a</li><li>b</li></ul>'),
    ('<table><tr><td colspan="2">c</td></tr></table>',
     '<table><tr><td colspan="2">c</td></tr></table>'),
    ('<a href="https://example.org/a?b=1&amp;c=2">l</a>',
     '<a href="https://example.org/a?b=1&amp;c=2">l</a>'),
    ('<a href="/page/about">rel</a><a href="#top">t</a><a href="mailto:a@b.c">m</a>',
     '<a href="/page/about">rel</a><a href="#top">t</a><a href="mailto:a@b.c">m</a>'),
    ('<a href="/p?x=a:b">colon after ?</a>', '<a href="/p?x=a:b">colon after ?</a>'),
    ('<img src="/a.png" alt="A">', '<img src="/a.png" alt="A">'),
    ('<br/><hr>', '<br><hr>'),
    ('a < b & "c"', 'a &lt; b &amp; &quot;c&quot;'),
    ('caf&eacute; &#60;b&#62;', 'café &lt;b&gt;'),
    # script in any form
    ('<script>alert(1)</script>ok', 'ok'),
    ('<SCRIPT SRC="//evil/x.js"></SCRIPT>ok', 'ok'),
    ('<style>body{display:none}</style>ok', 'ok'),
    ('<svg onload="alert(1)"><script>1</script><g>in</g></svg>after', 'after'),
    ('<math><mi>x</mi></math>after', 'after'),
    ('<iframe src="https://evil"></iframe><object data="x"></object>ok', 'ok'),
    ('<textarea><script>x</script></textarea>z', 'z'),
    ('<svg><p></svg>after', 'after'),
    ('<form action="https://evil"><input name="p"><button>Go</button></form>t', 't'),
    # attributes
    ('<img src=x onerror=alert(1)>', '<img src="x">'),
    ('<p onclick="x()" style="position:fixed" id="main">t</p>', '<p>t</p>'),
    ('<a href="javascript:alert(1)">x</a>', '<a>x</a>'),
    ('<a href="  JaVaScRiPt:alert(1)">x</a>', '<a>x</a>'),
    ('<a href="java&#x09;script:alert(1)">x</a>', '<a>x</a>'),
    ('<a href="java\nscript:alert(1)">x</a>', '<a>x</a>'),
    ('<a href="vbscript:x">x</a>', '<a>x</a>'),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', '<img>'),
    ('<a href="x" target="_blank" rel="opener">x</a>', '<a href="x">x</a>'),
    ('<blockquote cite="javascript:x">q</blockquote>', '<blockquote>q</blockquote>'),
    # structure
    ('</article></div><b>x', '<b>x</b>'),
    ('<p>unclosed <b>bold', '<p>unclosed <b>bold</b></p>'),
    ('<b><i>x</b>y</i>', '<b><i>x</i></b>y'),
    ('<!-- comment --><x-widget>text</x-widget><blink>b</blink>', 'textb'),
    ('<!DOCTYPE html><?php echo 1 ?>t', 't'),
    ('<base href="https://evil/"><meta http-equiv="refresh" content="0">t', 't'),
    ('', ''),
]


class SanitizeHtmlTest(unittest.TestCase):

    def test_each_input_gives_its_clean_html(self):
        for source, expected in CASES:
            with self.subTest(source=source):
                self.assertEqual(sanitize_html(source), expected)

    def test_result_is_markup_and_cleaning_twice_changes_nothing(self):
        for source, expected in CASES:
            cleaned = sanitize_html(source)
            self.assertIsInstance(cleaned, Markup)
            self.assertEqual(sanitize_html(cleaned), cleaned, source)

    def test_none_and_bytes(self):
        self.assertEqual(sanitize_html(None), '')
        self.assertEqual(sanitize_html('<b>é</b>'.encode('utf-8')), '<b>é</b>')


if __name__ == '__main__':
    unittest.main()
