#!/usr/bin/env python3
"""Wraps Java lines over a column limit without changing what they mean.

Comment lines (//, Javadoc ' * ') are re-flowed at word boundaries with the same prefix. A code line
is broken at a space outside string and character literals and outside a trailing // comment,
preferring a break after a comma or before an operator, the rest indented 8 more; Java reads
whitespace outside literals the same, so the compiled code is unchanged. Lines in text blocks and
lines that cannot be broken are left for a person.

Usage: tools/wrap_long_lines.py [--limit 120] FILE...
"""
import re
import sys

def code_spaces(line):
    """Indices of spaces outside literals and before any // comment; and the comment start (or None)."""
    spaces, i, n, generics = [], 0, len(line), 0
    while i < n:
        c = line[i]
        if c == '"' or c == "'":
            q = c
            i += 1
            while i < n and line[i] != q:
                i += 2 if line[i] == '\\' else 1
            i += 1
            continue
        if line.startswith('//', i):
            return spaces, i
        if line.startswith('/*', i):
            end = line.find('*/', i + 2)
            if end < 0:
                return spaces, i
            i = end + 2
            continue
        if c == '<' and i > 0 and (line[i - 1].isalnum() or line[i - 1] == '>'):
            generics += 1  # a type argument list: not broken inside
        elif c == '>' and generics and line[i - 1] != '-':
            generics -= 1
        if c == ' ' and not generics:
            spaces.append(i)
        i += 1
    return spaces, None

def wrap_comment(line, limit):
    m = re.match(r'^(\s*(?://|\*)\s?)(.*)$', line)
    prefix, text = m.group(1), m.group(2)
    words, out, cur = text.split(' '), [], ''
    for w in words:
        if cur and len(prefix) + len(cur) + 1 + len(w) > limit:
            out.append(prefix + cur)
            cur = w
        else:
            cur = w if not cur else cur + ' ' + w
    out.append(prefix + cur)
    return out if all(len(o) <= limit for o in out) else None

def wrap_javadoc(line, limit):
    """A one-line Javadoc comment as a block of three or more lines."""
    head = line[:len(line) - len(line.lstrip())]
    text = line.strip()[3:-2].strip()
    body = wrap_comment(head + ' * ' + text, limit)
    return None if body is None else [head + '/**'] + body + [head + ' */']

def score(line, i):
    before, after = line[:i].rstrip(), line[i + 1:]
    if before.endswith(','):
        return 3
    if re.match(r'(\+|-|\*|/|&&|\|\||\?|:|==|!=|->)\s', after) or after.startswith('.'):
        return 2
    if before.endswith('(') or before.endswith('='):
        return 1
    return 0

def wrap_code(line, limit, indent_step=8, continuation=False):
    spaces, comment = code_spaces(line)
    head = len(line) - len(line.lstrip())
    if comment is not None and comment > 0 and line[:comment].strip():
        # a trailing comment: put it on its own line above
        code, note = line[:comment].rstrip(), line[comment:]
        if len(' ' * head + note) > limit:
            return None
        return [' ' * head + note] + (wrap_code(code, limit, indent_step, continuation) or [code])
    if comment is not None:
        return None
    candidates = [i for i in spaces if head < i <= limit and line[:i].strip()]
    if not candidates:
        return None
    best = max(candidates, key=lambda i: (score(line, i), i))
    first, rest = line[:best].rstrip(), line[best:].lstrip()
    cont_indent = head if continuation else head + indent_step  # a continuation keeps its indent
    second = ' ' * cont_indent + rest
    tail = [second] if len(second) <= limit else (wrap_code(second, limit, 0, True) or [second])
    return [first] + tail

def process(path, limit):
    src = open(path, encoding='utf-8').read().split('\n')
    out, in_block, changed, left = [], False, 0, 0
    previous = ''
    for line in src:
        continuation = bool(previous) and not re.search(r'[;{}]$|^\s*(@|//|\*|/\*)', previous)
        if line.strip():
            previous = line.rstrip()
        if line.count('"""') % 2 == 1:
            in_block = not in_block
            out.append(line)
            continue
        if in_block or len(line) <= limit or re.match(r'^\s*(import|package) ', line):
            out.append(line)
            continue
        s = line.strip()
        if s.startswith('//') or s.startswith('* ') or s.startswith('/**') and s.endswith('*/'):
            wrapped = wrap_javadoc(line, limit) if s.startswith('/**') else wrap_comment(line, limit)
        else:
            wrapped = wrap_code(line, limit, 8, continuation)
        if wrapped and all(len(w) <= limit for w in wrapped):
            out.extend(wrapped)
            changed += 1
        else:
            out.append(line)
            left += 1
    open(path, 'w', encoding='utf-8').write('\n'.join(out))
    return changed, left

if __name__ == '__main__':
    args = sys.argv[1:]
    limit = 120
    if args[:1] == ['--limit']:
        limit, args = int(args[1]), args[2:]
    total = [0, 0]
    for p in args:
        c, l = process(p, limit)
        total[0] += c
        total[1] += l
        if l:
            print(f'{p}: {l} line(s) left over {limit}', file=sys.stderr)
    print(f'wrapped {total[0]} line(s), left {total[1]}')
