// The rfc2136 provider's integration tests, run against each real server
// (BIND: dns-bind.test.ts, Knot: dns-knot.test.ts). Every outcome is read
// back from the server itself with dig/kdig over TCP.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import type { DnsZoneConfig } from '../../src/config/index.js';
import { createDnsProvider, verifyPropagation, type DnsProvider } from '../../src/dns/index.js';
import { DnsError } from '../../src/errors/index.js';

export interface Rfc2136Target {
  /** host:port */
  server: string;
  zone: string;
  /** A zone this server does not serve. */
  otherZone: string;
  keyFile: string;
  /** Same key name, another secret. */
  wrongSecretKeyFile: string;
  /** A key name the server does not know. */
  unknownKeyFile: string;
  /** Secrets that must never show up in errors. */
  secrets: string[];
  /** Answer lines of `dig +tcp +short NAME TYPE` against the server. */
  dig(name: string, type: string): Promise<string[]>;
  /** Make the server stop answering (SIGSTOP) and resume it. */
  freeze(): void;
  thaw(): void;
}

export const h = (c: string) => c.repeat(32);

/** dig prints TLSA hex in upper case, maybe split: normalise to `3 1 1 <hex>`. */
export function normTlsa(lines: string[]): string[] {
  return lines.map((l) => {
    const [u, s, m, ...hex] = l.split(/\s+/);
    return `${u} ${s} ${m} ${hex.join('').toLowerCase()}`;
  }).sort();
}

export async function expectDnsError(p: Promise<unknown>, code: string, re: RegExp, secrets: string[] = []): Promise<DnsError> {
  let caught: unknown;
  try { await p; } catch (e) { caught = e; }
  assert.ok(caught instanceof DnsError, `expected DnsError ${code}, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.code, code, `${caught.message} (hint: ${caught.hint})`);
  assert.match(caught.message, re);
  assert.ok(caught.hint, 'every DnsError carries a hint');
  const text = JSON.stringify(caught.toJSON()) + (caught.stack ?? '');
  for (const s of secrets) assert.ok(!text.includes(s), 'a TSIG secret appeared in an error');
  return caught;
}

export function rfc2136Suite(target: () => Rfc2136Target): void {
  const name = () => `_25._tcp.mx.${target().zone}`;
  const cfg = (over: Partial<Extract<DnsZoneConfig, { provider: 'rfc2136' }>> = {}): Extract<DnsZoneConfig, { provider: 'rfc2136' }> => ({
    provider: 'rfc2136', zone: target().zone, server: target().server, tsig_key_file: target().keyFile,
    timeout: 3000, propagation_timeout: 10_000, ...over,
  });
  const provider = (over = {}, now?: () => number): DnsProvider => createDnsProvider(cfg(over), now ? { now } : {});
  const served = async () => normTlsa(await target().dig(name(), 'TLSA'));

  it('add: records appear; adding again changes nothing; getRRset reads them back', async () => {
    const p = provider();
    await p.replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [] });
    await p.addRecords({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`, `3 1 1 ${h('B')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('a')}`, `3 1 1 ${h('b')}`]);
    await p.addRecords({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('a')}`, `3 1 1 ${h('b')}`]);
    assert.deepEqual(await p.getRRset(name().toUpperCase(), 'TLSA'), { name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`, `3 1 1 ${h('b')}`] });
  });

  it('replace: the RRset becomes exactly the new records, with the new TTL; replacing again is a no-op', async () => {
    const p = provider();
    await p.replaceRRset({ name: name(), type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('c')}`, `3 1 2 ${'d'.repeat(128)}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('c')}`, `3 1 2 ${'d'.repeat(128)}`]);
    await p.replaceRRset({ name: name(), type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('c')}`, `3 1 2 ${'d'.repeat(128)}`] });
    const got = await p.getRRset(name(), 'TLSA');
    assert.equal(got?.ttl, 600);
    assert.deepEqual(got?.values, [`3 1 1 ${h('c')}`, `3 1 2 ${'d'.repeat(128)}`]);
  });

  it('remove: one record goes, removing a missing one is fine, replace with [] deletes the RRset', async () => {
    const p = provider();
    await p.removeRecords({ name: name(), type: 'TLSA', ttl: 600, values: [`3 1 2 ${'d'.repeat(128)}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('c')}`]);
    await p.removeRecords({ name: name(), type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('e')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('c')}`]);
    await p.replaceRRset({ name: name(), type: 'TLSA', ttl: 600, values: [] });
    assert.deepEqual(await served(), []);
    assert.equal(await p.getRRset(name(), 'TLSA'), undefined);
    assert.equal(await p.getRRset(`nothing-here.${target().zone}`, 'TLSA'), undefined, 'NXDOMAIN reads as no RRset');
  });

  it('TXT records round-trip', async () => {
    const p = provider();
    const n = `_acme-challenge.mx.${target().zone}`;
    await p.replaceRRset({ name: n, type: 'TXT', ttl: 60, values: ['"token-1"', '"two strings" "x\\"y"'] });
    assert.deepEqual((await target().dig(n, 'TXT')).sort(), ['"token-1"', '"two strings" "x\\"y"']);
    assert.deepEqual((await p.getRRset(n, 'TXT'))?.values, ['"token-1"', '"two strings" "x\\"y"']);
    await p.replaceRRset({ name: n, type: 'TXT', ttl: 60, values: [] });
  });

  it('the propagation check sees the change on the server', async () => {
    const p = provider();
    await p.replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('f')}`] });
    const r = await verifyPropagation({ zone: target().zone, authoritative_servers: [target().server] }, { name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('f')}`] }, { timeoutMs: 5000, intervalMs: 200 });
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(r.laggards, []);
  });

  it('wrong secret: DNS_AUTH_FAILED (BADSIG), the zone is unchanged', async () => {
    const before = await served();
    const e = await expectDnsError(provider({ tsig_key_file: target().wrongSecretKeyFile }).replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('0')}`] }), 'DNS_AUTH_FAILED', /BADSIG/, target().secrets);
    assert.match(e.hint!, /secret/);
    assert.deepEqual(await served(), before);
    await expectDnsError(provider({ tsig_key_file: target().wrongSecretKeyFile }).getRRset(name(), 'TLSA'), 'DNS_AUTH_FAILED', /BADSIG/, target().secrets);
  });

  it('unknown key name: DNS_AUTH_FAILED (BADKEY), the zone is unchanged', async () => {
    const before = await served();
    const e = await expectDnsError(provider({ tsig_key_file: target().unknownKeyFile }).replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('0')}`] }), 'DNS_AUTH_FAILED', /BADKEY/, target().secrets);
    assert.match(e.hint!, /key name/);
    assert.deepEqual(await served(), before);
  });

  it('our clock one hour off (beyond the 300 s fudge): DNS_AUTH_FAILED (BADTIME) with a clock hint, zone unchanged', async () => {
    const before = await served();
    for (const skew of [3600_000, -3600_000]) {
      const e = await expectDnsError(provider({}, () => Date.now() + skew).replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('0')}`] }), 'DNS_AUTH_FAILED', /BADTIME/, target().secrets);
      assert.match(e.hint!, /clock/);
    }
    // Inside the fudge it works.
    await provider({}, () => Date.now() + 200_000).replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: before.length ? before : [`3 1 1 ${h('f')}`] });
    assert.deepEqual(await served(), before.length ? before : [`3 1 1 ${h('f')}`]);
  });

  it('a zone the server does not serve: DNS_NOT_AUTHORITATIVE (NOTAUTH) or DNS_REFUSED, with a hint', async () => {
    const other = target().otherZone;
    const p = provider({ zone: other });
    const e = await expectDnsError(p.replaceRRset({ name: `_25._tcp.mx.${other}`, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('0')}`] }), 'DNS_NOT_AUTHORITATIVE', /NOTAUTH/, target().secrets);
    assert.match(e.hint!, /not authoritative/);
  });

  it('server not answering (SIGSTOP): DNS_TIMEOUT within the timeout', async () => {
    target().freeze();
    try {
      const t0 = Date.now();
      await expectDnsError(provider({ timeout: 1500 }).replaceRRset({ name: name(), type: 'TLSA', ttl: 300, values: [] }), 'DNS_TIMEOUT', /within 1500 ms/);
      assert.ok(Date.now() - t0 < 5000);
    } finally {
      target().thaw();
    }
  });
}
