/**
 * `tlskeeper status` on real certificates made by a real CA (openssl), with
 * the monitoring-plugin exit codes.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createTestPki, type LeafFiles, type TestPki } from '../support/pki.js';
import { tlskeeper } from '../support/cli.js';

const DAY = 86_400_000;

describe('tlskeeper status', () => {
  let dir: string;
  let pki: TestPki;
  let good: LeafFiles;
  let expired: LeafFiles;
  let other: LeafFiles;
  let rsa: LeafFiles;
  let mustStaple: LeafFiles;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-status-'));
    pki = await createTestPki(join(dir, 'pki'));
    good = await pki.issueLeaf({ name: 'good', sans: ['mx.example.test', 'smtp.example.test'], ocspUrl: 'http://127.0.0.1:9/ocsp', days: 90 });
    mustStaple = await pki.issueLeaf({ name: 'must-staple', sans: ['ms.example.test'], ocspUrl: 'http://127.0.0.1:9/ocsp', mustStaple: true });
    expired = await pki.issueLeaf({ name: 'expired', sans: ['old.example.test'], notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - 10 * DAY) });
    other = await pki.issueLeaf({ name: 'other', sans: ['other.example.test'] });
    rsa = await pki.issueLeaf({ name: 'rsa', sans: ['rsa.example.test'], keyType: 'rsa' });
    await writeFile(join(dir, 'not-pem.crt'), 'this is not a certificate\n');
    // leaf after its issuer: out of order
    await writeFile(join(dir, 'reversed.crt'), (await readFile(pki.intermediateCertPath, 'utf8')) + good.certPem);
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  async function statusOf(certs: Array<{ name: string; cert: string; key: string }>, now = new Date()) {
    const cfg = join(dir, `cfg-${certs.map((c) => c.name).join('-')}.yaml`);
    await writeFile(cfg, `state_dir: ${join(dir, 'state')}\ncertificates:\n${certs.map((c) => `  - {name: ${c.name}, cert: ${c.cert}, key: ${c.key}}`).join('\n')}\n`);
    const run = await tlskeeper(['--config', cfg, '--json', 'status'], { now });
    return { run, doc: run.json() };
  }

  it('reports true facts of a good certificate and exits 0', async () => {
    const { run, doc } = await statusOf([{ name: 'mx', cert: good.chainPath, key: good.keyPath }]);
    assert.equal(run.code, 0, run.stderr);
    const e = doc.entries.find((x: any) => x.kind === 'certificate');
    assert.equal(e.severity, 'OK');
    assert.deepEqual(e.facts.sans, ['mx.example.test', 'smtp.example.test']);
    assert.equal(e.facts.keyType, 'ECDSA');
    assert.equal(e.facts.keySize, 256);
    assert.equal(BigInt(`0x${e.facts.serial}`), BigInt(`0x${good.serialHex}`));
    assert.equal(e.facts.ocspUrl, 'http://127.0.0.1:9/ocsp');
    assert.equal(e.facts.mustStaple, false);
    assert.equal(e.facts.keyMatches, true);
    // URL but no ocsp_file: not stapled by choice, and that stays OK (issue 3).
    const ocsp = doc.entries.find((x: any) => x.kind === 'ocsp');
    assert.equal(ocsp?.severity ?? 'OK', 'OK');
    assert.equal(e.facts.chainInOrder, true);
    assert.equal(e.facts.chainLength, 2);
    assert.match(e.facts.issuer, /tlskeeper test/i);
    assert.ok(e.facts.daysLeft >= 89 && e.facts.daysLeft <= 90);
    assert.match(e.facts.notAfter, /^\d{4}-\d\d-\d\dT.*Z$/);
  });

  it('a Must-Staple certificate without a staple is CRITICAL (clients that honour RFC 7633 refuse it)', async () => {
    const { run, doc } = await statusOf([{ name: 'ms', cert: mustStaple.chainPath, key: mustStaple.keyPath }]);
    const cert = doc.entries.find((x: any) => x.kind === 'certificate');
    assert.equal(cert.facts.mustStaple, true);
    assert.equal(cert.severity, 'OK');
    const ocsp = doc.entries.find((x: any) => x.kind === 'ocsp');
    assert.equal(ocsp.severity, 'CRITICAL');
    assert.equal(run.code, 2);
  });

  it('RSA key size and "none" for a certificate without OCSP URL', async () => {
    const { doc } = await statusOf([{ name: 'rsa', cert: rsa.chainPath, key: rsa.keyPath }]);
    const e = doc.entries[0];
    assert.equal(e.facts.keyType, 'RSA');
    assert.equal(e.facts.keySize, 2048);
    assert.equal(e.facts.ocspUrl, 'none');
    assert.equal(e.facts.mustStaple, false);
  });

  it('WARNING with less than a third of the lifetime left (injected clock)', async () => {
    const { run, doc } = await statusOf([{ name: 'mx', cert: good.chainPath, key: good.keyPath }], new Date(Date.now() + 70 * DAY));
    assert.equal(run.code, 1);
    assert.equal(doc.severity, 'WARNING');
    assert.match(doc.entries[0].problems[0].message, /days left, less than a third/);
  });

  it('CRITICAL for an expired certificate', async () => {
    const { run, doc } = await statusOf([{ name: 'old', cert: expired.chainPath, key: expired.keyPath }]);
    assert.equal(run.code, 2);
    assert.match(doc.entries[0].problems[0].message, /^expired on/);
  });

  it('CRITICAL for a key that does not belong to the certificate', async () => {
    const { run, doc } = await statusOf([{ name: 'mx', cert: good.chainPath, key: other.keyPath }]);
    assert.equal(run.code, 2);
    assert.equal(doc.entries[0].facts.keyMatches, false);
    assert.match(doc.entries[0].problems.map((p: any) => p.message).join('\n'), /does not belong to the certificate/);
  });

  it('CRITICAL for a file that is not PEM, and for a missing file', async () => {
    const { run, doc } = await statusOf([
      { name: 'junk', cert: join(dir, 'not-pem.crt'), key: good.keyPath },
      { name: 'gone', cert: join(dir, 'missing.crt'), key: join(dir, 'missing.key') },
    ]);
    assert.equal(run.code, 2);
    assert.match(doc.entries[0].problems[0].message, /no PEM certificate found/);
    assert.match(doc.entries[0].problems[0].hint, /BEGIN CERTIFICATE/);
    assert.match(doc.entries[1].problems[0].message, /file does not exist/);
  });

  it('WARNING for a chain out of order', async () => {
    const { run, doc } = await statusOf([{ name: 'rev', cert: join(dir, 'reversed.crt'), key: good.keyPath }]);
    assert.equal(doc.entries[0].facts.chainInOrder, false);
    assert.equal(run.code, 2); // the first certificate is the intermediate: key mismatch is CRITICAL
    assert.match(doc.entries[0].problems.map((p: any) => p.message).join('\n'), /chain out of order/);
  });

  it('prints a human table by default', async () => {
    const cfg = join(dir, 'human.yaml');
    await writeFile(cfg, `state_dir: ${join(dir, 'state')}\ncertificates:\n  - {name: mx, cert: ${good.chainPath}, key: ${good.keyPath}}\n`);
    const run = await tlskeeper(['--config', cfg, 'status']);
    assert.equal(run.code, 0);
    assert.match(run.stdout, /^STATE\s+KIND\s+OBJECT\s+SUMMARY/);
    assert.match(run.stdout, /OK\s+certificate\s+mx\s+mx\.example\.test: \d+ days left, ECDSA 256/);
    assert.match(run.stdout, /overall: OK/);
  });

  it('a bad config gives every error at once and exit 2', async () => {
    const cfg = join(dir, 'bad.yaml');
    await writeFile(cfg, 'state_dir: relative\ncertificates:\n  - {name: mx, cert: x.crt, key: /k, extra: 1}\n  - {name: mx, cert: /c, key: /k2}\n');
    const run = await tlskeeper(['--config', cfg, 'status']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    for (const path of ['state_dir (line 1)', 'certificates[0].cert (line 3)', 'certificates[0].extra (line 3)', 'certificates[1].name (line 4)']) {
      assert.ok(run.stderr.includes(path), `${path} in:\n${run.stderr}`);
    }
    const json = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(json.json().error.issues.length, 4);
  });

  it('usage errors exit 2; version prints the version', async () => {
    assert.equal((await tlskeeper(['refresh', 'nonsense', '--config', join(dir, 'human.yaml')])).code, 2);
    assert.equal((await tlskeeper(['frobnicate'])).code, 2);
    const v = await tlskeeper(['version']);
    assert.match(v.stdout, /^tlskeeper \d+\.\d+\.\d+/);
  });
});
