// `status` for TLSA owner names: what a DANE sender would do with what is
// published (RFC 7672 §2.2). Pure, explicit `now`.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { computeTlsa, formatTlsa, tlsaStatus, type PublishedTlsa, type TlsaCertificateView, type TlsaObserved } from '../../../src/dane/index.js';
import { makeFixture, spec, view, type DaneFixture } from './fixtures.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const N25 = '_25._tcp.mx.example.com';

describe('tlsa status', () => {
  let f: DaneFixture;
  let ec: TlsaCertificateView;
  let rsa: TlsaCertificateView;
  let ec311: string, rsa311: string, old311: string;
  const rr = (values: string[]): PublishedTlsa => ({ name: N25, zone: 'example.com', rrset: { name: N25, type: 'TLSA', ttl: 300, values } });
  const status = (certificates: TlsaCertificateView[], pub: PublishedTlsa, extra: Partial<TlsaObserved> = {}) => {
    const entries = tlsaStatus({ certificates, published: [pub], verification: {}, ...extra }, NOW);
    assert.equal(entries.length, 1);
    assert.equal(entries[0]!.kind, 'tlsa');
    assert.equal(entries[0]!.object, N25);
    return entries[0]!;
  };

  before(async () => {
    f = await makeFixture();
    ec = view('mx-ec', f.chain(f.ec), [spec(N25)]);
    rsa = view('mx-rsa', f.chain(f.rsa), [spec(N25)]);
    const rec = (leaf: typeof f.ec) => formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 1 }, { kind: 'chain', chain: f.chain(leaf) }));
    ec311 = rec(f.ec); rsa311 = rec(f.rsa); old311 = rec(f.ec2);
  });
  after(async () => { await f?.cleanup(); });

  it('OK when every record matches a served certificate', () => {
    const e = status([ec, rsa], rr([ec311, rsa311]));
    assert.equal(e.severity, 'OK', JSON.stringify(e.problems));
    assert.equal(e.summary, '2 records, 2 matching mx-ec, mx-rsa');
    assert.deepEqual(e.facts.published, [`${ec311} = mx-ec (current)`, `${rsa311} = mx-rsa (current)`]);
  });

  it('CRITICAL when no record matches: DANE senders defer all mail', () => {
    const e = status([ec], rr([old311]));
    assert.equal(e.severity, 'CRITICAL');
    assert.match(e.problems.find((p) => p.severity === 'CRITICAL')!.message, /none of the 1 published record matches the certificate/);
    assert.ok(e.problems.some((p) => p.severity === 'WARNING' && /matches? no current certificate/.test(p.message)), 'the stale record is named too');
  });

  it('CRITICAL when one of two certificates sharing the name is unmatched', () => {
    const e = status([ec, rsa], rr([ec311]));
    assert.equal(e.severity, 'CRITICAL');
    assert.match(e.problems[0]!.message, /no published record matches certificate mx-rsa/);
  });

  it('WARNING for stale records next to matching ones', () => {
    const e = status([ec], rr([ec311, old311]));
    assert.equal(e.severity, 'WARNING');
    assert.deepEqual(e.problems.map((p) => p.severity), ['WARNING']);
    assert.match(e.summary, /2 records, 1 matching mx-ec, 1 not/);
    assert.ok((e.facts.published as string[]).includes(`${old311} = STALE`));
  });

  it('WARNING for records unusable for SMTP (PKIX usages, malformed)', () => {
    const e = status([ec], rr([ec311, `1 1 1 ${ec311.slice(6)}`, '3 1 1 abcd']));
    assert.equal(e.severity, 'WARNING');
    assert.match(e.problems[0]!.message, /2 published records are unusable/);
    // Only unusable records: DANE senders use unauthenticated TLS, they do not defer (RFC 7672 §2.2).
    const only = status([ec], rr([`1 1 1 ${ec311.slice(6)}`]));
    assert.equal(only.severity, 'WARNING', JSON.stringify(only.problems));
  });

  it('a next key is not stale (rollover seam)', () => {
    const withNext: TlsaCertificateView = { ...ec, keys: [...ec.keys, { role: 'next', source: { kind: 'key', publicKey: f.publicKey(f.ec2) } }] };
    const e = status([withNext], rr([ec311, old311]));
    assert.equal(e.severity, 'OK', JSON.stringify(e.problems));
    assert.ok((e.facts.published as string[]).includes(`${old311} = mx-ec (next)`));
  });

  it('WARNING when nothing is published or a configured record is missing', () => {
    assert.equal(status([ec], { name: N25, zone: 'example.com' }).severity, 'WARNING');
    const both = view('mx-ec', f.chain(f.ec), [spec(N25), spec(N25, 3, 1, 2)]);
    const e = status([both], rr([ec311]));
    assert.equal(e.severity, 'WARNING');
    assert.match(e.problems[0]!.message, /1 configured record is not published: 3 1 2 /);
  });

  it('UNKNOWN when the RRset or a certificate cannot be read', () => {
    assert.equal(status([ec], { name: N25, zone: 'example.com', error: { code: 'DNS_TIMEOUT', message: 'timed out' } }).severity, 'UNKNOWN');
    const e = status([ec, view('mx-rsa', undefined, [spec(N25)])], rr([ec311]));
    assert.equal(e.severity, 'UNKNOWN');
  });

  it('WARNING when the last change did not reach every authoritative server, only while that RRset is what is published', () => {
    const ver = { checkedAt: NOW.toISOString(), values: [ec311], servers: ['127.0.0.1:53', '127.0.0.2:53'], laggards: [{ server: '127.0.0.2:53', reason: 'serves the old RRset' }] };
    const e = status([ec], rr([ec311]), { verification: { [N25]: ver } });
    assert.equal(e.severity, 'WARNING');
    assert.match(e.problems[0]!.message, /127\.0\.0\.2:53 \(serves the old RRset\)/);
    const later = status([ec, rsa], rr([ec311, rsa311]), { verification: { [N25]: ver } });
    assert.equal(later.severity, 'OK', 'a later change supersedes the old verification');
  });

  it('WARNING for usage 2 on a public CA', () => {
    const ta = view('mx-ec', f.chain(f.ec), [spec(N25, 2)]);
    const ta211 = formatTlsa(computeTlsa({ usage: 2, selector: 1, matching: 1 }, { kind: 'chain', chain: f.chain(f.ec) }));
    assert.equal(status([ta], rr([ta211])).severity, 'OK');
    const e = status([ta], rr([ta211]), { publicRoots: [new X509Certificate(f.pki.rootCertPem)] });
    assert.equal(e.severity, 'WARNING');
    assert.match(e.problems[0]!.message, /public CA/);
  });
});
