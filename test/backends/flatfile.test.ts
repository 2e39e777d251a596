import { suite } from 'uvu';
import { backendComplianceSuite } from '../../src/testing/index.js';
import { flatfileAlways, flatfileNone } from '../support/compliance-backends.js';

const backends = new URL('../support/compliance-backends.ts', import.meta.url);

const none = suite('flatfile: backend compliance');
backendComplianceSuite({ test: none, name: 'flatfile', makeBackend: flatfileNone, durability: 'none', backendModule: { url: backends, name: 'flatfileNone' } });
none.run();

const always = suite('flatfile-always: backend compliance');
backendComplianceSuite({ test: always, name: 'flatfile-always', makeBackend: flatfileAlways, durability: 'always', backendModule: { url: backends, name: 'flatfileAlways' }, scale: 200 });
always.run();
