// Proves the integration-test kit (test/support/): a real PKI, a real
// `openssl ocsp` responder, Exim stapling what it fetched, BIND taking a
// TSIG-signed dynamic update, and Pebble answering. Servers start once per file.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startBind, tsigKeygen, type BindServer, type TsigKeyWithFile } from '../support/bind.js';
import { smtpTlsProbe, startExim, type EximServer } from '../support/exim.js';
import { ocspResponseText, startOcspResponder, type OcspResponder } from '../support/ocsp-responder.js';
import { startPebble, type PebbleServer } from '../support/pebble.js';
import { createTestPki, type LeafFiles, type TestPki } from '../support/pki.js';
import { freePort, makeTempDir, removeTempDir, run } from '../support/proc.js';

let root: string | undefined;
const timings: Record<string, number> = {};

before(async () => {
  root = await makeTempDir('tlskeeper-kit-');
});

after(async () => {
  if (Object.keys(timings).length > 0) {
    process.stderr.write(`[kit] timings (ms): ${JSON.stringify(timings)}\n`);
  }
  await removeTempDir(root);
});

function fp(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

describe('OCSP responder + Exim stapling', () => {
  let pki: TestPki;
  let leaf: LeafFiles;
  let responder: OcspResponder | undefined;
  let exim: EximServer | undefined;
  let staplePath: string;

  before(async () => {
    assert.ok(root);
    let t = performance.now();
    pki = await createTestPki(path.join(root, 'pki'));
    timings.pki = Math.round(performance.now() - t);

    // The responder's port must be in the leaf (AIA), and the leaf must be in
    // index.txt before the responder starts (it re-reads the index lazily).
    const ocspPort = await freePort();
    const ocspUrl = `http://127.0.0.1:${ocspPort}`;
    t = performance.now();
    leaf = await pki.issueLeaf({ name: 'mail.example.test', sans: ['mail.example.test', '127.0.0.1'], ocspUrl, mustStaple: true });
    const signer = await pki.issueOcspSigner({ name: 'tlskeeper test OCSP signer' });
    timings.leafAndSigner = Math.round(performance.now() - t);

    responder = await startOcspResponder({
      dir: path.join(root, 'ocsp'),
      indexPath: pki.intermediateIndexPath,
      caCertPath: pki.intermediateCertPath,
      signerCertPath: signer.certPath,
      signerKeyPath: signer.keyPath,
      port: ocspPort,
      nextUpdateMinutes: 60,
    });
    timings.ocspResponderStart = responder.startupMs;
    assert.equal(responder.url, ocspUrl);

    staplePath = path.join(root, 'staple.der');
    t = performance.now();
    const fetched = await run(
      [
        'openssl', 'ocsp', '-issuer', pki.intermediateCertPath, '-cert', leaf.certPath, '-url', responder.url,
        '-respout', staplePath, '-no_nonce', '-CAfile', pki.rootCertPath, '-verify_other', pki.intermediateCertPath,
        '-timeout', '10',
      ],
      { timeoutMs: 20_000 },
    );
    timings.stapleFetch = Math.round(performance.now() - t);
    assert.equal(fetched.code, 0, `openssl ocsp fetch failed:\n${fetched.stdout}${fetched.stderr}\n${responder.process().logTail()}`);
    assert.match(fetched.stdout, /: good/);
    assert.match(fetched.stderr + fetched.stdout, /Response verify OK/);
    assert.ok((await stat(staplePath)).size > 0);

    exim = await startExim({
      dir: path.join(root, 'exim'),
      certPath: leaf.chainPath,
      keyPath: leaf.keyPath,
      ocspFile: staplePath,
    });
    timings.eximStart = exim.startupMs;
  });

  after(async () => {
    await exim?.stop();
    await responder?.stop();
  });

  it('the fetched staple is a good, signed response for our serial', async () => {
    const text = await ocspResponseText(staplePath);
    assert.match(text, /Cert Status: good/);
    assert.match(text, new RegExp(`Serial Number: ${leaf.serialHex.toUpperCase()}`));
    assert.match(text, /Responder Id: CN = tlskeeper test OCSP signer/);
    assert.match(text, /Next Update:/);
  });

  for (const mode of ['starttls', 'tls'] as const) {
    it(`serves our leaf with a good OCSP staple (${mode === 'tls' ? 'TLS on connect' : 'STARTTLS'})`, async () => {
      assert.ok(exim);
      const port = mode === 'tls' ? exim.tlsOnConnectPort : exim.smtpPort;
      const t = performance.now();
      const probe = await smtpTlsProbe({ port, mode, servername: 'mail.example.test', caFile: pki.rootCertPath });
      timings[`probe_${mode}`] = Math.round(performance.now() - t);
      const ctx = `s_client stdout:\n${probe.stdout}\nstderr:\n${probe.stderr}\n${exim.logTail(15)}`;
      assert.ok(probe.ok, `handshake failed\n${ctx}`);
      assert.ok(probe.certPem, ctx);
      assert.equal(fp(probe.certPem), leaf.fingerprint256);
      assert.equal(probe.certPem.trim(), leaf.certPem.trim());
      assert.equal(probe.chainPems.length, 2, 'leaf + intermediate');
      assert.equal(probe.verifyCode, 0, `chain verifies against our root\n${ctx}`);
      assert.equal(probe.noOcspResponse, false, ctx);
      assert.ok(probe.ocspResponseText, ctx);
      assert.equal(probe.ocspCertStatus, 'good');
      assert.match(probe.ocspResponseText, new RegExp(`Serial Number: ${leaf.serialHex.toUpperCase()}`));
    });
  }

  it('without -status no staple is requested (probe parsing sanity)', async () => {
    assert.ok(exim);
    const probe = await smtpTlsProbe({ port: exim.smtpPort, mode: 'starttls', status: false });
    assert.ok(probe.ok);
    assert.equal(probe.ocspResponseText, null);
    assert.equal(fp(probe.certPem ?? ''), leaf.fingerprint256);
  });
});

describe('BIND with TSIG dynamic update', () => {
  let bind: BindServer | undefined;
  let key: TsigKeyWithFile;

  before(async () => {
    assert.ok(root);
    key = await tsigKeygen('tlskeeper-update', 'hmac-sha256');
    bind = await startBind({
      dir: path.join(root, 'bind'),
      zones: [{ name: 'example.test', tsigKeys: [key], records: ['mail IN A 127.0.0.1'] }],
    });
    timings.bindStart = bind.startupMs;
  });

  after(async () => {
    await bind?.stop();
  });

  it('serves the zone', async () => {
    assert.ok(bind);
    assert.deepEqual(await bind.dig('mail.example.test', 'A'), ['127.0.0.1']);
    assert.equal(await bind.soaSerial('example.test'), 1);
  });

  it('accepts nsupdate -y with the key and dig sees the TXT record', async () => {
    assert.ok(bind);
    const input = [
      `server 127.0.0.1 ${bind.port}`,
      'zone example.test',
      'update add kit-check.example.test. 60 IN TXT "tlskeeper kit"',
      'send',
      '',
    ].join('\n');
    const r = await run(['nsupdate', '-y', `hmac-sha256:${key.name}:${key.secretBase64}`], { input, timeoutMs: 15_000 });
    assert.equal(r.code, 0, `nsupdate failed: ${r.stdout}${r.stderr}\n${bind.logTail(10)}`);
    assert.deepEqual(await bind.dig('kit-check.example.test', 'TXT'), ['"tlskeeper kit"']);
    assert.equal(await bind.soaSerial('example.test'), 2);
  });

  it('refuses an update signed with a wrong secret', async () => {
    assert.ok(bind);
    const wrong = { ...key, secretBase64: Buffer.alloc(32, 7).toString('base64') };
    const r = await bind.nsupdate(['update add wrong.example.test. 60 IN TXT "no"'], wrong, { zone: 'example.test' });
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /BADSIG|NOTAUTH/);
    assert.deepEqual(await bind.dig('wrong.example.test', 'TXT'), []);
  });
});

describe('Pebble ACME server', () => {
  let pebble: PebbleServer | undefined;

  before(async () => {
    assert.ok(root);
    pebble = await startPebble({ dir: path.join(root, 'pebble'), alwaysValid: true });
    timings.pebbleStart = pebble.startupMs;
  });

  after(async () => {
    await pebble?.stop();
  });

  it('answers the directory over HTTPS trusted via caCertPem', async () => {
    assert.ok(pebble);
    const r = await pebble.get(pebble.directoryUrl);
    assert.equal(r.status, 200);
    const dir = JSON.parse(r.body) as Record<string, unknown>;
    for (const k of ['newAccount', 'newNonce', 'newOrder', 'revokeCert', 'keyChange']) {
      assert.equal(typeof dir[k], 'string', k);
    }
  });

  it('exposes its issuing intermediate and key on the management API', async () => {
    assert.ok(pebble);
    const cert = new X509Certificate(await pebble.intermediateCertPem());
    assert.equal(cert.ca, true);
    assert.match(await pebble.intermediateKeyPem(), /PRIVATE KEY/);
    const rootCert = new X509Certificate(await pebble.rootCertPem());
    assert.ok(cert.checkIssued(rootCert));
  });
});
