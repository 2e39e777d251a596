import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

/**
 * The layering rules of biome.json, proved able to fail: each probe is a file
 * at a path of the tree holding one import, linted by the project's own Biome
 * with the project's own configuration (in a scratch copy of the folder
 * layout, so the real tree is never touched). `npm test` lints the real tree.
 */
const test = suite('architecture: layering rules');

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIOME = path.join(ROOT, 'node_modules', '.bin', 'biome');

type Probe = [file: string, line: string, refused: boolean];

const PROBES: Probe[] = [
  ['src/events/users.ts', "import '../codec/event-codec.js';", true],
  ['src/events/users.ts', "import '../kernel/worker-thread.js';", true],
  ['src/events/users.ts', "import fs from 'node:fs';", true],
  ['src/events/users.ts', "import { invalid } from '../kernel/validation.js';", false],
  ['src/projections/users.ts', "import fs from 'node:fs';", true],
  ['src/projections/users.ts', "import { of } from 'rxjs';", true],
  ['src/projections/users.ts', "import '../backends/backend.js';", true],
  ['src/projections/users.ts', "import '../events/catalog.js';", false],
  ['src/projections/search/fold.ts', "import '../../search/tokenizer.js';", true],
  ['src/projections/search/fold.ts', "import '../projection.js';", false],
  ['src/backends/flatfile/reads.ts', "import { Subject } from 'rxjs';", true],
  ['src/backends/flatfile/reads.ts', "import '../../engine/event-store.js';", true],
  ['src/backends/flatfile/reads.ts', "import '../postgres/schema.js';", true],
  ['src/backends/flatfile/reads.ts', "import '../../chat/chat-store.js';", true],
  ['src/backends/flatfile/reads.ts', "import '../backend.js';", false],
  ['src/backends/flatfile/reads.ts', "import '../../storage/durable-files.js';", false],
  ['src/backends/backend.ts', "import '../engine/monitor.js';", true],
  ['src/engine/event-store.ts', "import pg from 'pg';", true],
  ['src/engine/event-store.ts', "import Database from 'better-sqlite3';", true],
  ['src/engine/event-store.ts', "import '../sql/driver.js';", true],
  ['src/engine/event-store.ts', "import '../backends/backend.js';", false],
  ['src/projector/feed-consumer.ts', "import '../backends/backend.js';", true],
  ['src/search/query.ts', "import '../chat/chat-store.js';", true],
  ['src/migration/translate/users.ts', "import '../../search/query.js';", true],
  ['src/migration/translate/users.ts', "import '../tracked.js';", false],
  ['src/kernel/errors.ts', "import '../events/catalog.js';", true],
  ['src/cli/commands/export.ts', "import '../../chat/chat-store.js';", true],
  ['src/cli/commands/export.ts', "import '../../export/index.js';", false],
  ['src/cli/ffcdb.ts', "import '../engine/event-store.js';", true],
  ['src/cli/ffcdb.ts', "import '../index.js';", false],
];

test('each probe import is refused where a layer would point up or sideways, and allowed where it points down', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ffcdb-layering-'));
  try {
    const config = JSON.parse(fs.readFileSync(path.join(ROOT, 'biome.json'), 'utf8'));
    delete config.$schema;
    config.vcs = { enabled: false };
    fs.writeFileSync(path.join(dir, 'biome.json'), JSON.stringify(config));
    const files = PROBES.map(([file, line], i) => {
      // A file of its own per probe, beside the real one, so the overrides that match its folder apply.
      const probe = path.join(path.dirname(file), `probe-${i}-${path.basename(file)}`);
      fs.mkdirSync(path.join(dir, path.dirname(probe)), { recursive: true });
      fs.writeFileSync(path.join(dir, probe), `${line}\n`);
      return probe;
    });
    const r = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', '.'], { cwd: dir, encoding: 'utf8' });
    const report = JSON.parse(r.stdout) as { diagnostics: { category: string; location: { path: string } }[] };
    const refusedFiles = new Set(report.diagnostics.filter((d) => d.category === 'lint/style/noRestrictedImports').map((d) => d.location.path));
    PROBES.forEach(([file, line, refused], i) => {
      assert.is(refusedFiles.has(files[i]!), refused, `${line} in ${file} should be ${refused ? 'refused' : 'allowed'}`);
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the real tree passes the layering rules', () => {
  const r = spawnSync(BIOME, ['lint', '--reporter=json', '--max-diagnostics=none', '--only=style/noRestrictedImports', '--only=suspicious/noImportCycles', 'src'], { cwd: ROOT, encoding: 'utf8' });
  const report = JSON.parse(r.stdout) as { diagnostics: { message: string; location: { path: string } }[] };
  assert.equal(report.diagnostics.map((d) => `${d.location.path}: ${d.message}`), []);
});

test.run();
