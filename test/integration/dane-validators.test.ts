// External DANE validators agree with the TLSA records tlskeeper computes:
//   ldns-dane -n -c chain.pem -t tlsafile verify       (ldnsutils)
//   tlsa --create -u U -s S -m M --certificate FILE    (hash-slinger)
//   danetool --tlsa-rr --load-certificate FILE …       (gnutls-bin)
//   openssl s_client -dane_tlsa_domain … -dane_tlsa_rrdata …  against Exim
//     serving the certificates, on the STARTTLS port and the TLS-on-connect port
// tlskeeper is driven through its CLI (`tlskeeper --json tlsa`); no DNS server
// is needed for this file (the end-to-end publication test is dane-bind).
//
// None of the tools touches the network here: ldns-dane -c reads the chain
// from a file and -t the records from a file; `tlsa --create --certificate`
// reads the file and only formats the record (checked with `strace -e
// connect,sendto`: no socket call in create mode, so no DNS or network
// workaround is needed); danetool --tlsa-rr formats from the loaded file.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tlskeeper } from '../support/cli.js';
import { startExim, type EximServer } from '../support/exim.js';
import { createTestPki, type LeafFiles, type TestPki } from '../support/pki.js';
import { run } from '../support/proc.js';

const HOST = 'mx.example.com';
const N25 = `_25._tcp.${HOST}`;
const N465 = `_465._tcp.${HOST}`;
// DANE-TA checks the certificate name against the owner's base domain (RFC 7671 §5.2): same host, another port.
const TA = `_2525._tcp.${HOST}`;

interface Listed { name: string; ttl: number; certificate: string; usage: number; selector: number; matching: number; data: string; rdata: string; line: string }

describe('external validators agree with tlskeeper tlsa', () => {
  let dir: string;
  let pki: TestPki;
  let ec: LeafFiles;
  let rsa: LeafFiles;
  let exim: EximServer;
  let records: Listed[];
  const rec = (cert: string, name: string, params: string) => {
    const r = records.find((x) => x.certificate === cert && x.name === name && x.rdata.startsWith(`${params} `));
    assert.ok(r, `no ${params} record for ${cert} at ${name} in ${JSON.stringify(records.map((x) => [x.certificate, x.name, x.rdata.slice(0, 5)]))}`);
    return r;
  };
  const leafOf = (cert: string) => (cert === 'mx-ec' ? ec : rsa);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dane-validators-'));
    pki = await createTestPki(path.join(dir, 'pki'));
    ec = await pki.issueLeaf({ name: 'mx-ec', sans: [HOST] });
    rsa = await pki.issueLeaf({ name: 'mx-rsa', sans: [HOST], keyType: 'rsa' });
    const keyFile = path.join(dir, 'example.com.key');
    // Never read in this file (nothing is published), but the config requires a zone with a key.
    await writeFile(keyFile, 'key "tlskeeper" { algorithm hmac-sha256; secret "AAAA"; };\n', { mode: 0o600 });
    const cfg = path.join(dir, 'config.yaml');
    await writeFile(cfg, `state_dir: ${dir}/state
dns:
  - { zone: example.com, provider: rfc2136, server: 127.0.0.1, tsig_key_file: ${keyFile} }
certificates:
  - name: mx-ec
    cert: ${ec.chainPath}
    key: ${ec.keyPath}
    tlsa:
      - { name: ${N25} }
      - { name: ${N25}, usage: 3, selector: 1, matching: 2 }
      - { name: ${N25}, usage: 3, selector: 0, matching: 1 }
      - { name: ${N25}, usage: 3, selector: 0, matching: 0 }
      - { name: ${N465}, usage: 3, selector: 1, matching: 1 }
      - { name: ${TA}, usage: 2, selector: 1, matching: 1, allow_trust_anchor: true }
      - { name: ${TA}, usage: 2, selector: 0, matching: 2, allow_trust_anchor: true }
  - name: mx-rsa
    cert: ${rsa.chainPath}
    key: ${rsa.keyPath}
    tlsa_ttl: 3600
    tlsa:
      - { name: ${N25} }
      - { name: ${N25}, usage: 3, selector: 1, matching: 2 }
      - { name: ${N465} }
`);
    const json = await tlskeeper(['--config', cfg, '--json', 'tlsa']);
    assert.equal(json.code, 0, json.stderr);
    records = json.json<{ records: Listed[] }>().records;
    const text = await tlskeeper(['--config', cfg, 'tlsa']);
    assert.equal(text.code, 0, text.stderr);
    assert.deepEqual(text.stdout.trim().split('\n'), records.map((r) => r.line), 'zone-file form = the JSON lines');
    exim = await startExim({ dir: path.join(dir, 'exim'), certPaths: [ec.chainPath, rsa.chainPath], keyPaths: [ec.keyPath, rsa.keyPath], primaryHostname: HOST });
  });

  after(async () => {
    await exim?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('prints zone-file lines: owner with trailing dot, RRset TTL, IN TLSA, lower-case hex', () => {
    assert.equal(records.length, 4 + 1 + 2 + 1 + 2);
    for (const r of records) {
      assert.match(r.line, /^_\d+\._tcp\.[a-z.]+\. \d+ IN TLSA [23] [01] [012] [0-9a-f]+$/);
      assert.equal(r.line, `${r.name}. ${r.ttl} IN TLSA ${r.rdata}`);
    }
    // One RRset, one TTL: the RSA certificate's 3600 does not win over 300.
    assert.ok(records.filter((r) => r.name === N25).every((r) => r.ttl === 300));
    assert.ok(rec('mx-ec', N25, '3 1 1').line.startsWith(`${N25}. 300 IN TLSA 3 1 1 `));
  });

  it('ldns-dane verifies the chain against every record, and rejects another key\'s record', async () => {
    for (const r of records) {
      const file = path.join(dir, `ldns-${r.certificate}-${r.rdata.slice(0, 5).replace(/ /g, '')}-${r.name.slice(1, 4)}.tlsa`);
      await writeFile(file, `${r.line}\n`);
      // DANE-EE: `-n -t file verify` (names do not matter, RFC 7672 §3.1.1). DANE-TA: ldns-dane 1.8.3,
      // given no name, fails the certificate name check ("hostname mismatch") even with -n; given the
      // name and port it checks the name properly (DANE-TA needs name checks, RFC 7672 §3.2), so it gets them and no -n.
      const argv = r.usage === 3
        ? ['ldns-dane', '-n', '-c', leafOf(r.certificate).chainPath, '-t', file, 'verify']
        : ['ldns-dane', '-c', leafOf(r.certificate).chainPath, '-t', file, 'verify', HOST, r.name.split('.')[0]!.slice(1)];
      const v = await run(argv, { timeoutMs: 20_000 });
      assert.equal(v.code, 0, `${r.line}\n${v.stdout}${v.stderr}`);
      assert.match(v.stdout + v.stderr, /dane-validated successfully/);
    }
    const wrong = path.join(dir, 'ldns-wrong.tlsa');
    await writeFile(wrong, `${rec('mx-rsa', N25, '3 1 1').line}\n`);
    const v = await run(['ldns-dane', '-n', '-c', ec.chainPath, '-t', wrong, 'verify'], { timeoutMs: 20_000 });
    assert.notEqual(v.code, 0);
    assert.match(v.stdout + v.stderr, /did not dane-validate/);
  });

  it('hash-slinger `tlsa --create` computes the same records', async () => {
    for (const r of records) {
      // Usage 2 pins the issuer: hand hash-slinger the intermediate itself
      // (given the whole chain it would use the first certificate, the leaf).
      const file = r.usage === 2 ? pki.intermediateCertPath : leafOf(r.certificate).certPath;
      const port = r.name.split('.')[0]!.slice(1);
      const host = r.name.split('.').slice(2).join('.');
      const t = await run(['tlsa', '--create', '-u', String(r.usage), '-s', String(r.selector), '-m', String(r.matching), '--certificate', file, '--port', port, host], { timeoutMs: 30_000 });
      assert.equal(t.code, 0, t.stderr);
      const line = t.stdout.split('\n').find((l) => l.includes(' IN TLSA '));
      assert.equal(line, `${r.name}. IN TLSA ${r.rdata}`);
    }
  });

  it('danetool --tlsa-rr computes the same records', async () => {
    for (const r of records) {
      const args = ['danetool', '--tlsa-rr', '--load-certificate', r.usage === 2 ? pki.intermediateCertPath : leafOf(r.certificate).certPath,
        '--host', r.name.split('.').slice(2).join('.'), '--port', r.name.split('.')[0]!.slice(1), '--proto', 'tcp'];
      if (r.usage === 2) args.push('--ca');
      if (r.selector === 0) args.push('--x509');
      if (r.matching === 0) continue; // danetool has no Full(0) matching type: covered by the others
      if (r.matching === 2) args.push('--hash', 'sha512');
      const d = await run(args, { timeoutMs: 20_000 });
      assert.equal(d.code, 0, d.stderr);
      // `_25._tcp.mx.example.com. IN TLSA ( 03 01 01 <hex> )`
      const m = /IN TLSA \( (\d+) (\d+) (\d+) ([0-9a-f]+) \)/i.exec(d.stdout);
      assert.ok(m, d.stdout);
      assert.equal(`${Number(m[1])} ${Number(m[2])} ${Number(m[3])} ${m[4]!.toLowerCase()}`, r.rdata, args.join(' '));
    }
  });

  const sClient = async (port: number, mode: 'starttls' | 'tls', rdata: string[], sigalgs: string) => {
    const argv = ['openssl', 's_client', '-connect', `127.0.0.1:${port}`, '-servername', HOST, '-brief', '-verify_return_error',
      '-sigalgs', sigalgs, '-dane_tlsa_domain', HOST, ...rdata.flatMap((r) => ['-dane_tlsa_rrdata', r])];
    if (mode === 'starttls') argv.push('-starttls', 'smtp');
    const r = await run(argv, { input: 'QUIT\r\n', timeoutMs: 20_000 });
    return { code: r.code, out: r.stdout + r.stderr };
  };

  for (const mode of ['starttls', 'tls'] as const) {
    it(`openssl s_client -dane_tlsa_rrdata verifies Exim's ECDSA and RSA certificates (${mode === 'tls' ? 'TLS on connect' : 'STARTTLS'})`, async () => {
      const port = mode === 'tls' ? exim.tlsOnConnectPort : exim.smtpPort;
      const owner = mode === 'tls' ? N465 : N25;
      // A real DANE client is given the whole RRset of the owner name.
      const rrset = records.filter((r) => r.name === owner).map((r) => r.rdata);
      for (const [cert, sigalgs, sig] of [['mx-ec', 'ECDSA+SHA256', 'ECDSA'], ['mx-rsa', 'rsa_pss_rsae_sha256', 'RSA-PSS']] as const) {
        const s = await sClient(port, mode, rrset, sigalgs);
        assert.equal(s.code, 0, s.out);
        assert.match(s.out, new RegExp(`Signature type: ${sig}`), s.out);
        assert.match(s.out, /Verification: OK/);
        assert.match(s.out, /Verified peername: mx\.example\.com/);
        // s_client names the first record that matched (by its last 12 bytes): it must be one of this certificate's.
        const m = /DANE TLSA (\d \d \d) \.\.\.([0-9a-f]+) matched EE certificate at depth 0/.exec(s.out);
        assert.ok(m, s.out);
        assert.ok(records.some((r) => r.certificate === cert && r.name === owner && r.rdata.startsWith(m[1]!) && r.data.endsWith(m[2]!)), `${m[0]} is not a record of ${cert}`);
      }
    });
  }

  it('openssl s_client: a DANE-TA record matches the intermediate Exim sends; a stale record fails', async () => {
    const ta = records.filter((r) => r.name === TA).map((r) => r.rdata);
    const ok = await sClient(exim.smtpPort, 'starttls', ta, 'ECDSA+SHA256');
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /Verified peername: mx\.example\.com/);
    assert.match(ok.out, /DANE TLSA 2 [01] [12] \.\.\.[0-9a-f]+ matched TA certificate at depth 1/);
    // The RSA record offered for the ECDSA certificate: what a stale RRset does to a DANE sender.
    const bad = await sClient(exim.smtpPort, 'starttls', [rec('mx-rsa', N25, '3 1 1').rdata], 'ECDSA+SHA256');
    assert.notEqual(bad.code, 0);
    assert.match(bad.out, /no matching DANE TLSA records/);
  });
});
