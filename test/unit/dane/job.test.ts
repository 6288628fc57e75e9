// The tlsa job's apply() against an in-memory provider. A fake on purpose:
// these are races (a certificate replaced between plan and apply, another
// run holding the lock) and a verification failure that a real server cannot
// be made to show on cue. Publication against a real BIND is in
// test/integration/dane-bind.test.ts.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { lockDirOf, parseConfig, type Config } from '../../../src/config/index.js';
import { createTlsaJob, computeTlsa, formatTlsa, type TlsaDnsAccess } from '../../../src/dane/index.js';
import type { DnsProvider, RRset } from '../../../src/dns/types.js';
import type { JobContext } from '../../../src/jobs/index.js';
import { createLogger } from '../../../src/log/index.js';
import { acquireLock } from '../../../src/store/index.js';
import { makeFixture, type DaneFixture } from './fixtures.js';

const N25 = '_25._tcp.mx.example.com';
const NOW = new Date('2025-06-01T12:00:00Z');

class MemoryProvider implements DnsProvider {
  readonly id = 'memory';
  readonly zone = 'example.com';
  sets = new Map<string, RRset>();
  sent: RRset[] = [];
  async getRRset(name: string) { return this.sets.get(name); }
  async replaceRRset(rrset: RRset) {
    this.sent.push(rrset);
    if (rrset.values.length === 0) this.sets.delete(rrset.name);
    else this.sets.set(rrset.name, rrset);
  }
  async addRecords() { throw new Error('not used'); }
  async removeRecords() { throw new Error('not used'); }
}

describe('tlsa job apply (in-memory provider)', () => {
  let f: DaneFixture;
  let config: Config;
  let certFile: string;
  const rec = (leaf: DaneFixture['ec']) => formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 1 }, { kind: 'chain', chain: f.chain(leaf) }));
  const setup = (verify?: TlsaDnsAccess['verify']) => {
    const provider = new MemoryProvider();
    const dns: TlsaDnsAccess = {
      zoneFor: (cfg) => cfg.dns[0],
      provider: () => provider,
      verify: verify ?? (async () => ({ servers: ['127.0.0.1:53'], laggards: [] })),
    };
    const ctx: JobContext = { config, log: createLogger({ level: 'silent' }), now: () => NOW, signal: new AbortController().signal };
    return { provider, job: createTlsaJob(dns), ctx };
  };

  before(async () => {
    f = await makeFixture();
    await mkdir(path.join(f.dir, 'live'));
    certFile = path.join(f.dir, 'live', 'mx.pem');
    await copyFile(f.ec.chainPath, certFile);
    config = parseConfig(`state_dir: ${f.dir}/state
dns: [ { zone: example.com, provider: rfc2136, server: 127.0.0.1, tsig_key_file: /nonexistent.key } ]
certificates:
  - { name: mx, cert: ${certFile}, key: ${f.ec.keyPath}, tlsa: [ { name: ${N25} } ] }
`);
  });
  after(async () => { await f?.cleanup(); });

  it('re-reads under the lock: a certificate replaced after the plan gets its own record published', async () => {
    await copyFile(f.ec.chainPath, certFile);
    const { provider, job, ctx } = setup();
    const plan = job.plan(await job.read(ctx, { force: false }), NOW, { force: false });
    assert.deepEqual((plan.steps[0]!.detail as { rrset: RRset }).rrset.values, [rec(f.ec)]);
    await copyFile(f.ec2.chainPath, certFile); // renewed with a new key meanwhile
    const results = await job.apply(ctx, plan);
    assert.equal(results[0]!.outcome, 'changed', results[0]!.message);
    assert.deepEqual(provider.sent.map((r) => r.values), [[rec(f.ec2)]], 'the RRset sent matches the live certificate, not the stale plan');
  });

  it('nothing is sent when another run published meanwhile', async () => {
    await copyFile(f.ec.chainPath, certFile);
    const { provider, job, ctx } = setup();
    const plan = job.plan(await job.read(ctx, { force: false }), NOW, { force: false });
    await provider.replaceRRset({ name: N25, type: 'TLSA', ttl: 300, values: [rec(f.ec)] });
    provider.sent = [];
    const results = await job.apply(ctx, plan);
    assert.equal(results[0]!.outcome, 'unchanged');
    assert.deepEqual(provider.sent, []);
  });

  it('another run holding the lock: the step fails LOCK_BUSY and nothing is sent', async () => {
    await copyFile(f.ec.chainPath, certFile);
    const { provider, job, ctx } = setup();
    const plan = job.plan(await job.read(ctx, { force: false }), NOW, { force: false });
    const lock = await acquireLock(lockDirOf(config), `tlsa/${N25}`);
    try {
      const results = await job.apply(ctx, plan);
      assert.equal(results[0]!.outcome, 'failed');
      assert.equal(results[0]!.error?.code, 'LOCK_BUSY');
      assert.deepEqual(provider.sent, []);
    } finally {
      await lock.release();
    }
  });

  it('verification that cannot run is reported as a laggard, not as a failed publish; status warns', async () => {
    await copyFile(f.ec.chainPath, certFile);
    const { provider, job, ctx } = setup(async () => { throw new Error('zone example.com has no NS records'); });
    const results = await job.apply(ctx, job.plan(await job.read(ctx, { force: false }), NOW, { force: false }));
    assert.equal(results[0]!.outcome, 'changed');
    assert.match(results[0]!.message, /NOT yet served by the authoritative servers of example\.com \(not verified: zone example\.com has no NS records\)/);
    assert.equal(provider.sent.length, 1);
    const status = job.status(await job.read(ctx, { force: false }), NOW);
    assert.equal(status[0]!.severity, 'WARNING');
    assert.match(status[0]!.problems[0]!.message, /not verified/);
  });

  it('a blocked step (certificate unreadable) fails with TLSA_BLOCKED and sends nothing', async () => {
    const broken = parseConfig(`state_dir: ${f.dir}/state
dns: [ { zone: example.com, provider: rfc2136, server: 127.0.0.1, tsig_key_file: /nonexistent.key } ]
certificates:
  - { name: mx, cert: ${f.dir}/missing.pem, key: ${f.ec.keyPath}, tlsa: [ { name: ${N25} } ] }
`);
    const { provider, job, ctx } = setup();
    const c2 = { ...ctx, config: broken };
    const results = await job.apply(c2, job.plan(await job.read(c2, { force: false }), NOW, { force: false }));
    assert.equal(results[0]!.outcome, 'failed');
    assert.equal(results[0]!.error?.code, 'TLSA_BLOCKED');
    assert.deepEqual(provider.sent, []);
  });
});
