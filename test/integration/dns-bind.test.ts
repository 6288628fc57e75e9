// rfc2136 provider against a real BIND 9 (named) on loopback: DNS UPDATE
// over TCP with TSIG, answers verified, every outcome read back with dig.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDnsProvider } from '../../src/dns/index.js';
import { startBind, tsigKeygen, type BindServer } from '../support/bind.js';
import { expectDnsError, rfc2136Suite, type Rfc2136Target } from '../support/dns-rfc2136-suite.js';

const ZONE = 'bind.example.test';

describe('rfc2136 provider against BIND', () => {
  let dir: string;
  let bind: BindServer;
  let target: Rfc2136Target;
  const files: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-bind-'));
    const key = await tsigKeygen('tlskeeper-update', 'hmac-sha256');
    const key512 = await tsigKeygen('tlskeeper-sha512', 'hmac-sha512');
    const key1 = await tsigKeygen('tlskeeper-sha1', 'hmac-sha1');
    const impostor = await tsigKeygen('tlskeeper-update', 'hmac-sha256'); // same name, other secret
    const stranger = await tsigKeygen('nobody-knows-me', 'hmac-sha256');
    bind = await startBind({ dir: path.join(dir, 'bind'), zones: [{ name: ZONE, tsigKeys: [key, key512, key1] }] });
    for (const [n, k] of Object.entries({ key, key512, key1, impostor, stranger })) {
      files[n] = path.join(dir, `${n}.key`);
      await writeFile(files[n]!, k.keyFileText, { mode: 0o600 });
    }
    const pid = bind.process().pid;
    target = {
      server: `127.0.0.1:${bind.port}`, zone: ZONE, otherZone: 'not-here.example.test',
      keyFile: files.key!, wrongSecretKeyFile: files.impostor!, unknownKeyFile: files.stranger!,
      secrets: [key.secretBase64, impostor.secretBase64, stranger.secretBase64],
      dig: (n, t) => bind.dig(n, t),
      freeze: () => process.kill(pid, 'SIGSTOP'),
      thaw: () => process.kill(pid, 'SIGCONT'),
    };
  });
  after(async () => {
    await bind?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  rfc2136Suite(() => target);

  it('hmac-sha512 and hmac-sha1 keys work too', async () => {
    for (const f of [files.key512!, files.key1!]) {
      const p = createDnsProvider({ provider: 'rfc2136', zone: ZONE, server: target.server, tsig_key_file: f, timeout: 3000, propagation_timeout: 1000 });
      await p.replaceRRset({ name: `_443._tcp.www.${ZONE}`, type: 'TLSA', ttl: 60, values: [`3 0 1 ${'ab'.repeat(32)}`] });
      const got = await p.getRRset(`_443._tcp.www.${ZONE}`, 'TLSA');
      if (got?.values[0] !== `3 0 1 ${'ab'.repeat(32)}`) throw new Error(`read back ${JSON.stringify(got)}`);
    }
  });

  it('server down: connection refused → DNS_FAILED with a hint', async () => {
    await bind.stop();
    const p = createDnsProvider({ provider: 'rfc2136', zone: ZONE, server: target.server, tsig_key_file: target.keyFile, timeout: 3000, propagation_timeout: 1000 });
    await expectDnsError(p.replaceRRset({ name: `_25._tcp.mx.${ZONE}`, type: 'TLSA', ttl: 60, values: [] }), 'DNS_FAILED', /connection refused/);
  });
});
