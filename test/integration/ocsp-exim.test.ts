/**
 * End to end: Debian's Exim (GnuTLS) serves the OCSP staples tlskeeper
 * wrote — for an RSA and an ECDSA certificate in Exim's list form — on the
 * STARTTLS port and the TLS-on-connect port, and tlskeeper replaces a staple
 * while a client keeps connecting without a single handshake failing.
 *
 * Measured here (Exim 4.96, GnuTLS): with a plain `tls_ocsp_file = FILE` the
 * daemon preloads the proof and reloads it about 5 s after the file changes
 * (its inotify watch), so the old, still valid proof is served meanwhile;
 * with the guarded form `${if exists{FILE}{FILE}{}}` the option is expanded,
 * so the file is read for every connection and a new proof is served at once.
 *
 * Also measured here, with certbot's live/ layout (certificate and key paths
 * are symbolic links re-pointed at renewal): with a plain tls_ocsp_file Exim
 * keeps the old certificate until the staple file changes, and then reloads
 * certificate, key and proof together; with the guarded form the renewed
 * certificate is served from the next connection, beside the old proof, so
 * STARTTLS fails until tlskeeper has written the new one.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tlskeeper } from '../support/cli.js';
import { smtpTlsProbe, startExim, type EximServer, type SmtpTlsProbeResult } from '../support/exim.js';
import { ocspResponseText, startOcspResponder, type OcspResponder } from '../support/ocsp-responder.js';
import { createTestPki, type LeafFiles } from '../support/pki.js';
import { freePort } from '../support/proc.js';

/** The response's signature bytes as OpenSSL prints them: identifies one proof (ECDSA signatures differ every time). */
function signatureOf(text: string | null): string {
  const m = /Signature Value:\n((?:\s+[0-9a-f:]+\n)+)/.exec(`${text ?? ''}\n`);
  assert.ok(m, `no signature in:\n${text}`);
  return m[1]!.replace(/\s+/g, '');
}

/** Exim's guard for a staple file that may be absent (what ocsp_missing_ok: true asks for). */
const guard = (file: string): string => `\${if exists{${file}}{${file}}{}}`;

const EC_ONLY = ['-sigalgs', 'ECDSA+SHA256'];
const RSA_ONLY = ['-sigalgs', 'RSA-PSS+SHA256:RSA+SHA256'];

describe('Exim (GnuTLS) serves the staples tlskeeper writes', () => {
  let dir: string;
  let responder: OcspResponder;
  let exim: EximServer;
  /** tls_ocsp_file guarded with ${if exists…}: read per connection. */
  let guarded: EximServer;
  let guardedStaple: string;
  let pki: Awaited<ReturnType<typeof createTestPki>>;
  let ec: LeafFiles;
  let rsa: LeafFiles;
  /** Renewals in certbot's live/ layout, [first, second], for the plain and the guarded tls_ocsp_file. */
  const renewals: Record<'plain' | 'guarded', [LeafFiles, LeafFiles]> = {} as never;
  let cfg: string;
  const staple = { ec: '', rsa: '' };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-ocsp-exim-'));
    pki = await createTestPki(join(dir, 'pki'));
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    ec = await pki.issueLeaf({ name: 'mail-ec', sans: ['mail.example.test'], ocspUrl: url });
    rsa = await pki.issueLeaf({ name: 'mail-rsa', sans: ['mail.example.test'], ocspUrl: url, keyType: 'rsa' });
    for (const kind of ['plain', 'guarded'] as const) {
      renewals[kind] = [
        await pki.issueLeaf({ name: `live-${kind}-1`, sans: ['mail.example.test'], ocspUrl: url }),
        await pki.issueLeaf({ name: `live-${kind}-2`, sans: ['mail.example.test'], ocspUrl: url }),
      ];
    }
    const signer = await pki.issueOcspSigner({ name: 'OCSP signer' });
    // Every leaf is issued before the responder starts: it reads index.txt at start.
    responder = await startOcspResponder({
      dir: join(dir, 'responder'), port, indexPath: pki.intermediateIndexPath, caCertPath: pki.intermediateCertPath,
      signerCertPath: signer.certPath, signerKeyPath: signer.keyPath, nextUpdateDays: 4,
    });
    staple.ec = join(dir, 'ec.ocsp');
    staple.rsa = join(dir, 'rsa.ocsp');
    cfg = join(dir, 'tlskeeper.yaml');
    await writeFile(cfg, [
      `state_dir: ${join(dir, 'state')}`,
      'certificates:',
      `  - {name: mail-rsa, cert: ${rsa.chainPath}, key: ${rsa.keyPath}, ocsp_file: ${staple.rsa}}`,
      `  - {name: mail-ec, cert: ${ec.chainPath}, key: ${ec.keyPath}, ocsp_file: ${staple.ec}}`,
      '',
    ].join('\n'));
    // The staples must exist before Exim starts: GnuTLS refuses every STARTTLS with a missing tls_ocsp_file.
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'ocsp']);
    assert.equal(r.code, 0, r.stdout);
    exim = await startExim({
      dir: join(dir, 'exim'),
      certPaths: [rsa.chainPath, ec.chainPath], keyPaths: [rsa.keyPath, ec.keyPath], ocspFiles: [staple.rsa, staple.ec],
    });
    guardedStaple = join(dir, 'guarded-ec.ocsp');
    await writeFile(guardedStaple, await readFile(staple.ec));
    guarded = await startExim({ dir: join(dir, 'exim-guarded'), certPath: ec.chainPath, keyPath: ec.keyPath, ocspFile: guard(guardedStaple) });
  });

  after(async () => {
    await exim?.stop();
    await guarded?.stop();
    await responder?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  for (const mode of ['starttls', 'tls'] as const) {
    it(`${mode === 'starttls' ? 'STARTTLS (openssl s_client -starttls smtp -status)' : 'TLS on connect'}: each certificate comes with the proof tlskeeper wrote for it`, async () => {
      for (const [leaf, file, sigalgs] of [[ec, staple.ec, EC_ONLY], [rsa, staple.rsa, RSA_ONLY]] as const) {
        const port = mode === 'starttls' ? exim.smtpPort : exim.tlsOnConnectPort;
        const probe = await smtpTlsProbe({ port, mode, extraArgs: [...sigalgs] });
        assert.ok(probe.ok, `${leaf.name}: handshake failed\n${probe.stdout}\n${probe.stderr}\n${exim.logTail()}`);
        assert.equal(probe.certPem, leaf.certPem, `${leaf.name} served`);
        assert.equal(probe.ocspCertStatus, 'good');
        assert.match(probe.ocspResponseText ?? '', new RegExp(`Serial Number: 0*${leaf.serialHex.replace(/^0+/, '')}`, 'i'));
        assert.equal(signatureOf(probe.ocspResponseText), signatureOf(await ocspResponseText(file)), 'the very proof in the file');
      }
    });
  }

  /**
   * Keep a client connecting to `server` (STARTTLS, alternating ECDSA and RSA
   * where both are served) while `rounds` forced refreshes replace the
   * staples; after each, keep connecting until the new ECDSA proof is served.
   */
  async function replaceWhileConnecting(server: EximServer, config: string, ecStaple: string, kinds: Array<'ec' | 'rsa'>, rounds: number, maxWaitMs: number) {
    const results: Array<{ probe: SmtpTlsProbeResult; kind: 'ec' | 'rsa'; at: number }> = [];
    let stop = false;
    let notify: (() => void) | undefined;
    const nextHandshake = (): Promise<void> => new Promise((resolve) => { notify = resolve; });
    const loop = (async () => {
      for (let i = 0; !stop; i++) {
        const kind = kinds[i % kinds.length]!;
        const probe = await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls', extraArgs: kind === 'ec' ? EC_ONLY : RSA_ONLY });
        results.push({ probe, kind, at: Date.now() });
        const n = notify;
        notify = undefined;
        n?.();
      }
    })();
    const served: string[] = [];
    const delays: number[] = [];
    try {
      for (let round = 0; round < rounds; round++) {
        const r = await tlskeeper(['--config', config, '--json', 'refresh', '--force', 'ocsp']);
        assert.equal(r.code, 0, r.stdout);
        assert.ok(r.json<{ results: Array<{ outcome: string }> }>().results.every((x) => x.outcome === 'changed'), r.stdout);
        const written = signatureOf(await ocspResponseText(ecStaple));
        const since = Date.now();
        for (;;) {
          await nextHandshake();
          const last = results[results.length - 1]!;
          if (last.kind === 'ec' && signatureOf(last.probe.ocspResponseText) === written) break;
          assert.ok(Date.now() - since < maxWaitMs, `Exim did not serve the replaced staple within ${maxWaitMs} ms`);
        }
        delays.push(Date.now() - since);
        served.push(written);
      }
    } finally {
      stop = true;
      await loop;
    }
    const failed = results.filter((x) => !x.probe.ok || x.probe.ocspCertStatus !== 'good');
    assert.equal(failed.length, 0, `failed handshakes:\n${failed.map((x) => `${x.kind}: ${x.probe.stdout.slice(-500)}\n${x.probe.stderr}`).join('\n---\n')}\n${server.logTail()}`);
    assert.equal(new Set(served).size, rounds, 'a different proof was served after each replacement');
    return { handshakes: results.length, delays };
  }

  it('plain tls_ocsp_file: staples replaced while a client keeps connecting; no handshake fails, the new proof is served after Exim\'s file watch fires', async () => {
    const { handshakes, delays } = await replaceWhileConnecting(exim, cfg, staple.ec, ['ec', 'rsa'], 2, 20_000);
    assert.ok(handshakes >= 20, `${handshakes} handshakes`);
    assert.ok(delays.every((d) => d > 1000), `Exim preloads the proof and reloads it later (${delays.join(', ')} ms)`);
  });

  it('guarded tls_ocsp_file (${if exists…}): read per connection, so the next handshake already carries the new proof', async () => {
    const gcfg = join(dir, 'guarded.yaml');
    await writeFile(gcfg, `state_dir: ${join(dir, 'state-guarded')}\ncertificates:\n  - {name: mail-ec, cert: ${ec.chainPath}, key: ${ec.keyPath}, ocsp_file: ${guardedStaple}, ocsp_missing_ok: true}\n`);
    const { delays } = await replaceWhileConnecting(guarded, gcfg, guardedStaple, ['ec'], 3, 5_000);
    assert.ok(delays.every((d) => d < 1000), `served on the next connection (${delays.join(', ')} ms)`);
  });

  /**
   * certbot's layout: live/<name>/fullchain.pem and privkey.pem are symbolic
   * links into archive/, re-pointed at each renewal. Returns the live paths
   * and a function that "renews" to `next` the way certbot does (new files in
   * archive/, then each link replaced by a rename).
   */
  async function certbotLayout(base: string, first: LeafFiles) {
    const archive = join(base, 'archive');
    const live = join(base, 'live', 'mail');
    await mkdir(archive, { recursive: true });
    await mkdir(live, { recursive: true });
    let n = 0;
    const install = async (leaf: LeafFiles): Promise<void> => {
      n++;
      await writeFile(join(archive, `fullchain${n}.pem`), leaf.chainPem);
      await writeFile(join(archive, `privkey${n}.pem`), leaf.keyPem, { mode: 0o600 });
      for (const name of ['fullchain', 'privkey']) {
        const tmp = join(live, `.${name}.tmp`);
        await symlink(`../../archive/${name}${n}.pem`, tmp);
        await rename(tmp, join(live, `${name}.pem`));
      }
    };
    await install(first);
    return { cert: join(live, 'fullchain.pem'), key: join(live, 'privkey.pem'), renew: install };
  }

  /** Probe STARTTLS until `done(probe)` holds; the probes seen on the way. */
  async function probeUntil(server: EximServer, done: (p: SmtpTlsProbeResult) => boolean, timeoutMs: number): Promise<SmtpTlsProbeResult[]> {
    const seen: SmtpTlsProbeResult[] = [];
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls' });
      seen.push(p);
      if (done(p)) return seen;
      assert.ok(Date.now() < deadline, `not reached within ${timeoutMs} ms; last probe:\n${p.stdout.slice(-800)}\n${server.logTail()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Which of `leaves` a probe was served, and which one its stapled proof is for (by serial). */
  function servedPair(p: SmtpTlsProbeResult, leaves: LeafFiles[]): { cert?: string; proof?: string } {
    const serial = /Serial Number: (\w+)/.exec(p.ocspResponseText ?? '')?.[1]?.toLowerCase().replace(/^0+/, '');
    return {
      cert: leaves.find((l) => l.certPem === p.certPem)?.name,
      proof: leaves.find((l) => l.serialHex.toLowerCase().replace(/^0+/, '') === serial)?.name,
    };
  }

  it("certbot's live/ layout, plain tls_ocsp_file: Exim keeps the old certificate after the links are re-pointed; the proof tlskeeper writes for the new one makes it reload certificate, key and proof together, and no handshake fails (measured)", async () => {
    const [first, second] = renewals.plain;
    const layout = await certbotLayout(join(dir, 'le-plain'), first);
    const file = join(dir, 'le-plain', 'mail.ocsp');
    const lcfg = join(dir, 'le-plain', 'tlskeeper.yaml');
    await writeFile(lcfg, `state_dir: ${join(dir, 'le-plain', 'state')}\ncertificates:\n  - {name: mail, cert: ${layout.cert}, key: ${layout.key}, ocsp_file: ${file}}\n`);
    assert.equal((await tlskeeper(['--config', lcfg, '--json', 'refresh', 'ocsp'])).code, 0);
    const server = await startExim({ dir: join(dir, 'exim-le-plain'), certPath: layout.cert, keyPath: layout.key, ocspFile: file });
    try {
      await layout.renew(second);
      const probes: SmtpTlsProbeResult[] = [await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls' })];
      assert.deepEqual(servedPair(probes[0]!, [first, second]), { cert: first.name, proof: first.name }, 'Exim 4.96 does not notice the re-pointed links');
      const r = await tlskeeper(['--config', lcfg, '--json', 'refresh', 'ocsp']);
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.json<{ results: Array<{ message: string }> }>().results[0]!.message, /^installed a good proof/);
      probes.push(...await probeUntil(server, (p) => p.certPem === second.certPem, 20_000));
      const pairs = probes.map((p) => (p.ok ? servedPair(p, [first, second]) : { failed: p.stdout.slice(-300) }));
      assert.ok(pairs.every((x) => 'cert' in x && x.cert === x.proof), `every handshake served a certificate with its own proof:\n${JSON.stringify(pairs)}`);
      assert.deepEqual(pairs.at(-1), { cert: second.name, proof: second.name });
    } finally {
      await server.stop();
    }
  });

  it("certbot's live/ layout, guarded tls_ocsp_file: the new certificate is served from the next connection, so the old proof breaks STARTTLS until tlskeeper writes the new one (run it in the ACME client's deploy hook)", async () => {
    const [first, second] = renewals.guarded;
    const layout = await certbotLayout(join(dir, 'le-guarded'), first);
    const file = join(dir, 'le-guarded', 'mail.ocsp');
    const lcfg = join(dir, 'le-guarded', 'tlskeeper.yaml');
    await writeFile(lcfg, `state_dir: ${join(dir, 'le-guarded', 'state')}\ncertificates:\n  - {name: mail, cert: ${layout.cert}, key: ${layout.key}, ocsp_file: ${file}, ocsp_missing_ok: true}\n`);
    assert.equal((await tlskeeper(['--config', lcfg, '--json', 'refresh', 'ocsp'])).code, 0);
    const server = await startExim({ dir: join(dir, 'exim-le-guarded'), certPath: layout.cert, keyPath: layout.key, ocspFile: guard(file) });
    try {
      assert.deepEqual(servedPair(await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls' }), [first, second]), { cert: first.name, proof: first.name });
      await layout.renew(second);
      const broken = await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls' });
      assert.equal(broken.ok, false, 'the new certificate with the old proof: GnuTLS refuses the handshake');
      const st = await tlskeeper(['--config', lcfg, '--json', 'status']);
      const entry = st.json<{ entries: Array<{ kind: string; severity: string; facts: { fileState: string } }> }>().entries.find((e) => e.kind === 'ocsp')!;
      assert.deepEqual([entry.severity, entry.facts.fileState], ['CRITICAL', 'other-certificate']);
      const r = await tlskeeper(['--config', lcfg, '--json', 'refresh', 'ocsp']); // due: the proof is for another certificate
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual(servedPair(await smtpTlsProbe({ port: server.smtpPort, mode: 'starttls' }), [first, second]), { cert: second.name, proof: second.name });
    } finally {
      await server.stop();
    }
  });

  it('no OCSP URL and a proof for the previous certificate left in place: STARTTLS fails until tlskeeper removes it (ocsp_missing_ok)', async () => {
    const renewed = await pki.issueLeaf({ name: 'mail-le', sans: ['mail.example.test'] }); // no OCSP URL, like Let's Encrypt since 2025
    const file = join(dir, 'le.ocsp');
    await writeFile(file, await readFile(staple.ec)); // the previous certificate's proof
    const le = await startExim({ dir: join(dir, 'exim-le'), certPath: renewed.chainPath, keyPath: renewed.keyPath, ocspFile: guard(file) });
    try {
      const broken = await smtpTlsProbe({ port: le.smtpPort, mode: 'starttls' });
      assert.equal(broken.ok, false, 'GnuTLS refuses STARTTLS with a proof for another certificate');
      const lcfg = join(dir, 'le.yaml');
      await writeFile(lcfg, `state_dir: ${join(dir, 'state-le')}\ncertificates:\n  - {name: mail-le, cert: ${renewed.chainPath}, key: ${renewed.keyPath}, ocsp_file: ${file}, ocsp_missing_ok: true}\n`);
      const before = await tlskeeper(['--config', lcfg, '--json', 'status']);
      assert.equal(before.code, 2, before.stdout);
      const r = await tlskeeper(['--config', lcfg, '--json', 'refresh', 'ocsp']);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.json<{ results: Array<{ action: string; outcome: string }> }>().results[0]!.action, 'remove-staple');
      const fixed = await smtpTlsProbe({ port: le.smtpPort, mode: 'starttls' });
      assert.ok(fixed.ok, `${fixed.stdout}\n${le.logTail()}`);
      assert.equal(fixed.certPem, renewed.certPem);
      assert.ok(fixed.noOcspResponse, 'nothing stapled');
      const after_ = await tlskeeper(['--config', lcfg, '--json', 'status']);
      assert.equal(after_.json<{ entries: Array<{ kind: string; severity: string }> }>().entries.find((e) => e.kind === 'ocsp')!.severity, 'OK');
    } finally {
      await le.stop();
    }
  });
});
