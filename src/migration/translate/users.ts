import type { RecordedEvent } from '../../kernel/types.js';
import { jsonText } from '../../sql/values.js';
import type { UserRow } from '../rows.js';
import { USERS } from '../schema.js';
import { type FamilyEvent, type TableWrites, type Tracked, loaded } from './tracked.js';

/** user.* events → users rows (the users projection's rules). */
export class UsersFold {
  /** Every user the batch touches, as prefetched (null: not in the database). */
  readonly rows = new Map<string, Tracked<UserRow> | null>();

  /** Every event of a user's stream counts in the user's version and time, whatever its type. */
  touched(id: string, raw: RecordedEvent): void {
    const u = loaded(this.rows, id);
    if (!u) return;
    u.row.version = raw.version;
    u.row.updated_at = raw.timestamp;
    u.dirty = true;
  }

  apply(id: string, raw: RecordedEvent, e: FamilyEvent<'user'>): void {
    const u = loaded(this.rows, id);
    switch (e.type) {
      case 'user.created': {
        if (u || e.data.userId !== id) return;
        const { displayName, email, profile = {}, preferences = {} } = e.data;
        const row: UserRow = {
          user_id: id,
          display_name: displayName ?? null,
          email: email ?? null,
          profile: jsonText(profile),
          preferences: jsonText(preferences),
          created_at: raw.timestamp,
          updated_at: raw.timestamp,
          version: raw.version,
        };
        this.rows.set(id, { row, isNew: true, dirty: true });
        return;
      }
      case 'user.updated': {
        if (!u) return;
        const { displayName, email, profile, preferences } = e.data;
        if (displayName !== undefined) u.row.display_name = displayName;
        if (email !== undefined) u.row.email = email;
        if (profile !== undefined) u.row.profile = jsonText(profile);
        if (preferences !== undefined) u.row.preferences = jsonText(preferences);
        return;
      }
      default:
    }
  }

  write(out: TableWrites): void {
    for (const u of this.rows.values()) if (u) out.tracked(USERS, u);
  }
}
