#!/usr/bin/env node
// Lists import cycles between folders: each folder of src/ (src/search, src/engine, ...), each file at
// src/'s top level, events/ and projections/ is one node; a file importing another file makes an edge
// between their nodes. Every strongly connected component of more than one node is a cycle; each edge
// in it is printed with the imports that make it ("type" when all of them are `import type`).
// Exits 1 when there is a cycle. Usage: node scripts/folder-cycles.mjs [root]
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(new URL(import.meta.url).pathname), '..'));
const TOP = ['src', 'events', 'projections'];
// `import ... from '...'`, `export ... from '...'`, `import '...'` and `import('...')`; `type` kept to tell type-only imports apart.
const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?(?:[^'"]*?\sfrom\s+)?['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function files(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...files(full));
    else if (/\.(ts|mts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** The node a file belongs to, or undefined outside the folders looked at. */
function nodeOf(file) {
  const parts = path.relative(root, file).split(path.sep);
  if (parts[0] === 'src') return parts.length > 2 ? `src/${parts[1]}` : `src/${parts[1]}`.replace(/\.[mc]?[jt]s$/, '.ts');
  return TOP.includes(parts[0]) ? parts[0] : undefined;
}

/** A relative specifier's file: `.js` written for a `.ts` source, or a folder's index. */
function resolve(from, spec) {
  if (!spec.startsWith('.')) return undefined;
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, '.ts'), base.replace(/\.mjs$/, '.mts'), `${base}.ts`, path.join(base, 'index.ts')];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

/** `import type { ... }`, or `import { type A, type B }`: gone once compiled. */
function typeOnly(m) {
  if (m[2] !== undefined) return true;
  const names = /^\s*import\s*\{([^}]*)\}\s*from/.exec(m[0])?.[1];
  return names?.split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim())) ?? false;
}

/** edges: from node → to node → [{ file, spec, typeOnly }] */
const edges = new Map();
for (const top of TOP) {
  for (const file of files(path.join(root, top))) {
    const from = nodeOf(file);
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(IMPORT)) {
      const spec = m[3] ?? m[4];
      const target = resolve(file, spec);
      const to = target && nodeOf(target);
      if (!to || to === from) continue;
      if (!edges.has(from)) edges.set(from, new Map());
      const list = edges.get(from).get(to) ?? [];
      list.push({ file: path.relative(root, file), spec, typeOnly: typeOnly(m) });
      edges.get(from).set(to, list);
    }
  }
}

// Tarjan's strongly connected components.
const index = new Map();
const low = new Map();
const stack = [];
const onStack = new Set();
const components = [];
let counter = 0;
function visit(v) {
  index.set(v, counter);
  low.set(v, counter++);
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)?.keys() ?? []) {
    if (!index.has(w)) {
      visit(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), index.get(w)));
  }
  if (low.get(v) === index.get(v)) {
    const component = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1) components.push(component.sort());
  }
}
for (const v of edges.keys()) if (!index.has(v)) visit(v);

if (components.length === 0) {
  console.log('no import cycles between folders');
  process.exit(0);
}
for (const component of components) {
  console.log(`cycle: ${component.join(' <-> ')}`);
  for (const from of component) {
    for (const [to, list] of edges.get(from) ?? []) {
      if (!component.includes(to)) continue;
      const kind = list.every((i) => i.typeOnly) ? ' (type only)' : '';
      console.log(`  ${from} -> ${to}${kind}: ${list.map((i) => `${i.file} (${i.spec})`).join(', ')}`);
    }
  }
}
process.exit(1);
