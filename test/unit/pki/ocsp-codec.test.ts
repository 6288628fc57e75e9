/**
 * The OCSP codec against OpenSSL: requests byte-identical to
 * `openssl ocsp -reqout`, responses made by `openssl ocsp` acting as a
 * responder on a request file (no server), read field by field and compared
 * with `openssl ocsp -resp_text` and node:crypto's X509Certificate.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors/index.js';
import {
  buildOcspRequest, certIdMatches, computeCertId, describeName, isIssuedBy, namesIssuer, OID, parseCertificateInfo,
  parseCertificatePemChain, parseIssuerCertificates, parseOcspResponse, publicKeyOf, responderIdMatches, verifySignedBytes,
  type CertificateInfo,
} from '../../../src/pki/index.js';
import { createTestPki, type LeafFiles, type OcspSignerFiles, type TestPki } from '../../support/pki.js';
import { runChecked } from '../../support/proc.js';

const info = (pem: string): CertificateInfo => parseCertificatePemChain(pem)[0]!;

describe('OCSP codec (src/pki/ocsp-codec.ts)', () => {
  let dir: string;
  let pki: TestPki;
  let leaf: LeafFiles;
  let rsaLeaf: LeafFiles;
  let revoked: LeafFiles;
  let signer: OcspSignerFiles;
  let rsaSigner: OcspSignerFiles;
  let n = 0;

  /** `openssl ocsp` as a responder on a request file: the response DER. */
  async function respond(certs: LeafFiles[], opts: { signer?: OcspSignerFiles | 'ca'; extra?: string[]; hash?: string } = {}): Promise<Buffer> {
    const id = ++n;
    const req = join(dir, `req-${id}.der`);
    const resp = join(dir, `resp-${id}.der`);
    // The digest option applies to the -cert options after it.
    await runChecked(['openssl', 'ocsp', '-issuer', pki.intermediateCertPath, ...(opts.hash ? [`-${opts.hash}`] : []),
      ...certs.flatMap((c) => ['-cert', c.certPath]), '-no_nonce', '-reqout', req]);
    const s = opts.signer ?? signer;
    await runChecked(['openssl', 'ocsp', '-index', pki.intermediateIndexPath, '-CA', pki.intermediateCertPath,
      '-rsigner', s === 'ca' ? pki.intermediateCertPath : s.certPath, '-rkey', s === 'ca' ? pki.intermediateKeyPath : s.keyPath,
      '-reqin', req, '-respout', resp, '-ndays', '2', ...(opts.extra ?? [])]);
    return readFile(resp);
  }

  async function respText(der: Buffer): Promise<string> {
    const f = join(dir, `text-${++n}.der`);
    await writeFile(f, der);
    return (await runChecked(['openssl', 'ocsp', '-respin', f, '-resp_text', '-noverify'])).stdout;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-codec-'));
    pki = await createTestPki(join(dir, 'pki'));
    leaf = await pki.issueLeaf({ name: 'mx', sans: ['mx.example.test'], ocspUrl: 'http://ocsp.example.test/', caIssuersUrl: 'http://ca.example.test/int.der', mustStaple: true });
    rsaLeaf = await pki.issueLeaf({ name: 'rsa', sans: ['rsa.example.test'], keyType: 'rsa' });
    revoked = await pki.issueLeaf({ name: 'gone', sans: ['gone.example.test'] });
    signer = await pki.issueOcspSigner({ name: 'OCSP signer' });
    rsaSigner = await pki.issueOcspSigner({ name: 'RSA OCSP signer', keyType: 'rsa' });
    await pki.revoke(revoked, { reason: 'keyCompromise' });
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('builds requests byte-identical to `openssl ocsp -reqout` and to pkijs (SHA-1 and SHA-256 CertIDs)', async () => {
    const [l, i] = parseCertificatePemChain(leaf.chainPem);
    const pkijs = await import('pkijs');
    const asPkijs = (der: Buffer) => pkijs.Certificate.fromBER(new Uint8Array(der));
    for (const hash of ['sha1', 'sha256'] as const) {
      const out = join(dir, `ours-${hash}.der`);
      await runChecked(['openssl', 'ocsp', '-issuer', pki.intermediateCertPath, `-${hash}`, '-cert', leaf.certPath, '-no_nonce', '-reqout', out]);
      const ours = buildOcspRequest(computeCertId(l!, i!, hash));
      assert.deepEqual(ours, await readFile(out), `${hash}: openssl`);
      const theirs = new pkijs.OCSPRequest();
      await theirs.createForCertificate(asPkijs(l!.der), { hashAlgorithm: hash === 'sha1' ? 'SHA-1' : 'SHA-256', issuerCertificate: asPkijs(i!.der) });
      assert.deepEqual(ours, Buffer.from(theirs.toSchema(true).toBER()), `${hash}: pkijs`);
    }
  });

  it('reads a delegated-signer response as openssl prints it', async () => {
    const der = await respond([leaf]);
    const text = await respText(der);
    const r = parseOcspResponse(der);
    assert.equal(r.status, 0);
    assert.equal(r.statusName, 'successful');
    assert.equal(r.responseType, OID.ocspBasic);
    const b = r.basic!;
    assert.equal(b.responses.length, 1);
    const s = b.responses[0]!;
    assert.equal(s.status, 'good');
    assert.equal(s.certId!.hashAlgorithm, 'sha1');
    assert.match(text, new RegExp(`Serial Number: ${s.serialHex.toUpperCase()}`));
    assert.equal(BigInt(`0x${s.serialHex}`), BigInt(`0x${new X509Certificate(leaf.certPem).serialNumber}`));
    const date = (label: string) => new Date(`${new RegExp(`${label}: (.+ GMT)`).exec(text)![1]}`);
    assert.equal(s.thisUpdate.getTime(), date('This Update').getTime());
    assert.equal(s.nextUpdate!.getTime(), date('Next Update').getTime());
    assert.equal(s.nextUpdate!.getTime() - s.thisUpdate.getTime(), 2 * 86_400_000);
    assert.equal(b.producedAt.getTime(), date('Produced At').getTime());
    assert.equal(b.certs.length, 1);
    assert.equal(b.certs[0]!.der.equals(new X509Certificate(signer.certPem).raw), true);
    const signerInfo = info(signer.certPem);
    assert.ok(responderIdMatches(b.responderId, signerInfo));
    assert.ok('byName' in b.responderId);
    assert.equal(describeName((b.responderId as { byName: Buffer }).byName), 'CN=OCSP signer');
    assert.ok(verifySignedBytes(b.tbs, b.signatureAlgorithm, b.signature, publicKeyOf(signerInfo)));
    const [l, i] = parseCertificatePemChain(leaf.chainPem);
    assert.ok(certIdMatches(s, l!, i!));
    assert.equal(certIdMatches(s, info(rsaLeaf.certPem), i!), false);
  });

  it('rejects a signature under another key or over altered bytes', async () => {
    const der = await respond([leaf]);
    const b = parseOcspResponse(der).basic!;
    assert.equal(verifySignedBytes(b.tbs, b.signatureAlgorithm, b.signature, publicKeyOf(info(pki.intermediateCertPem))), false);
    const altered = Buffer.from(b.tbs);
    altered[altered.length - 3]! ^= 0x01;
    assert.equal(verifySignedBytes(altered, b.signatureAlgorithm, b.signature, publicKeyOf(info(signer.certPem))), false);
  });

  it('verifies RSA PKCS#1 v1.5 and RSASSA-PSS signatures', async () => {
    for (const extra of [[], ['-rsigopt', 'rsa_padding_mode:pss']]) {
      const b = parseOcspResponse(await respond([rsaLeaf], { signer: rsaSigner, extra })).basic!;
      assert.equal(b.signatureAlgorithm.oid === OID.rsaPss, extra.length > 0);
      assert.ok(verifySignedBytes(b.tbs, b.signatureAlgorithm, b.signature, publicKeyOf(info(rsaSigner.certPem))), JSON.stringify(extra));
      assert.equal(verifySignedBytes(b.tbs, b.signatureAlgorithm, b.signature, publicKeyOf(info(signer.certPem))), false, 'EC key, RSA signature');
    }
  });

  it('reads responderID byKey, CA-signed responses without certs, SHA-256 CertIDs', async () => {
    const b = parseOcspResponse(await respond([leaf], { signer: 'ca', extra: ['-resp_key_id', '-resp_no_certs'], hash: 'sha256' })).basic!;
    assert.ok('byKeyHash' in b.responderId);
    assert.equal(b.certs.length, 0);
    const [l, i] = parseCertificatePemChain(leaf.chainPem);
    assert.ok(responderIdMatches(b.responderId, i!));
    assert.equal(responderIdMatches(b.responderId, info(signer.certPem)), false);
    assert.equal(b.responses[0]!.certId!.hashAlgorithm, 'sha256');
    assert.ok(certIdMatches(b.responses[0]!, l!, i!));
  });

  it('reads revoked (time, reason) and unknown statuses, and several SingleResponses in order', async () => {
    const b = parseOcspResponse(await respond([revoked])).basic!;
    assert.equal(b.responses[0]!.status, 'revoked');
    assert.equal(b.responses[0]!.revocationReason, 'keyCompromise');
    assert.ok(Math.abs(b.responses[0]!.revocationTime!.getTime() - Date.now()) < 600_000);
    const other = await createTestPki(join(dir, 'other-pki'));
    const stranger = await other.issueLeaf({ name: 'stranger', sans: ['s.example.test'] });
    // An index without this serial: openssl answers unknown.
    const u = parseOcspResponse(await respond([stranger])).basic!;
    assert.equal(u.responses[0]!.status, 'unknown');
    const two = parseOcspResponse(await respond([rsaLeaf, leaf])).basic!;
    assert.deepEqual(two.responses.map((r) => r.serialHex), [info(rsaLeaf.certPem).serialHex, info(leaf.certPem).serialHex]);
  });

  it('is strict DER: empty, truncated, trailing bytes and BER indefinite lengths are OCSP_UNPARSABLE', async () => {
    const der = await respond([leaf]);
    const bad: Array<[string, Buffer]> = [
      ['empty', Buffer.alloc(0)],
      ['truncated', der.subarray(0, der.length - 10)],
      ['half', der.subarray(0, der.length >> 1)],
      ['trailing', Buffer.concat([der, Buffer.from([0])])],
      ['indefinite', Buffer.from([0x30, 0x80, 0x0a, 0x01, 0x00, 0x00, 0x00])],
      ['html', Buffer.from('<!doctype html><html></html>')],
      ['non-minimal length', Buffer.from([0x30, 0x81, 0x03, 0x0a, 0x01, 0x00])],
    ];
    for (const [label, bytes] of bad) {
      assert.throws(() => parseOcspResponse(bytes), (e: unknown) => e instanceof ValidationError && e.code === 'OCSP_UNPARSABLE', label);
    }
  });

  it('reads non-successful statuses (tryLater, malformedRequest) without responseBytes', () => {
    const tryLater = parseOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x03]));
    assert.equal(tryLater.statusName, 'tryLater');
    assert.equal(tryLater.basic, undefined);
    assert.equal(parseOcspResponse(Buffer.from([0x30, 0x03, 0x0a, 0x01, 0x01])).statusName, 'malformedRequest');
  });

  it('reads the certificate fields OCSP needs, agreeing with node:crypto', () => {
    const l = info(leaf.certPem);
    const x = new X509Certificate(leaf.certPem);
    assert.equal(BigInt(`0x${l.serialHex}`), BigInt(`0x${x.serialNumber}`));
    assert.equal(l.notBefore.getTime(), new Date(x.validFrom).getTime());
    assert.equal(l.notAfter.getTime(), new Date(x.validTo).getTime());
    assert.equal(l.fingerprintSha256, x.fingerprint256.replace(/:/g, '').toLowerCase());
    assert.equal(l.subject, 'CN=mx');
    assert.equal(l.issuer, 'CN=tlskeeper test intermediate CA');
    assert.deepEqual(l.ocspUrls, ['http://ocsp.example.test/']);
    assert.deepEqual(l.caIssuersUrls, ['http://ca.example.test/int.der']);
    assert.equal(l.mustStaple, true);
    assert.equal(info(rsaLeaf.certPem).mustStaple, false);
    assert.deepEqual(info(rsaLeaf.certPem).ocspUrls, []);
    assert.equal(l.isCa, false);
    assert.equal(info(pki.intermediateCertPem).isCa, true);
    const s = info(signer.certPem);
    assert.deepEqual(s.extendedKeyUsage, [OID.kpOcspSigning]);
    assert.equal(s.ocspNoCheck, true);
    assert.equal(l.extendedKeyUsage?.includes(OID.kpOcspSigning), false);
    assert.ok(l.authorityKeyId!.equals(info(pki.intermediateCertPem).subjectKeyId!));
    assert.equal(l.spkiDer.equals(x.publicKey.export({ type: 'spki', format: 'der' })), true);
  });

  it('tells issuers apart by names and key identifiers, and proves issuance by signature', async () => {
    const [l, i] = parseCertificatePemChain(leaf.chainPem);
    const root = info(pki.rootCertPem);
    const other = await pki.createOtherCa('tlskeeper test intermediate CA'); // same name, other key
    const impostor = info(other.certPem);
    assert.ok(namesIssuer(l!, i!));
    assert.ok(isIssuedBy(l!, i!));
    assert.equal(namesIssuer(l!, root), false);
    assert.equal(isIssuedBy(l!, root), false);
    assert.equal(namesIssuer(l!, impostor), false, 'key identifiers differ');
    assert.equal(isIssuedBy(l!, impostor), false);
    assert.ok(isIssuedBy(i!, root));
  });

  it('reads AIA caIssuers bodies: DER, PEM and PKCS#7 certs-only', async () => {
    const der = info(pki.intermediateCertPem).der;
    const p7 = join(dir, 'int.p7c');
    await runChecked(['openssl', 'crl2pkcs7', '-nocrl', '-certfile', pki.intermediateCertPath, '-outform', 'DER', '-out', p7]);
    for (const [label, body] of [['DER', der], ['PEM', Buffer.from(pki.intermediateCertPem)], ['PKCS#7', await readFile(p7)]] as const) {
      const certs = parseIssuerCertificates(body);
      assert.equal(certs.length, 1, label);
      assert.ok(certs[0]!.der.equals(der), label);
    }
    assert.throws(() => parseIssuerCertificates(Buffer.from('<html>')), (e: unknown) => e instanceof ValidationError && e.code === 'OCSP_ISSUER_UNPARSABLE');
  });

  it('rejects what is not a certificate', () => {
    assert.throws(() => parseCertificateInfo(Buffer.from([0x30, 0x03, 0x02, 0x01, 0x01])), (e: unknown) => e instanceof ValidationError && e.code === 'CERT_UNPARSABLE');
    assert.throws(() => parseCertificatePemChain('no pem here'), (e: unknown) => e instanceof ValidationError && e.code === 'CERT_NOT_PEM');
  });
});
