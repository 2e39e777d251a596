import { importToFolder } from '../../export/index.js';
import { type Command, EXIT, UsageError } from '../command.js';
import { DIR_OPTION } from './store-dir.js';
import { count, progressBar } from './export.js';

export const importCommand: Command = {
  name: 'import',
  usage: 'ffcdb import --dir DIR --from PATH                 an export into a new store in DIR (new or empty), verified first',
  options: { ...DIR_OPTION, from: { type: 'string' } },
  async run(values) {
    if (typeof values.dir !== 'string' || values.dir === '') throw new UsageError('--dir is required (a new or empty folder)');
    if (typeof values.from !== 'string' || values.from === '') throw new UsageError('--from is required (an export folder)');
    const bar = progressBar();
    try {
      const r = await importToFolder(values.dir, values.from, { onProgress: bar.update });
      bar.stop();
      console.log(
        `imported ${count(r.events, 'event')} of ${count(r.streams, 'stream')} and ${count(r.blobs, 'blob')} into ${values.dir} (head position ${r.headPosition})` +
          (r.gapStream ? `; ${count(r.gapEvents, 'gap position')} kept by placeholders in ${r.gapStream}, now purged` : ''),
      );
      return EXIT.ok;
    } finally {
      bar.stop();
    }
  },
};
