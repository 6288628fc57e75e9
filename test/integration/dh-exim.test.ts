// 2048-bit DH files, as configured in production: tlskeeper replaces an
// overshoot (2049-bit prime), a 1024-bit file and an empty file, and Exim
// (Debian's exim4 4.96, GnuTLS) with tls_dhparam pointing at the new file
// completes a TLS 1.2 DHE handshake. Before the refresh the empty file makes
// every STARTTLS fail: the negative control that shows Exim reads the file.
// Takes a while: three real 2048-bit safe-prime searches.
import assert from 'node:assert/strict';
import { generatePrimeSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeDhParameter, parseDhFile } from '../../src/dh/index.js';
import { toPem } from '../../src/pki/index.js';
import { tlskeeper } from '../support/cli.js';
import { smtpTlsProbe, startExim, type EximServer } from '../support/exim.js';
import { createTestPki } from '../support/pki.js';
import { run, runChecked } from '../support/proc.js';

/** The p of the ServerKeyExchange, from `openssl s_client -trace`. */
function servedPrime(trace: string): bigint | undefined {
  const m = /dh_p \(len=\d+\): ([0-9A-F]+)/.exec(trace);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

async function filePrime(path: string): Promise<bigint> {
  const parsed = parseDhFile(await readFile(path));
  if ('problem' in parsed) throw new Error(parsed.problem.message);
  return parsed.params.p;
}

describe('dhparams at 2048 bits: openssl, certtool and Exim (GnuTLS) accept what tlskeeper writes', { timeout: 15 * 60_000 }, () => {
  let dir: string;
  let cfg: string;
  let exim: EximServer | undefined;
  const ffdhe: bigint[] = [];
  const files = { overshoot: '', small: '', exim: '' };

  const probe = () => smtpTlsProbe({
    port: exim!.smtpPort, mode: 'starttls', status: false,
    // ECDSA-free: the leaf is RSA, so DHE-RSA is the suite; TLS 1.3 would use named groups only.
    extraArgs: ['-tls1_2', '-cipher', 'DHE-RSA-AES128-GCM-SHA256', '-trace'],
  });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-dh-exim-'));
    await mkdir(join(dir, 'dh'));
    files.overshoot = join(dir, 'dh', 'overshoot-2049.pem');
    files.small = join(dir, 'dh', 'small-1024.pem');
    files.exim = join(dir, 'dh', 'gnutls-params-2048');
    // A 2049-bit prime with g = 2: what an overshooting generator writes when asked for 2048.
    await writeFile(files.overshoot, toPem('DH PARAMETERS', encodeDhParameter({ p: generatePrimeSync(2049, { bigint: true }), g: 2n })));
    await runChecked(['openssl', 'dhparam', '-out', files.small, '1024'], { timeoutMs: 120_000 });
    await writeFile(files.exim, '');
    for (const bits of [2048, 3072, 4096]) {
      const pem = (await runChecked(['openssl', 'genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', `group:ffdhe${bits}`])).stdout;
      const parsed = parseDhFile(Buffer.from(pem));
      if ('params' in parsed) ffdhe.push(parsed.params.p);
    }
    cfg = join(dir, 'config.yaml');
    await writeFile(cfg, JSON.stringify({
      state_dir: join(dir, 'state'),
      dhparams: [
        { file: files.overshoot, bits: 2048, timeout: '10m' },
        { file: files.small, bits: 2048, timeout: '10m' },
        { file: files.exim, bits: 2048, timeout: '10m' },
      ],
    }));
    const pki = await createTestPki(join(dir, 'pki'));
    const leaf = await pki.issueLeaf({ name: 'mx', sans: ['mail.example.test'], keyType: 'rsa' });
    exim = await startExim({ dir: join(dir, 'exim'), certPath: leaf.chainPath, keyPath: leaf.keyPath, dhparamFile: files.exim });
  });
  after(async () => {
    await exim?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('status finds the overshoot, the small and the empty file', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(r.code, 2);
    const byFile = new Map(r.json<{ entries: Array<{ object: string; facts: Record<string, unknown> }> }>().entries.map((e) => [e.object, e.facts]));
    assert.equal(byFile.get(files.overshoot)?.check, 'DH_TOO_LARGE');
    assert.equal(byFile.get(files.overshoot)?.bits, 2049);
    assert.equal(byFile.get(files.small)?.check, 'DH_TOO_SMALL');
    assert.equal(byFile.get(files.small)?.bits, 1024);
    assert.equal(byFile.get(files.exim)?.check, 'DH_EMPTY');
  });

  it('with the empty file Exim cannot start TLS at all (it reads tls_dhparam per connection)', async () => {
    const p = await probe();
    assert.equal(p.ok, false, p.stdout.slice(-500));
    assert.match(p.stdout, /Cipher is \(NONE\)/);
    const log = await readFile(exim!.mainLogPath, 'utf8');
    // GnuTLS: "(fread failed)" for an empty file, "gnutls_dh_params_import_pkcs3" for a bad one.
    assert.match(log, /TLS error on connection .*\((fread failed|gnutls_dh_params_import_pkcs3)/, log);
  });

  it('refresh replaces all three with 2048-bit safe primes that openssl and certtool accept', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const results = r.json<{ results: Array<{ object: string; outcome: string; message: string }> }>().results;
    assert.deepEqual(results.map((x) => x.outcome), ['changed', 'changed', 'changed'], JSON.stringify(results, null, 1));
    for (const f of Object.values(files)) {
      const ossl = await run(['openssl', 'dhparam', '-in', f, '-check', '-noout']);
      assert.equal(ossl.code, 0, `${f}: ${ossl.stdout}${ossl.stderr}`);
      assert.match(ossl.stdout + ossl.stderr, /DH parameters appear to be ok/);
      assert.match((await runChecked(['openssl', 'dhparam', '-in', f, '-noout', '-text'])).stdout, /\(2048 bit\)/);
      const info = await run(['certtool', '--dh-info', '--infile', f]);
      assert.equal(info.code, 0, info.stderr);
      assert.equal((await stat(f)).mode & 0o7777, 0o400);
      const p = await filePrime(f);
      assert.equal(p % 24n, 23n, 'p ≡ 23 (mod 24), as openssl dhparam makes them for g = 2');
    }
    assert.equal((await readdir(join(dir, 'state', 'dhparams-old'))).length, 3);
  });

  it('Exim completes a TLS 1.2 DHE handshake with the file tlskeeper wrote', async (t) => {
    const p = await probe();
    assert.equal(p.ok, true, `${p.stdout.slice(-1500)}\n${exim!.logTail()}`);
    assert.equal(p.protocol, 'TLSv1.2');
    assert.equal(p.cipher, 'DHE-RSA-AES128-GCM-SHA256');
    assert.match(p.serverTempKey ?? '', /^DH, 2048 bits$/);
    // GnuTLS ≥ 3.6 may answer with the RFC 7919 group of the file's size instead
    // of the file's own prime (observed with Debian 12's exim4); either is fine.
    const served = servedPrime(p.stdout);
    const ours = await filePrime(files.exim);
    assert.ok(served === ours || ffdhe.includes(served!), `served p is neither the file's nor an RFC 7919 prime: ${served?.toString(16).slice(0, 32)}`);
    t.diagnostic(`served DH prime: ${served === ours ? "the file's own" : 'RFC 7919 ffdhe2048 (GnuTLS substitutes the named group of the same size)'}`);
    assert.doesNotMatch(await readFile(exim!.paniclogPath, 'utf8').catch(() => ''), /dh|param/i);
  });
});
