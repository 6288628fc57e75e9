// End to end: tlskeeper publishes TLSA records over RFC 2136 + TSIG to a real
// BIND, verifies them on the authoritative server, and `status` judges what
// BIND serves. A record published by hand (nsupdate) that matches nothing
// turns status CRITICAL; `refresh tlsa` repairs it. A second BIND as a
// secondary that never gets the change (no NOTIFY, long refresh) is reported
// as a laggard.
import assert from 'node:assert/strict';
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tlskeeper, type CliRun } from '../support/cli.js';
import { startBind, tsigKeygen, type BindServer, type TsigKeyWithFile } from '../support/bind.js';
import { createTestPki, type LeafFiles } from '../support/pki.js';
import { run } from '../support/proc.js';

const ZONE = 'example.com';
const N25 = `_25._tcp.mx.${ZONE}`;
const N465 = `_465._tcp.mx.${ZONE}`;

interface Entry { kind: string; object: string; severity: string; summary: string; problems: Array<{ severity: string; message: string }>; facts: Record<string, unknown> }
interface StepResult { job: string; object: string; action: string; outcome: string; message: string; error?: { code: string; message: string } }

/** `dig +tcp TLSA` answer, normalised to `3 1 1 <lower-case hex>` (dig prints upper case, split in chunks). */
async function digTlsa(port: number, name: string): Promise<string[]> {
  const r = await run(['dig', '@127.0.0.1', '-p', String(port), '+tcp', '+short', '+time=2', '+tries=1', name, 'TLSA'], { timeoutMs: 10_000 });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).map((l) => {
    const [u, s, m, ...hex] = l.split(/\s+/);
    return `${u} ${s} ${m} ${hex.join('').toLowerCase()}`;
  }).sort();
}

async function digTtl(port: number, name: string): Promise<number[]> {
  const r = await run(['dig', '@127.0.0.1', '-p', String(port), '+tcp', '+noall', '+answer', name, 'TLSA'], { timeoutMs: 10_000 });
  return r.stdout.split('\n').filter(Boolean).map((l) => Number(l.split(/\s+/)[1]));
}

describe('tlsa: publish to BIND over RFC 2136 + TSIG, verify, status', () => {
  let dir: string;
  let bind: BindServer;
  let key: TsigKeyWithFile;
  let ec: LeafFiles;
  let rsa: LeafFiles;
  let cfg: string;
  const now = () => new Date();
  const cli = (...args: string[]) => tlskeeper(['--config', cfg, '--json', '--log-level', 'warn', ...args], { now });
  const tlsaEntries = (r: CliRun) => r.json<{ entries: Entry[] }>().entries.filter((e) => e.kind === 'tlsa');
  const results = (r: CliRun) => r.json<{ results: StepResult[] }>().results.filter((x) => x.job === 'tlsa');
  let computed: Record<string, string[]>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dane-bind-'));
    key = await tsigKeygen('tlskeeper-update', 'hmac-sha256');
    const keyFile = path.join(dir, 'example.com.key');
    await writeFile(keyFile, key.keyFileText, { mode: 0o600 });
    bind = await startBind({ dir: path.join(dir, 'bind'), zones: [{ name: ZONE, tsigKeys: [key] }] });
    const pki = await createTestPki(path.join(dir, 'pki'));
    ec = await pki.issueLeaf({ name: 'mx-ec', sans: [`mx.${ZONE}`] });
    rsa = await pki.issueLeaf({ name: 'mx-rsa', sans: [`mx.${ZONE}`], keyType: 'rsa' });
    cfg = path.join(dir, 'config.yaml');
    await writeFile(cfg, `state_dir: ${dir}/state
dns:
  - zone: ${ZONE}
    provider: rfc2136
    server: 127.0.0.1:${bind.port}
    tsig_key_file: ${keyFile}
    authoritative_servers: ['127.0.0.1:${bind.port}']
    propagation_timeout: 10s
certificates:
  - name: mx-ec
    cert: ${ec.chainPath}
    key: ${ec.keyPath}
    tlsa_ttl: 300
    tlsa:
      - { name: ${N25}, usage: 3, selector: 1, matching: 1 }
      - { name: ${N465}, usage: 3, selector: 1, matching: 1 }
  - name: mx-rsa
    cert: ${rsa.chainPath}
    key: ${rsa.keyPath}
    tlsa:
      - { name: ${N25} }
`);
    const listing = await cli('tlsa');
    assert.equal(listing.code, 0, listing.stderr);
    computed = {};
    for (const r of listing.json<{ records: Array<{ name: string; rdata: string }> }>().records) (computed[r.name] ??= []).push(r.rdata);
    for (const k of Object.keys(computed)) computed[k]!.sort();
  });

  after(async () => {
    await bind?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('before anything is published: status WARNING (DANE senders fall back to unauthenticated TLS)', async () => {
    const s = await cli('status');
    const entries = tlsaEntries(s);
    assert.deepEqual(entries.map((e) => [e.object, e.severity]), [[N25, 'WARNING'], [N465, 'WARNING']], s.stdout);
    assert.ok(s.code >= 1);
  });

  it('--dry-run plans both owner names and sends nothing', async () => {
    const r = await cli('refresh', 'tlsa', '--dry-run');
    assert.equal(r.code, 0, r.stderr);
    const plan = r.json<{ plans: Array<{ job: string; steps: Array<{ object: string; action: string }> }> }>().plans.find((p) => p.job === 'tlsa')!;
    assert.deepEqual(plan.steps.map((s) => [s.object, s.action]), [[N25, 'publish-tlsa'], [N465, 'publish-tlsa']]);
    assert.deepEqual(await digTlsa(bind.port, N25), []);
  });

  it('refresh tlsa publishes exactly the computed records (both certificates in the shared RRset)', async () => {
    const r = await cli('refresh', 'tlsa');
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const res = results(r);
    assert.deepEqual(res.map((x) => [x.object, x.outcome]), [[N25, 'changed'], [N465, 'changed']], r.stdout);
    assert.match(res[0]!.message, /served by all 1 authoritative server/);
    assert.equal(computed[N25]!.length, 2);
    assert.deepEqual(await digTlsa(bind.port, N25), computed[N25]);
    assert.deepEqual(await digTlsa(bind.port, N465), computed[N465]);
    assert.deepEqual(await digTtl(bind.port, N25), [300, 300]);
  });

  it('status OK; a second refresh changes nothing', async () => {
    const s = await cli('status');
    for (const e of tlsaEntries(s)) assert.equal(e.severity, 'OK', JSON.stringify(e.problems));
    const all = s.json<{ entries: Entry[]; severity: string; exitCode: number }>();
    assert.equal(s.code, all.exitCode);
    const again = await cli('refresh', 'tlsa');
    assert.equal(again.code, 0);
    assert.deepEqual(results(again).map((x) => x.outcome), ['unchanged', 'unchanged']);
  });

  it('a wrong record published by hand: status CRITICAL (exit 2); refresh repairs it', async () => {
    const wrong = `3 1 1 ${'ab'.repeat(32)}`;
    const u = await bind.nsupdate([`update delete ${N25}. TLSA`, `update add ${N25}. 300 TLSA ${wrong}`], key, { zone: ZONE });
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(await digTlsa(bind.port, N25), [wrong]);
    const s = await cli('status');
    const e = tlsaEntries(s).find((x) => x.object === N25)!;
    assert.equal(e.severity, 'CRITICAL');
    assert.match(e.problems.find((p) => p.severity === 'CRITICAL')!.message, /none of the 1 published record matches any certificate/);
    assert.equal(s.code, 2);
    const r = await cli('refresh', 'tlsa');
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(results(r).map((x) => [x.object, x.outcome]), [[N25, 'changed'], [N465, 'unchanged']]);
    assert.deepEqual(await digTlsa(bind.port, N25), computed[N25]);
    assert.equal(tlsaEntries(await cli('status')).find((x) => x.object === N25)!.severity, 'OK');
  });

  it('a stale extra record: WARNING; refresh removes it and keeps the good ones', async () => {
    const stale = `3 1 1 ${'cd'.repeat(32)}`;
    assert.equal((await bind.nsupdate([`update add ${N465}. 300 TLSA ${stale}`], key, { zone: ZONE })).code, 0);
    const e = tlsaEntries(await cli('status')).find((x) => x.object === N465)!;
    assert.equal(e.severity, 'WARNING');
    assert.match(e.problems[0]!.message, /matches no current certificate/);
    const r = await cli('refresh', 'tlsa', '--cert', 'mx-ec');
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(await digTlsa(bind.port, N465), computed[N465]);
    // --cert mx-ec also covered _25 (shared with mx-rsa) and kept mx-rsa's record there.
    assert.deepEqual(await digTlsa(bind.port, N25), computed[N25]);
  });

  it('safety: with a certificate file unreadable, refresh refuses to touch its RRset', async () => {
    const wrong = `3 1 1 ${'ef'.repeat(32)}`;
    assert.equal((await bind.nsupdate([`update delete ${N25}. TLSA`, `update add ${N25}. 300 TLSA ${wrong}`], key, { zone: ZONE })).code, 0);
    await rename(rsa.chainPath, `${rsa.chainPath}.away`);
    try {
      const r = await cli('refresh', 'tlsa');
      assert.equal(r.code, 1, r.stdout);
      const step = results(r).find((x) => x.object === N25)!;
      assert.equal(step.outcome, 'failed');
      assert.equal(step.error?.code, 'TLSA_BLOCKED');
      assert.match(step.message, /mx-rsa could not be read/);
      assert.deepEqual(await digTlsa(bind.port, N25), [wrong], 'nothing was sent');
    } finally {
      await rename(`${rsa.chainPath}.away`, rsa.chainPath);
    }
    assert.equal((await cli('refresh', 'tlsa')).code, 0);
    assert.deepEqual(await digTlsa(bind.port, N25), computed[N25]);
  });

  it('a secondary that does not get the change is reported as a laggard, and status warns', async () => {
    const secondary = await startBind({ dir: path.join(dir, 'bind2'), zones: [{ name: ZONE, secondaryOf: { primaryPort: bind.port } }] });
    try {
      const cfg2 = path.join(dir, 'config-lag.yaml');
      const { readFile } = await import('node:fs/promises');
      await writeFile(cfg2, (await readFile(cfg, 'utf8'))
        .replace(`authoritative_servers: ['127.0.0.1:${bind.port}']`, `authoritative_servers: ['127.0.0.1:${bind.port}', '127.0.0.1:${secondary.port}']`)
        .replace('propagation_timeout: 10s', 'propagation_timeout: 2s')
        // A change to publish: a 3 1 2 record next to the 3 1 1 one.
        .replace(`      - { name: ${N465}, usage: 3, selector: 1, matching: 1 }\n`, `      - { name: ${N465}, usage: 3, selector: 1, matching: 1 }\n      - { name: ${N465}, usage: 3, selector: 1, matching: 2 }\n`));
      const lag = (...args: string[]) => tlskeeper(['--config', cfg2, '--json', '--log-level', 'error', ...args], { now });
      const r = await lag('refresh', 'tlsa');
      const res = results(r);
      assert.deepEqual(res.map((x) => [x.object, x.outcome]), [[N25, 'unchanged'], [N465, 'changed']], r.stdout);
      assert.match(res[1]!.message, new RegExp(`NOT yet served by 127\\.0\\.0\\.1:${secondary.port}`));
      assert.equal((await digTlsa(bind.port, N465)).length, 2);
      assert.equal((await digTlsa(secondary.port, N465)).length, 1, 'the secondary still serves the old RRset');
      const s = await lag('status');
      const e = tlsaEntries(s).find((x) => x.object === N465)!;
      assert.equal(e.severity, 'WARNING', JSON.stringify(e.problems));
      assert.match(e.problems[0]!.message, new RegExp(`127\\.0\\.0\\.1:${secondary.port}`));
      // Once the secondary transfers the zone, a re-verification (forced refresh) clears the warning.
      await secondary.retransfer(ZONE, bind);
      const f = await lag('refresh', 'tlsa', '--force');
      assert.equal(f.code, 0, f.stdout);
      assert.ok(results(f).every((x) => /served by all 2 authoritative servers/.test(x.message)), f.stdout);
      assert.ok(tlsaEntries(await lag('status')).every((x) => x.severity === 'OK'));
    } finally {
      await secondary.stop();
    }
  });
});
