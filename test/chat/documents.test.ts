import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import * as assert from 'uvu/assert';
import { ErrorCode, type FfcdbError } from '../../src/kernel/errors.js';
import { bytesOf, chatSuites, fails, failsCleanly, seedSession, seedUser } from './helpers.js';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const TEXT = { name: 'notes.txt', mediaType: 'text/plain' };

async function* generated(parts: string[]): AsyncGenerator<Uint8Array> {
  for (const p of parts) yield Buffer.from(p);
}

chatSuites('chat: documents', (test, open, kind) => {
  test('upload from a Buffer records name, type, size, hash and metadata; get reads it back', () =>
    open(async (chat) => {
      await seedSession(chat);
      const bytes = Buffer.from('hello documents');
      const doc = await chat.documents.upload({ sessionId: 's1', name: 'hello.txt', mediaType: 'text/plain', metadata: { lang: 'en' } }, bytes);
      assert.match(doc.documentId, /^[0-9A-HJKMNP-TV-Z]{26}$/);
      assert.is(doc.userId, 'u1');
      assert.is(doc.sessionId, 's1');
      assert.is(doc.name, 'hello.txt');
      assert.is(doc.mediaType, 'text/plain');
      assert.is(doc.size, bytes.length);
      assert.is(doc.sha256, sha(bytes));
      assert.equal(doc.metadata, { lang: 'en' });
      assert.equal(doc.analyses, []);
      assert.ok(doc.position > 0);
      const { position: _, ...got } = await chat.documents.get(doc.documentId);
      const { position: __, ...uploaded } = doc;
      assert.equal(got, uploaded);
      assert.equal(await bytesOf(await chat.documents.open(doc.documentId)), bytes);
    }));

  test('upload from a Readable and from an async generator; an empty document is fine', () =>
    open(async (chat) => {
      await seedSession(chat);
      const fromStream = await chat.documents.upload({ sessionId: 's1', ...TEXT, documentId: 'stream' }, Readable.from([Buffer.from('ab'), Buffer.from('cd')]));
      assert.is(fromStream.size, 4);
      assert.is(fromStream.sha256, sha(Buffer.from('abcd')));
      const fromGenerator = await chat.documents.upload({ sessionId: 's1', ...TEXT, documentId: 'gen' }, generated(['x', 'y', 'z']));
      assert.equal(await bytesOf(await chat.documents.open('gen')), Buffer.from('xyz'));
      assert.is(fromGenerator.size, 3);
      const empty = await chat.documents.upload({ sessionId: 's1', ...TEXT, documentId: 'empty' }, Buffer.alloc(0));
      assert.is(empty.size, 0);
      assert.equal(await bytesOf(await chat.documents.open('empty')), Buffer.alloc(0));
    }));

  test('the same bytes uploaded twice are stored once, and both documents read back', () =>
    open(async (chat, env) => {
      await seedSession(chat, 'u1', 's1');
      await seedSession(chat, 'u1', 's2');
      const bytes = Buffer.from('the same bytes '.repeat(1000));
      const a = await chat.documents.upload({ sessionId: 's1', name: 'a.txt', mediaType: 'text/plain' }, bytes);
      const b = await chat.documents.upload({ sessionId: 's2', name: 'b.txt', mediaType: 'text/plain' }, Readable.from([bytes.subarray(0, 7), bytes.subarray(7)]));
      assert.is.not(a.documentId, b.documentId);
      assert.is(a.sha256, b.sha256);
      assert.equal(await env.blobs(), [a.sha256]);
      assert.equal(await bytesOf(await chat.documents.open(a.documentId)), bytes);
      assert.equal(await bytesOf(await chat.documents.open(b.documentId)), bytes);
    }));

  test('open streams a byte range; a range past the end is INVALID_ARGUMENT', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('0123456789'));
      assert.is((await bytesOf(await chat.documents.open(doc.documentId, { start: 2, end: 5 }))).toString(), '234');
      assert.is((await bytesOf(await chat.documents.open(doc.documentId, { start: 7 }))).toString(), '789');
      assert.is((await bytesOf(await chat.documents.open(doc.documentId, { end: 3 }))).toString(), '012');
      assert.is((await bytesOf(await chat.documents.open(doc.documentId, { start: 8, end: 100 }))).toString(), '89');
      await fails(chat.documents.open(doc.documentId, { start: 11 }), ErrorCode.INVALID_ARGUMENT, 'range.start');
      await fails(chat.documents.open(doc.documentId, { start: 5, end: 2 }), ErrorCode.INVALID_ARGUMENT, 'range.end');
      await fails(chat.documents.open('nope'), ErrorCode.NOT_FOUND, 'documentId');
      await fails(chat.documents.open('a\nb'), ErrorCode.INVALID_ID, 'documentId');
      await fails(chat.documents.open('../x'), ErrorCode.NOT_FOUND, 'documentId');
    }));

  test("list per session, and per user (the library and every session's), in upload order", () =>
    open(async (chat) => {
      await seedSession(chat, 'u1', 's1');
      await seedSession(chat, 'u1', 's2');
      await seedSession(chat, 'u2', 'o1');
      const up = async (owner: { sessionId: string } | { userId: string }, documentId: string) => chat.documents.upload({ ...owner, ...TEXT, documentId }, Buffer.from(documentId));
      await up({ sessionId: 's1' }, 'd1');
      await up({ userId: 'u1' }, 'lib1');
      await up({ sessionId: 's2' }, 'd2');
      await up({ sessionId: 's1' }, 'd3');
      await up({ sessionId: 'o1' }, 'other');
      const s1 = await chat.documents.list({ sessionId: 's1' });
      assert.equal(
        s1.items.map((d) => d.documentId),
        ['d1', 'd3'],
      );
      assert.ok(s1.position > 0);
      assert.equal(
        (await chat.documents.list({ userId: 'u1' })).items.map((d) => d.documentId),
        ['d1', 'lib1', 'd2', 'd3'],
      );
      assert.equal(
        (await chat.documents.list({ userId: 'u2' })).items.map((d) => d.documentId),
        ['other'],
      );
      const lib = await chat.documents.get('lib1');
      assert.is(lib.sessionId, undefined);
      assert.is(lib.userId, 'u1');
      await fails(chat.documents.list({ sessionId: 'ghost' }), ErrorCode.NOT_FOUND, 'sessionId');
      await fails(chat.documents.list({ userId: 'ghost' }), ErrorCode.NOT_FOUND, 'userId');
      await fails(chat.documents.list({ sessionId: 'a\nb' }), ErrorCode.INVALID_ID, 'sessionId');
      await fails(chat.documents.list({} as never), ErrorCode.INVALID_ARGUMENT, 'owner');
      await fails(chat.documents.list(null as never), ErrorCode.INVALID_ARGUMENT, 'owner');
    }));

  test('analyse twice gives analysis versions 1 and 2; analyses() returns both, or one by analysisVersion', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('Ada met Charles in London.'));
      const first = await chat.documents.analyse(doc.documentId, { summary: 'A meeting', entities: [{ type: 'person', text: 'Ada' }] });
      assert.is(first.analysisVersion, 1);
      assert.is(first.documentId, doc.documentId);
      assert.is(first.summary, 'A meeting');
      assert.ok(first.at > 0);
      assert.ok(first.position > 0);
      const second = await chat.documents.analyse(doc.documentId, { text: 'Ada met Charles in London.', data: { pages: 1, tags: ['x'] } });
      assert.is(second.analysisVersion, 2);

      const all = await chat.documents.analyses(doc.documentId);
      assert.equal(
        all.analyses.map((a) => a.analysisVersion),
        [1, 2],
      );
      assert.equal(all.analyses[0]!.entities, [{ type: 'person', text: 'Ada' }]);
      assert.equal(all.analyses[1]!.data, { pages: 1, tags: ['x'] });
      assert.ok(all.position > 0);
      const only2 = await chat.documents.analyses(doc.documentId, { analysisVersion: 2 });
      assert.equal(
        only2.analyses.map((a) => a.text),
        ['Ada met Charles in London.'],
      );
      assert.equal((await chat.documents.analyses(doc.documentId, { analysisVersion: 3 })).analyses, []);
      await fails(chat.documents.analyses(doc.documentId, { analysisVersion: 0 }), ErrorCode.INVALID_ARGUMENT, 'analysisVersion');
      assert.equal(
        (await chat.documents.get(doc.documentId)).analyses.map((a) => a.analysisVersion),
        [1, 2],
      );
    }));

  test('analyses of a library document live in the user stream', () =>
    open(async (chat) => {
      await seedUser(chat);
      const doc = await chat.documents.upload({ userId: 'u1', ...TEXT }, Buffer.from('library'));
      await chat.documents.analyse(doc.documentId, { summary: 'lib' });
      assert.equal(
        (await chat.events.readStream('u-u1')).map((e) => e.type),
        ['user.created', 'document.uploaded', 'document.analysed'],
      );
      assert.is((await chat.documents.analyses(doc.documentId)).analyses[0]!.summary, 'lib');
    }));

  test('analyse refuses bad results, naming the field, and unknown documents, appending nothing', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('x'));
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, {}), ErrorCode.INVALID_ARGUMENT, 'result');
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, { summary: 5 as never }), ErrorCode.INVALID_ARGUMENT, 'result.summary');
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, { entities: [{ type: 'person' }] as never }), ErrorCode.INVALID_ARGUMENT, 'result.entities[0].text');
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, { verdict: 'ok' } as never), ErrorCode.INVALID_ARGUMENT, 'result.verdict');
      // The version and the document are the call's to choose.
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, { summary: 's', analysisVersion: 9 } as never), ErrorCode.INVALID_ARGUMENT, 'result.analysisVersion');
      await failsCleanly(chat, () => chat.documents.analyse(doc.documentId, { summary: 's', documentId: 'other' } as never), ErrorCode.INVALID_ARGUMENT, 'result.documentId');
      await failsCleanly(chat, () => chat.documents.analyse('nope', { summary: 's' }), ErrorCode.NOT_FOUND, 'documentId');
      await failsCleanly(chat, () => chat.documents.analyse('a\nb', { summary: 's' }), ErrorCode.INVALID_ID, 'documentId');
      assert.equal((await chat.documents.get(doc.documentId)).analyses, []);
    }));

  test('delete: reads stop returning the document; its blob goes only when no other document names it', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      const a = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('shared'));
      const b = await chat.documents.upload({ userId: 'u1', ...TEXT }, Buffer.from('shared'));
      const c = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('alone'));
      assert.is((await env.blobs()).length, 2);
      const result = await chat.documents.delete(a.documentId);
      assert.is(result.documentId, a.documentId);
      assert.ok(result.position > 0);
      await fails(chat.documents.get(a.documentId), ErrorCode.NOT_FOUND, 'documentId');
      await fails(chat.documents.open(a.documentId), ErrorCode.NOT_FOUND, 'documentId');
      await fails(chat.documents.analyses(a.documentId), ErrorCode.NOT_FOUND, 'documentId');
      assert.equal((await env.blobs()).sort(), [a.sha256, c.sha256].sort());
      assert.equal(await bytesOf(await chat.documents.open(b.documentId)), Buffer.from('shared'));
      await chat.documents.delete(b.documentId);
      await chat.documents.delete(c.documentId);
      assert.equal(await env.blobs(), []);
      await failsCleanly(chat, () => chat.documents.delete(a.documentId), ErrorCode.NOT_FOUND, 'documentId');
      assert.equal((await chat.documents.list({ sessionId: 's1' })).items, []);
    }));

  test('upload needs exactly one of sessionId and userId, and an existing owner; nothing is stored otherwise', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      const bytes = Buffer.from('owner test');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', userId: 'u1', ...TEXT }, bytes), ErrorCode.INVALID_ARGUMENT, 'document');
      await failsCleanly(chat, () => chat.documents.upload({ ...TEXT }, bytes), ErrorCode.INVALID_ARGUMENT, 'document');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 'ghost', ...TEXT }, bytes), ErrorCode.NOT_FOUND, 'sessionId');
      await failsCleanly(chat, () => chat.documents.upload({ userId: 'ghost', ...TEXT }, bytes), ErrorCode.NOT_FOUND, 'userId');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1\n', ...TEXT }, bytes), ErrorCode.INVALID_ID, 'sessionId');
      assert.equal(await env.blobs(), []);
    }));

  test('maxBytes and a sha256 mismatch are refused with nothing stored and no event appended', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      const bytes = Buffer.from('0123456789');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, maxBytes: 9 }, bytes), ErrorCode.INVALID_ARGUMENT);
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, maxBytes: 9 }, Readable.from([bytes.subarray(0, 5), bytes.subarray(5)])), ErrorCode.INVALID_ARGUMENT);
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, sha256: sha(Buffer.from('other')) }, bytes), ErrorCode.INVALID_ARGUMENT);
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, sha256: sha(Buffer.from('other')) }, generated(['0123', '456789'])), ErrorCode.INVALID_ARGUMENT);
      assert.equal(await env.blobs(), []);
      // The limits given right, the same bytes pass.
      const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT, maxBytes: 10, sha256: sha(bytes) }, bytes);
      assert.is(doc.size, 10);
    }));

  test('bad upload fields are refused naming the field, and leave no blob behind', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      const bytes = Buffer.from('fields');
      const bad = (document: object, code: ErrorCode, field: string) => failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, ...document } as never, bytes), code, field);
      await bad({ name: '' }, ErrorCode.INVALID_ARGUMENT, 'document.name');
      await bad({ name: 'a\nb' }, ErrorCode.INVALID_ARGUMENT, 'document.name');
      await bad({ mediaType: 'text' }, ErrorCode.INVALID_ARGUMENT, 'document.mediaType');
      await bad({ metadata: 'x' }, ErrorCode.INVALID_ARGUMENT, 'document.metadata');
      await bad({ metadata: { big: 'x'.repeat(70_000) } }, ErrorCode.INVALID_ARGUMENT, 'document.metadata');
      await bad({ metdata: { a: 1 } }, ErrorCode.INVALID_ARGUMENT, 'document.metdata');
      await bad({ sha256: 'ABC' }, ErrorCode.INVALID_ID, 'document.sha256');
      await bad({ maxBytes: -1 }, ErrorCode.INVALID_ARGUMENT, 'document.maxBytes');
      await bad({ documentId: 'a\nb' }, ErrorCode.INVALID_ID, 'documentId');
      await failsCleanly(chat, () => chat.documents.upload(null as never, bytes), ErrorCode.INVALID_ARGUMENT, 'document');
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT }, 'a string' as never), ErrorCode.INVALID_ARGUMENT);
      await failsCleanly(
        chat,
        () =>
          chat.documents.upload(
            { sessionId: 's1', ...TEXT },
            (async function* () {
              yield Buffer.from('part');
              throw new Error('network dropped');
            })(),
          ),
        ErrorCode.INVALID_ARGUMENT,
      );
      assert.equal(await env.blobs(), []);
    }));

  test('a document id already in use is CONFLICT naming documentId; the new bytes are not kept', () =>
    open(async (chat, env) => {
      await seedSession(chat);
      const first = await chat.documents.upload({ sessionId: 's1', ...TEXT, documentId: 'doc1' }, Buffer.from('first'));
      await failsCleanly(chat, () => chat.documents.upload({ userId: 'u1', ...TEXT, documentId: 'doc1' }, Buffer.from('second')), ErrorCode.CONFLICT, 'documentId');
      // Same bytes as the existing document: the conflict must not remove the blob it names.
      await failsCleanly(chat, () => chat.documents.upload({ sessionId: 's1', ...TEXT, documentId: 'doc1' }, Buffer.from('first')), ErrorCode.CONFLICT, 'documentId');
      assert.equal(await env.blobs(), [first.sha256]);
      assert.equal(await bytesOf(await chat.documents.open('doc1')), Buffer.from('first'));
    }));

  test('every document read carries the position it reflects, and waits for one', () =>
    open(async (chat) => {
      await seedSession(chat);
      const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, Buffer.from('x'));
      const head = await chat.events.headPosition();
      assert.is((await chat.documents.get(doc.documentId, { waitFor: head })).position, head);
      assert.is((await chat.documents.list({ sessionId: 's1' }, { waitFor: head })).position, head);
      assert.is((await chat.documents.analyses(doc.documentId, { waitFor: head })).position, head);
      await fails(chat.documents.get(doc.documentId, { waitFor: head + 1 }), ErrorCode.INVALID_ARGUMENT, 'waitFor');
    }));
  // Only a flatfile store's blobs can be damaged from outside (the memory store's are a private copy).
  if (kind === 'flatfile') {
    const blobFile = (dir: string, h: string) => path.join(dir, 'blobs', h.slice(0, 2), h.slice(2, 4), h);
    const opened = async (p: Promise<NodeJS.ReadableStream>) => {
      const parts: Buffer[] = [];
      try {
        for await (const c of await p) parts.push(Buffer.from(c as Uint8Array));
      } catch (err) {
        return { bytes: Buffer.concat(parts), err: err as FfcdbError };
      }
      return { bytes: Buffer.concat(parts), err: undefined };
    };
    const BYTES = Buffer.from('twenty-seven bytes of text.');

    test('a document whose blob has a flipped bit fails open with CORRUPT naming the blob and its file, without handing on all its bytes', () =>
      open(async (chat, env) => {
        await seedSession(chat);
        const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, BYTES);
        const file = blobFile(env.dir!, doc.sha256);
        const damaged = fs.readFileSync(file);
        damaged[3] = damaged[3]! ^ 1;
        fs.writeFileSync(file, damaged);
        const { bytes, err } = await opened(chat.documents.open(doc.documentId));
        assert.is(err?.code, ErrorCode.CORRUPT);
        assert.is(err?.details.sha256, doc.sha256);
        assert.is(err?.details.file, file);
        assert.ok(bytes.length < BYTES.length);
      }));

    test('a document whose blob was cut to 5 of its 27 bytes is CORRUPT whole and for a range past byte 5; a range inside the 5 still reads', () =>
      open(async (chat, env) => {
        await seedSession(chat);
        const doc = await chat.documents.upload({ sessionId: 's1', ...TEXT }, BYTES);
        assert.is(doc.size, 27);
        fs.truncateSync(blobFile(env.dir!, doc.sha256), 5);
        for (const range of [undefined, { start: 0 }, { start: 3, end: 10 }, { start: 20 }]) {
          const err = await fails(chat.documents.open(doc.documentId, range), ErrorCode.CORRUPT);
          assert.equal(err.details, { sha256: doc.sha256, file: blobFile(env.dir!, doc.sha256), size: 5, expectedSize: 27 });
        }
        assert.equal(await bytesOf(await chat.documents.open(doc.documentId, { start: 1, end: 5 })), BYTES.subarray(1, 5));
        await fails(chat.documents.open(doc.documentId, { start: 28 }), ErrorCode.INVALID_ARGUMENT, 'range.start');
      }));
  }
});
