// Shared assertion for the event catalog tests (not a test file itself).
import * as assert from 'uvu/assert';
import { ErrorCode } from '../../src/kernel/errors.js';
import { thrown } from '../flatfile/unit-helpers.js';

/** fn throws an FfcdbError with `code` whose details name `field`. */
export function fails(fn: () => unknown, field: string, code: ErrorCode = ErrorCode.INVALID_ARGUMENT): void {
  const err = thrown(fn);
  assert.is(err.code, code, err.message);
  assert.is(err.details.field, field, err.message);
}
