"""Development-time assembler: joins parts/NN_*.py into kokoropy.py.

Each part starts with its own stdlib imports; they are hoisted, deduplicated, to the top of the
module. A part that does not compile is replaced by its last good copy (parts/.lastgood/), so one
developer's half-edited section does not break everybody's tests. The output is written atomically.
"""
import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
GOOD = os.path.join(HERE, '.lastgood')


def split_imports(source):
    """Return (import lines, rest) where imports are the leading import block of a part."""
    lines = source.splitlines(True)
    imports, i = [], 0
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped.startswith(('import ', 'from ')):
            imports.append(lines[i].rstrip('\n'))
        elif stripped:
            break
        i += 1
    return imports, ''.join(lines[i:])


def main():
    os.makedirs(GOOD, exist_ok=True)
    names = sorted(n for n in os.listdir(HERE) if n[:2].isdigit() and n.endswith('.py'))
    header, imports, bodies = '', [], []
    for name in names:
        path = os.path.join(HERE, name)
        source = open(path, encoding='utf-8').read()
        try:
            compile(source, path, 'exec')
            shutil.copyfile(path, os.path.join(GOOD, name))
        except SyntaxError as exc:
            sys.stderr.write('assemble: %s does not compile (%s); using last good copy\n' % (name, exc))
            good = os.path.join(GOOD, name)
            source = open(good, encoding='utf-8').read() if os.path.exists(good) else ''
        if name.startswith('00'):
            header = source.rstrip() + '\n'
            continue
        part_imports, body = split_imports(source)
        imports.extend(i for i in part_imports if i not in imports)
        bodies.append(body.strip('\n') + '\n')
    plain = sorted(i for i in imports if i.startswith('import '))
    froms = sorted(i for i in imports if i.startswith('from '))
    text = header + '\n' + '\n'.join(plain + froms) + '\n\n\n' + '\n\n'.join(bodies)
    out = os.path.join(ROOT, 'kokoropy.py')
    tmp = out + '.%d.tmp' % os.getpid()
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
    os.replace(tmp, out)


if __name__ == '__main__':
    main()
