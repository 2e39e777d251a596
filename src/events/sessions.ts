import { assertId, invalid } from '../kernel/validation.js';
import { type Definitions, sameShape } from './definition.js';
import { type JsonObject, fields, flag, instant, jsonObject, label, list, title } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/**
 * Events of a chat session, appended to the session's own stream (the stream
 * id is the session id, so the payloads do not repeat it).
 */

/** Schema version 2: version 1 with `createdAt`, and titles of any text (see `title`). */
export interface SessionCreated {
  /** The owner. */
  userId: string;
  title: string;
  tags?: string[];
  metadata?: JsonObject;
  /** When the session began, for history imported (ms since the epoch); the session reads as created then. The event's own timestamp stays the time of the write. */
  createdAt?: number;
}

/** Schema version 2: titles of any text. */
export interface SessionRenamed {
  title: string;
}

/** The session's tags from now on (a set: no repeats). */
export interface SessionTagged {
  tags: string[];
}

/** Archived, or back out of the archive. */
export interface SessionArchived {
  archived: boolean;
}

/**
 * Reads stop returning the session; its state is kept, hidden, so that
 * `session.restored` can bring it back. `purge` drops that state for good and
 * asks for the stream's events to be erased (on a live or a deleted session).
 */
export interface SessionDeleted {
  purge?: boolean;
}

/** A deleted, not purged, session comes back as it was when deleted: its messages, documents and context. */
export type SessionRestored = Record<string, never>;

/** Several of a session's fields changed at once (`sessions.update`): each field given replaces the one before (metadata too, whole); fields left out stay. */
export interface SessionUpdated {
  title?: string;
  tags?: string[];
  metadata?: JsonObject;
}

export interface SessionEvents {
  'session.created': SessionCreated;
  'session.renamed': SessionRenamed;
  'session.tagged': SessionTagged;
  'session.archived': SessionArchived;
  'session.deleted': SessionDeleted;
  'session.updated': SessionUpdated;
  'session.restored': SessionRestored;
}

function tags(value: unknown, field: string): void {
  list(value, field, EVENT_LIMITS.tags);
  const seen = new Set<string>();
  value.forEach((tag, i) => {
    label(tag, `${field}[${i}]`, EVENT_LIMITS.tagChars);
    if (seen.has(tag)) throw invalid(`${field}[${i}]`, `repeats the tag ${JSON.stringify(tag)}`);
    seen.add(tag);
  });
}

function validateSessionCreated(data: unknown): asserts data is SessionCreated {
  const o = fields(data, 'data', ['userId', 'title', 'tags', 'metadata', 'createdAt']);
  assertId(o.userId, 'data.userId');
  title(o.title, 'data.title');
  if (o.tags !== undefined) tags(o.tags, 'data.tags');
  if (o.metadata !== undefined) jsonObject(o.metadata, 'data.metadata', EVENT_LIMITS.metadataBytes);
  if (o.createdAt !== undefined) instant(o.createdAt, 'data.createdAt');
}

function validateSessionRenamed(data: unknown): asserts data is SessionRenamed {
  title(fields(data, 'data', ['title']).title, 'data.title');
}


function validateSessionTagged(data: unknown): asserts data is SessionTagged {
  tags(fields(data, 'data', ['tags']).tags, 'data.tags');
}

function validateSessionArchived(data: unknown): asserts data is SessionArchived {
  flag(fields(data, 'data', ['archived']).archived, 'data.archived');
}

function validateSessionDeleted(data: unknown): asserts data is SessionDeleted {
  const o = fields(data, 'data', ['purge']);
  if (o.purge !== undefined) flag(o.purge, 'data.purge');
}

function validateSessionRestored(data: unknown): asserts data is SessionRestored {
  fields(data, 'data', []);
}

const UPDATED_FIELDS = ['title', 'tags', 'metadata'] as const;

function validateSessionUpdated(data: unknown): asserts data is SessionUpdated {
  const o = fields(data, 'data', UPDATED_FIELDS);
  if (!UPDATED_FIELDS.some((k) => o[k] !== undefined)) throw invalid('data', `must change at least one of ${UPDATED_FIELDS.join(', ')}`);
  if (o.title !== undefined) title(o.title, 'data.title');
  if (o.tags !== undefined) tags(o.tags, 'data.tags');
  if (o.metadata !== undefined) jsonObject(o.metadata, 'data.metadata', EVENT_LIMITS.metadataBytes);
}

export const sessionEvents: Definitions<SessionEvents> = {
  'session.created': { version: 2, validate: validateSessionCreated, history: { 1: { validate: validateSessionCreated, upcast: sameShape } } },
  'session.renamed': { version: 2, validate: validateSessionRenamed, history: { 1: { validate: validateSessionRenamed, upcast: sameShape } } },
  'session.tagged': { version: 1, validate: validateSessionTagged },
  'session.archived': { version: 1, validate: validateSessionArchived },
  'session.deleted': { version: 1, validate: validateSessionDeleted },
  'session.updated': { version: 1, validate: validateSessionUpdated },
  'session.restored': { version: 1, validate: validateSessionRestored },
};
