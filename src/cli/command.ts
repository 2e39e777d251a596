import type { ParseArgsConfig } from 'node:util';

/** Exit codes of every ffcdb command. */
export const EXIT = { ok: 0, problem: 1, usage: 2 } as const;

/**
 * One `ffcdb` command: its name (one or two words, e.g. `projections compare`),
 * its options for node:util parseArgs, a usage line, and what it does. `run`
 * resolves with the exit code; it throws UsageError for bad usage.
 */
export interface Command {
  readonly name: string;
  readonly usage: string;
  readonly options: NonNullable<ParseArgsConfig['options']>;
  run(values: Record<string, string | boolean | (string | boolean)[] | undefined>, positionals: string[]): Promise<number>;
}

export class UsageError extends Error {}
