import assert from 'node:assert/strict';
import { it } from 'node:test';
import { formatDuration, parseDuration } from '../../../src/util/index.js';

it('parses and formats durations', () => {
  assert.equal(parseDuration('30d'), 30 * 86_400_000);
  assert.equal(parseDuration('1.5h'), 5_400_000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('3 weeks'), undefined);
  assert.equal(formatDuration(90 * 60_000), '1h30m');
  assert.equal(formatDuration(-2 * 86_400_000), '-2d');
});
