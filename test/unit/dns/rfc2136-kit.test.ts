// The DNS test kit: the rfc2136 provider talks to a loopback TCP listener
// that records what it receives, so these tests assert the exact UPDATE
// message (RFC 2136 §2) a change becomes, byte for byte, and how every kind
// of answer maps to a typed error. The listener's answers are built with the
// same TSIG code a real server's would be checked against (tsig.test.ts
// checks that code against dig); faults a real server cannot be made to show
// on demand (a tampered MAC, an unsigned NOERROR, silence) are only testable
// here. Real servers: test/integration/dns-*.test.ts.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DnsZoneConfig } from '../../../src/config/index.js';
import { DnsError } from '../../../src/errors/index.js';
import { createDnsProvider, findTsig, TsigKey, type DnsProvider } from '../../../src/dns/index.js';
import { Rcode, RRClass, RRType, TsigErrorCode } from '../../../src/dns/wire/index.js';
import { answer, startFakeDnsServer, tlsaRecord, type Captured, type FakeDnsServer, type Reply } from '../../support/dns-kit.js';

const SECRET = Buffer.alloc(32, 0x5a);
const B64 = SECRET.toString('base64');
const key = new TsigKey('tlskeeper-key', 'hmac-sha256', SECRET);
const NAME = '_25._tcp.mx.example.com';
const HASH1 = 'aa'.repeat(32);
const HASH2 = 'bb'.repeat(32);

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const wname = (n: string) => Buffer.concat([...n.split('.').map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l)])), Buffer.from([0])]);

/** The message up to (not including) the TSIG RR, ARCOUNT as sent. */
function unsigned(c: Captured): Buffer {
  const t = findTsig(c.message)!;
  return c.raw.subarray(0, t.record.offset);
}

async function rejects(p: Promise<unknown>, code: string, re?: RegExp): Promise<DnsError> {
  let caught: unknown;
  try { await p; } catch (err) { caught = err; }
  assert.ok(caught instanceof DnsError, `expected DnsError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  if (re) assert.match(caught.message, re);
  const all = JSON.stringify(caught.toJSON()) + String(caught.hint) + caught.message;
  assert.ok(!all.includes(B64), 'the secret never appears in an error');
  return caught;
}

describe('rfc2136 provider: the exact UPDATE messages (RFC 2136 §2)', () => {
  let dir: string;
  let srv: FakeDnsServer;
  let reply: (c: Captured) => Reply = (c) => answer(c, { key });
  let provider: DnsProvider;
  let clock = () => Date.now();
  const config = (over: Partial<Extract<DnsZoneConfig, { provider: 'rfc2136' }>> = {}): DnsZoneConfig => ({
    provider: 'rfc2136', zone: 'example.com', server: srv.spec, timeout: 2000, propagation_timeout: 10_000,
    tsig_key_file: path.join(dir, 'k.key'), ...over,
  });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dnskit-'));
    await writeFile(path.join(dir, 'k.key'), `key "tlskeeper-key" {\n\talgorithm hmac-sha256;\n\tsecret "${B64}";\n};\n`);
    srv = await startFakeDnsServer((c) => reply(c));
    provider = createDnsProvider(config(), { now: () => clock() });
  });
  after(async () => {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('replace: one message: zone SOA IN; no prerequisites; delete RRset (ANY, TTL 0, no RDATA) then add each record; TSIG last', async () => {
    srv.received.length = 0;
    reply = (c) => answer(c, { key });
    await provider.replaceRRset({ name: `${NAME.toUpperCase()}.`, type: 'TLSA', ttl: 300, values: [`3 1 1 ${HASH2.toUpperCase()}`, `3 1 1 ${HASH1}`, `3 1 1 ${HASH1}`] });
    assert.equal(srv.received.length, 1, 'one message, so the server applies it atomically');
    const c = srv.received[0]!;
    const id = c.message.id.toString(16).padStart(4, '0');
    const expected = Buffer.concat([
      hex(`${id} 2800 0001 0000 0003 0001`), // opcode UPDATE; ZOCOUNT 1, PRCOUNT 0, UPCOUNT 3, ADCOUNT 1 (the TSIG)
      wname('example.com'), hex('0006 0001'), // zone section: example.com SOA IN (§2.3)
      wname(NAME), hex('0034 00ff 00000000 0000'), // delete the TLSA RRset: class ANY, TTL 0, RDLENGTH 0 (§2.5.2)
      wname(NAME), hex(`0034 0001 0000012c 0023 030101 ${HASH1}`), // add (§2.5.1), canonical, de-duplicated, sorted
      wname(NAME), hex(`0034 0001 0000012c 0023 030101 ${HASH2}`),
    ]);
    assert.equal(unsigned(c).toString('hex'), expected.toString('hex'));
    const tsig = findTsig(c.message)!;
    assert.equal(tsig.record.name, 'tlskeeper-key');
    assert.equal(tsig.tsig.algorithm, 'hmac-sha256');
    assert.equal(tsig.tsig.originalId, c.message.id);
  });

  it('replace with no values deletes the RRset only', async () => {
    srv.received.length = 0;
    await provider.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] });
    const m = srv.received[0]!.message;
    assert.equal(m.authorities.length, 1);
    assert.deepEqual([m.authorities[0]!.class, m.authorities[0]!.type, m.authorities[0]!.ttl, m.authorities[0]!.rdata.length], [RRClass.ANY, RRType.TLSA, 0, 0]);
  });

  it('add: only "add to an RRset" records (§2.5.1); remove: class NONE, TTL 0, the RDATA (§2.5.4)', async () => {
    srv.received.length = 0;
    await provider.addRecords({ name: NAME, type: 'TLSA', ttl: 60, values: [`3 1 1 ${HASH1}`] });
    await provider.removeRecords({ name: NAME, type: 'TLSA', ttl: 60, values: [`3 1 1 ${HASH2}`] });
    const [add, rem] = srv.received.map(unsigned);
    const idA = srv.received[0]!.message.id.toString(16).padStart(4, '0');
    const idR = srv.received[1]!.message.id.toString(16).padStart(4, '0');
    assert.equal(add!.toString('hex'), Buffer.concat([
      hex(`${idA} 2800 0001 0000 0001 0001`), wname('example.com'), hex('0006 0001'),
      wname(NAME), hex(`0034 0001 0000003c 0023 030101 ${HASH1}`),
    ]).toString('hex'));
    assert.equal(rem!.toString('hex'), Buffer.concat([
      hex(`${idR} 2800 0001 0000 0001 0001`), wname('example.com'), hex('0006 0001'),
      wname(NAME), hex(`0034 00fe 00000000 0023 030101 ${HASH2}`),
    ]).toString('hex'));
  });

  it('add/remove with no values send nothing', async () => {
    srv.received.length = 0;
    await provider.addRecords({ name: NAME, type: 'TLSA', ttl: 60, values: [] });
    await provider.removeRecords({ name: NAME, type: 'TLSA', ttl: 60, values: [] });
    assert.equal(srv.received.length, 0);
  });

  it('TXT records: quoted character-strings', async () => {
    srv.received.length = 0;
    await provider.replaceRRset({ name: '_acme-challenge.mx.example.com', type: 'TXT', ttl: 60, values: ['"abc def" "x\\"y"'] });
    const add = srv.received[0]!.message.authorities[1]!;
    assert.equal(add.rdata.toString('hex'), Buffer.concat([Buffer.from([7]), Buffer.from('abc def'), Buffer.from([3]), Buffer.from('x"y')]).toString('hex'));
  });

  it('getRRset: a signed, non-recursive TCP query; values canonical', async () => {
    srv.received.length = 0;
    reply = (c) => answer(c, { key, answers: [tlsaRecord(NAME, `3 1 1 ${HASH2}`, 300), tlsaRecord(NAME, `3 1 1 ${HASH1}`, 300)] });
    const got = await provider.getRRset(NAME, 'TLSA');
    assert.deepEqual(got, { name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${HASH1}`, `3 1 1 ${HASH2}`] });
    const q = srv.received[0]!.message;
    assert.equal(q.flags.opcode, 0);
    assert.equal(q.flags.rd, false);
    assert.deepEqual(q.questions, [{ name: NAME, type: RRType.TLSA, class: RRClass.IN }]);
    assert.ok(findTsig(q));
    reply = (c) => answer(c, { key, rcode: Rcode.NXDOMAIN });
    assert.equal(await provider.getRRset(NAME, 'TLSA'), undefined);
    reply = (c) => answer(c, { key, aa: false });
    await rejects(provider.getRRset(NAME, 'TLSA'), 'DNS_NOT_AUTHORITATIVE', /AA bit/);
  });

  const change = () => provider.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${HASH1}`] });

  it('RCODE mapping: NOTAUTH, REFUSED, NOTZONE, SERVFAIL', async () => {
    reply = (c) => answer(c, { key, rcode: Rcode.NOTAUTH });
    await rejects(change(), 'DNS_NOT_AUTHORITATIVE', /NOTAUTH/);
    reply = (c) => answer(c, { key, rcode: Rcode.REFUSED });
    const e = await rejects(change(), 'DNS_REFUSED', /REFUSED/);
    assert.match(e.hint!, /update-policy|allow-update/);
    reply = (c) => answer(c, { key, rcode: Rcode.NOTZONE });
    await rejects(change(), 'DNS_FAILED', /NOTZONE/);
    reply = (c) => answer(c, { key, rcode: Rcode.SERVFAIL });
    await rejects(change(), 'DNS_FAILED', /SERVFAIL/);
  });

  it('TSIG errors → DNS_AUTH_FAILED with a hint: BADKEY, BADSIG, BADTIME (with the skew)', async () => {
    reply = (c) => answer(c, { key, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADKEY });
    assert.match((await rejects(change(), 'DNS_AUTH_FAILED', /BADKEY/)).hint!, /key name/);
    reply = (c) => answer(c, { key, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADSIG });
    assert.match((await rejects(change(), 'DNS_AUTH_FAILED', /BADSIG/)).hint!, /secret/);
    const serverTime = Buffer.alloc(6);
    serverTime.writeUIntBE(Math.floor(Date.now() / 1000) + 1000, 0, 6);
    reply = (c) => answer(c, { key, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADTIME, otherData: serverTime });
    assert.match((await rejects(change(), 'DNS_AUTH_FAILED', /BADTIME/)).hint!, /clock is (999|1000) s behind the server's/);
  });

  it('rejects an unsigned or badly signed NOERROR (the change may or may not have happened: report, do not trust)', async () => {
    reply = (c) => answer(c, {});
    await rejects(change(), 'DNS_AUTH_FAILED', /no TSIG signature/);
    reply = (c) => answer(c, { key, tamper: true });
    await rejects(change(), 'DNS_AUTH_FAILED', /does not verify/);
    reply = (c) => answer(c, { key: new TsigKey('tlskeeper-key', 'hmac-sha256', Buffer.alloc(32, 1)) });
    await rejects(change(), 'DNS_AUTH_FAILED', /does not verify/);
    reply = (c) => answer(c, { key, now: () => Date.now() - 600_000 });
    await rejects(change(), 'DNS_AUTH_FAILED', /beyond the fudge/);
  });

  it('our clock skewed (injected): the request carries the skewed time signed', async () => {
    srv.received.length = 0;
    clock = () => Date.now() + 3600_000;
    reply = (c) => answer(c, { key, now: () => Date.now() + 3600_000 });
    await change();
    clock = () => Date.now();
    const t = findTsig(srv.received[0]!.message)!.tsig.timeSigned;
    assert.ok(Math.abs(t - (Date.now() / 1000 + 3600)) < 5);
  });

  it('an unsigned error answer is reported by its RCODE, marked unauthenticated', async () => {
    reply = (c) => answer(c, { rcode: Rcode.REFUSED });
    await rejects(change(), 'DNS_REFUSED', /not authenticated/);
  });

  it('silence → DNS_TIMEOUT; abort → DNS_ABORTED; nothing listening → DNS_FAILED "connection refused"', async () => {
    reply = () => 'silence';
    const t0 = Date.now();
    await rejects(change(), 'DNS_TIMEOUT', /did not answer within 2000 ms/);
    assert.ok(Date.now() - t0 < 4000);
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    await rejects(provider.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] }, { signal: ac.signal }), 'DNS_ABORTED');
    reply = () => 'close';
    await rejects(change(), 'DNS_FAILED', /closed the connection/);
    const dead = await startFakeDnsServer(() => 'close');
    const spec = dead.spec;
    await dead.close();
    const p2 = createDnsProvider(config({ server: spec }));
    const e = await rejects(p2.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] }), 'DNS_FAILED', /connection refused/);
    assert.match(e.hint!, /nothing listens/);
  });

  it('a mismatched answer ID is rejected', async () => {
    reply = (c) => {
      const b = answer(c, { key });
      b.writeUInt16BE((c.message.id + 1) & 0xffff, 0);
      return b;
    };
    await rejects(change(), 'DNS_FAILED', /does not match the request/);
  });

  it('key problems: missing file, wrong key name in file, bad secret_file; never the secret', async () => {
    await rejects(createDnsProvider(config({ tsig_key_file: path.join(dir, 'nope.key') })).getRRset(NAME, 'TLSA'), 'DNS_AUTH_FAILED', /ENOENT/);
    await rejects(createDnsProvider(config({ tsig_key_name: 'other' })).getRRset(NAME, 'TLSA'), 'DNS_AUTH_FAILED', /no key named other/);
    await writeFile(path.join(dir, 'secret'), 'not base64!!\n');
    await rejects(createDnsProvider(config({ tsig_key_file: undefined, tsig_key_name: 'k', secret_file: path.join(dir, 'secret') })).getRRset(NAME, 'TLSA'), 'DNS_AUTH_FAILED', /base64/);
    // secret_file with a bare secret works
    await writeFile(path.join(dir, 'secret'), `${B64}\n`);
    srv.received.length = 0;
    reply = (c) => answer(c, { key });
    await createDnsProvider(config({ tsig_key_file: undefined, tsig_key_name: 'tlskeeper-key', secret_file: path.join(dir, 'secret') })).replaceRRset({ name: NAME, type: 'TLSA', ttl: 1, values: [] });
    assert.equal(srv.received.length, 1);
  });

  it('names outside the zone and bad values are refused before anything is sent', async () => {
    srv.received.length = 0;
    await rejects(provider.replaceRRset({ name: '_25._tcp.mx.example.org', type: 'TLSA', ttl: 300, values: [] }), 'DNS_FAILED', /not in zone example.com/);
    await rejects(provider.replaceRRset({ name: 'x.badexample.com', type: 'TLSA', ttl: 300, values: [] }), 'DNS_FAILED', /not in zone/);
    await rejects(provider.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: ['3 1 1 xyz'] }), 'DNS_FAILED', /invalid TLSA/);
    await rejects(provider.replaceRRset({ name: NAME, type: 'TLSA', ttl: -1, values: [] }), 'DNS_FAILED', /TTL/);
    assert.equal(srv.received.length, 0);
  });
});
