// rfc2136 provider against a real Knot DNS (knotd) on loopback, with a key
// file as Knot's own `keymgr -t` writes it. Every outcome read back with kdig.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createDnsProvider } from '../../src/dns/index.js';
import { knotKeygen, startKnot, type KnotServer } from '../support/knot.js';
import { expectDnsError, rfc2136Suite, type Rfc2136Target } from '../support/dns-rfc2136-suite.js';

const ZONE = 'knot.example.test';

describe('rfc2136 provider against Knot DNS', () => {
  let dir: string;
  let knot: KnotServer;
  let target: Rfc2136Target;
  const files: Record<string, string> = {};

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-knot-'));
    const key = await knotKeygen('tlskeeper-update', 'hmac-sha256');
    const key512 = await knotKeygen('tlskeeper-sha512', 'hmac-sha512');
    const impostor = await knotKeygen('tlskeeper-update', 'hmac-sha256');
    const stranger = await knotKeygen('nobody-knows-me', 'hmac-sha256');
    knot = await startKnot({ dir: path.join(dir, 'knot'), zones: [{ name: ZONE, updateKeys: [key, key512] }] });
    for (const [n, k] of Object.entries({ key, key512, impostor, stranger })) {
      files[n] = path.join(dir, `${n}.key`);
      await writeFile(files[n]!, k.keyFileText, { mode: 0o600 });
    }
    const pid = knot.process().pid;
    target = {
      server: `127.0.0.1:${knot.port}`, zone: ZONE, otherZone: 'not-here.example.test',
      keyFile: files.key!, wrongSecretKeyFile: files.impostor!, unknownKeyFile: files.stranger!,
      secrets: [key.secretBase64, impostor.secretBase64, stranger.secretBase64],
      dig: (n, t) => knot.dig(n, t),
      freeze: () => process.kill(pid, 'SIGSTOP'),
      thaw: () => process.kill(pid, 'SIGCONT'),
    };
  });
  after(async () => {
    await knot?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  rfc2136Suite(() => target);

  it('hmac-sha512 works too', async () => {
    const p = createDnsProvider({ provider: 'rfc2136', zone: ZONE, server: target.server, tsig_key_file: files.key512!, timeout: 3000, propagation_timeout: 1000 });
    await p.replaceRRset({ name: `_443._tcp.www.${ZONE}`, type: 'TLSA', ttl: 60, values: [`3 0 1 ${'ab'.repeat(32)}`] });
    assert.deepEqual((await p.getRRset(`_443._tcp.www.${ZONE}`, 'TLSA'))?.values, [`3 0 1 ${'ab'.repeat(32)}`]);
  });

  it('server down: connection refused → DNS_FAILED with a hint', async () => {
    await knot.stop();
    const p = createDnsProvider({ provider: 'rfc2136', zone: ZONE, server: target.server, tsig_key_file: target.keyFile, timeout: 3000, propagation_timeout: 1000 });
    await expectDnsError(p.replaceRRset({ name: `_25._tcp.mx.${ZONE}`, type: 'TLSA', ttl: 60, values: [] }), 'DNS_FAILED', /connection refused/);
  });
});
