/**
 * RFC 6960 policy (src/ocsp/validate.ts) on responses made by `openssl ocsp`
 * acting as a responder on request files (no server), and — only for an
 * unknown critical extension, which openssl cannot produce — on a response
 * forged with test/support/der-forge.ts and signed with the test CA's key.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ValidationError } from '../../../src/errors/index.js';
import {
  CLOCK_SKEW_MS, examineStaple, OcspCertStatusError, stapleTimeProblem, validateFetchedStaple, type ExaminedStaple, type StapleSubject,
} from '../../../src/ocsp/index.js';
import { parseCertificatePemChain, type CertificateInfo } from '../../../src/pki/index.js';
import { forgeOcspResponse } from '../../support/der-forge.js';
import { unsuccessfulOcspResponse } from '../../support/fake-ocsp-http.js';
import { createTestPki, type LeafFiles, type OcspSignerFiles, type TestPki } from '../../support/pki.js';
import { runChecked } from '../../support/proc.js';

const DAY = 86_400_000;

describe('RFC 6960 validation of a response for a certificate', () => {
  let dir: string;
  let pki: TestPki;
  let T0: Date;
  let mx: LeafFiles;
  let other: LeafFiles;
  let revoked: LeafFiles;
  let subject: StapleSubject;
  const signers: Record<string, OcspSignerFiles> = {};
  let n = 0;

  async function respondWithIndex(index: string, certs: LeafFiles[]): Promise<Buffer> {
    const id = ++n;
    const req = join(dir, `req-${id}.der`);
    const resp = join(dir, `resp-${id}.der`);
    await runChecked(['openssl', 'ocsp', '-issuer', pki.intermediateCertPath, ...certs.flatMap((c) => ['-cert', c.certPath]), '-no_nonce', '-reqout', req]);
    await runChecked(['openssl', 'ocsp', '-index', index, '-CA', pki.intermediateCertPath, '-rsigner', signers.good!.certPath, '-rkey', signers.good!.keyPath,
      '-reqin', req, '-respout', resp, '-ndays', '1']);
    return readFile(resp);
  }

  async function respond(certs: LeafFiles[], opts: { signer?: OcspSignerFiles | 'ca'; ndays?: number; extra?: string[] } = {}): Promise<Buffer> {
    const id = ++n;
    const req = join(dir, `req-${id}.der`);
    const resp = join(dir, `resp-${id}.der`);
    await runChecked(['openssl', 'ocsp', '-issuer', pki.intermediateCertPath, ...certs.flatMap((c) => ['-cert', c.certPath]), '-no_nonce', '-reqout', req]);
    const s = opts.signer ?? signers.good!;
    await runChecked(['openssl', 'ocsp', '-index', pki.intermediateIndexPath, '-CA', pki.intermediateCertPath,
      '-rsigner', s === 'ca' ? pki.intermediateCertPath : s.certPath, '-rkey', s === 'ca' ? pki.intermediateKeyPath : s.keyPath,
      '-reqin', req, '-respout', resp, ...(opts.ndays === undefined ? [] : ['-ndays', String(opts.ndays)]), ...(opts.extra ?? [])]);
    return readFile(resp);
  }

  /** `examineStaple` on the awaited response throws the ValidationError `c`. */
  async function rejects(der: Promise<Buffer>, c: string, s: StapleSubject = subject): Promise<void> {
    const bytes = await der;
    assert.throws(() => examineStaple(bytes, s), code(c));
  }

  const code = (c: string) => (e: unknown) => e instanceof ValidationError && e.code === c && /^certificate mx: the response /.test(e.message) && Boolean(e.hint);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-validate-'));
    pki = await createTestPki(join(dir, 'pki'));
    T0 = new Date();
    const from = new Date(T0.getTime() - 3 * DAY);
    const otherCa = await pki.createOtherCa('unrelated CA');
    signers.good = await pki.issueOcspSigner({ name: 'OCSP signer', notBefore: from, notAfter: new Date(T0.getTime() + 30 * DAY) });
    signers.short = await pki.issueOcspSigner({ name: 'short-lived signer', notBefore: from, notAfter: new Date(T0.getTime() + DAY) });
    signers.noEku = await pki.issueOcspSigner({ name: 'no EKU', ekuOcspSigning: false, notBefore: from });
    signers.foreign = await pki.issueOcspSigner({ name: 'foreign signer', issuer: otherCa, notBefore: from });
    mx = await pki.issueLeaf({ name: 'mx', sans: ['mx.example.test'], notBefore: from, days: 90 });
    other = await pki.issueLeaf({ name: 'other', sans: ['other.example.test'], notBefore: from });
    revoked = await pki.issueLeaf({ name: 'gone', sans: ['gone.example.test'], notBefore: from });
    await pki.revoke(revoked, { reason: 'superseded' });
    const [leaf, issuer] = parseCertificatePemChain(mx.chainPem);
    subject = { name: 'mx', leaf: leaf!, issuer: issuer!, source: 'the response' };
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('accepts a good delegated-signer response; effective expiry is nextUpdate, refresh at half-life', async () => {
    const ex = validateFetchedStaple(await respond([mx], { ndays: 4 }), subject, new Date());
    assert.equal(ex.certStatus, 'good');
    assert.equal(ex.signer?.role, 'delegated');
    assert.equal(ex.expiryReason, 'nextUpdate');
    assert.equal(ex.effectiveExpiry.getTime(), ex.nextUpdate.getTime());
    assert.equal(ex.refreshAt.getTime(), ex.thisUpdate.getTime() + 2 * DAY);
  });

  it("the seed's case: a signer expiring before nextUpdate bounds the proof's life", async () => {
    const ex = validateFetchedStaple(await respond([mx], { signer: signers.short, ndays: 7 }), subject, new Date());
    const signerNotAfter = parseCertificatePemChain(signers.short!.certPem)[0]!.notAfter;
    assert.equal(ex.expiryReason, 'signer');
    assert.equal(ex.effectiveExpiry.getTime(), signerNotAfter.getTime());
    assert.ok(ex.refreshAt.getTime() < signerNotAfter.getTime());
    assert.equal(ex.refreshAt.getTime(), ex.thisUpdate.getTime() + Math.floor((signerNotAfter.getTime() - ex.thisUpdate.getTime()) / 2));
    // Once the signer has expired, the proof is rejected although nextUpdate is days away.
    const problem = stapleTimeProblem(ex, subject, new Date(signerNotAfter.getTime() + 1000));
    assert.equal(problem?.code, 'OCSP_SIGNER_EXPIRED');
  });

  it('the leaf expiring before nextUpdate bounds it too', async () => {
    const shortLeaf = await pki.issueLeaf({ name: 'short', sans: ['short.example.test'], notBefore: new Date(T0.getTime() - DAY), notAfter: new Date(T0.getTime() + DAY) });
    const [l, i] = parseCertificatePemChain(shortLeaf.chainPem);
    const ex = examineStaple(await respond([shortLeaf], { ndays: 7 }), { name: 'short', leaf: l!, issuer: i!, source: 'the response' });
    assert.equal(ex.expiryReason, 'leaf');
    assert.equal(ex.effectiveExpiry.getTime(), l!.notAfter.getTime());
  });

  it('accepts a CA-signed response without certificates and a responderID by key', async () => {
    const ex = validateFetchedStaple(await respond([mx], { signer: 'ca', ndays: 1, extra: ['-resp_no_certs', '-resp_key_id'] }), subject, new Date());
    assert.equal(ex.signer?.role, 'issuer');
    assert.match(ex.responderId, /^byKey /);
  });

  it('rejects signers the CA did not authorise (RFC 6960 §4.2.2.2)', async () => {
    assert.throws(() => examineStaple(Buffer.from([]), subject), (e: unknown) => e instanceof ValidationError && e.code === 'OCSP_EMPTY');
    await rejects(respond([mx], { signer: signers.noEku, ndays: 1 }), 'OCSP_SIGNER_NOT_AUTHORIZED');
    await rejects(respond([mx], { signer: signers.foreign, ndays: 1 }), 'OCSP_SIGNER_WRONG_ISSUER');
    // A signer certificate that is not in the response (and is not the issuer) cannot be found.
    await rejects(respond([mx], { ndays: 1, extra: ['-resp_no_certs'] }), 'OCSP_SIGNER_NOT_FOUND');
    await rejects(respond([mx], { ndays: 1, extra: ['-badsig'] }), 'OCSP_BAD_SIGNATURE');
  });

  it('requires exactly one matching SingleResponse, and it must be the first (GnuTLS checks only that one)', async () => {
    await rejects(respond([other], { ndays: 1 }), 'OCSP_WRONG_CERTIFICATE');
    await rejects(respond([other, mx], { ndays: 1 }), 'OCSP_MATCH_NOT_FIRST');
    await rejects(respond([mx, mx], { ndays: 1 }), 'OCSP_AMBIGUOUS_RESPONSE');
    // Wrong issuer key (same name): the CertID does not match.
    const impostor = parseCertificatePemChain((await pki.createOtherCa('tlskeeper test intermediate CA')).certPem)[0]!;
    await rejects(respond([mx], { ndays: 1 }), 'OCSP_WRONG_CERTIFICATE', { ...subject, issuer: impostor });
  });

  it('requires nextUpdate', async () => {
    await rejects(respond([mx]), 'OCSP_NO_NEXT_UPDATE');
  });

  it('revoked and unknown are valid responses that are never installed', async () => {
    const [l, i] = parseCertificatePemChain(revoked.chainPem);
    const revokedDer = await respond([revoked], { ndays: 1 });
    assert.throws(() => validateFetchedStaple(revokedDer, { name: 'mx', leaf: l!, issuer: i!, source: 'the response' }, new Date()),
      (e: unknown) => e instanceof OcspCertStatusError && e.code === 'OCSP_CERT_REVOKED' && e.examined.revocationReason === 'superseded');
    const empty = join(dir, 'empty-index.txt');
    await writeFile(empty, '');
    const unknownDer = await respondWithIndex(empty, [mx]);
    assert.throws(() => validateFetchedStaple(unknownDer, subject, new Date()),
      (e: unknown) => e instanceof OcspCertStatusError && e.code === 'OCSP_CERT_UNKNOWN' && e.examined.certStatus === 'unknown');
  });

  it('rejects an unknown critical extension (forged: openssl cannot produce one) and accepts a known one', () => {
    const base = { leafPem: mx.certPem, issuerPem: pki.intermediateCertPem, issuerKeyPem: pki.intermediate.keyPem, thisUpdate: new Date(Date.now() - 60_000), nextUpdate: new Date(Date.now() + DAY) };
    const ok = forgeOcspResponse(base);
    assert.equal(validateFetchedStaple(ok, subject, new Date()).signer?.role, 'issuer', 'the forge makes valid responses');
    const nonce = forgeOcspResponse({ ...base, responseExtensions: [['1.3.6.1.5.5.7.48.1.2', true, Buffer.from([0x04, 0x02, 0x01, 0x02])]] });
    assert.equal(validateFetchedStaple(nonce, subject, new Date()).certStatus, 'good', 'a critical nonce is understood');
    const unknown = forgeOcspResponse({ ...base, responseExtensions: [['1.2.3.4.5.6.7', true, Buffer.from([0x05, 0x00])]] });
    assert.throws(() => validateFetchedStaple(unknown, subject, new Date()), code('OCSP_UNKNOWN_CRITICAL_EXTENSION'));
    const harmless = forgeOcspResponse({ ...base, responseExtensions: [['1.2.3.4.5.6.7', false, Buffer.from([0x05, 0x00])]] });
    assert.equal(validateFetchedStaple(harmless, subject, new Date()).certStatus, 'good', 'non-critical unknown extensions are ignored');
  });

  it('an answer that is not a proof: every non-successful OCSPResponseStatus, and a response type other than basic (RFC 6960 §4.2.1)', () => {
    for (const [status, c, text] of [[1, 'OCSP_MALFORMED_REQUEST', 'malformedRequest'], [2, 'OCSP_INTERNAL_ERROR', 'internalError'], [3, 'OCSP_TRY_LATER', 'tryLater'],
      [5, 'OCSP_SIG_REQUIRED', 'sigRequired'], [6, 'OCSP_UNAUTHORIZED', 'unauthorized']] as const) {
      assert.throws(() => examineStaple(unsuccessfulOcspResponse(status), subject),
        (e: unknown) => code(c)(e) && (e as Error).message.includes(`"${text}" (OCSPResponseStatus ${status})`), text);
    }
    // successful, responseBytes { responseType 1.2.3.4, response OCTET STRING (empty) }
    const otherType = Buffer.from('300e0a0100a009300706032a03040400', 'hex');
    assert.throws(() => examineStaple(otherType, subject),
      (e: unknown) => code('OCSP_UNSUPPORTED_RESPONSE_TYPE')(e) && /response type 1\.2\.3\.4, not id-pkix-ocsp-basic/.test((e as Error).message));
  });

  it('time rules: thisUpdate may be a little in the future (skew), not more; expired at nextUpdate', () => {
    const leaf = subject.leaf as CertificateInfo;
    const t = Date.UTC(2030, 0, 10);
    const ex: ExaminedStaple = {
      certStatus: 'good', thisUpdate: new Date(t), nextUpdate: new Date(t + 4 * DAY), producedAt: new Date(t), responderId: 'byName CN=x',
      signer: { role: 'delegated', subject: 'CN=signer', serialHex: '01', notBefore: new Date(t - DAY), notAfter: new Date(t + 30 * DAY) },
      effectiveExpiry: new Date(t + 4 * DAY), expiryReason: 'nextUpdate', refreshAt: new Date(t + 2 * DAY),
    };
    const s = { ...subject, leaf: { ...leaf, notAfter: new Date(t + 90 * DAY) } };
    assert.equal(stapleTimeProblem(ex, s, new Date(t)), undefined);
    assert.equal(stapleTimeProblem(ex, s, new Date(t - CLOCK_SKEW_MS + 1000)), undefined, 'within the skew');
    assert.equal(stapleTimeProblem(ex, s, new Date(t - 2 * DAY))?.code, 'OCSP_SIGNER_NOT_YET_VALID');
    assert.equal(stapleTimeProblem({ ...ex, signer: { ...ex.signer!, notBefore: new Date(t - 3 * DAY) } }, s, new Date(t - DAY))?.code, 'OCSP_THIS_UPDATE_IN_FUTURE');
    assert.equal(stapleTimeProblem(ex, s, new Date(t + 4 * DAY))?.code, 'OCSP_RESPONSE_EXPIRED');
    assert.equal(stapleTimeProblem(ex, { ...s, leaf: { ...leaf, notAfter: new Date(t + DAY) } }, new Date(t + 2 * DAY))?.code, 'OCSP_CERTIFICATE_EXPIRED');
  });

  it('without the issuer, only serial and issuer-name hash are compared and nothing is verified', async () => {
    const ex = examineStaple(await respond([mx], { ndays: 1 }), { ...subject, issuer: undefined });
    assert.equal(ex.signer, undefined);
    await rejects(respond([other], { ndays: 1 }), 'OCSP_WRONG_CERTIFICATE', { ...subject, issuer: undefined });
    const der = await respond([mx], { ndays: 1 });
    assert.throws(() => validateFetchedStaple(der, { ...subject, issuer: undefined }, new Date()),
      (e: unknown) => e instanceof ValidationError && e.code === 'OCSP_ISSUER_UNKNOWN');
  });
});
