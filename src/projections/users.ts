import type { CatalogEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from './projection.js';

export interface UserView {
  userId: string;
  displayName?: string;
  email?: string;
  profile: JsonObject;
  preferences: JsonObject;
  createdAt: number;
  updatedAt: number;
  /** The user stream's version: the expected version of the user's next change. */
  version: number;
}

export type UsersState = Map<string, UserView>;

/** Users by id: the latest of every field. Every event of a user's stream counts in its `version`, whatever its type. */
export const usersProjection = defineProjection<UsersState>({
  name: 'users',
  version: 1,
  handles: ['user.created', 'user.updated'],
  init: () => new Map(),
  apply(users, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'user') return;
    if (event.type === 'user.created' && !users.has(owner.id)) {
      if (event.data.userId !== owner.id) return;
      const { userId, displayName, email, profile, preferences } = event.data;
      users.set(userId, {
        userId,
        ...(displayName === undefined ? {} : { displayName }),
        ...(email === undefined ? {} : { email }),
        profile: profile ?? {},
        preferences: preferences ?? {},
        createdAt: event.timestamp,
        updatedAt: event.timestamp,
        version: event.version,
      });
      return;
    }
    const user = counted(users, event);
    if (user && event.type === 'user.updated') {
      const { displayName, email, profile, preferences } = event.data;
      if (displayName !== undefined) user.displayName = displayName;
      if (email !== undefined) user.email = email;
      if (profile !== undefined) user.profile = profile;
      if (preferences !== undefined) user.preferences = preferences;
    }
  },
  unhandled: counted,
});

/** The user an event of its stream belongs to, with the event counted in its version and time. */
function counted(users: UsersState, event: { streamId: string; version: number; timestamp: number }): UserView | undefined {
  const owner = streamEntity(event.streamId);
  const user = owner?.kind === 'user' ? users.get(owner.id) : undefined;
  if (user) {
    user.version = event.version;
    user.updatedAt = event.timestamp;
  }
  return user;
}
