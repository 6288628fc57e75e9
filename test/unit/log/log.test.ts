import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLogger, syslogPriority } from '../../../src/log/index.js';

describe('log', () => {
  it('prefixes each line with its syslog priority under journald', () => {
    const lines: string[] = [];
    const log = createLogger({ journald: true, write: (l) => lines.push(l) });
    log.error('boom');
    log.warn('careful');
    log.info('fine');
    assert.deepEqual(lines.map((l) => l.slice(0, 3)), ['<3>', '<4>', '<6>']);
    assert.equal(JSON.parse(lines[0]!.slice(3)).msg, 'boom');
  });

  it('writes plain JSON lines without journald', () => {
    const lines: string[] = [];
    createLogger({ journald: false, write: (l) => lines.push(l) }).info({ object: 'mx' }, 'hello');
    const rec = JSON.parse(lines[0]!);
    assert.equal(rec.object, 'mx');
    assert.equal(rec.severity, 'info');
  });

  it('never prints secret-bearing fields', () => {
    const lines: string[] = [];
    createLogger({ journald: false, write: (l) => lines.push(l) }).info({ secret: 'c2VjcmV0', tsig: { secret: 'x' }, apiKey: 'k' }, 'update');
    assert.doesNotMatch(lines[0]!, /c2VjcmV0|"x"|"k"/);
  });

  it('maps levels to RFC 5424 priorities', () => {
    assert.deepEqual([60, 50, 40, 30, 20, 10].map(syslogPriority), [2, 3, 4, 6, 7, 7]);
  });
});
