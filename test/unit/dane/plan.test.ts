// The pure plan: grouping by owner name across certificates, target RRsets,
// the safety rule, and the rollover seam. Explicit `now`, no DNS.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  assertSafeRRset, computeTlsa, formatTlsa, groupOwners, planTlsa, targetForOwner, unmatchedCertificates,
  type PublishedTlsa, type TlsaCertificateView, type TlsaObserved,
} from '../../../src/dane/index.js';
import type { RRset } from '../../../src/dns/types.js';
import { makeFixture, spec, view, type DaneFixture } from './fixtures.js';

const NOW = new Date('2025-06-01T12:00:00Z');
const N25 = '_25._tcp.mx.example.com';
const N465 = '_465._tcp.mx.example.com';

describe('tlsa plan', () => {
  let f: DaneFixture;
  let ec: TlsaCertificateView;
  let rsa: TlsaCertificateView;
  let ec311: string, rsa311: string, old311: string, ec312: string;
  const observed = (certificates: TlsaCertificateView[], published: PublishedTlsa[]): TlsaObserved => ({ certificates, published, verification: {} });
  const rr = (name: string, values: string[], ttl = 300): PublishedTlsa => ({ name, zone: 'example.com', rrset: { name, type: 'TLSA', ttl, values } });

  before(async () => {
    f = await makeFixture();
    ec = view('mx-ec', f.chain(f.ec), [spec(N25), spec(`${N465.toUpperCase()}.`)]);
    rsa = view('mx-rsa', f.chain(f.rsa), [spec(N25)], 3600);
    const rec = (leaf: typeof f.ec, m: 1 | 2 = 1) => formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: m }, { kind: 'chain', chain: f.chain(leaf) }));
    ec311 = rec(f.ec); rsa311 = rec(f.rsa); old311 = rec(f.ec2); ec312 = rec(f.ec, 2);
  });
  after(async () => { await f?.cleanup(); });

  it('groups the specs of all certificates by owner name (normalised), smallest TTL', () => {
    const owners = groupOwners([ec, rsa]);
    assert.deepEqual(owners.map((o) => o.name), [N25, N465]);
    assert.deepEqual(owners[0]!.certificates, ['mx-ec', 'mx-rsa']);
    assert.equal(owners[0]!.ttl, 300, 'one RRset, one TTL (RFC 2181 §5.2): the smallest');
    assert.deepEqual(owners[1]!.certificates, ['mx-ec']);
  });

  it('an RSA and an ECDSA certificate sharing an owner name both land in its RRset', () => {
    const plan = planTlsa(observed([ec, rsa], [{ name: N25, zone: 'example.com' }, { name: N465, zone: 'example.com' }]), NOW, { force: false });
    assert.deepEqual(plan.steps.map((s) => [s.object, s.action]), [[N25, 'publish-tlsa'], [N465, 'publish-tlsa']]);
    const d = plan.steps[0]!.detail as { rrset: RRset; previous: string[] | null };
    assert.deepEqual(d.rrset, { name: N25, type: 'TLSA', ttl: 300, values: [ec311, rsa311].sort() });
    assert.equal(d.previous, null);
    assert.deepEqual((plan.steps[1]!.detail as { rrset: RRset }).rrset.values, [ec311]);
    assert.match(plan.steps[0]!.reason, /no TLSA records published/);
  });

  it('nothing to do when the published RRset is exactly the target (hex case does not matter)', () => {
    const plan = planTlsa(observed([ec, rsa], [rr(N25, [rsa311.toUpperCase(), ec311]), rr(N465, [ec311])]), NOW, { force: false });
    assert.deepEqual(plan.steps.map((s) => s.action), ['none', 'none']);
    const forced = planTlsa(observed([ec, rsa], [rr(N25, [rsa311, ec311]), rr(N465, [ec311])]), NOW, { force: true });
    assert.deepEqual(forced.steps.map((s) => s.action), ['publish-tlsa', 'publish-tlsa']);
  });

  it('adds the missing certificate, removes stale records, fixes the TTL', () => {
    const plan = planTlsa(observed([ec, rsa], [rr(N25, [ec311, old311]), rr(N465, [ec311], 60)]), NOW, { force: false });
    const d = plan.steps[0]!.detail as { add: string[]; remove: string[]; rrset: RRset };
    assert.equal(plan.steps[0]!.action, 'publish-tlsa');
    assert.deepEqual(d.add, [rsa311]);
    assert.deepEqual(d.remove, [old311]);
    assert.deepEqual(d.rrset.values, [ec311, rsa311].sort());
    assert.equal(plan.steps[1]!.action, 'publish-tlsa');
    assert.match(plan.steps[1]!.reason, /TTL 60 → 300/);
  });

  it('several specs per certificate (3 1 1 and 3 1 2) all go in', () => {
    const both = view('mx-ec', f.chain(f.ec), [spec(N25), spec(N25, 3, 1, 2)]);
    const t = targetForOwner(groupOwners([both])[0]!, new Map([['mx-ec', both]]));
    assert.deepEqual(t.values, [ec311, ec312].sort());
  });

  it('--cert plans only that certificate\'s owner names, but keeps the other certificates\' records in them', () => {
    const plan = planTlsa(observed([ec, rsa], [rr(N25, []), rr(N465, [])]), NOW, { force: false, certificate: 'mx-rsa' });
    assert.deepEqual(plan.steps.map((s) => s.object), [N25]);
    assert.deepEqual((plan.steps[0]!.detail as { rrset: RRset }).rrset.values, [ec311, rsa311].sort());
  });

  it('safety: an RRset leaving any live certificate unmatched is refused', () => {
    const owner = groupOwners([ec, rsa])[0]!;
    const certs = new Map([['mx-ec', ec], ['mx-rsa', rsa]]);
    const send = (values: string[]): RRset => ({ name: N25, type: 'TLSA', ttl: 300, values });
    assert.doesNotThrow(() => assertSafeRRset(send([ec311, rsa311]), owner, certs));
    assert.throws(() => assertSafeRRset(send([ec311]), owner, certs), (e: Error & { code?: string }) => e.code === 'TLSA_UNSAFE' && /mx-rsa/.test(e.message));
    assert.throws(() => assertSafeRRset(send([]), owner, certs), { code: 'TLSA_UNSAFE' }, 'an empty RRset deletes every record');
    assert.throws(() => assertSafeRRset(send([old311, `1 1 1 ${ec311.slice(6)}`]), owner, certs), { code: 'TLSA_UNSAFE' }, 'PKIX-EE does not count');
    assert.throws(() => assertSafeRRset({ ...send([ec311, rsa311]), name: N465 }, owner, certs), { code: 'TLSA_UNSAFE' }, 'wrong owner');
    assert.deepEqual(unmatchedCertificates([rsa311], owner, certs), ['mx-ec']);
  });

  it('blocks (does not touch the RRset) when a certificate naming it cannot be read', () => {
    const broken = view('mx-rsa', undefined, [spec(N25)]);
    const plan = planTlsa(observed([ec, broken], [rr(N25, [ec311, rsa311]), rr(N465, [ec311])]), NOW, { force: false });
    assert.equal(plan.steps[0]!.action, 'blocked');
    assert.match(plan.steps[0]!.reason, /mx-rsa could not be read.*left unchanged/);
    assert.equal(plan.steps[1]!.action, 'none', 'the other owner name is not affected');
  });

  it('blocks a DANE-TA spec when the file holds no issuer; warns for a public CA (injected roots)', async () => {
    const leafOnly = view('mx-ec', [f.chain(f.ec)[0]!], [spec(N25, 2)]);
    const plan = planTlsa(observed([leafOnly], [rr(N25, [])]), NOW, { force: false });
    assert.equal(plan.steps[0]!.action, 'blocked');
    assert.match(plan.steps[0]!.reason, /only the leaf/);
    const ta = view('mx-ec', f.chain(f.ec), [spec(N25, 2)]);
    const { X509Certificate } = await import('node:crypto');
    const pub = planTlsa({ ...observed([ta], [rr(N25, [])]), publicRoots: [new X509Certificate(f.pki.rootCertPem)] }, NOW, { force: false });
    assert.equal(pub.steps[0]!.action, 'publish-tlsa');
    assert.match(pub.steps[0]!.reason, /public CA/);
    const priv = planTlsa(observed([ta], [rr(N25, [])]), NOW, { force: false });
    assert.doesNotMatch(priv.steps[0]!.reason, /public CA/);
  });

  it('publishes even when the current RRset could not be read (apply re-reads under the lock)', () => {
    const plan = planTlsa(observed([ec], [{ name: N25, zone: 'example.com', error: { code: 'DNS_TIMEOUT', message: 'timed out' } }, rr(N465, [ec311])]), NOW, { force: false });
    assert.equal(plan.steps[0]!.action, 'publish-tlsa');
    assert.match(plan.steps[0]!.reason, /could not be read \(timed out\)/);
  });

  it('rollover seam: a next key (bare public key) is published alongside the current one', () => {
    const withNext: TlsaCertificateView = {
      ...ec, specs: [spec(N25)],
      keys: [...ec.keys, { role: 'next', source: { kind: 'key', publicKey: f.publicKey(f.ec2) } }],
    };
    const t = targetForOwner(groupOwners([withNext])[0]!, new Map([['mx-ec', withNext]]));
    assert.deepEqual(t.values, [ec311, old311].sort());
    assert.deepEqual(t.records.map((r) => r.role).sort(), ['current', 'next']);
    // The next key alone would not be safe: the live certificate is still the current one.
    assert.throws(() => assertSafeRRset({ name: N25, type: 'TLSA', ttl: 300, values: [old311] }, groupOwners([withNext])[0]!, new Map([['mx-ec', withNext]])), { code: 'TLSA_UNSAFE' });
  });
});
