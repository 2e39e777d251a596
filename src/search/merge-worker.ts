/**
 * The search index's merge thread: it writes a merged segment from segment
 * files it opens itself, so a merge, the longest write the index does, uses
 * another core and never holds up the event loop of the store.
 */
import { parentPort } from 'node:worker_threads';
import { workerError } from '../kernel/worker-thread.js';
import type { MergeAnswer, MergeJob } from './segment-merger.js';
import { SegmentFile } from './segment-file.js';
import { segmentWriter } from './segment-writer.js';

const port = parentPort!;
port.on('message', (job: MergeJob) => {
  const files: SegmentFile[] = [];
  try {
    for (const s of job.sources) files.push(SegmentFile.open(s.file));
    const writer = segmentWriter(job.dir, job.name, files.map((segment, i) => ({ segment, dead: new Set(job.sources[i]!.dead), deadDf: new Map() })));
    let step = writer.next();
    while (!step.done) step = writer.next();
    port.postMessage({ ok: true, remap: step.value } satisfies MergeAnswer, step.value.map((r) => r.buffer as ArrayBuffer));
  } catch (err) {
    port.postMessage({ ok: false, error: workerError(err) } satisfies MergeAnswer);
  } finally {
    for (const f of files) f.close();
  }
});
