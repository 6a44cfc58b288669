import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UserError } from '../../src/core/errors';
import { parseJson } from '../../src/core/json';

const refused = (text: string, pattern: RegExp) =>
  assert.throws(
    () => parseJson(text, { file: 'f.json' }),
    (e) => e instanceof UserError && pattern.test(e.message),
  );

describe('parseJson: the JSON reader for user files', () => {
  test('reads what JSON.parse reads, repeated keys in different objects included', () => {
    const text = '{"a":1,"b":{"a":2,"c":[{"a":1},{"a":"}\\"a"}]},"d":"{\\"a\\":1}"}';
    assert.deepEqual(parseJson(text), JSON.parse(text));
  });
  test('a key twice in one object is refused with the key and the line of its repeat', () => {
    refused('{"a":1,\n "a":2}', /^f\.json, field "a": the key "a" appears twice in one object \(again at line 2, column 2\)$/);
    // The same key spelled with an escape is the same key.
    refused('{"a\\u0062":1,"ab":2}', /field "ab": the key "ab" appears twice/);
    refused('[{"x":{"k":"\\"k","k":1}}]', /field "k"/);
  });
  test('a syntax error names the line and column', () => {
    refused('{"a":1,\n  b}', /^f\.json: not valid JSON at line 2, column 3/);
  });
});
