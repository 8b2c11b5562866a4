"""The scaffolded list page (rossian.py scaffold-crud, section 10's Table) renders byte for
byte what tests/fixtures/product_list.html holds: the page as it was before url() and Table
were made faster. Sorting, searching, escaping, pagination and a site root are all in it."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support import scaffold_shop  # noqa: E402

GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'fixtures',
                      'product_list.html')
# (path, SCRIPT_NAME) of each page in the golden file.
PAGES = [
    ('/shop/product', ''),
    ('/shop/product?page=2&sort=-price', ''),
    ('/shop/product?page=3&sort=stock', ''),
    ('/shop/product?q=%3Cb%3E&sort=-category', ''),
    ('/shop/product?q=Product+1&page=9', ''),
    ('/shop/product?q=nothing+like+this', ''),
    ('/shop/product?sort=name&page=2', '/my site'),
]
# Run inside the project: 45 products over 3 categories (some values missing, names that
# need escaping), then each page of PAGES; prints '=== path script_name status' and the body.
PAGES_SCRIPT = r'''
import sys
import kokoropy
app = kokoropy.load_project('.')
from applications.shop.models.category import Category
from applications.shop.models.product import Product
categories = [Category.create(name=name) for name in ('Toys & games', '<Books>', "Bob's tools")]
for number in range(45):
    Product.create(name='Product %d "<b>" & \'co\'' % number,
                   price=number * 1.25 if number % 7 else None, stock=number % 4 or None,
                   category=categories[number % 3].id if number % 5 else None)
client = kokoropy.TestClient(app)
for path, root in eval(sys.argv[1]):
    answer = client.get(path, environ={'SCRIPT_NAME': root})
    page = '=== %s %s %s\n%s' % (path, root, answer.status, answer.text)
    sys.stdout.buffer.write(page.encode('utf-8'))
'''


def render_pages():
    """The pages of PAGES from a freshly scaffolded shop, as one text."""
    folder = tempfile.mkdtemp(prefix='kokoropy-list-page-')
    try:
        scaffold_shop(folder)
        output = subprocess.check_output([sys.executable, '-c', PAGES_SCRIPT, repr(PAGES)],
                                         cwd=folder, stdin=subprocess.DEVNULL, timeout=60)
        return output.decode('utf-8')
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class ScaffoldedListPageTest(unittest.TestCase):
    def test_the_list_pages_are_byte_identical_to_the_golden_file(self):
        with open(GOLDEN, encoding='utf-8', newline='') as f:
            expected = f.read()
        self.assertEqual(render_pages(), expected)


if __name__ == '__main__':
    if sys.argv[1:] == ['--write-golden']:  # only when the page is meant to change
        with open(GOLDEN, 'w', encoding='utf-8', newline='') as f:
            f.write(render_pages())
    else:
        unittest.main()
