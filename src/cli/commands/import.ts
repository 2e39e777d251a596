import { importToFolder } from '../../export/index.js';
import { type Command, EXIT, UsageError } from '../command.js';
import { DIR_OPTION } from './store-dir.js';
import { count, progressBar } from './export.js';

export const importCommand: Command = {
  name: 'import',
  usage: 'ffcdb import --dir DIR --from PATH [--max-gaps N]  an export into a new store in DIR (new or empty), verified first',
  options: { ...DIR_OPTION, from: { type: 'string' }, 'max-gaps': { type: 'string' } },
  async run(values) {
    if (typeof values.dir !== 'string' || values.dir === '') throw new UsageError('--dir is required (a new or empty folder)');
    if (typeof values.from !== 'string' || values.from === '') throw new UsageError('--from is required (an export folder)');
    const maxGaps = values['max-gaps'] === undefined ? undefined : Number(values['max-gaps']);
    if (maxGaps !== undefined && !(Number.isSafeInteger(maxGaps) && maxGaps >= 0)) throw new UsageError('--max-gaps must be a non-negative integer');
    const bar = progressBar();
    // SIGTERM or Ctrl-C stops the import; importToFolder then removes its unfinished folder, and the error exits non-zero.
    const controller = new AbortController();
    const stop = (signal: NodeJS.Signals) => controller.abort(new Error(`import stopped by ${signal}; nothing was imported into ${values.dir}`));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    try {
      const r = await importToFolder(values.dir, values.from, { onProgress: bar.update, signal: controller.signal, ...(maxGaps === undefined ? {} : { maxGaps }) });
      bar.stop();
      console.log(
        `imported ${count(r.events, 'event')} of ${count(r.streams, 'stream')} and ${count(r.blobs, 'blob')} into ${values.dir} (head position ${r.headPosition})` +
          (r.gapStream ? `; ${count(r.gapEvents, 'gap position')} kept by placeholders in ${r.gapStream}, now purged` : ''),
      );
      return EXIT.ok;
    } finally {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      bar.stop();
    }
  },
};
