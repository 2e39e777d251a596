/** Opens the engine under test: `openStore` on the flatfile backend, the embedded default. */
import type { EventStore } from '../../src/engine/event-store.js';
import { openStore } from '../../src/engine/open-store.js';
import type { DurabilityMode } from '../../src/kernel/types.js';

/** What the figures are of, for the report. */
export function subjectLabel(durability?: DurabilityMode): string {
  return `ffcdb, flatfile backend${durability ? `, durability '${durability}'` : ''}`;
}

export function openFfcdb(dir: string, durability: DurabilityMode): Promise<EventStore> {
  return openStore({ dir, durability });
}
