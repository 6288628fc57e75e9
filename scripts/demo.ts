/**
 * `npm run demo`: tlskeeper's whole maintenance cycle against a sandbox on
 * 127.0.0.1, built with the same kit the integration tests use:
 *   a test CA (root, intermediate, delegated OCSP signer, leaf for mx.demo.test),
 *   a real `openssl ocsp` responder, BIND serving demo.test with a TSIG key,
 *   and Exim 4 serving STARTTLS and TLS-on-connect (RFC 8314).
 * Every tlskeeper step runs the real CLI (bin/tlskeeper.js) and is printed as
 * the command a postmaster would type. The sandbox is removed at the end
 * (set TLSKEEPER_KEEP_TMP=1 to keep it).
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind, tsigKeygen, type BindServer } from '../test/support/bind.js';
import { startExim, smtpTlsProbe, type EximServer } from '../test/support/exim.js';
import { startOcspResponder, type OcspResponder } from '../test/support/ocsp-responder.js';
import { createTestPki } from '../test/support/pki.js';

const BIN = new URL('../bin/tlskeeper.js', import.meta.url).pathname;
const ZONE = 'demo.test';
const MX = `mx.${ZONE}`;

function banner(text: string): void {
  console.log(`\n\x1b[1m== ${text}\x1b[0m`);
}

function tlskeeper(config: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  console.log(`\n\x1b[36m$ ${env.TLSKEEPER_NOW ? `TLSKEEPER_NOW=${env.TLSKEEPER_NOW} ` : ''}tlskeeper ${args.join(' ')}\x1b[0m`);
  const r = spawnSync(process.execPath, [BIN, '--config', config, '--log-level', 'warn', ...args], {
    stdio: 'inherit', env: { ...process.env, ...env },
  });
  console.log(`\x1b[2m(exit ${r.status})\x1b[0m`);
  return r.status ?? 1;
}

function capture(config: string, args: string[]): string {
  return spawnSync(process.execPath, [BIN, '--config', config, '--log-level', 'warn', ...args], { encoding: 'utf8' }).stdout;
}

async function probe(exim: EximServer, caFile: string, tlsaRecords: string[]): Promise<void> {
  for (const [label, port, mode] of [['STARTTLS (port 25 role)', exim.smtpPort, 'starttls'], ['TLS on connect (port 465 role)', exim.tlsOnConnectPort, 'tls']] as const) {
    const r = await smtpTlsProbe({ port, mode, servername: MX, caFile });
    const subject = /subject=([^\n]*)/.exec(r.stdout)?.[1] ?? '?';
    console.log(`  ${label}: handshake ${r.ok ? 'OK' : 'FAILED'}, ${r.protocol ?? '?'}, cert ${subject.trim()}, staple: ${r.ocspCertStatus ?? (r.noOcspResponse ? 'none sent' : '?')}`);
    if (tlsaRecords.length > 0) {
      const dane = await smtpTlsProbe({
        port, mode, servername: MX, status: false,
        extraArgs: ['-dane_tlsa_domain', MX, ...tlsaRecords.flatMap((rr) => ['-dane_tlsa_rrdata', rr])],
      });
      const matched = /DANE TLSA [^\n]*matched[^\n]*/.exec(dane.stdout)?.[0];
      console.log(`    DANE (openssl s_client -dane_tlsa_rrdata): ${matched ?? `no match (verify code ${dane.verifyCode})`}`);
    }
  }
}

async function main(): Promise<void> {
  const keep = process.env.TLSKEEPER_KEEP_TMP === '1';
  const dir = await mkdtemp(join(tmpdir(), 'tlskeeper-demo-'));
  const stops: Array<() => Promise<void>> = [];
  let exitCode = 0;
  try {
    banner(`Sandbox in ${dir}`);
    const pki = await createTestPki(join(dir, 'pki'), { namePrefix: 'tlskeeper demo' });
    const signer = await pki.issueOcspSigner({ name: 'ocsp-signer', days: 30 });
    const { freePort } = await import('../test/support/proc.js');
    const ocspPort = await freePort();
    const leaf = await pki.issueLeaf({ name: 'mx', sans: [MX], ocspUrl: `http://127.0.0.1:${ocspPort}/`, keyType: 'rsa', days: 90 });
    console.log(`  test CA made; leaf for ${MX} (RSA 2048, 90 days) with OCSP URL http://127.0.0.1:${ocspPort}/`);
    const responder: OcspResponder = await startOcspResponder({
      dir: join(dir, 'ocsp'), port: ocspPort, indexPath: pki.intermediateIndexPath, caCertPath: pki.intermediateCertPath,
      signerCertPath: signer.certPath, signerKeyPath: signer.keyPath, nextUpdateMinutes: 60,
    });
    stops.push(() => responder.stop());
    console.log(`  openssl ocsp responder on ${responder.url} (delegated signer, nextUpdate = thisUpdate + 60 min)`);

    const key = await tsigKeygen('tlskeeper-demo', 'hmac-sha256');
    const bind: BindServer = await startBind({
      dir: join(dir, 'bind'),
      zones: [{ name: ZONE, tsigKeys: [key], allowUpdate: true, records: [`mx IN A 127.0.0.1`] }],
    });
    stops.push(() => bind.stop());
    await writeFile(join(dir, 'tsig.key'), key.keyFileText, { mode: 0o600 });
    console.log(`  BIND serving ${ZONE} on 127.0.0.1:${bind.port}, updates signed with TSIG key ${key.name} (${key.algorithm})`);

    const tls = join(dir, 'exim-tls');
    await mkdir(tls, { recursive: true });
    await writeFile(join(tls, 'mx.crt'), leaf.chainPem);
    await writeFile(join(tls, 'mx.key'), leaf.keyPem, { mode: 0o600 });
    const config = join(dir, 'config.yaml');
    const eximPidFile = join(dir, 'exim', 'exim.pid');
    await writeFile(config, `# tlskeeper demo configuration
state_dir: ${join(dir, 'state')}
owner: root
group: root
certificates:
  - name: mx
    cert: ${join(tls, 'mx.crt')}
    key: ${join(tls, 'mx.key')}
    ocsp_file: ${join(tls, 'mx.ocsp.der')}
    reload: [/bin/sh, -c, 'test -s ${eximPidFile} && kill -HUP "$(cat ${eximPidFile})" || true']
    tlsa_ttl: 300
    tlsa:
      - { name: _25._tcp.${MX} }
      - { name: _465._tcp.${MX} }
dhparams:
  - file: ${join(tls, 'gnutls-params-2048')}
    bits: 2048
    max_age: 30d
    reader: root          # this sandbox's Exim runs as root (Debian's runs as Debian-exim: set owner: Debian-exim)
dns:
  - zone: ${ZONE}
    provider: rfc2136
    server: 127.0.0.1:${bind.port}
    tsig_key_file: ${join(dir, 'tsig.key')}
    authoritative_servers: [127.0.0.1:${bind.port}]
    propagation_timeout: 20s
`);
    console.log(`  configuration: ${config}`);

    banner('1. What is there before tlskeeper ran: no staple, no DH file, no TLSA records');
    tlskeeper(config, ['status']);

    banner('2. The plan (nothing is written)');
    tlskeeper(config, ['refresh', '--dry-run']);

    banner('3. One refresh: publish TLSA, fetch and validate the staple, generate DH parameters');
    exitCode ||= tlskeeper(config, ['refresh']);

    banner('4. The records tlskeeper computed, and what BIND now answers');
    tlskeeper(config, ['tlsa']);
    for (const name of [`_25._tcp.${MX}`, `_465._tcp.${MX}`]) {
      console.log(`  dig @127.0.0.1 -p ${bind.port} ${name} TLSA: ${(await bind.dig(name, 'TLSA')).join(' | ') || '(nothing)'}`);
    }

    banner('5. Exim serves the files tlskeeper wrote');
    const exim = await startExim({
      dir: join(dir, 'exim'), certPath: join(tls, 'mx.crt'), keyPath: join(tls, 'mx.key'),
      ocspFile: join(tls, 'mx.ocsp.der'), dhparamFile: join(tls, 'gnutls-params-2048'), primaryHostname: MX,
    });
    stops.unshift(() => exim.stop());
    console.log(`  Exim: STARTTLS on 127.0.0.1:${exim.smtpPort}, TLS on connect on 127.0.0.1:${exim.tlsOnConnectPort}`);
    const records = capture(config, ['--json', 'tlsa']);
    let rrdata: string[] = [];
    try {
      const doc = JSON.parse(records) as { records?: Array<{ rdata?: string; data?: string; value?: string }> };
      rrdata = [...new Set((doc.records ?? []).map((r) => r.rdata ?? r.data ?? r.value ?? '').filter(Boolean))];
    } catch { /* tlsa --json not available */ }
    await probe(exim, pki.rootCertPath, rrdata);

    banner('6. Status after the refresh');
    tlskeeper(config, ['status']);

    banner('7. A second refresh has nothing to do');
    tlskeeper(config, ['refresh']);

    const later = new Date(Date.now() + 35 * 60_000).toISOString();
    banner('8. 35 minutes later (injected clock): the staple is past half its life and is refreshed while Exim runs');
    await responder.restart();
    exitCode ||= tlskeeper(config, ['refresh', 'ocsp'], { TLSKEEPER_NOW: later });
    await probe(exim, pki.rootCertPath, []);

    banner('Done');
  } catch (err) {
    console.error(`demo failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    exitCode = 1;
  } finally {
    for (const stop of stops) await stop().catch(() => undefined);
    if (!keep) await rm(dir, { recursive: true, force: true });
    else console.log(`sandbox kept in ${dir}`);
  }
  process.exitCode = exitCode;
}

await main();
