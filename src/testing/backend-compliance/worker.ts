/**
 * The child process of the compliance suite's cross-process tests: builds the
 * backend with the export `name` of the module `module`, appends `appends`
 * events one at a time to the streams `streams` in turn, and writes one JSON
 * line per acknowledged append (with one writeSync, only after the append
 * resolved, so the parent never sees an ack the store did not give). It is
 * started by cross-process.ts, from source under tsx or from the build.
 */
import { writeSync } from 'node:fs';
import type { StorageBackend } from '../../backends/backend.js';
import { EventStore } from '../../engine/event-store.js';

export interface WorkerConfig {
  module: string;
  name: string;
  dir: string;
  tag: string;
  streams: string[];
  appends: number;
}

export interface WorkerAck {
  tag: string;
  seq: number;
  streamId: string;
  firstVersion: number;
  firstPosition: number;
}

// No top-level await: a module with it cannot be require()d, and the package may be.
async function main(config: WorkerConfig): Promise<void> {
  const make = (await import(config.module))[config.name] as (ctx: { dir: string }) => StorageBackend | Promise<StorageBackend>;
  if (typeof make !== 'function') throw new Error(`${config.module} exports no function ${config.name}`);
  const store = await EventStore.open(await make({ dir: config.dir }));
  for (let seq = 0; seq < config.appends; seq++) {
    const streamId = config.streams[seq % config.streams.length]!;
    const r = await store.append(streamId, { type: 'worker.appended', data: { tag: config.tag, seq } });
    const ack: WorkerAck = { tag: config.tag, seq, streamId, firstVersion: r.firstVersion, firstPosition: r.firstPosition };
    writeSync(1, `${JSON.stringify(ack)}\n`);
  }
  await store.close();
}

main(JSON.parse(process.argv[2] ?? '{}') as WorkerConfig).catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
