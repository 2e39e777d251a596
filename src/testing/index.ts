/** What backend authors test with: `flatfile-chat-db/testing`. */
export { backendComplianceSuite, type BackendComplianceOptions, type MakeBackend, type TestFunction } from './backend-compliance/index.js';
export { filesHolding } from './files-holding.js';
