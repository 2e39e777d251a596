import fc from '../support/fc-setup.js';
import { suite } from 'uvu';
import { msgpackSize } from '../../src/events/encoded-size.js';
import { encodeMsgpack } from '../../src/codec/event-codec.js';
import { jsonValue } from '../support/json.js';

const size = suite('property: encoded size');

size('the computed size of any JSON value is the length the codec encodes it to', () => {
  fc.assert(fc.property(jsonValue({ maxDepth: 4, maxKeys: 20 }), (value) => msgpackSize(value) === encodeMsgpack(value).length));
});

size.run();
