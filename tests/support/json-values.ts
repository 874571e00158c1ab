// Arbitrary JSON-like values for property tests of canonical JSON and the hash chain.
import fc from 'fast-check';

// Keys that sort differently as text and as numbers, V8's index keys, __proto__, non-ASCII.
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.constantFrom(
    '10',
    '2',
    '0',
    '01',
    '-1',
    '4294967295',
    '4294967294',
    '__proto__',
    'é',
    '\u{1F600}',
    'Z',
    'a',
  ),
);
export const jsonValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme', maxLength: 8 }),
    fc.string({ unit: 'binary', maxLength: 4 }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value;
