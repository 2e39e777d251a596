/**
 * The package as an app gets it: `npm pack` (which builds through `prepare`),
 * the tarball installed into a fresh project without tsx, then imported from
 * ESM and CommonJS, type-checked against its exports map, and its `ffcdb`
 * command run. pg is installed beside it, as an app using `./postgres` would,
 * so that "importing the package does not load pg" is a real check.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const repo = fileURLToPath(new URL('../../', import.meta.url));
const pkg = JSON.parse(fs.readFileSync(path.join(repo, 'package.json'), 'utf8')) as {
  exports: Record<string, string | { types: string; default: string }>;
  bin: { ffcdb: string };
  devDependencies: { pg: string };
};
/** `npm pack` builds into dist/ (ignored by git): removed afterwards unless it was there before. */
const hadDist = fs.existsSync(path.join(repo, 'dist'));
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-pack-'));
const app = path.join(root, 'app');
/** Children run without this process's loader options: the app has no tsx. */
const env = { ...process.env, NODE_OPTIONS: '' };
let files: string[] = [];

function run(command: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout });
  if (r.error) throw r.error;
  return r;
}

function ok(r: SpawnSyncReturns<string>, what: string): string {
  assert.is(r.status, 0, `${what} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Asserts nothing itself: prints what the app's side saw, as JSON, for the test to check. */
const ROUND_TRIP = `
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-app-'));
  const chat = await openChatStore({ dir: path.join(dir, 'store') });
  const user = await chat.users.create({ userId: 'ada', displayName: 'Ada' });
  const session = await chat.sessions.create({ userId: user.userId, title: 'Packed' });
  await chat.messages.add(session.sessionId, { role: 'user', content: 'hello from the tarball' });
  const listed = await chat.messages.list(session.sessionId);
  await chat.close();
  let refused = '';
  try {
    await openChatStore({ dir: path.join(dir, 'none'), create: false });
  } catch (err) {
    refused = err.code;
  }
  const created = fs.existsSync(path.join(dir, 'none'));
  fs.rmSync(dir, { recursive: true, force: true });
  const peers = () => Object.keys(require.cache).filter((k) => /node_modules[\\\\/](pg|better-sqlite3)[\\\\/]/.test(k)).length;
  const report = { title: session.title, contents: listed.items.map((m) => m.content), refused, created, peersLoaded: peers() };
`;

const SUBPATHS: Record<string, string[]> = {
  engine: ['EventStore', 'openStore', 'defineProjection', 'FfcdbError'],
  flatfile: ['FlatfileBackend', 'isStore'],
  memory: ['MemoryBackend'],
  postgres: ['PostgresBackend', 'postgresBackend'],
  migration: ['migrate', 'Migration', 'verifyMigration', 'rollbackMigration', 'connectTarget'],
  export: ['exportFolder', 'exportStore', 'importToFolder', 'verifyExport'],
  testing: ['backendComplianceSuite'],
};

test.before(() => {
  const packed = JSON.parse(ok(run('npm', ['pack', '--json', '--pack-destination', root], repo), 'npm pack')) as { filename: string; files: { path: string }[] }[];
  files = packed[0]!.files.map((f) => f.path);
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }));
  const tarball = path.join(root, packed[0]!.filename);
  ok(run('npm', ['install', tarball, `pg@${pkg.devDependencies.pg}`, '--no-audit', '--no-fund', '--prefer-offline'], app, 300_000), 'npm install');
});

test.after(() => {
  fs.rmSync(root, { recursive: true, force: true });
  if (!hadDist) fs.rmSync(path.join(repo, 'dist'), { recursive: true, force: true });
});

test('the tarball holds the build, README, the docs it links, LICENSE and package.json, and nothing else', () => {
  const other = files.filter((f) => !f.startsWith('dist/') && !/^docs\/[a-z-]+\.md$/.test(f) && !['README.md', 'LICENSE', 'package.json'].includes(f));
  assert.equal(other, []);
  assert.equal(files.filter((f) => /^dist\/(test|bench|scripts|property-tests)\//.test(f) || f.endsWith('.map')), []);
  const targets = Object.values(pkg.exports).flatMap((e) => (typeof e === 'string' ? [e] : [e.types, e.default]));
  for (const file of [...targets, pkg.bin.ffcdb, 'README.md', 'LICENSE']) assert.ok(files.includes(file.replace(/^\.\//, '')), `${file} is in the tarball`);
  const linkedDocs = [...fs.readFileSync(path.join(repo, 'README.md'), 'utf8').matchAll(/\]\((docs\/[a-z-]+\.md)/g)].map((m) => m[1]!);
  assert.ok(linkedDocs.length > 0, 'the README links docs/');
  for (const doc of linkedDocs) assert.ok(files.includes(doc), `${doc}, which the README links, is in the tarball`);
  assert.ok(!fs.existsSync(path.join(app, 'node_modules', 'tsx')), 'the app has no tsx');
});

test('from ESM: a chat round trip, create:false refusing a folder without a store, and pg loaded only when a PostgreSQL backend is used', () => {
  const script = `import fs from 'node:fs'; import os from 'node:os'; import path from 'node:path'; import { createRequire } from 'node:module';
    import { openChatStore } from 'flatfile-chat-db';
    const require = createRequire(import.meta.url);
    ${ROUND_TRIP}
    // pg loads on first use of a pool: opening a backend against a closed loopback port uses one.
    const { postgresBackend } = await import('flatfile-chat-db/postgres');
    const { EventStore } = await import('flatfile-chat-db/engine');
    await EventStore.open(postgresBackend({ connectionString: 'postgres://nobody:x@127.0.0.1:9/none' })).then(() => { throw new Error('opened'); }, (err) => { if (err.code !== 'IO') throw err; });
    console.log(JSON.stringify({ ...report, peersAfterPostgres: peers() }));`;
  fs.writeFileSync(path.join(app, 'esm.mjs'), script);
  const report = JSON.parse(ok(run(process.execPath, ['esm.mjs'], app), 'esm.mjs'));
  assert.equal(report, { title: 'Packed', contents: ['hello from the tarball'], refused: 'NOT_FOUND', created: false, peersLoaded: 0, peersAfterPostgres: report.peersAfterPostgres });
  assert.ok(report.peersAfterPostgres > 0, 'using a PostgreSQL backend loads pg (so the check above could fail)');
});

test('from CommonJS: require() of the package runs the round trip, and of every subpath gives its exports', () => {
  const script = `const fs = require('node:fs'); const os = require('node:os'); const path = require('node:path');
    const { openChatStore } = require('flatfile-chat-db');
    (async () => {
      ${ROUND_TRIP}
      const subpaths = {};
      for (const [name, exports] of Object.entries(${JSON.stringify(SUBPATHS)})) {
        const m = require('flatfile-chat-db/' + name);
        subpaths[name] = exports.filter((e) => typeof m[e] !== 'function');
      }
      console.log(JSON.stringify({ ...report, subpaths }));
    })().catch((err) => { console.error(err); process.exitCode = 1; });`;
  fs.writeFileSync(path.join(app, 'cjs.cjs'), script);
  const report = JSON.parse(ok(run(process.execPath, ['cjs.cjs'], app), 'cjs.cjs'));
  assert.equal(report, {
    title: 'Packed',
    contents: ['hello from the tarball'],
    refused: 'NOT_FOUND',
    created: false,
    peersLoaded: 0,
    subpaths: Object.fromEntries(Object.keys(SUBPATHS).map((name) => [name, []])),
  });
});

test('every entry of the exports map has types that TypeScript resolves', () => {
  const imports = Object.entries(SUBPATHS).map(([name, exports]) => `import { ${exports.join(', ')} } from 'flatfile-chat-db/${name}';\nexport const from_${name} = [${exports.join(', ')}];`);
  const source = `import { openChatStore, type ChatStore } from 'flatfile-chat-db';\nexport const open: (o: { dir: string; create?: boolean }) => Promise<ChatStore> = openChatStore;\n${imports.join('\n')}\n`;
  fs.writeFileSync(path.join(app, 'check.mts'), source);
  const tsc = path.join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
  const args = ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--typeRoots', path.join(repo, 'node_modules', '@types'), '--types', 'node', 'check.mts'];
  ok(run(process.execPath, [tsc, ...args], app), 'tsc on check.mts');
});

test("another backend's author runs the shipped compliance suite with node:test in a few lines (here against the installed MemoryBackend)", () => {
  fs.writeFileSync(
    path.join(app, 'compliance.test.mjs'),
    `import { test } from 'node:test';
    import { backendComplianceSuite } from 'flatfile-chat-db/testing';
    import { MemoryBackend } from 'flatfile-chat-db/memory';
    backendComplianceSuite({ test, name: 'memory', scale: 100, makeBackend: () => new MemoryBackend() });`,
  );
  const out = ok(run(process.execPath, ['--test', '--test-reporter=tap', 'compliance.test.mjs'], app, 300_000), 'node --test compliance.test.mjs');
  const count = (label: string) => Number(new RegExp(`^# ${label} (\\d+)$`, 'm').exec(out)?.[1] ?? -1);
  assert.ok(count('pass') > 50, `the suite ran its tests (${count('pass')} passed)`);
  assert.is(count('fail'), 0);
});

test('npx ffcdb --help prints the usage and exits 0; a folder without a store exits 2 with NOT_FOUND and stays empty', () => {
  const help = run('npx', ['ffcdb', '--help'], app);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /^usage:\n {2}ffcdb projections status/);
  assert.match(help.stdout, 'ffcdb migrate --dir DIR');
  const empty = fs.mkdtempSync(path.join(root, 'empty-'));
  const none = run('npx', ['ffcdb', 'projections', 'status', '--dir', empty], app);
  assert.is(none.status, 2);
  assert.match(none.stderr, `ffcdb: NOT_FOUND: ${empty} holds no store`);
  assert.equal(fs.readdirSync(empty), []);
});

test.run();
