import { contextProjection } from './context.js';
import { documentsProjection } from './documents.js';
import { messagesProjection } from './messages.js';
import { sessionsProjection } from './sessions.js';
import { usersProjection } from './users.js';

/** Every projection the chat store runs inline. */
export const CHAT_PROJECTIONS = [usersProjection, sessionsProjection, messagesProjection, documentsProjection, contextProjection] as const;
