import { assertId, invalid } from '../kernel/validation.js';
import type { Definitions } from './definition.js';
import { type JsonObject, fields, jsonObject, label, matching } from './fields.js';
import { EVENT_LIMITS } from './limits.js';

/** A user came into being. */
export interface UserCreated {
  userId: string;
  displayName?: string;
  email?: string;
  /** Whatever the app keeps about the person. */
  profile?: JsonObject;
  preferences?: JsonObject;
}

/** Some of a user's fields changed: each field given replaces the one before; fields left out stay. */
export type UserUpdated = Pick<UserCreated, 'userId'> & Partial<Omit<UserCreated, 'userId'>>;

export interface UserEvents {
  'user.created': UserCreated;
  'user.updated': UserUpdated;
}

const PROFILE_FIELDS = ['displayName', 'email', 'profile', 'preferences'] as const;
/** Loose on purpose: one '@' between non-empty parts without spaces; delivery is the real check. */
const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,189}$/;

function validateProfile(o: Record<string, unknown>): void {
  if (o.displayName !== undefined) label(o.displayName, 'data.displayName');
  if (o.email !== undefined) matching(o.email, 'data.email', EMAIL, 'an email address');
  if (o.profile !== undefined) jsonObject(o.profile, 'data.profile', EVENT_LIMITS.metadataBytes);
  if (o.preferences !== undefined) jsonObject(o.preferences, 'data.preferences', EVENT_LIMITS.metadataBytes);
}

function validateUserCreated(data: unknown): asserts data is UserCreated {
  const o = fields(data, 'data', ['userId', ...PROFILE_FIELDS]);
  assertId(o.userId, 'data.userId');
  validateProfile(o);
}

function validateUserUpdated(data: unknown): asserts data is UserUpdated {
  const o = fields(data, 'data', ['userId', ...PROFILE_FIELDS]);
  assertId(o.userId, 'data.userId');
  if (!PROFILE_FIELDS.some((k) => k in o)) throw invalid('data', `must change at least one of ${PROFILE_FIELDS.join(', ')}`);
  validateProfile(o);
}

export const userEvents: Definitions<UserEvents> = {
  'user.created': { version: 1, validate: validateUserCreated },
  'user.updated': { version: 1, validate: validateUserUpdated },
};
