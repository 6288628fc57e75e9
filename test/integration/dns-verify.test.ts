// Propagation checks against real authoritative servers where one lags:
// 1. BIND primary + BIND secondary with NOTIFY off and a one-day refresh:
//    the secondary keeps the old RRset until told to transfer. Verification
//    waits, and reports the secondary by name when it never catches up.
// 2. The zone's own NS RRset (found through a resolver pointed at the
//    primary) names ns1 (BIND on 127.0.0.1) and ns2 (Knot on 127.0.0.2,
//    same port): two primaries updated separately; until Knot gets the
//    change, ns2 is the laggard.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DnsZoneConfig } from '../../src/config/index.js';
import { authoritativeServers, createDnsProvider, describeLaggards, systemResolver, verifyPropagation } from '../../src/dns/index.js';
import { startBind, tsigKeygen, type BindServer } from '../support/bind.js';
import { h } from '../support/dns-rfc2136-suite.js';
import { knotKeygen, startKnot, type KnotServer } from '../support/knot.js';
import { freePort } from '../support/proc.js';
import { DnsError } from '../../src/errors/index.js';

describe('propagation: primary + lagging secondary (BIND, NOTIFY off)', () => {
  const ZONE = 'lag.example.test';
  const NAME = `_25._tcp.mx.${ZONE}`;
  let dir: string;
  let primary: BindServer;
  let secondary: BindServer;
  let zoneCfg: Extract<DnsZoneConfig, { provider: 'rfc2136' }>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-verify-'));
    const key = await tsigKeygen('tlskeeper', 'hmac-sha256');
    await writeFile(path.join(dir, 'k.key'), key.keyFileText, { mode: 0o600 });
    primary = await startBind({ dir: path.join(dir, 'primary'), zones: [{ name: ZONE, tsigKeys: [key], refresh: 86400, retry: 7200 }] });
    secondary = await startBind({ dir: path.join(dir, 'secondary'), zones: [{ name: ZONE, secondaryOf: { primaryPort: primary.port } }] });
    zoneCfg = {
      provider: 'rfc2136', zone: ZONE, server: `127.0.0.1:${primary.port}`, tsig_key_file: path.join(dir, 'k.key'),
      timeout: 2000, propagation_timeout: 20_000,
      authoritative_servers: [`127.0.0.1:${primary.port}`, `127.0.0.1:${secondary.port}`],
    };
  });
  after(async () => {
    await Promise.all([primary?.stop(), secondary?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('reports the secondary as the laggard when it never catches up', async () => {
    const rrset = { name: NAME, type: 'TLSA' as const, ttl: 300, values: [`3 1 1 ${h('a')}`] };
    await createDnsProvider(zoneCfg).replaceRRset(rrset);
    const rounds: number[] = [];
    const r = await verifyPropagation(zoneCfg, rrset, { timeoutMs: 1500, intervalMs: 200, onRound: (_s, n) => rounds.push(n) });
    assert.equal(r.ok, false);
    assert.deepEqual(r.laggards, [`127.0.0.1:${secondary.port}`]);
    assert.ok(r.attempts >= 3, `polled ${r.attempts} times`);
    const primaryCheck = r.servers.find((s) => s.port === primary.port)!;
    assert.equal(primaryCheck.ok, true);
    assert.deepEqual(primaryCheck.served?.values, rrset.values);
    const lag = r.servers.find((s) => s.port === secondary.port)!;
    assert.equal(lag.served, undefined, 'the secondary still has no such RRset');
    assert.match(describeLaggards(r)[0]!, new RegExp(`127.0.0.1:${secondary.port}: serves no TLSA records`));
  });

  it('waits for the secondary, and succeeds once it transfers the zone', async () => {
    const rrset = { name: NAME, type: 'TLSA' as const, ttl: 300, values: [`3 1 1 ${h('b')}`, `3 1 1 ${h('c')}`] };
    await createDnsProvider(zoneCfg).replaceRRset(rrset);
    const t0 = Date.now();
    const transfer = new Promise<void>((resolve, reject) => setTimeout(() => secondary.retransfer(ZONE).then(resolve, reject), 1000));
    const r = await verifyPropagation(zoneCfg, rrset, { intervalMs: 200 });
    await transfer;
    assert.equal(r.ok, true, JSON.stringify(r.servers));
    assert.ok(r.attempts > 1 && Date.now() - t0 >= 1000, 'it had to wait');
    assert.deepEqual(r.laggards, []);
    assert.deepEqual((await secondary.dig(NAME, 'TLSA')).length, 2);
  });

  it('a stale old record on the secondary is a difference, not a match; deletion is checked as absence', async () => {
    const empty = { name: NAME, type: 'TLSA' as const, ttl: 300, values: [] };
    await createDnsProvider(zoneCfg).replaceRRset(empty);
    const r = await verifyPropagation(zoneCfg, empty, { timeoutMs: 800, intervalMs: 200 });
    assert.equal(r.ok, false);
    assert.match(describeLaggards(r)[0]!, /serves 2 record\(s\) .* differ/);
    await secondary.retransfer(ZONE, primary);
    assert.equal((await verifyPropagation(zoneCfg, empty, { timeoutMs: 3000, intervalMs: 200 })).ok, true);
  });

  it('a server that is down is a laggard with the reason; abort stops the wait', async () => {
    const dead = await freePort();
    const cfg = { ...zoneCfg, authoritative_servers: [`127.0.0.1:${primary.port}`, `127.0.0.1:${dead}`] };
    const r = await verifyPropagation(cfg, { name: NAME, type: 'TLSA', ttl: 300, values: [] }, { timeoutMs: 500, intervalMs: 100 });
    assert.deepEqual(r.laggards, [`127.0.0.1:${dead}`]);
    assert.match(r.servers[1]!.error!, /connection refused/);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(verifyPropagation(cfg, { name: NAME, type: 'TLSA', ttl: 300, values: [] }, { timeoutMs: 10_000, intervalMs: 100, signal: ac.signal }),
      (e: unknown) => e instanceof DnsError && e.code === 'DNS_ABORTED');
  });
});

describe('propagation: servers from the zone\'s NS records, two primaries (BIND ns1, Knot ns2)', () => {
  const ZONE = 'ns.example.test';
  const NAME = `_25._tcp.mx.${ZONE}`;
  let dir: string;
  let bind: BindServer;
  let knot: KnotServer;
  let port: number;
  const cfg = (server: string, keyFile: string): Extract<DnsZoneConfig, { provider: 'rfc2136' }> => ({
    provider: 'rfc2136', zone: ZONE, server, tsig_key_file: keyFile, timeout: 2000, propagation_timeout: 10_000,
  });
  let bindCfg: ReturnType<typeof cfg>;
  let knotCfg: ReturnType<typeof cfg>;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-ns-'));
    port = await freePort();
    const bkey = await tsigKeygen('tlskeeper', 'hmac-sha256');
    const kkey = await knotKeygen('tlskeeper', 'hmac-sha256');
    await writeFile(path.join(dir, 'bind.key'), bkey.keyFileText, { mode: 0o600 });
    await writeFile(path.join(dir, 'knot.key'), kkey.keyFileText, { mode: 0o600 });
    const ns = [`@ IN NS ns2.${ZONE}.`, 'ns2 IN A 127.0.0.2'];
    bind = await startBind({ dir: path.join(dir, 'bind'), port, zones: [{ name: ZONE, tsigKeys: [bkey], records: ns }] });
    knot = await startKnot({
      dir: path.join(dir, 'knot'), port, address: '127.0.0.2',
      zones: [{ name: ZONE, updateKeys: [kkey], nameservers: [{ name: 'ns1', address: '127.0.0.1' }, { name: 'ns2', address: '127.0.0.2' }] }],
    });
    bindCfg = cfg(`127.0.0.1:${port}`, path.join(dir, 'bind.key'));
    knotCfg = cfg(`127.0.0.2:${port}`, path.join(dir, 'knot.key'));
  });
  after(async () => {
    await Promise.all([bind?.stop(), knot?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('finds ns1 and ns2 through the NS RRset and their addresses', async () => {
    const servers = await authoritativeServers({ zone: ZONE }, { resolver: systemResolver({ servers: [`127.0.0.1:${port}`] }), port });
    assert.deepEqual(servers.map((s) => s.label), [`ns1.${ZONE} (127.0.0.1:${port})`, `ns2.${ZONE} (127.0.0.2:${port})`]);
  });

  it('names ns2 as the laggard until Knot gets the change too', async () => {
    const resolver = systemResolver({ servers: [`127.0.0.1:${port}`] });
    const rrset = { name: NAME, type: 'TLSA' as const, ttl: 300, values: [`3 1 1 ${h('d')}`] };
    await createDnsProvider(bindCfg).replaceRRset(rrset);
    const lag = await verifyPropagation({ zone: ZONE }, rrset, { resolver, port, timeoutMs: 1000, intervalMs: 200 });
    assert.equal(lag.ok, false);
    assert.deepEqual(lag.laggards, [`ns2.${ZONE} (127.0.0.2:${port})`]);
    setTimeout(() => void createDnsProvider(knotCfg).replaceRRset(rrset), 800);
    const ok = await verifyPropagation({ zone: ZONE }, rrset, { resolver, port, timeoutMs: 10_000, intervalMs: 200 });
    assert.equal(ok.ok, true, JSON.stringify(ok.servers));
    assert.ok(ok.attempts > 1);
  });

  it('a TTL difference counts as lagging (compareTtl), unless told otherwise', async () => {
    const resolver = systemResolver({ servers: [`127.0.0.1:${port}`] });
    const rrset = { name: NAME, type: 'TLSA' as const, ttl: 900, values: [`3 1 1 ${h('d')}`] };
    await createDnsProvider(bindCfg).replaceRRset(rrset);
    const r = await verifyPropagation({ zone: ZONE }, rrset, { resolver, port, timeoutMs: 500, intervalMs: 100 });
    assert.deepEqual(r.laggards, [`ns2.${ZONE} (127.0.0.2:${port})`]);
    assert.match(describeLaggards(r)[0]!, /TTL 300\) that differ from the expected 1 \(TTL 900\)/);
    assert.equal((await verifyPropagation({ zone: ZONE }, rrset, { resolver, port, timeoutMs: 500, compareTtl: false })).ok, true);
  });
});
