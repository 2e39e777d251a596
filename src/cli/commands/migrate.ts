import { SingleBar } from 'cli-progress';
import { Migration, type MigrationProgress } from '../../migration/index.js';
import { type Command, EXIT, UsageError } from '../command.js';
import { TARGET_OPTIONS, TARGET_USAGE, noPositionals, withLog, withTarget } from './migrate-target.js';

/** How often plain progress lines are printed when stdout is not a terminal. */
const LINE_EVERY_MS = 2000;

export const migrateCommand: Command = {
  name: 'migrate',
  usage: `ffcdb migrate --dir DIR ${TARGET_USAGE} [--follow] [--batch N]   replay the log into SQL (resumable; --follow keeps going)`,
  options: { dir: { type: 'string' }, ...TARGET_OPTIONS, follow: { type: 'boolean', default: false }, batch: { type: 'string' } },
  run(values, positionals) {
    noPositionals(positionals);
    const batchSize = values.batch === undefined ? undefined : Number(values.batch);
    if (batchSize !== undefined && !(Number.isSafeInteger(batchSize) && batchSize > 0)) throw new UsageError('--batch must be a positive integer');
    return withLog(values.dir, (store) =>
      withTarget(values, async (target) => {
        const progress = new Progress();
        const migration = await Migration.open({ store, target, ...(batchSize === undefined ? {} : { batchSize }), onProgress: (p) => progress.update(p) });
        console.log(`migrating ${target.description} from position ${migration.position}`);
        progress.start(migration.position, await store.headPosition());
        const caughtUp = await migration.catchUp();
        progress.stop(caughtUp);
        if (values.follow !== true) return EXIT.ok;
        console.log(`following the log (Ctrl-C to stop)`);
        const stop = () => migration.stop();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        // The store polls for other processes' commits on an unref'd timer: this keeps the process alive meanwhile.
        const alive = setInterval(() => undefined, 1 << 30);
        try {
          const followed = await migration.follow();
          console.log(`stopped at position ${followed.position}: ${followed.events.toLocaleString('en-US')} events migrated in this run`);
        } finally {
          clearInterval(alive);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
        }
        return EXIT.ok;
      }),
    );
  },
};

/** Done, rate and time left: a bar on a terminal, a line every few seconds otherwise. */
class Progress {
  readonly #bar = process.stdout.isTTY ? new SingleBar({ format: '  [{bar}] {percentage}% | {value}/{total} | {rate} events/s | ETA {eta_formatted}', hideCursor: true, stream: process.stdout }) : undefined;
  #started = 0;
  #from = 0;
  #lastLine = 0;

  start(from: number, head: number): void {
    this.#started = performance.now();
    this.#from = from;
    this.#bar?.start(Math.max(head, from), from, { rate: 0 });
  }

  update(p: MigrationProgress): void {
    const rate = this.#rate(p);
    if (this.#bar) {
      this.#bar.setTotal(Math.max(p.head, p.position));
      this.#bar.update(p.position, { rate: rate.toLocaleString('en-US') });
    } else if (performance.now() - this.#lastLine >= LINE_EVERY_MS) {
      this.#lastLine = performance.now();
      const left = rate > 0 ? Math.round((p.head - p.position) / rate) : 0;
      console.log(`  position ${p.position}/${p.head} (${Math.floor((100 * (p.position - this.#from)) / Math.max(1, p.head - this.#from))}%) | ${rate.toLocaleString('en-US')} events/s | ${left} s left`);
    }
  }

  stop(p: MigrationProgress & { erased: number }): void {
    this.#bar?.stop();
    const seconds = (performance.now() - this.#started) / 1000;
    console.log(`migrated ${p.events.toLocaleString('en-US')} events in ${p.batches} batches (${seconds.toFixed(1)} s, ${this.#rate(p).toLocaleString('en-US')} events/s); checkpoint ${p.position}${p.erased > 0 ? `; ${p.erased} purged streams erased` : ''}`);
  }

  #rate(p: MigrationProgress): number {
    const seconds = (performance.now() - this.#started) / 1000;
    return seconds > 0 ? Math.round(p.events / seconds) : 0;
  }
}
