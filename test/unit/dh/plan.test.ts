// The pure parts of the job: plan (with an explicit now) and status.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dhparamsJob, dhStatus, planFile, type DhCheck, type DhStepDetail, type ObservedDhFile } from '../../../src/dh/index.js';
import type { DhparamsConfig } from '../../../src/config/index.js';

const DAY = 86_400_000;
const NOW = new Date('2025-06-01T12:00:00Z');

const OK: DhCheck = {
  severity: 'OK', code: 'DH_OK', message: '2048-bit safe prime, g = 2 of prime order q',
  facts: { bits: 2048, generator: '2', pMod24: 23, safePrime: true, generatorOrder: 'q' },
};

function config(over: Partial<DhparamsConfig> = {}): DhparamsConfig {
  return {
    file: '/var/spool/exim4/gnutls-params-2048', bits: 2048, allow_weak: false, max_age: 30 * DAY,
    mode: 0o400, reload_timeout: 60_000, timeout: 900_000, ...over,
  };
}

function observed(over: Partial<ObservedDhFile> = {}, cfg: Partial<DhparamsConfig> = {}): ObservedDhFile {
  const modifiedAt = new Date(NOW.getTime() - 10 * DAY);
  return {
    config: config(cfg), owner: 'Debian-exim', group: 'Debian-exim', stateDir: '/var/lib/tlskeeper',
    kind: 'file', modifiedAt, identity: { dev: 1, ino: 2, size: 424, mtimeMs: modifiedAt.getTime() },
    mode: 0o400, uid: 102, gid: 105, check: OK, ...over,
  };
}

describe('dhparams plan', () => {
  it('nothing to do for a valid file younger than max_age; due at mtime + max_age', () => {
    const step = planFile(observed(), NOW, { force: false });
    assert.equal(step.action, 'none');
    assert.deepEqual(step.dueAt, new Date(NOW.getTime() + 20 * DAY));
    assert.match(step.reason, /valid .*next regeneration in 20d/);
  });

  it('regenerates a file older than max_age', () => {
    const o = observed({ modifiedAt: new Date(NOW.getTime() - 31 * DAY) });
    const step = planFile(o, NOW, { force: false });
    assert.equal(step.action, 'regenerate');
    assert.equal((step.detail as DhStepDetail).trigger, 'age');
    assert.match(step.reason, /older than max_age/);
    // Exactly at max_age counts as due.
    assert.equal(planFile(observed({ modifiedAt: new Date(NOW.getTime() - 30 * DAY) }), NOW, { force: false }).action, 'regenerate');
  });

  it('regenerates a missing file and one that fails a check (WARNING or CRITICAL), with the reason', () => {
    const missing = planFile(observed({ kind: 'missing', check: { severity: 'CRITICAL', code: 'DH_MISSING', message: 'the file does not exist', facts: {} } }), NOW, { force: false });
    assert.equal(missing.action, 'regenerate');
    assert.equal((missing.detail as DhStepDetail).trigger, 'missing');
    const dsa = planFile(observed({ check: { severity: 'WARNING', code: 'DH_NOT_SAFE_PRIME', message: 'p is prime but (p−1)/2 is not', facts: {} } }), NOW, { force: false });
    assert.equal(dsa.action, 'regenerate');
    assert.deepEqual([(dsa.detail as DhStepDetail).trigger, (dsa.detail as DhStepDetail).code], ['check', 'DH_NOT_SAFE_PRIME']);
    assert.match(dsa.reason, /check warning: p is prime/);
    const dir = planFile(observed({ kind: 'directory', check: { severity: 'CRITICAL', code: 'DH_NOT_A_FILE', message: "a directory is in the file's place", facts: {} } }), NOW, { force: false });
    assert.equal(dir.action, 'regenerate');
  });

  it('--force regenerates a valid file; a special file is never replaced', () => {
    const forced = planFile(observed(), NOW, { force: true });
    assert.equal(forced.action, 'regenerate');
    assert.equal((forced.detail as DhStepDetail).trigger, 'forced');
    assert.deepEqual((forced.detail as DhStepDetail).identity, observed().identity);
    const fifo = planFile(observed({ kind: 'other', check: { severity: 'CRITICAL', code: 'DH_NOT_A_FILE', message: 'not a regular file', facts: {} } }), NOW, { force: true });
    assert.equal(fifo.action, 'blocked');
  });

  it('the job plan covers every configured file, in order', () => {
    const plan = dhparamsJob.plan([observed(), observed({}, { file: '/etc/dovecot/dh.pem' })], NOW, { force: false });
    assert.equal(plan.job, 'dhparams');
    assert.deepEqual(plan.steps.map((s) => s.object), ['/var/spool/exim4/gnutls-params-2048', '/etc/dovecot/dh.pem']);
  });
});

describe('dhparams status', () => {
  it('reports bits, age, next regeneration and the check result', () => {
    const e = dhStatus(observed({ lastGeneration: { generatedAt: '2025-05-22T12:00:00Z', durationMs: 12_345, workers: 2, bits: 2048 } }), NOW);
    assert.equal(e.kind, 'dhparams');
    assert.equal(e.object, '/var/spool/exim4/gnutls-params-2048');
    assert.equal(e.severity, 'OK');
    assert.deepEqual(e.problems, []);
    assert.equal(e.facts.bits, 2048);
    assert.equal(e.facts.ageDays, 10);
    assert.deepEqual(e.facts.nextRegeneration, new Date(NOW.getTime() + 20 * DAY));
    assert.equal(e.facts.check, 'DH_OK');
    assert.equal(e.facts.safePrime, true);
    assert.equal(e.facts.generator, '2');
    assert.equal(e.facts.mode, '0400');
    assert.equal(e.facts.lastGenerationSeconds, 12.3);
    assert.match(e.summary, /^2048-bit safe prime, g = 2, 10d old, next regeneration in 20d$/);
    assert.doesNotThrow(() => JSON.stringify(e));
  });

  it('a failing check sets the severity and carries the hint', () => {
    const e = dhStatus(observed({ check: { severity: 'WARNING', code: 'DH_NOT_SAFE_PRIME', message: 'DSA-style', hint: 'replaced', facts: { bits: 2048, safePrime: false } } }), NOW);
    assert.equal(e.severity, 'WARNING');
    assert.deepEqual(e.problems, [{ severity: 'WARNING', message: 'DH_NOT_SAFE_PRIME: DSA-style', hint: 'replaced' }]);
    assert.equal(e.facts.safePrime, false);
    assert.match(e.summary, /replaced at the next refresh/);
  });

  it('a file past max_age is a note for two days, then a WARNING (the scheduled runs stopped)', () => {
    const justDue = dhStatus(observed({ modifiedAt: new Date(NOW.getTime() - 31 * DAY) }), NOW);
    assert.equal(justDue.severity, 'OK');
    assert.equal(justDue.problems[0]!.severity, 'OK');
    assert.match(justDue.summary, /due for regeneration/);
    const overdue = dhStatus(observed({ modifiedAt: new Date(NOW.getTime() - 33 * DAY) }), NOW);
    assert.equal(overdue.severity, 'WARNING');
    assert.match(overdue.problems[0]!.hint!, /scheduled runs seem to have stopped/);
  });

  it('notes (without a WARNING) that sizes above 2236 bits disable DHE in Exim built with OpenSSL', () => {
    const e = dhStatus(observed({ check: { ...OK, facts: { ...OK.facts, bits: 3072 } } }, { bits: 3072 }), NOW);
    assert.equal(e.severity, 'OK');
    assert.equal(e.problems.length, 1);
    assert.equal(e.problems[0]!.severity, 'OK');
    assert.match(e.problems[0]!.message, /above Exim's default tls_dh_max_bits \(2236\)/);
    assert.match(e.problems[0]!.hint!, /tls_dh_max_bits = 3072/);
    assert.equal(dhStatus(observed(), NOW).problems.length, 0, 'no note at 2048 bits');
  });

  it('a missing file is CRITICAL and due now', () => {
    const e = dhStatus(observed({ kind: 'missing', modifiedAt: undefined, identity: undefined, mode: undefined, uid: undefined, gid: undefined, check: { severity: 'CRITICAL', code: 'DH_MISSING', message: 'the file does not exist', hint: 'h', facts: {} } }), NOW);
    assert.equal(e.severity, 'CRITICAL');
    assert.deepEqual(e.facts.nextRegeneration, NOW);
    assert.equal(e.facts.ageDays, undefined);
  });
});

describe('dhparams permissions and readers', () => {
  const exim = { name: 'Debian-exim', uid: 102, gids: [105] };

  it('a valid file with the wrong mode or owner is rewritten with the same bytes, not left alone or regenerated', () => {
    const wanted = { uid: 102, gid: 105 };
    assert.equal(planFile(observed({ wanted }), NOW, { force: false }).action, 'none');
    const step = planFile(observed({ wanted, uid: 0, gid: 0, mode: 0o600 }), NOW, { force: false });
    assert.equal(step.action, 'fix-permissions');
    assert.equal((step.detail as DhStepDetail).trigger, 'permissions');
    assert.match(step.reason, /mode is 0600, configured 0400; owner is uid 0, configured uid 102; group is gid 0, configured gid 105/);
    // An owner name that does not resolve (no `wanted`) cannot be compared: only the mode is.
    assert.equal(planFile(observed({ uid: 0, gid: 0 }), NOW, { force: false }).action, 'none');
    // Regeneration, when due, writes the configured permissions anyway.
    assert.equal(planFile(observed({ wanted, uid: 0, modifiedAt: new Date(NOW.getTime() - 31 * DAY) }), NOW, { force: false }).action, 'regenerate');
  });

  it('status warns when the MTA user cannot read the file, with the fix in the hint', () => {
    const rootOnly = dhStatus(observed({ uid: 0, gid: 0, mode: 0o400, reader: exim }), NOW);
    assert.equal(rootOnly.severity, 'WARNING');
    assert.match(rootOnly.problems.map((p) => p.message).join('\n'), /Debian-exim cannot read it \(mode 0400, uid 0, gid 0\)/);
    assert.match(rootOnly.problems.find((p) => /cannot read/.test(p.message))!.hint!, /set owner: Debian-exim.*reader: root/);
    assert.equal(dhStatus(observed({ uid: 102, gid: 0, mode: 0o400, reader: exim }), NOW).severity, 'OK', 'owner Debian-exim, 0400');
    assert.equal(dhStatus(observed({ uid: 0, gid: 105, mode: 0o440, reader: exim }), NOW).severity, 'OK', 'group Debian-exim, 0440');
    assert.equal(dhStatus(observed({ uid: 0, gid: 0, mode: 0o444, reader: exim }), NOW).severity, 'OK', 'world-readable');
    assert.equal(dhStatus(observed({ uid: 0, gid: 0, mode: 0o400, reader: { name: 'root', uid: 0, gids: [0] } }), NOW).severity, 'OK', 'reader: root');
    assert.equal(dhStatus(observed({ uid: 0, gid: 0, mode: 0o400 }), NOW).severity, 'OK', 'no Exim user on the host, no reader configured');
    const unknown = dhStatus(observed({ readerUnknown: true }, { reader: 'nosuchuser' }), NOW);
    assert.equal(unknown.severity, 'WARNING');
    assert.match(unknown.problems[0]!.message, /reader "nosuchuser" is not a user on this host/);
  });
});
