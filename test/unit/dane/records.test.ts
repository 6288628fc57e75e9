// TLSA RDATA computed by src/dane/records.ts against vectors computed
// independently, in the test run, by the openssl CLI and coreutils.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  canonicalTlsa, computeTlsa, formatTlsa, issuedByPublicCa, parseTlsa, recordMatchesChain, recordMatchesKey,
} from '../../../src/dane/index.js';
import { makeFixture, shellHex, type DaneFixture } from './fixtures.js';

const SPKI = (cert: string) => `openssl x509 -in '${cert}' -noout -pubkey | openssl pkey -pubin -outform DER`;
const CERT = (cert: string) => `openssl x509 -in '${cert}' -outform DER`;

describe('TLSA records (RFC 6698 §2.1) against openssl-computed vectors', () => {
  let f: DaneFixture;
  before(async () => { f = await makeFixture(); });
  after(async () => { await f?.cleanup(); });

  for (const kind of ['ec', 'rsa'] as const) {
    it(`3 1 1 / 3 1 2 / 3 1 0 / 3 0 1 / 3 0 2 / 3 0 0 for the ${kind} leaf`, async () => {
      const leaf = f[kind];
      const chain = { kind: 'chain' as const, chain: f.chain(leaf) };
      const want = {
        '3 1 1': await shellHex(`${SPKI(leaf.certPath)} | sha256sum`),
        '3 1 2': await shellHex(`${SPKI(leaf.certPath)} | sha512sum`),
        '3 1 0': await shellHex(`${SPKI(leaf.certPath)} | od -An -v -tx1`),
        '3 0 1': await shellHex(`${CERT(leaf.certPath)} | sha256sum`),
        '3 0 2': await shellHex(`${CERT(leaf.certPath)} | sha512sum`),
        '3 0 0': await shellHex(`${CERT(leaf.certPath)} | od -An -v -tx1`),
      };
      for (const [params, data] of Object.entries(want)) {
        const [usage, selector, matching] = params.split(' ').map(Number) as [3, 0 | 1, 0 | 1 | 2];
        const rec = computeTlsa({ usage, selector, matching }, chain);
        assert.equal(formatTlsa(rec), `${params} ${data}`, params);
        assert.match(formatTlsa(rec), /^\d \d \d [0-9a-f]+$/, 'presentation form is lower-case hex');
      }
      assert.equal(want['3 1 1'].length, 64);
      assert.equal(want['3 1 2'].length, 128);
    });
  }

  it('2 x x matches the issuing CA (the certificate after the leaf), not the leaf', async () => {
    const chain = { kind: 'chain' as const, chain: f.chain(f.ec) };
    const inter = f.pki.intermediateCertPath;
    assert.equal(formatTlsa(computeTlsa({ usage: 2, selector: 1, matching: 1 }, chain)), `2 1 1 ${await shellHex(`${SPKI(inter)} | sha256sum`)}`);
    assert.equal(formatTlsa(computeTlsa({ usage: 2, selector: 0, matching: 2 }, chain)), `2 0 2 ${await shellHex(`${CERT(inter)} | sha512sum`)}`);
    // The same intermediate for every leaf it issued.
    assert.equal(
      formatTlsa(computeTlsa({ usage: 2, selector: 1, matching: 1 }, { kind: 'chain', chain: f.chain(f.rsa) })),
      formatTlsa(computeTlsa({ usage: 2, selector: 1, matching: 1 }, chain)),
    );
  });

  it('2 x x without an issuer in the file is an error with a hint', () => {
    assert.throws(
      () => computeTlsa({ usage: 2, selector: 1, matching: 1 }, { kind: 'chain', chain: [new X509Certificate(f.ec.certPem)] }),
      (e: Error & { code?: string; hint?: string }) => e.code === 'TLSA_NO_ISSUER_IN_CHAIN' && /RFC 7671/.test(e.hint ?? ''),
    );
  });

  it('a bare key gives the same 3 1 x record as its certificate; selector 0 needs a certificate', async () => {
    const key = { kind: 'key' as const, publicKey: f.publicKey(f.rsa) };
    const fromKey = await shellHex(`openssl pkey -in '${f.rsa.keyPath}' -pubout -outform DER | sha256sum`);
    assert.equal(formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 1 }, key)), `3 1 1 ${fromKey}`);
    assert.equal(
      formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 2 }, key)),
      formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 2 }, { kind: 'chain', chain: f.chain(f.rsa) })),
    );
    assert.throws(() => computeTlsa({ usage: 3, selector: 0, matching: 1 }, key), { code: 'TLSA_SELECTOR_NEEDS_CERT' });
  });

  it('parses presentation form: case-insensitive hex, white space inside the data (RFC 6698 §2.2)', () => {
    const hex = 'ab'.repeat(32);
    assert.deepEqual(parseTlsa(`3 1 1 ${hex.toUpperCase()}`), { usage: 3, selector: 1, matching: 1, data: hex });
    assert.deepEqual(parseTlsa(`  3 1 1 ${hex.slice(0, 10)} ${hex.slice(10)}  `)?.data, hex);
    assert.equal(canonicalTlsa(`3  1 1 ${hex.toUpperCase()}`), `3 1 1 ${hex}`);
    assert.equal(parseTlsa(`3 1 1 ${hex.slice(2)}`), undefined, 'SHA2-256 data must be 32 bytes');
    assert.equal(parseTlsa(`3 1 2 ${hex}`), undefined, 'SHA2-512 data must be 64 bytes');
    assert.equal(parseTlsa(`4 1 1 ${hex}`), undefined, 'unknown usage');
    assert.equal(parseTlsa(`3 2 1 ${hex}`), undefined, 'unknown selector');
    assert.equal(parseTlsa('3 1 0 abc'), undefined, 'odd number of hex digits');
    assert.equal(parseTlsa('3 1 1 zz'), undefined);
  });

  it('matches published records against a served chain', () => {
    const chain = f.chain(f.ec);
    const other = f.chain(f.ec2);
    for (const params of [
      { usage: 3, selector: 1, matching: 1 }, { usage: 3, selector: 0, matching: 2 }, { usage: 2, selector: 1, matching: 1 }, { usage: 2, selector: 0, matching: 0 },
    ] as const) {
      const rec = computeTlsa(params, { kind: 'chain', chain });
      assert.ok(recordMatchesChain(rec, chain), formatTlsa(rec));
      // DANE-TA: the other leaf has the same issuer, so it matches too; DANE-EE does not.
      assert.equal(recordMatchesChain(rec, other), params.usage === 2, `${formatTlsa(rec)} vs another leaf`);
    }
    const ee = computeTlsa({ usage: 3, selector: 1, matching: 1 }, { kind: 'chain', chain });
    // PKIX-EE(1) with the same data is unusable for SMTP (RFC 7672 §3.1.3).
    assert.equal(recordMatchesChain({ ...ee, usage: 1 }, chain), false);
    // A DANE-TA record must not match the leaf itself.
    assert.equal(recordMatchesChain({ ...ee, usage: 2 }, chain), false);
    assert.ok(recordMatchesKey(ee, f.publicKey(f.ec), 'ee'));
    assert.equal(recordMatchesKey(ee, f.publicKey(f.ec2), 'ee'), false);
  });

  it('recognises a public CA only when a chain CA is (or is signed by) a given root', () => {
    const chain = f.chain(f.ec);
    assert.equal(issuedByPublicCa(chain), false, 'the test PKI is not in Node\'s Mozilla store');
    assert.equal(issuedByPublicCa(chain, [new X509Certificate(f.pki.rootCertPem)]), true);
    assert.equal(issuedByPublicCa(chain, [new X509Certificate(f.pki.intermediateCertPem)]), true);
    assert.equal(issuedByPublicCa([chain[0]!], [new X509Certificate(f.pki.rootCertPem)]), false, 'leaf only: no CA to judge');
  });
});
