import { monotonicFactory } from 'ulid';
import { userStream } from '../events/streams.js';
import type { UserUpdated } from '../events/users.js';
import { type UserView, usersProjection } from '../projections/users.js';
import { assertId } from '../kernel/validation.js';
import { ErrorCode, FfcdbError } from '../kernel/errors.js';
import { type ChatCore, type ReadOptions, type WriteOptions, detached, notFound, payload, storedObject } from './chat-core.js';

export type { UserView };

export interface NewUser {
  /** Generated (a ULID) when left out. */
  userId?: string;
  displayName?: string;
  email?: string;
  profile?: UserView['profile'];
  preferences?: UserView['preferences'];
}

/** Fields to replace; fields left out stay as they are. */
export type UserChanges = Omit<UserUpdated, 'userId'>;

export type Reflected<T> = T & { position: number };

const nextId = monotonicFactory();

export class UsersApi {
  readonly #core: ChatCore;

  constructor(core: ChatCore) {
    this.#core = core;
  }

  /** CONFLICT when the user id is taken. */
  async create(user: NewUser, options?: WriteOptions): Promise<Reflected<UserView>> {
    const { userId = nextId(), ...rest } = storedObject(user, 'user', { userId: 'userId' }) as NewUser;
    assertId(userId, 'userId');
    await this.#core.command(userStream(userId), options, () => {
      if (this.#core.state(usersProjection).has(userId)) throw taken(userId);
      return { events: [{ type: 'user.created', data: { userId, ...rest }, field: 'user' }], expected: 'no_stream' };
    }).catch((err: unknown) => {
      throw err instanceof FfcdbError && err.code === ErrorCode.CONFLICT ? taken(userId) : err;
    });
    return this.#view(userId);
  }

  /**
   * Get-or-create, safe across processes: creates the user unless its id
   * exists (then it is returned as it is, the fields given ignored). The
   * creation expects no stream, so of two processes racing, one creates and
   * the other, on CONFLICT, catches up and reads it.
   */
  async ensure(user: NewUser & { userId: string }, options?: WriteOptions): Promise<Reflected<UserView> & { created: boolean }> {
    const { userId, ...rest } = storedObject(user, 'user', { userId: 'userId' }) as NewUser;
    assertId(userId, 'user.userId');
    let created = false;
    await this.#core.change(userStream(userId), options, () => {
      created = !this.#core.state(usersProjection).has(userId);
      return { events: created ? [{ type: 'user.created', data: { userId, ...rest }, field: 'user' }] : [], expected: 'no_stream' };
    });
    return { ...this.#view(userId), created };
  }

  async get(userId: string, options?: ReadOptions): Promise<Reflected<UserView>> {
    assertId(userId, 'userId');
    await this.#core.reflect(options);
    return this.#view(userId);
  }

  /** NOT_FOUND for an unknown user; INVALID_ARGUMENT when nothing would change. */
  async update(userId: string, changes: UserChanges, options?: WriteOptions): Promise<Reflected<UserView>> {
    assertId(userId, 'userId');
    payload(changes, 'changes', ['userId']);
    await this.#core.command(userStream(userId), options, () => {
      const user = this.#core.state(usersProjection).get(userId);
      if (!user) throw notFound('user', userId, 'userId');
      return { events: [{ type: 'user.updated', data: { userId, ...changes }, field: 'changes' }], expected: user.version };
    });
    return this.#view(userId);
  }

  /** The user as the projections hold it now, with the position they reflect. */
  #view(userId: string): Reflected<UserView> {
    const user = this.#core.state(usersProjection).get(userId);
    if (!user) throw notFound('user', userId, 'userId');
    return { ...detached(user), position: this.#core.runner.position };
  }
}

function taken(userId: string): FfcdbError {
  return new FfcdbError(ErrorCode.CONFLICT, `user ${JSON.stringify(userId)} already exists`, { field: 'userId', userId });
}
