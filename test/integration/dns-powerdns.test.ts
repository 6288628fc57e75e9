// powerdns provider against a real PowerDNS Authoritative Server (gsqlite3
// backend, HTTP API with a key) on loopback. Outcomes read back with dig
// from pdns's own DNS port.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DnsZoneConfig } from '../../src/config/index.js';
import { createDnsProvider, verifyPropagation, type DnsProvider } from '../../src/dns/index.js';
import { expectDnsError, h, normTlsa } from '../support/dns-rfc2136-suite.js';
import { startPowerdns, type PowerdnsServer } from '../support/powerdns.js';

const ZONE = 'pdns.example.test';
const NAME = `_25._tcp.mx.${ZONE}`;

describe('powerdns provider against PowerDNS Authoritative (HTTP API)', () => {
  let dir: string;
  let pdns: PowerdnsServer;
  let cfg: Extract<DnsZoneConfig, { provider: 'powerdns' }>;
  let p: DnsProvider;
  const served = async () => normTlsa(await pdns.dig(NAME, 'TLSA'));

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-pdns-'));
    pdns = await startPowerdns({ dir: path.join(dir, 'pdns'), zones: [ZONE] });
    cfg = { provider: 'powerdns', zone: ZONE, api_url: pdns.apiUrl, api_key_file: pdns.apiKeyFile, server_id: 'localhost', timeout: 5000, propagation_timeout: 10_000 };
    p = createDnsProvider(cfg);
  });
  after(async () => {
    await pdns?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('replace, then read back through the API and over DNS', async () => {
    assert.equal(await p.getRRset(NAME, 'TLSA'), undefined);
    await p.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('A')}`, `3 1 2 ${'b'.repeat(128)}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('a')}`, `3 1 2 ${'b'.repeat(128)}`]);
    assert.deepEqual(await p.getRRset(NAME, 'TLSA'), { name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`, `3 1 2 ${'b'.repeat(128)}`] });
    await p.replaceRRset({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('c')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('c')}`]);
    assert.equal((await p.getRRset(NAME, 'TLSA'))?.ttl, 600);
  });

  it('add and remove (read-modify-write), idempotent', async () => {
    await p.addRecords({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('d')}`] });
    await p.addRecords({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('d')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('c')}`, `3 1 1 ${h('d')}`]);
    await p.removeRecords({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('c')}`, `3 1 1 ${h('e')}`] });
    assert.deepEqual(await served(), [`3 1 1 ${h('d')}`]);
    await p.removeRecords({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('d')}`] });
    assert.deepEqual(await served(), []);
    assert.equal(await p.getRRset(NAME, 'TLSA'), undefined);
    await p.removeRecords({ name: NAME, type: 'TLSA', ttl: 600, values: [`3 1 1 ${h('d')}`] });
  });

  it('TXT records, and replace with [] deletes', async () => {
    const n = `_acme-challenge.${ZONE}`;
    await p.replaceRRset({ name: n, type: 'TXT', ttl: 60, values: ['"tok en"'] });
    assert.deepEqual(await pdns.dig(n, 'TXT'), ['"tok en"']);
    assert.deepEqual((await p.getRRset(n, 'TXT'))?.values, ['"tok en"']);
    await p.replaceRRset({ name: n, type: 'TXT', ttl: 60, values: [] });
    assert.deepEqual(await pdns.dig(n, 'TXT'), []);
  });

  it('the propagation check against pdns\'s DNS port', async () => {
    const rrset = { name: NAME, type: 'TLSA' as const, ttl: 300, values: [`3 1 1 ${h('f')}`] };
    await p.replaceRRset(rrset);
    const r = await verifyPropagation({ ...cfg, authoritative_servers: [`127.0.0.1:${pdns.dnsPort}`] }, rrset, { timeoutMs: 5000, intervalMs: 200 });
    assert.equal(r.ok, true, JSON.stringify(r.servers));
  });

  it('wrong API key → DNS_AUTH_FAILED, zone unchanged, key not in the error', async () => {
    const before = await served();
    const bad = path.join(dir, 'bad.key');
    await writeFile(bad, 'not-the-key\n');
    await expectDnsError(createDnsProvider({ ...cfg, api_key_file: bad }).replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] }), 'DNS_AUTH_FAILED', /HTTP 401/, [pdns.apiKey, 'not-the-key']);
    assert.deepEqual(await served(), before);
    await expectDnsError(createDnsProvider({ ...cfg, api_key_file: path.join(dir, 'missing') }).getRRset(NAME, 'TLSA'), 'DNS_AUTH_FAILED', /ENOENT/);
  });

  it('a zone PowerDNS does not have → DNS_NOT_AUTHORITATIVE', async () => {
    const other = createDnsProvider({ ...cfg, zone: 'other.example.test' });
    await expectDnsError(other.replaceRRset({ name: '_25._tcp.mx.other.example.test', type: 'TLSA', ttl: 300, values: [] }), 'DNS_NOT_AUTHORITATIVE', /HTTP 404/);
    await expectDnsError(other.getRRset('_25._tcp.mx.other.example.test', 'TLSA'), 'DNS_NOT_AUTHORITATIVE', /HTTP 404/);
  });

  it('a record PowerDNS rejects → DNS_REFUSED with its reason', async () => {
    // A CNAME at the name makes PowerDNS refuse other types there.
    const r = await pdns.api('PATCH', `/api/v1/servers/localhost/zones/${ZONE}.`, { rrsets: [{ name: `c.${ZONE}.`, type: 'CNAME', ttl: 60, changetype: 'REPLACE', records: [{ content: `mx.${ZONE}.`, disabled: false }] }] });
    assert.equal(r.status, 204, JSON.stringify(r.body));
    await expectDnsError(p.replaceRRset({ name: `c.${ZONE}`, type: 'TXT', ttl: 60, values: ['"x"'] }), 'DNS_REFUSED', /HTTP 422: .*Conflicts with pre-existing RRset/);
  });

  it('API down → DNS_FAILED; API not answering (SIGSTOP) → DNS_TIMEOUT', async () => {
    const pid = pdns.process().pid;
    process.kill(pid, 'SIGSTOP');
    try {
      await expectDnsError(createDnsProvider({ ...cfg, timeout: 1000 }).getRRset(NAME, 'TLSA'), 'DNS_TIMEOUT', /no answer within 1000 ms/);
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    await pdns.stop();
    await expectDnsError(p.getRRset(NAME, 'TLSA'), 'DNS_FAILED', /ECONNREFUSED/);
  });
});
