import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { EXPORT_FORMATS, type ExportFormat } from '../../index.js';
import { type Command, EXIT, UsageError } from '../command.js';
import { DIR_OPTION, withStore } from './store-dir.js';

export const exportSessionCommand: Command = {
  name: 'export-session',
  usage: 'ffcdb export-session --dir DIR --session ID [--format json|jsonl|markdown] [--out FILE]   one session, readable',
  options: { ...DIR_OPTION, session: { type: 'string' }, format: { type: 'string', default: 'markdown' }, out: { type: 'string' } },
  run(values) {
    if (typeof values.session !== 'string') throw new UsageError('--session is required');
    const format = values.format as ExportFormat;
    if (!EXPORT_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${EXPORT_FORMATS.join(', ')}`);
    return withStore(values.dir, async (chat) => {
      const out = typeof values.out === 'string' ? fs.createWriteStream(values.out) : process.stdout;
      await pipeline(Readable.from(chat.export(values.session as string, format)), out);
      return EXIT.ok;
    }, { readOnly: true });
  },
};
