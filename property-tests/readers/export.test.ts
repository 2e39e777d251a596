import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import * as assert from 'uvu/assert';
import { openChatStore } from '../../src/chat/chat-store.js';
import { exportFolder } from '../../src/export/export-store.js';
import { verifyExport } from '../../src/export/import-store.js';
import fc from '../support/fc-setup.js';
import { type Mutation, mutate, mutations } from '../support/mutate.js';
import { assertReaderError, readerProperties } from '../support/reader-property.js';
import { FolderSnapshot, filesUnder } from '../support/temp.js';

/**
 * Export folders, as import reads them (verifyExport: manifest.json,
 * events.jsonl, blobs/): one file of a small export damaged (flips, cuts,
 * splices, random bytes, a stretch copied over another), or an event line
 * forged with a right crc32 (any JSON where the event was, deep nesting, huge
 * numbers), or manifest.json replaced by other JSON, verifies or fails with
 * CORRUPT (NOT_FOUND for a file gone, UNSUPPORTED_FORMAT for another format);
 * never another error, a hang or a huge allocation; the intact export verifies.
 */

let work = '';
let image: { snapshot: FolderSnapshot; files: string[]; lines: Buffer[] } | undefined;

type Input =
  | { kind: 'intact' }
  | { kind: 'damaged'; file: number; damage: Mutation[] }
  | { kind: 'line'; line: number; body: string }
  | { kind: 'manifest'; text: string };

/** A line whose crc32 is right for whatever body it carries: it passes the first check and reaches the parser. */
function withCrc(body: string): Buffer {
  const b = Buffer.from(body);
  return Buffer.concat([b, Buffer.from(`,"crc32":"${crc32(b).toString(16).padStart(8, '0')}"}`)]);
}

const deep = fc.integer({ min: 1, max: 100_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const body: fc.Arbitrary<string> = fc.oneof(
  fc.json({ maxDepth: 3 }).map((j) => j.slice(0, -1)),
  fc.constantFrom('{"position":1', '{', '', '{"position":1e400,"stream":"s","version":1,"id":"e","type":"t","schemaVersion":1,"timestamp":0,"metadata":{},"data":null'),
  deep.map((d) => `{"position":1,"stream":"s","version":1,"id":"e","type":"t","schemaVersion":1,"timestamp":0,"metadata":{},"data":${d}`),
  fc.string({ maxLength: 40 }),
);

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Input>({ kind: 'intact' }) },
  { weight: 8, arbitrary: fc.record({ kind: fc.constant<'damaged'>('damaged'), file: fc.nat(), damage: mutations() }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant<'line'>('line'), line: fc.nat(), body }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant<'manifest'>('manifest'), text: fc.oneof(fc.json({ maxDepth: 4 }), deep, fc.string({ maxLength: 40 })) }),
  },
);

async function verifyCase(inp: Input): Promise<void> {
  const { snapshot, files, lines } = image!;
  snapshot.restore(work);
  if (inp.kind === 'damaged') {
    const file = path.join(work, files[inp.file % files.length]!);
    fs.writeFileSync(file, mutate(fs.readFileSync(file), inp.damage));
  } else if (inp.kind === 'line') {
    const forged = [...lines];
    forged[inp.line % forged.length] = withCrc(inp.body);
    fs.writeFileSync(path.join(work, 'events.jsonl'), Buffer.concat(forged.flatMap((l) => [l, Buffer.from('\n')])));
  } else if (inp.kind === 'manifest') {
    fs.writeFileSync(path.join(work, 'manifest.json'), inp.text);
  }
  try {
    await verifyExport(work);
  } catch (err) {
    assertReaderError(err, `verifying an export with ${JSON.stringify(inp).slice(0, 300)}`, ['CORRUPT', 'UNSUPPORTED_FORMAT', 'NOT_FOUND']);
    assert.not.equal(inp.kind, 'intact', 'the intact export verifies');
  }
}

readerProperties(
  import.meta.url,
  'property: export folders',
  {
    'a damaged or forged export folder verifies or fails with CORRUPT; the intact one verifies': {
      arbitrary: input,
      checkAsync: verifyCase,
    },
  },
  {
    setup: async (scratch) => {
      work = path.join(scratch, 'work');
      const storeDir = path.join(scratch, 'store');
      const chat = await openChatStore({ dir: storeDir, durability: 'none' });
      await chat.users.create({ userId: 'ann' });
      await chat.sessions.create({ userId: 'ann', sessionId: 's1', title: 'Trip' });
      for (let i = 0; i < 6; i++) await chat.messages.add('s1', { role: i % 2 ? 'assistant' : 'user', content: `message ${i} ✓` });
      await chat.documents.upload({ sessionId: 's1', documentId: 'd1', name: 'plan.txt', mediaType: 'text/plain' }, Buffer.from('a plan\n'.repeat(20)));
      await chat.close();
      const out = path.join(scratch, 'export');
      await exportFolder(storeDir, out);
      const files = filesUnder(out).map((f) => path.relative(out, f));
      assert.ok(files.includes('manifest.json') && files.includes('events.jsonl') && files.some((f) => f.startsWith('blobs')));
      const text = fs.readFileSync(path.join(out, 'events.jsonl'));
      const lines: Buffer[] = [];
      for (let at = 0; at < text.length; ) {
        const nl = text.indexOf(10, at);
        lines.push(text.subarray(at, nl));
        at = nl + 1;
      }
      image = { snapshot: new FolderSnapshot(out), files, lines };
    },
  },
);
