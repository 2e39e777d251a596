/**
 * `ffcdb`: the command line. Each command opens the store in `--dir`, does one
 * job and exits 0 on success, 1 when the job found a problem (projections that
 * differ from their rebuild), 2 on bad usage or an error.
 */
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { parseArgs } from 'node:util';
import { openChatStore } from '../chat/chat-store.js';
import { EXPORT_FORMATS, type ExportFormat } from '../chat/session-export.js';
import { FfcdbError } from '../errors.js';

const USAGE = `usage:
  ffcdb projections status  --dir DIR             the position each projection reflects
  ffcdb projections compare --dir DIR [NAME...]   rebuild beside the live state and compare (exit 1 if any differs)
  ffcdb projections rebuild --dir DIR NAME...     rebuild from the log and swap in
  ffcdb export --dir DIR --session ID [--format json|jsonl|markdown] [--out FILE]`;

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      dir: { type: 'string' },
      session: { type: 'string' },
      format: { type: 'string', default: 'markdown' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, sub, ...names] = positionals;
  if (values.help || !command) return usage(values.help ? 0 : 2);
  if (!values.dir) return usage(2, '--dir is required');
  // Commands work on an existing store; opening would make an empty one.
  if (!fs.existsSync(path.join(values.dir, 'ffcdb.json'))) return usage(2, `${values.dir} holds no store`);
  const chat = await openChatStore({ dir: path.resolve(values.dir) });
  try {
    if (command === 'projections') {
      const wanted = names.length > 0 ? names : [...chat.projections.names];
      if (sub === 'status') {
        for (const name of chat.projections.names) console.log(`${name}: position ${chat.projections.position}`);
        return 0;
      }
      if (sub === 'compare' || sub === 'rebuild') {
        if (sub === 'rebuild' && names.length === 0) return usage(2, 'name the projections to rebuild');
        let differ = false;
        for (const name of wanted) {
          const r = sub === 'compare' ? await chat.projections.compare(name) : await chat.projections.rebuild(name);
          differ ||= !r.identical;
          console.log(`${name} v${r.version} at position ${r.position}: ${r.identical ? 'identical' : 'DIFFERENT'}${r.swapped ? ', rebuilt state swapped in' : ''}`);
          for (const d of r.differences) console.log(`  ${d}`);
        }
        return sub === 'compare' && differ ? 1 : 0;
      }
      return usage(2, `unknown projections command ${JSON.stringify(sub ?? '')}`);
    }
    if (command === 'export') {
      if (!values.session) return usage(2, '--session is required');
      const format = values.format as ExportFormat;
      if (!EXPORT_FORMATS.includes(format)) return usage(2, `--format must be one of ${EXPORT_FORMATS.join(', ')}`);
      const out = values.out ? fs.createWriteStream(values.out) : process.stdout;
      await pipeline(Readable.from(chat.export(values.session, format)), out);
      return 0;
    }
    return usage(2, `unknown command ${JSON.stringify(command)}`);
  } finally {
    await chat.close();
  }
}

function usage(code: number, problem?: string): number {
  if (problem) console.error(`ffcdb: ${problem}`);
  (code === 0 ? console.log : console.error)(USAGE);
  return code;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  console.error(`ffcdb: ${err instanceof FfcdbError ? `${err.code}: ${err.message}` : (err as Error).message}`);
  process.exitCode = 2;
}
