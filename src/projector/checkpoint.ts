import type { EventStore } from '../engine/event-store.js';

/**
 * How far a consumer of the global feed has read: every position at or below
 * `position` is applied (positions above the last event read may be gaps it
 * stepped over), and the last event it read, which tells a log cut back after
 * a crash from the log the consumer read.
 */
export interface Checkpoint {
  position: number;
  /** The position of the last event read (0: none). */
  eventPosition: number;
  /** The id of that event ('' when none). */
  eventId: string;
}

export const START: Checkpoint = Object.freeze({ position: 0, eventPosition: 0, eventId: '' });

/**
 * What the log says of a checkpoint: `fresh` (nothing read yet), `holds` (its
 * last event is still there), `purged` (its last event's stream was purged: a
 * hole, which no other event can take), or `cut` (the log lost what it
 * reflects, so the consumer must start again from nothing).
 */
type CheckpointVerdict = 'fresh' | 'holds' | 'purged' | 'cut';

export interface CheckpointCheck {
  verdict: CheckpointVerdict;
  /** The feed's head when checked (0 when fresh, which needs no read). */
  head: number;
}

/**
 * The one rule for a checkpoint. A crash that cut an unsynced tail the
 * consumer had read shows as a head below the checkpoint, or as another event
 * at or below it: at the last event's position (another id), or at a position
 * the consumer stepped over as a gap after it (a log cut back below those
 * gives them to new events). A hole at the last event's position is a purge:
 * positions are never reused, so it is fine.
 */
export async function checkCheckpoint(store: EventStore, checkpoint: Checkpoint): Promise<CheckpointCheck> {
  const { position, eventPosition, eventId } = checkpoint;
  if (position === 0) return { verdict: 'fresh', head: 0 };
  const page = await store.readAll({ fromPosition: Math.max(1, eventPosition), limit: 2 });
  const head = page.headPosition;
  if (head < position) return { verdict: 'cut', head };
  const [first, second] = page.events;
  if (eventPosition > 0 && first?.position === eventPosition) {
    const holds = first.id === eventId && !(second && second.position <= position);
    return { verdict: holds ? 'holds' : 'cut', head };
  }
  return { verdict: first && first.position <= position ? 'cut' : 'purged', head };
}
