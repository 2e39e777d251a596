import type { CatalogEvent } from '../events/catalog.js';
import type { JsonObject } from '../events/fields.js';
import { streamEntity } from '../events/streams.js';
import { defineProjection } from '../src/projections/projection.js';

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

/** Users by id: the latest of every field. Handles every event of user streams, to keep `version` exact. */
export const usersProjection = defineProjection<UsersState>({
  name: 'users',
  version: 1,
  handles: ['user.created', 'user.updated', 'document.uploaded', 'document.analysed', 'document.deleted'],
  init: () => new Map(),
  apply(users, event: CatalogEvent) {
    const owner = streamEntity(event.streamId);
    if (owner?.kind !== 'user') return;
    const user = users.get(owner.id);
    if (event.type === 'user.created') {
      if (user || event.data.userId !== owner.id) return;
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
    if (!user) return;
    user.version = event.version;
    user.updatedAt = event.timestamp;
    if (event.type === 'user.updated') {
      const { displayName, email, profile, preferences } = event.data;
      if (displayName !== undefined) user.displayName = displayName;
      if (email !== undefined) user.email = email;
      if (profile !== undefined) user.profile = profile;
      if (preferences !== undefined) user.preferences = preferences;
    }
  },
});
