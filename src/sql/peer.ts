import { ErrorCode, FfcdbError } from '../kernel/errors.js';

/**
 * Loads an optional peer dependency (better-sqlite3, pg) when a target asks
 * for it, so an app that never migrates installs neither.
 */
export async function importPeer<T>(name: string, what: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (err) {
    const code = (err as { code?: string })?.code;
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      throw new FfcdbError(ErrorCode.NOT_FOUND, `${what} needs the package ${name}, which is not installed: npm install ${name}`, { field: 'to', package: name }, { cause: err });
    }
    throw err;
  }
}
