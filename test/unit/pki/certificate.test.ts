// Must-Staple (RFC 7633) is read by the DER codec, with pkijs as the fallback;
// and pkijs is not loaded on the common paths (it costs ~90 ms at start).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { describeCertificate, hasMustStaple, parseCertificatePemChain, toPkijs } from '../../../src/pki/index.js';
import { createTestPki, type LeafFiles } from '../../support/pki.js';

const loaded = (pkg: string): boolean => Object.keys(createRequire(import.meta.url).cache).some((p) => p.includes(`/node_modules/${pkg}/`));

describe('certificate facts', () => {
  let dir: string;
  let mustStaple: LeafFiles;
  let plain: LeafFiles;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-cert-facts-'));
    const pki = await createTestPki(join(dir, 'pki'));
    mustStaple = await pki.issueLeaf({ name: 'ms', sans: ['ms.example.test'], ocspUrl: 'http://ocsp.example.test/', mustStaple: true });
    plain = await pki.issueLeaf({ name: 'plain', sans: ['plain.example.test'], keyType: 'rsa' });
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('reads certificates, OCSP data and Must-Staple without loading pkijs or asn1js', () => {
    const ms = describeCertificate(new X509Certificate(mustStaple.certPem));
    const p = describeCertificate(new X509Certificate(plain.certPem));
    parseCertificatePemChain(mustStaple.chainPem);
    assert.equal(ms.mustStaple, true);
    assert.equal(p.mustStaple, false);
    assert.equal(loaded('pkijs'), false, 'pkijs loaded');
    assert.equal(loaded('asn1js'), false, 'asn1js loaded');
  });

  it('the codec and pkijs agree on Must-Staple', () => {
    for (const [pem, expected] of [[mustStaple.certPem, true], [plain.certPem, false]] as const) {
      const cert = new X509Certificate(pem);
      assert.equal(hasMustStaple(cert), expected);
      const viaPkijs = toPkijs(cert).extensions?.some((e) => e.extnID === '1.3.6.1.5.5.7.1.24') ?? false;
      assert.equal(viaPkijs, expected);
    }
    assert.equal(loaded('pkijs'), true, 'toPkijs loads it on demand');
  });
});
