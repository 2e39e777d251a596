import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ErrorCode, FfcdbError, ioError, isFfcdbError } from '../src/kernel/errors.js';

const errors = suite('errors');

errors('every error code is a string equal to its own name, so codes survive JSON and logs', () => {
  const entries = Object.entries(ErrorCode);
  assert.ok(entries.length >= 12);
  for (const [key, value] of entries) assert.is(value, key);
});

errors('the codes the spec names exist: conflict, not found, invalid id/argument, corrupt, locked, closed, I/O', () => {
  for (const code of ['CONFLICT', 'NOT_FOUND', 'INVALID_ID', 'INVALID_ARGUMENT', 'DUPLICATE_EVENT', 'CORRUPT', 'LOCKED', 'CLOSED', 'IO', 'FAILED', 'UNSAFE_PATH', 'UNSUPPORTED_FORMAT']) {
    assert.ok(code in ErrorCode, code);
  }
});

errors('an FfcdbError is an Error carrying its code, message, details and name', () => {
  const err = new FfcdbError(ErrorCode.CONFLICT, 'stream s is at version 2', { streamId: 's', actual: 2 });
  assert.instance(err, Error);
  assert.instance(err, FfcdbError);
  assert.is(err.code, 'CONFLICT');
  assert.is(err.message, 'stream s is at version 2');
  assert.equal(err.details, { streamId: 's', actual: 2 });
  assert.is(err.name, 'FfcdbError');
  assert.match(String(err.stack), /FfcdbError/);
});

errors('details default to an empty object', () => {
  assert.equal(new FfcdbError(ErrorCode.CLOSED, 'closed').details, {});
});

errors('an FfcdbError keeps the error that caused it', () => {
  const cause = new Error('disk on fire');
  const err = new FfcdbError(ErrorCode.IO, 'write failed', {}, { cause });
  assert.is(err.cause, cause);
});

errors('isFfcdbError recognises FfcdbErrors and, given a code, only that code', () => {
  const err = new FfcdbError(ErrorCode.NOT_FOUND, 'no such stream');
  assert.ok(isFfcdbError(err));
  assert.ok(isFfcdbError(err, ErrorCode.NOT_FOUND));
  assert.not.ok(isFfcdbError(err, ErrorCode.CONFLICT));
});

errors('isFfcdbError rejects plain errors and look-alike objects', () => {
  assert.not.ok(isFfcdbError(new Error('x')));
  assert.not.ok(isFfcdbError({ code: 'CONFLICT', message: 'x', details: {} }));
  assert.not.ok(isFfcdbError(undefined));
  assert.not.ok(isFfcdbError(null, ErrorCode.CONFLICT));
});

errors('ioError wraps a system error as an IO error naming the file, the syscall and the errno', () => {
  const sys = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  const err = ioError(sys, '/data/s/0001.log', 'fdatasync');
  assert.is(err.code, ErrorCode.IO);
  assert.equal(err.details, { file: '/data/s/0001.log', syscall: 'fdatasync', errno: 'ENOSPC' });
  assert.is(err.cause, sys);
  assert.match(err.message, /fdatasync/);
  assert.match(err.message, /\/data\/s\/0001\.log/);
  assert.match(err.message, /no space left/);
});

errors('ioError copes with a thrown non-error value', () => {
  const err = ioError('boom', 'f', 'write');
  assert.is(err.code, ErrorCode.IO);
  assert.is(err.details.errno, undefined);
  assert.match(err.message, /boom/);
});

errors.run();
