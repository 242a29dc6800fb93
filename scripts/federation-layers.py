#!/usr/bin/env python3
"""Checks that the files and folders of src/federation use one another without a circle:
every `crate::federation::…` and `super::…` path of every file is resolved to the file it
names, then circles are looked for between files, and between the top-level folders and
files."""
import os, re, sys
root = sys.argv[1] if len(sys.argv) > 1 else 'src/federation'
mods = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if f.endswith('.rs'):
            rel = os.path.relpath(os.path.join(d, f), root)[:-3].split(os.sep)
            if rel[-1] == 'mod':
                rel = rel[:-1]
            mods['::'.join(rel)] = os.path.join(d, f)

def resolve(mod, path):
    parts = mod.split('::') if mod else []
    segs = path.split('::')
    if segs[0] == 'crate':
        if segs[1:2] != ['federation']:
            return None
        cur, segs = [], segs[2:]
    else:
        cur = parts[:]
        while segs and segs[0] == 'super':
            cur, segs = cur[:-1], segs[1:]
    best = None
    for i in range(len(segs) + 1):
        cand = '::'.join(cur + segs[:i])
        if cand in mods:
            best = cand
    return best

pat = re.compile(r'\b((?:crate::federation|super(?:::super)*)(?:::[A-Za-z_][A-Za-z0-9_]*)+)')
edges = {m: set() for m in mods}
for m, p in mods.items():
    text = open(p).read()
    # `a::{b, c::d}` is read as `a::b a::c::d` (nested braces are rare enough to be read
    # as their first level).
    text = re.sub(r'([A-Za-z_:]+)::\{([^{}]*)\}',
                  lambda g: ' '.join(g.group(1) + '::' + n.strip() for n in g.group(2).split(',') if n.strip()),
                  text)
    body, _, tests = text.partition('#[cfg(test)]\nmod tests')
    for part, inner in ((body, m), (tests, m + '::tests')):
        for line in part.split('\n'):
            if line.strip().startswith('//'):
                continue
            for hit in pat.findall(line):
                t = resolve(inner, hit)
                if t is not None and t != m:
                    edges[m].add(t)

def cycles(nodes, edge):
    color, stack, found = {}, [], []
    def visit(n):
        color[n] = 1
        stack.append(n)
        for t in sorted(edge.get(n, ())):
            if color.get(t) == 1:
                found.append(stack[stack.index(t):] + [t])
            elif t not in color:
                visit(t)
        color[n] = 2
        stack.pop()
    for n in sorted(nodes):
        if n not in color:
            visit(n)
    return found

ok = True
print(f'{len(mods)} files, {sum(len(v) for v in edges.values())} imports between them')
if '-v' in sys.argv:
    for m in sorted(mods):
        print(f'  {m or "mod"} -> {", ".join(sorted(t or "mod" for t in edges[m]))}')
for c in cycles(mods, edges):
    ok = False
    print('circle between files:', ' -> '.join(c))
top = lambda m: m.split('::')[0]
folder_edges = {}
for m, ts in edges.items():
    for t in ts:
        if top(m) != top(t):
            folder_edges.setdefault(top(m), set()).add(top(t))
for c in cycles({top(m) for m in mods}, folder_edges):
    ok = False
    print('circle between folders:', ' -> '.join(c))
print('between folders and top-level files:')
for k in sorted(folder_edges):
    print(f'  {k or "mod.rs"} -> {", ".join(sorted(folder_edges[k]))}')
print('no circle' if ok else 'CIRCLES FOUND')
sys.exit(0 if ok else 1)
