import cliProgress from 'cli-progress';
import { exportFolder } from '../../export/index.js';
import { type Command, EXIT, UsageError } from '../command.js';
import { DIR_OPTION, storeDir } from './store-dir.js';

export const exportCommand: Command = {
  name: 'export',
  usage: 'ffcdb export --dir DIR --out PATH [--session ID]   the whole store (or one session) as JSONL + manifest + blobs, in a new folder',
  options: { ...DIR_OPTION, out: { type: 'string' }, session: { type: 'string' } },
  async run(values) {
    const dir = storeDir(values.dir);
    if (typeof values.out !== 'string' || values.out === '') throw new UsageError('--out is required (a new folder)');
    const bar = progressBar();
    try {
      const m = await exportFolder(dir, values.out, { ...(typeof values.session === 'string' ? { sessionId: values.session } : {}), onProgress: bar.update });
      bar.stop();
      console.log(
        `exported ${count(m.events.count, 'event')} of ${count(m.streams.count, 'stream')} (head position ${m.headPosition}, ${count(m.events.gaps, 'gap')}) and ${count(m.blobs.count, 'blob')}` +
          `${m.blobs.absent.length > 0 ? ` (${m.blobs.absent.length} named but no longer stored)` : ''} to ${values.out}`,
      );
      return EXIT.ok;
    } finally {
      bar.stop();
    }
  },
};

export function count(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

/** A progress bar per phase on stderr (drawn only when stderr is a terminal). */
export function progressBar(): { update: (p: { phase: string; done: number; total: number }) => void; stop: () => void } {
  let bar: cliProgress.SingleBar | undefined;
  let phase: string | undefined;
  const stop = () => {
    bar?.stop();
    bar = undefined;
  };
  return {
    update: (p) => {
      if (p.phase !== phase) {
        stop();
        phase = p.phase;
        bar = new cliProgress.SingleBar(
          { stream: process.stderr, format: '{phase} [{bar}] {percentage}% | {value}/{total} | {eta_formatted} left', etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.total, p.done, { phase: p.phase.padEnd(6) });
      } else {
        bar?.update(p.done);
      }
    },
    stop,
  };
}
