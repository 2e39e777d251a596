import type { Definitions } from './definition.js';
import { assertId } from '../kernel/validation.js';
import { type JsonObject, fields, jsonObject } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/**
 * The situational context of a session: a JSON object the app shapes
 * (summary, key points, entities, goals ...), in the session's stream.
 */

/** The context from now on, whole. */
export interface ContextSet {
  context: JsonObject;
}

/** An RFC 7386 JSON merge patch on the context: objects merge, null removes a key, anything else replaces. */
export interface ContextPatched {
  patch: JsonObject;
}

/** Names the context as it stands at this event, to read back later. */
export interface ContextSnapshotted {
  name: string;
}

export interface ContextEvents {
  'context.set': ContextSet;
  'context.patched': ContextPatched;
  'context.snapshotted': ContextSnapshotted;
}

function validateContextSet(data: unknown): asserts data is ContextSet {
  jsonObject(fields(data, 'data', ['context']).context, 'data.context', EVENT_LIMITS.contextBytes);
}

function validateContextPatched(data: unknown): asserts data is ContextPatched {
  jsonObject(fields(data, 'data', ['patch']).patch, 'data.patch', EVENT_LIMITS.contextBytes);
}

function validateContextSnapshotted(data: unknown): asserts data is ContextSnapshotted {
  assertId(fields(data, 'data', ['name']).name, 'data.name');
}

export const contextEvents: Definitions<ContextEvents> = {
  'context.set': { version: 1, validate: validateContextSet },
  'context.patched': { version: 1, validate: validateContextPatched },
  'context.snapshotted': { version: 1, validate: validateContextSnapshotted },
};
