import assert from 'node:assert/strict';
import { UserError } from '../../src/core/errors';

/** The UserError `fn` throws, with its message checked against `pattern` and, when given, its field. */
export function userError(fn: () => unknown, pattern: RegExp, field?: string): UserError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof UserError, `expected a UserError, got ${String(e)}`);
    assert.match(e.message, pattern);
    if (field !== undefined) assert.equal(e.location.field, field);
    return e;
  }
  assert.fail('expected a UserError');
}
