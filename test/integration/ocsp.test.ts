/**
 * `tlskeeper refresh ocsp` / `status` against real `openssl ocsp` responders
 * and a test PKI made with openssl, driven through the CLI with an injected
 * clock. Faults no real responder can be made to show (HTTP errors, HTML,
 * truncated/huge bodies, hangs, tryLater, a response for another
 * certificate) come from test/support/fake-ocsp-http.ts, and those cases say
 * so.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildOcspRequest, computeCertId, parseCertificatePemChain } from '../../src/pki/index.js';
import { tlskeeper } from '../support/cli.js';
import { startFakeOcspHttp, type FakeOcspHttp } from '../support/fake-ocsp-http.js';
import { ocspResponseText, startOcspResponder, type OcspResponder, type OcspResponderOptions } from '../support/ocsp-responder.js';
import { createTestPki, type LeafFiles, type OcspSignerFiles, type TestPki } from '../support/pki.js';
import { freePort, run } from '../support/proc.js';
import { startStaticHttp, type StaticHttp } from '../support/static-http.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

interface Entry {
  name: string;
  leaf: LeafFiles;
  /** Certificate file to configure (default: leaf + chain). */
  cert?: string;
  ocspFile?: string;
  url?: string;
  timeout?: string;
  hash?: 'sha1' | 'sha256';
  missingOk?: boolean;
  reload?: string[];
  mode?: string;
  group?: string;
}

describe('ocsp staples (openssl ocsp responders)', () => {
  let dir: string;
  let pki: TestPki;
  /** Real time when the PKI was made; clocks are injected relative to it. */
  let T0: Date;
  const responders: Record<string, OcspResponder> = {};
  let fake: FakeOcspHttp;
  let aia: StaticHttp;
  let mx: LeafFiles;
  /** Every leaf is issued before the responders start: OpenSSL's responder re-reads index.txt only lazily. */
  const leaves: Record<string, LeafFiles> = {};
  let goodProof: Buffer;
  let signers: Record<string, OcspSignerFiles>;
  let caseNo = 0;

  const yaml = (entries: Entry[], stateDir: string): string => [
    `state_dir: ${stateDir}`,
    'certificates:',
    ...entries.flatMap((e) => [
      `  - name: ${e.name}`,
      `    cert: ${e.cert ?? e.leaf.chainPath}`,
      `    key: ${e.leaf.keyPath}`,
      ...(e.ocspFile ? [`    ocsp_file: ${e.ocspFile}`] : []),
      `    ocsp: {${[e.url ? `url: "${e.url}"` : '', e.timeout ? `timeout: ${e.timeout}` : '', e.hash ? `hash: ${e.hash}` : '', e.mode ? `mode: "${e.mode}"` : ''].filter(Boolean).join(', ')}}`,
      ...(e.missingOk ? ['    ocsp_missing_ok: true'] : []),
      ...(e.reload ? [`    reload: ${JSON.stringify(e.reload)}`] : []),
      ...(e.group ? [`    group: ${e.group}`] : []),
    ]),
    '',
  ].join('\n');

  /** A config file in a fresh directory with its own state. */
  async function configFor(...entries: Entry[]): Promise<{ cfg: string; stateDir: string; caseDir: string }> {
    const caseDir = join(dir, `case-${++caseNo}`);
    await mkdir(caseDir, { recursive: true });
    const stateDir = join(caseDir, 'state');
    const cfg = join(caseDir, 'tlskeeper.yaml');
    await writeFile(cfg, yaml(entries, stateDir));
    return { cfg, stateDir, caseDir };
  }

  async function refresh(cfg: string, opts: { now?: Date; force?: boolean; dryRun?: boolean } = {}) {
    const args = ['--config', cfg, '--json', 'refresh', ...(opts.force ? ['--force'] : []), ...(opts.dryRun ? ['--dry-run'] : []), 'ocsp'];
    const res = await tlskeeper(args, { now: opts.now ?? new Date() });
    const doc = res.json<{ results: any[]; plans: any[]; reloads: any[]; exitCode: number }>();
    return { ...res, doc };
  }

  async function status(cfg: string, now: Date = new Date()) {
    const res = await tlskeeper(['--config', cfg, '--json', 'status'], { now });
    const doc = res.json<{ severity: string; entries: any[] }>();
    return { ...res, doc, ocsp: doc.entries.filter((e) => e.kind === 'ocsp') };
  }

  async function responder(name: string, opts: Partial<OcspResponderOptions> & { signer?: OcspSignerFiles | 'ca' }): Promise<OcspResponder> {
    const signer = opts.signer ?? signers.good!;
    const r = await startOcspResponder({
      dir: join(dir, 'responders'),
      indexPath: pki.intermediateIndexPath,
      caCertPath: pki.intermediateCertPath,
      signerCertPath: signer === 'ca' ? pki.intermediateCertPath : signer.certPath,
      signerKeyPath: signer === 'ca' ? pki.intermediateKeyPath : signer.keyPath,
      ...opts,
    });
    responders[name] = r;
    return r;
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-ocsp-'));
    pki = await createTestPki(join(dir, 'pki'));
    T0 = new Date();
    const from = new Date(T0.getTime() - 3 * DAY);
    const otherCa = await pki.createOtherCa('unrelated CA');
    // An index that knows none of the leaves: its responder answers "unknown".
    await copyFile(pki.intermediateIndexPath, join(dir, 'empty-index.txt'));
    const [good, seed, expired, noEku, foreign] = await Promise.all([
      pki.issueOcspSigner({ name: 'OCSP signer', notBefore: from, notAfter: new Date(T0.getTime() + 30 * DAY) }),
      // The seed's failure mode: valid now, expiring long before the proof's nextUpdate.
      pki.issueOcspSigner({ name: 'OCSP signer expiring soon', notBefore: from, notAfter: new Date(T0.getTime() + DAY) }),
      pki.issueOcspSigner({ name: 'OCSP signer expired', notBefore: new Date(T0.getTime() - 10 * DAY), notAfter: new Date(T0.getTime() - DAY) }),
      pki.issueOcspSigner({ name: 'signer without OCSPSigning', ekuOcspSigning: false, notBefore: from, notAfter: new Date(T0.getTime() + 30 * DAY) }),
      pki.issueOcspSigner({ name: 'OCSP signer of another CA', issuer: otherCa, notBefore: from, notAfter: new Date(T0.getTime() + 30 * DAY) }),
    ]);
    signers = { good, seed, expired, noEku, foreign };
    const [goodPort, seedPort, revokePort] = await Promise.all([freePort(), freePort(), freePort()]);
    const good_ = `http://127.0.0.1:${goodPort}`;
    const recent = new Date(T0.getTime() - DAY);
    const specs: Array<Parameters<TestPki['issueLeaf']>[0]> = [
      { name: 'mx', sans: ['mx.example.test'], ocspUrl: good_, notBefore: from, days: 90 },
      { name: 'seed', sans: ['seed.example.test'], ocspUrl: `http://127.0.0.1:${seedPort}`, notBefore: recent },
      { name: 'revoked', sans: ['revoked.example.test'], ocspUrl: `http://127.0.0.1:${revokePort}`, notBefore: recent },
      { name: 'le', sans: ['le.example.test'] },
      { name: 'le2', sans: ['le2.example.test'] },
      { name: 'ms1', sans: ['ms1.example.test'], mustStaple: true },
      { name: 'ms2', sans: ['ms2.example.test'], mustStaple: true, ocspUrl: good_, notBefore: recent },
      { name: 'o2', sans: ['o2.example.test'], ocspUrl: good_, notBefore: recent },
      { name: 'other', sans: ['other.example.test'], notBefore: from },
    ];
    for (const spec of specs) leaves[spec.name] = await pki.issueLeaf(spec);
    mx = leaves.mx!;
    await Promise.all([
      responder('good', { port: goodPort, nextUpdateDays: 4 }),
      responder('ca', { signer: 'ca', noCerts: true, nextUpdateDays: 4 }),
      responder('keyId', { respKeyId: true, nextUpdateDays: 4 }),
      responder('seed', { port: seedPort, signer: seed, nextUpdateDays: 7 }),
      responder('revoke', { port: revokePort, nextUpdateDays: 4 }),
      responder('expiredSigner', { signer: expired, nextUpdateDays: 4 }),
      responder('noEku', { signer: noEku, nextUpdateDays: 4 }),
      responder('foreign', { signer: foreign, nextUpdateDays: 4 }),
      responder('noNext', { noNextUpdate: true }),
      responder('badSig', { badSignature: true, nextUpdateDays: 4 }),
      responder('unknown', { indexPath: join(dir, 'empty-index.txt'), nextUpdateDays: 4 }),
    ]);
    // AIA leaves point at the static server, which must exist first.
    aia = await startStaticHttp({
      '/intermediate.der': { type: 'application/pkix-cert', body: parseCertificatePemChain(pki.intermediateCertPem)[0]!.der },
      '/wrong.der': { type: 'application/pkix-cert', body: parseCertificatePemChain(otherCa.certPem)[0]!.der },
    });
    leaves.aia = await pki.issueLeaf({ name: 'aia', sans: ['aia.example.test'], ocspUrl: good_, caIssuersUrl: `${aia.url}/intermediate.der`, notBefore: recent });
    leaves.aia2 = await pki.issueLeaf({ name: 'aia2', sans: ['aia2.example.test'], ocspUrl: good_, caIssuersUrl: `${aia.url}/wrong.der`, notBefore: recent });
    await responders.good!.restart(); // see the two leaves just issued
    const [otherLeaf, otherIssuer] = parseCertificatePemChain(leaves.other!.chainPem);
    // Fake only for what a real responder cannot be made to do (see the file's header).
    fake = await startFakeOcspHttp({ upstreamUrl: responders.good!.url, otherRequest: buildOcspRequest(computeCertId(otherLeaf!, otherIssuer!)) });

    // One good proof for mx, the "existing file" of every failure case.
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: join(dir, 'mx-baseline.ocsp') });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    goodProof = await readFile(join(dir, 'mx-baseline.ocsp'));
  });

  after(async () => {
    await Promise.all(Object.values(responders).map((r) => r.stop()));
    await fake?.stop();
    await aia?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** A staple file holding the baseline good proof, for a case that must leave it alone. */
  async function existingStaple(name = 'mx'): Promise<string> {
    const file = join(dir, `${name}-${++caseNo}.ocsp`);
    await writeFile(file, goodProof);
    return file;
  }

  it('installs a good proof from the responder named in the certificate; status reports it', async () => {
    const file = join(dir, 'mx-install.ocsp');
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stderr);
    const step = r.doc.results.find((x) => x.object === 'mx');
    assert.equal(step.outcome, 'changed');
    assert.match(step.message, /installed a good proof .* \(GET\)/);
    const text = await ocspResponseText(file);
    assert.match(text, /Cert Status: good/);
    assert.match(text, new RegExp(`Serial Number: 0*${mx.serialHex.replace(/^0+/, '')}\n`, 'i'));
    const st = await status(cfg);
    assert.equal(st.code, 0, st.stdout);
    const e = st.ocsp[0];
    assert.equal(e.severity, 'OK');
    assert.equal(e.facts.status, 'good');
    assert.equal(e.facts.expiryReason, 'nextUpdate');
    assert.equal(e.facts.responderUrl, responders.good!.url);
    assert.equal(e.facts.file, file);
    assert.equal(e.facts.lastError, null);
    const thisUpdate = Date.parse(e.facts.thisUpdate);
    assert.equal(Date.parse(e.facts.nextUpdate) - thisUpdate, 4 * DAY);
    assert.equal(e.facts.effectiveExpiry, e.facts.nextUpdate);
    assert.equal(Date.parse(e.facts.nextRefresh), thisUpdate + 2 * DAY, 'refresh at half-life');
    assert.equal((await stat(file)).mode & 0o777, 0o644);
  });

  it('skips the refresh while the proof is fresh and refreshes after half-life (injected clock)', async () => {
    const file = await existingStaple();
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file });
    const before = await readFile(file);
    const fresh = await refresh(cfg, { now: new Date(T0.getTime() + DAY) });
    assert.equal(fresh.code, 0);
    assert.equal(fresh.doc.results[0].outcome, 'unchanged');
    assert.match(fresh.doc.results[0].message, /fresh for/);
    assert.deepEqual(await readFile(file), before);
    const late = await refresh(cfg, { now: new Date(T0.getTime() + 2 * DAY + 10 * 60_000) });
    assert.equal(late.code, 0, late.stdout);
    assert.equal(late.doc.results[0].outcome, 'changed');
    assert.match(late.doc.results[0].message, /installed/);
    assert.notDeepEqual(await readFile(file), before);
  });

  it('accepts a response signed by the CA itself that carries no certificates', async () => {
    const file = join(dir, 'mx-ca.ocsp');
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, url: responders.ca!.url });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.results[0].outcome, 'changed');
    const st = await status(cfg);
    assert.equal(st.ocsp[0].severity, 'OK');
    assert.match(st.ocsp[0].facts.signer, /intermediate CA \(issuer,/);
  });

  it('accepts a responderID by key hash, and SHA-256 CertIDs', async () => {
    const file = join(dir, 'mx-keyid.ocsp');
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, url: responders.keyId!.url, hash: 'sha256' });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.results[0].outcome, 'changed');
    const text = await ocspResponseText(file);
    assert.match(text, /Responder Id: [0-9A-F]{40}\n/, 'responderID byKey');
    assert.match(text, /Hash Algorithm: sha256/);
  });

  it('uses POST when the GET URL would exceed 255 bytes, and falls back to POST when GET is refused', async () => {
    const longUrl = `${responders.good!.url}/${'x'.repeat(200)}`;
    const a = await configFor({ name: 'mx', leaf: mx, ocspFile: join(dir, 'mx-post.ocsp'), url: longUrl });
    const r1 = await refresh(a.cfg);
    assert.equal(r1.code, 0, r1.stdout);
    assert.match(r1.doc.results[0].message, /\(POST\)/);
    // OpenSSL's responder answers HTTP 400 to a GET below a path.
    const b = await configFor({ name: 'mx', leaf: mx, ocspFile: join(dir, 'mx-post2.ocsp'), url: `${responders.good!.url}/ocsp` });
    const r2 = await refresh(b.cfg);
    assert.equal(r2.code, 0, r2.stdout);
    assert.match(r2.doc.results[0].message, /\(POST\)/);
  });

  it('follows up to 3 redirects (fake: redirecting relay in front of the real responder)', async () => {
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: join(dir, 'mx-redirect.ocsp'), url: `${fake.url}/redirect-3` });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.results[0].outcome, 'changed');
    assert.equal(fake.hits.get('redirect-3'), 1);
    assert.equal(fake.hits.get('redirect-1'), 1);
    // Every hop names its server in Host (RFC 9110 §7.2), as HTTP/1.1 requires.
    assert.equal(fake.lastHeaders.get('relay')?.host, new URL(fake.url).host);
  });

  // Every case: an existing good proof, a refresh that must fail, and the file byte-identical afterwards.
  const failures: Array<{ title: string; url: () => string; code: string; message: RegExp; hint?: RegExp; timeout?: string; now?: () => Date }> = [
    { title: 'signer certificate already expired', url: () => responders.expiredSigner!.url, code: 'OCSP_SIGNER_EXPIRED', message: /signer expired.*expired on/ },
    { title: 'signer without the OCSPSigning EKU', url: () => responders.noEku!.url, code: 'OCSP_SIGNER_NOT_AUTHORIZED', message: /lacks the id-kp-OCSPSigning/ },
    { title: 'delegated signer issued by another CA', url: () => responders.foreign!.url, code: 'OCSP_SIGNER_WRONG_ISSUER', message: /issued by CN=unrelated CA/ },
    { title: 'signature that does not verify', url: () => responders.badSig!.url, code: 'OCSP_BAD_SIGNATURE', message: /signature that does not verify/ },
    { title: 'no nextUpdate', url: () => responders.noNext!.url, code: 'OCSP_NO_NEXT_UPDATE', message: /no nextUpdate/ },
    { title: 'status unknown (retried later)', url: () => responders.unknown!.url, code: 'OCSP_CERT_UNKNOWN', message: /"unknown"/ },
    { title: 'thisUpdate a day in the future (clock injected a day early)', url: () => responders.good!.url, code: 'OCSP_THIS_UPDATE_IN_FUTURE', message: /in the future/, now: () => new Date(Date.now() - DAY) },
    // Fake server from here on: faults no real responder shows.
    { title: 'response for another serial (fake: relays the real answer for another certificate)', url: () => `${fake.url}/other-certificate`, code: 'OCSP_WRONG_CERTIFICATE', message: /is for another certificate/ },
    { title: 'tryLater (fake)', url: () => `${fake.url}/try-later`, code: 'OCSP_TRY_LATER', message: /"tryLater"/ },
    { title: 'malformedRequest (fake)', url: () => `${fake.url}/malformed-request`, code: 'OCSP_MALFORMED_REQUEST', message: /"malformedRequest"/ },
    { title: 'HTTP 500 (fake)', url: () => `${fake.url}/status-500`, code: 'OCSP_HTTP_STATUS', message: /HTTP 500/ },
    { title: 'HTML page with status 200 (fake)', url: () => `${fake.url}/html`, code: 'OCSP_BAD_CONTENT_TYPE', message: /text\/html/ },
    { title: 'HTML page labelled application/ocsp-response (fake)', url: () => `${fake.url}/html-as-ocsp`, code: 'OCSP_UNPARSABLE', message: /not a DER-encoded OCSP response/ },
    { title: 'truncated DER (fake: the real answer cut in half)', url: () => `${fake.url}/truncated`, code: 'OCSP_UNPARSABLE', message: /truncated/ },
    { title: '5 MiB body (fake)', url: () => `${fake.url}/huge`, code: 'HTTP_TOO_LARGE', message: /exceeds the 1048576-byte limit/ },
    { title: '5 MiB body sent chunked, its size not declared (fake)', url: () => `${fake.url}/huge-chunked`, code: 'HTTP_TOO_LARGE', message: /response exceeds the 1048576-byte limit/ },
    { title: 'accepts the connection and never answers (fake)', url: () => `${fake.url}/hang`, code: 'HTTP_TIMEOUT', message: /no answer within 700 ms/, timeout: '700ms' },
    { title: 'wrong content type (fake: the real answer as application/octet-stream)', url: () => `${fake.url}/wrong-type`, code: 'OCSP_BAD_CONTENT_TYPE', message: /application\/octet-stream/ },
    { title: 'more than 3 redirects (fake)', url: () => `${fake.url}/redirect-4`, code: 'HTTP_TOO_MANY_REDIRECTS', message: /more than 3 redirects/, hint: /set ocsp.url to the final responder URL/ },
    { title: 'a redirect to ftp: (fake)', url: () => `${fake.url}/redirect-ftp`, code: 'HTTP_BAD_REDIRECT', message: /redirect to ftp: refused/, hint: /neither http nor https/ },
  ];
  for (const f of failures) {
    it(`rejects: ${f.title}; the existing file stays byte-identical`, async () => {
      const file = await existingStaple();
      const { cfg, stateDir } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, url: f.url(), ...(f.timeout ? { timeout: f.timeout } : {}) });
      const now = f.now?.() ?? new Date();
      const r = await refresh(cfg, { force: true, now });
      assert.equal(r.code, 1, r.stdout);
      const step = r.doc.results.find((x) => x.object === 'mx' && x.outcome === 'failed');
      assert.ok(step, r.stdout);
      assert.equal(step.error.code, f.code, step.message);
      assert.match(step.message, /^certificate mx: /);
      assert.match(step.message, f.message);
      assert.ok(step.error.hint && step.error.hint.length > 10, 'a hint says what to do');
      if (f.hint) assert.match(step.error.hint, f.hint);
      assert.match(step.message, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} unchanged`));
      assert.deepEqual(await readFile(file), goodProof, 'the staple file is byte-identical');
      // The failure is remembered for backoff: 1 minute after the first failure.
      const state = JSON.parse(await readFile(join(stateDir, 'state', 'ocsp--mx.json'), 'utf8'));
      assert.equal(state.failures, 1);
      assert.equal(state.lastError.code, f.code);
      assert.equal(Date.parse(state.nextRetry) - Date.parse(state.lastAttempt), 60_000);
    });
  }

  it('unknown is retried with backoff (1 min, doubling) and is not CRITICAL while the last good proof is valid', async () => {
    const file = await existingStaple();
    const { cfg, stateDir } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, url: responders.unknown!.url });
    // Past the proof's refresh point (half of its 4 days), so a refresh is due.
    const tA = new Date(T0.getTime() + 2 * DAY + HOUR);
    const r1 = await refresh(cfg, { now: tA });
    assert.equal(r1.doc.results[0].error.code, 'OCSP_CERT_UNKNOWN');
    const inBackoff = await refresh(cfg, { now: new Date(tA.getTime() + 30_000) });
    assert.equal(inBackoff.code, 0);
    assert.equal(inBackoff.doc.results[0].outcome, 'unchanged');
    assert.match(inBackoff.doc.results[0].message, /retrying at .* after 1 failed attempt \(last error: OCSP_CERT_UNKNOWN\)/);
    const tB = new Date(tA.getTime() + 61_000);
    const r2 = await refresh(cfg, { now: tB });
    assert.equal(r2.doc.results[0].error.code, 'OCSP_CERT_UNKNOWN');
    const state = JSON.parse(await readFile(join(stateDir, 'state', 'ocsp--mx.json'), 'utf8'));
    assert.equal(state.failures, 2);
    assert.equal(Date.parse(state.nextRetry) - Date.parse(state.lastAttempt), 120_000, 'backoff doubles');
    const dry = await refresh(cfg, { dryRun: true, now: new Date(tB.getTime() + 119_000) });
    assert.equal(dry.doc.plans[0].steps[0].action, 'none');
    assert.equal(dry.doc.plans[0].steps[0].dueAt, state.nextRetry);
    const st = await status(cfg, new Date(tB.getTime() + 1000));
    assert.notEqual(st.ocsp[0].severity, 'CRITICAL');
    assert.equal(st.ocsp[0].facts.failures, 2);
    assert.equal(st.ocsp[0].facts.lastError.code, 'OCSP_CERT_UNKNOWN');
    assert.deepEqual(await readFile(file), goodProof);
  });

  it('revoked: never installed, CRITICAL in status, recorded for renewal', async () => {
    const leaf = leaves.revoked!;
    const r = responders.revoke!;
    const file = join(dir, 'revoked.ocsp');
    const { cfg, stateDir } = await configFor({ name: 'revoked', leaf, ocspFile: file });
    assert.equal((await refresh(cfg)).code, 0);
    const good = await readFile(file);
    await pki.revoke(leaf, { reason: 'keyCompromise' });
    await r.restart(); // re-read index.txt now, not lazily
    const res = await refresh(cfg, { force: true });
    assert.equal(res.code, 1);
    const step = res.doc.results.find((x) => x.outcome === 'failed');
    assert.equal(step.error.code, 'OCSP_CERT_REVOKED');
    assert.match(step.message, /REVOKED at .* \(keyCompromise\)/);
    assert.deepEqual(await readFile(file), good, 'the revoked proof is not installed');
    const state = JSON.parse(await readFile(join(stateDir, 'state', 'ocsp--revoked.json'), 'utf8'));
    assert.equal(state.revoked.reason, 'keyCompromise');
    const st = await status(cfg);
    assert.equal(st.code, 2);
    assert.equal(st.ocsp[0].severity, 'CRITICAL');
    assert.equal(st.ocsp[0].facts.status, 'revoked');
    assert.ok(st.ocsp[0].problems.some((p: any) => /REVOKED/.test(p.message)));
  });

  it("the seed's case: a signer valid now but expiring before nextUpdate is accepted, and the refresh is scheduled before it expires", async () => {
    const leaf = leaves.seed!;
    const file = join(dir, 'seed.ocsp');
    const { cfg } = await configFor({ name: 'seed', leaf, ocspFile: file });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.doc.results[0].message, /its signer's certificate expires then, before nextUpdate/);
    const signerNotAfter = parseCertificatePemChain(signers.seed!.certPem)[0]!.notAfter;
    const st = await status(cfg);
    const e = st.ocsp[0];
    assert.equal(e.severity, 'OK');
    assert.equal(e.facts.expiryReason, 'signer');
    assert.equal(e.facts.effectiveExpiry, signerNotAfter.toISOString());
    assert.ok(Date.parse(e.facts.nextUpdate) - Date.parse(e.facts.thisUpdate) === 7 * DAY);
    const refreshAt = Date.parse(e.facts.nextRefresh);
    const thisUpdate = Date.parse(e.facts.thisUpdate);
    assert.equal(refreshAt, thisUpdate + Math.floor((signerNotAfter.getTime() - thisUpdate) / 2));
    assert.ok(refreshAt < signerNotAfter.getTime());
    assert.match(e.summary, /its signer certificate expires then, before nextUpdate/);
    // Once the signer has expired the proof is worthless (Exim/OpenSSL reject it): WARNING,
    // and the responder's new proofs (same signer) are refused, the old one kept.
    const later = new Date(signerNotAfter.getTime() + HOUR);
    const st2 = await status(cfg, later);
    assert.equal(st2.ocsp[0].severity, 'WARNING');
    assert.ok(st2.ocsp[0].problems.some((p: any) => /OCSP signer expiring soon, whose certificate expired/.test(p.message)));
    const before = await readFile(file);
    const r2 = await refresh(cfg, { now: later });
    assert.equal(r2.code, 1);
    assert.equal(r2.doc.results[0].error.code, 'OCSP_SIGNER_EXPIRED');
    assert.deepEqual(await readFile(file), before);
  });

  it('no OCSP URL (Let\'s Encrypt since 2025): not applicable, exit 0', async () => {
    const leaf = leaves.le!;
    const { cfg } = await configFor({ name: 'le', leaf });
    const r = await refresh(cfg);
    assert.equal(r.code, 0);
    assert.equal(r.doc.results[0].outcome, 'unchanged');
    assert.match(r.doc.results[0].message, /not applicable/);
    const st = await status(cfg);
    assert.equal(st.code, 0);
    assert.equal(st.ocsp[0].facts.status, 'not-applicable');
  });

  it('no OCSP URL but a proof for an earlier certificate in ocsp_file: CRITICAL with the fix; removed where ocsp_missing_ok allows', async () => {
    const leaf = leaves.le2!;
    const file = await existingStaple('le2'); // mx's proof: "an earlier certificate"
    const keep = await configFor({ name: 'le2', leaf, ocspFile: file });
    const st = await status(keep.cfg);
    assert.equal(st.code, 2);
    const p = st.ocsp[0].problems.find((x: any) => x.severity === 'CRITICAL');
    assert.match(p.message, /proof for an earlier certificate/);
    assert.match(p.hint, /unset tls_ocsp_file .* \$\{if exists\{.*ocsp_missing_ok: true/);
    const r = await refresh(keep.cfg);
    assert.equal(r.code, 0);
    assert.deepEqual(await readFile(file), goodProof, 'without ocsp_missing_ok the file is left alone');

    const marker = join(dir, 'reloaded-le2');
    const rm_ = await configFor({ name: 'le2', leaf, ocspFile: file, missingOk: true, reload: ['touch', marker] });
    const dry = await refresh(rm_.cfg, { dryRun: true });
    assert.equal(dry.doc.plans[0].steps[0].action, 'remove-staple');
    assert.ok(existsSync(file));
    const r2 = await refresh(rm_.cfg);
    assert.equal(r2.code, 0, r2.stdout);
    assert.equal(r2.doc.results[0].outcome, 'changed');
    assert.equal(existsSync(file), false);
    assert.ok(existsSync(marker), 'the reload action ran');
    const st2 = await status(rm_.cfg);
    assert.equal(st2.ocsp[0].severity, 'OK');
  });

  it('Must-Staple: CRITICAL without a URL, or without a valid proof; OK with one', async () => {
    const noUrl = leaves.ms1!;
    const a = await configFor({ name: 'ms1', leaf: noUrl });
    const sa = await status(a.cfg);
    assert.equal(sa.ocsp[0].severity, 'CRITICAL');
    assert.match(sa.ocsp[0].problems[0].message, /Must-Staple .* names no OCSP responder/);

    const withUrl = leaves.ms2!;
    const file = join(dir, 'ms2.ocsp');
    const b = await configFor({ name: 'ms2', leaf: withUrl, ocspFile: file, missingOk: true });
    const sb = await status(b.cfg);
    assert.equal(sb.ocsp[0].severity, 'CRITICAL');
    assert.ok(sb.ocsp[0].problems.some((p: any) => /Must-Staple .* no valid proof/.test(p.message)));
    assert.equal((await refresh(b.cfg)).code, 0);
    const sc = await status(b.cfg);
    assert.equal(sc.ocsp[0].severity, 'OK');
    assert.equal(sc.ocsp[0].facts.mustStaple, true);
    // Expired proof: Must-Staple clients refuse the handshake.
    const sd = await status(b.cfg, new Date(Date.now() + 5 * DAY));
    assert.equal(sd.ocsp[0].severity, 'CRITICAL');
  });

  it('an OCSP URL but no ocsp_file: not stapled by choice, OK', async () => {
    const { cfg } = await configFor({ name: 'mx', leaf: mx });
    const st = await status(cfg);
    assert.equal(st.ocsp[0].severity, 'OK');
    assert.equal(st.ocsp[0].facts.status, 'not-stapled');
    assert.match(st.ocsp[0].summary, /no ocsp_file/);
  });

  it('status: missing, empty, or foreign staple file is CRITICAL (GnuTLS refuses STARTTLS); a refresh repairs it', async () => {
    const other = leaves.o2!;
    for (const [label, content, pattern] of [
      ['missing', undefined, /does not exist/],
      ['empty', Buffer.alloc(0), /is empty/],
      ['foreign', goodProof, /is for another certificate/],
      ['garbage', Buffer.from('<html>oops</html>'), /not a DER-encoded OCSP response/],
    ] as const) {
      const file = join(dir, `o2-${label}.ocsp`);
      if (content) await writeFile(file, content);
      const { cfg } = await configFor({ name: 'o2', leaf: other, ocspFile: file });
      const st = await status(cfg);
      assert.equal(st.ocsp[0].severity, 'CRITICAL', label);
      assert.ok(st.ocsp[0].problems.some((p: any) => pattern.test(p.message)), `${label}: ${JSON.stringify(st.ocsp[0].problems)}`);
      const r = await refresh(cfg);
      assert.equal(r.doc.results[0].outcome, 'changed', `${label}: ${r.stdout}`);
      assert.equal((await status(cfg)).ocsp[0].severity, 'OK', label);
    }
  });

  it('status: WARNING past the refresh point and once expired; the last error is shown', async () => {
    const file = await existingStaple();
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, url: `${fake.url}/status-500` });
    await refresh(cfg, { force: true });
    const past = await status(cfg, new Date(T0.getTime() + 2 * DAY + HOUR));
    assert.equal(past.ocsp[0].severity, 'WARNING');
    assert.ok(past.ocsp[0].problems.some((p: any) => /past its refresh point.*Last refresh error: .*HTTP 500/.test(p.message)));
    const expired = await status(cfg, new Date(T0.getTime() + 5 * DAY));
    assert.equal(expired.ocsp[0].severity, 'WARNING');
    assert.ok(expired.ocsp[0].problems.some((p: any) => /expired at its nextUpdate/.test(p.message)));
  });

  it('fetches the issuer from AIA caIssuers when the file holds only the leaf, and only accepts one that verifies the leaf', async () => {
    const leaf = leaves.aia!;
    const file = join(dir, 'aia.ocsp');
    const { cfg, stateDir } = await configFor({ name: 'aia', leaf, cert: leaf.certPath, ocspFile: file });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.results[0].outcome, 'changed');
    assert.equal(aia.hits.get('/intermediate.der'), 1);
    const state = JSON.parse(await readFile(join(stateDir, 'state', 'ocsp--aia.json'), 'utf8'));
    assert.ok(state.issuerDer, 'the fetched issuer is remembered, so status can verify offline');
    assert.equal((await status(cfg)).ocsp[0].severity, 'OK');

    const wrong = leaves.aia2!;
    const w = await configFor({ name: 'aia2', leaf: wrong, cert: wrong.certPath, ocspFile: join(dir, 'aia2.ocsp') });
    const r2 = await refresh(w.cfg);
    assert.equal(r2.code, 1);
    assert.equal(r2.doc.results[0].error.code, 'OCSP_ISSUER_FETCH_FAILED');
    assert.match(r2.doc.results[0].message, /verifies the leaf's signature/);
  });

  it('writes with the configured mode and group, runs the reload action only after a change', async () => {
    const gid = Number((await run(['getent', 'group', 'Debian-exim'])).stdout.split(':')[2]);
    const file = join(dir, 'mx-mode.ocsp');
    const marker = join(dir, 'reloaded-mx');
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file, mode: '0640', group: 'Debian-exim', reload: ['touch', marker] });
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.reloads.length, 1);
    assert.ok(r.doc.reloads[0].ok);
    const st = await stat(file);
    assert.equal(st.mode & 0o777, 0o640);
    if (process.getuid?.() === 0) assert.equal(st.gid, gid);
    assert.ok(existsSync(marker));
    await rm(marker);
    const again = await refresh(cfg); // fresh: nothing to do, no reload
    assert.equal(again.doc.results[0].outcome, 'unchanged');
    assert.equal(again.doc.reloads.length, 0);
    assert.equal(existsSync(marker), false);
  });

  it('a renewed certificate whose proof cannot be fetched: the previous certificate\'s proof is removed where ocsp_missing_ok allows', async () => {
    const file = await existingStaple('o2'); // mx's proof, for "the previous certificate"
    const { cfg } = await configFor({ name: 'o2', leaf: leaves.o2!, ocspFile: file, url: `${fake.url}/status-500`, missingOk: true });
    const r = await refresh(cfg);
    assert.equal(r.code, 1);
    assert.deepEqual(r.doc.results.map((x) => [x.action, x.outcome]), [['remove-staple', 'changed'], ['fetch-staple', 'failed']]);
    assert.match(r.doc.results[1].message, /removed \(ocsp_missing_ok\)/);
    assert.equal(existsSync(file), false);
  });

  it('a renewed certificate whose proof cannot be fetched, without ocsp_missing_ok: the previous proof stays, status is CRITICAL with the fix', async () => {
    const file = await existingStaple('o2'); // mx's proof, for "the previous certificate"
    const { cfg } = await configFor({ name: 'o2', leaf: leaves.o2!, ocspFile: file, url: `${fake.url}/status-500` });
    const r = await refresh(cfg);
    assert.equal(r.code, 1);
    assert.deepEqual(r.doc.results.map((x) => [x.action, x.outcome]), [['fetch-staple', 'failed']]);
    assert.match(r.doc.results[0].message, /unchanged, next try after/);
    assert.deepEqual(await readFile(file), goodProof, 'tlskeeper never removes a file the MTA needs, unless ocsp_missing_ok says it may');
    const st = await status(cfg);
    assert.equal(st.ocsp[0].severity, 'CRITICAL');
    assert.equal(st.ocsp[0].facts.fileState, 'other-certificate');
    assert.ok(st.ocsp[0].problems.some((p: any) => /refuses every STARTTLS/.test(p.message) && /refresh ocsp/.test(p.hint)));
  });

  it('ocsp.disabled: tlskeeper leaves the file alone, but status still says when the file breaks STARTTLS', async () => {
    const file = await existingStaple('o2'); // mx's proof beside o2's certificate
    const { cfg, caseDir } = await configFor({ name: 'o2', leaf: leaves.o2!, ocspFile: file });
    await writeFile(cfg, (await readFile(cfg, 'utf8')).replace('    ocsp: {}', '    ocsp: {disabled: true}'));
    const r = await refresh(cfg, { force: true });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.doc.results[0].outcome, 'unchanged');
    assert.deepEqual(await readFile(file), goodProof);
    const st = await status(cfg);
    assert.equal(st.ocsp[0].severity, 'CRITICAL', JSON.stringify(st.ocsp[0]));
    assert.ok(st.ocsp[0].problems.some((p: any) => /a proof for an earlier certificate/.test(p.message) && /ocsp.disabled is true/.test(p.hint)));
    // The same with a proof for its own certificate: nothing to complain about.
    const own = join(caseDir, 'own.ocsp');
    const fetched = await configFor({ name: 'o2', leaf: leaves.o2!, ocspFile: own });
    assert.equal((await refresh(fetched.cfg)).code, 0);
    await writeFile(cfg, (await readFile(cfg, 'utf8')).replace(file, own));
    assert.equal((await status(cfg)).ocsp[0].severity, 'OK');
  });

  it('status: a proof whose signature cannot be checked yet (no issuer at hand) is a WARNING, not OK', async () => {
    const leaf = leaves.aia!; // its certificate file holds only the leaf
    const file = join(dir, 'aia-unverified.ocsp');
    const fetched = await configFor({ name: 'aia', leaf, cert: leaf.certPath, ocspFile: file });
    assert.equal((await refresh(fetched.cfg)).code, 0);
    // A fresh state directory: the issuer fetched from AIA is not remembered there.
    const { cfg } = await configFor({ name: 'aia', leaf, cert: leaf.certPath, ocspFile: file });
    const st = await status(cfg);
    assert.equal(st.ocsp[0].severity, 'WARNING');
    assert.match(st.ocsp[0].facts.signer, /not verified/);
    assert.ok(st.ocsp[0].problems.some((p: any) => /signature is not verified/.test(p.message) && /AIA caIssuers/.test(p.hint)));
  });

  it('several certificates in one run, against several responders', async () => {
    const names = ['mx', 'o2', 'ms2', 'seed'] as const;
    const entries: Entry[] = names.map((name) => ({ name, leaf: leaves[name]!, ocspFile: join(dir, `multi-${name}.ocsp`) }));
    const { cfg } = await configFor(...entries);
    const r = await refresh(cfg);
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.doc.results.map((x) => [x.object, x.outcome]), names.map((n) => [n, 'changed']));
    const st = await status(cfg);
    assert.deepEqual(st.ocsp.map((e) => e.severity), ['OK', 'OK', 'OK', 'OK']);
    // --cert: only that one.
    const one = await tlskeeper(['--config', cfg, '--json', 'refresh', '--force', '--cert', 'o2', 'ocsp']);
    assert.deepEqual(one.json<{ results: any[] }>().results.map((x) => x.object), ['o2']);
  });

  it('skips a certificate whose lock another tlskeeper process holds', async () => {
    const file = await existingStaple();
    const { cfg, stateDir } = await configFor({ name: 'mx', leaf: mx, ocspFile: file });
    await mkdir(join(stateDir, 'locks'), { recursive: true });
    await writeFile(join(stateDir, 'locks', 'certificate--mx.lock'), `${process.pid}\n`); // a live holder
    const r = await refresh(cfg, { force: true });
    assert.equal(r.doc.results[0].outcome, 'skipped');
    assert.match(r.doc.results[0].message, /locked by process/);
    assert.deepEqual(await readFile(file), goodProof);
  });

  it('takes its locks in lock_dir when one is configured', async () => {
    const file = await existingStaple();
    const { cfg, caseDir } = await configFor({ name: 'mx', leaf: mx, ocspFile: file });
    const lockDir = join(caseDir, 'run-locks');
    await writeFile(cfg, `lock_dir: ${lockDir}\n${await readFile(cfg, 'utf8')}`);
    await mkdir(lockDir, { recursive: true });
    await writeFile(join(lockDir, 'certificate--mx.lock'), `${process.pid}\n`); // a live holder there
    const held = await refresh(cfg, { force: true });
    assert.equal(held.doc.results[0].outcome, 'skipped');
    assert.deepEqual(await readFile(file), goodProof);
    await rm(join(lockDir, 'certificate--mx.lock'));
    const free = await refresh(cfg, { force: true });
    assert.equal(free.doc.results[0].outcome, 'changed', free.stdout);
    assert.deepEqual(await readdir(lockDir), [], 'lock released');
  });

  it('--dry-run prints the plan and writes nothing', async () => {
    const file = join(dir, 'mx-dry.ocsp');
    const { cfg } = await configFor({ name: 'mx', leaf: mx, ocspFile: file });
    const r = await refresh(cfg, { dryRun: true });
    assert.equal(r.code, 0);
    assert.equal(r.doc.plans[0].steps[0].action, 'fetch-staple');
    assert.match(r.doc.plans[0].steps[0].reason, /no staple in/);
    assert.deepEqual(Object.keys(r.doc.plans[0].steps[0].detail).sort(), ['certificate', 'force', 'responderUrl']);
    assert.equal(existsSync(file), false);
    const human = await tlskeeper(['--config', cfg, 'refresh', '--dry-run', 'ocsp']);
    assert.match(human.stdout, /ocsp mx: fetch-staple — no staple in/);
  });
});
