#!/usr/bin/env node
/**
 * `ffcdb`: the command line. Finds the command named by the first one or two
 * words (src/cli/commands/), parses its options with node:util parseArgs and
 * runs it. Exit codes: 0 success, 1 the job found a problem, 2 bad usage or an
 * error.
 */
import { parseArgs } from 'node:util';
import { FfcdbError } from '../index.js';
import { EXIT, UsageError } from './command.js';
import { COMMANDS } from './commands/index.js';

const USAGE = `usage:\n${COMMANDS.map((c) => `  ${c.usage}`).join('\n')}`;

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
    console.log(USAGE);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === argv.slice(0, c.name.split(' ').length).join(' '));
  if (!command) throw new UsageError(`unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))}`);
  const { values, positionals } = parseArgs({ args: argv.slice(command.name.split(' ').length), options: command.options, allowPositionals: true });
  return command.run(values, positionals);
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`ffcdb: ${(err as Error).message}\n${USAGE}`);
  } else {
    console.error(`ffcdb: ${err instanceof FfcdbError ? `${err.code}: ${err.message}` : (err as Error).message}`);
  }
  process.exitCode = EXIT.usage;
}
