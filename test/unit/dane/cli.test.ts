// `tlskeeper tlsa`: zone-file lines, --cert, and the error paths (no DNS involved).
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { computeTlsa, formatTlsa } from '../../../src/dane/index.js';
import { tlskeeper } from '../../support/cli.js';
import { makeFixture, type DaneFixture } from './fixtures.js';

describe('tlskeeper tlsa', () => {
  let f: DaneFixture;
  let cfg: string;
  before(async () => {
    f = await makeFixture();
    cfg = path.join(f.dir, 'config.yaml');
    await writeFile(cfg, `state_dir: ${f.dir}/state
dns: [ { zone: example.com, provider: rfc2136, server: 127.0.0.1, tsig_key_file: /nonexistent.key } ]
certificates:
  - { name: mx-ec, cert: ${f.ec.chainPath}, key: ${f.ec.keyPath}, tlsa: [ { name: _25._tcp.mx.example.com } ] }
  - { name: mx-rsa, cert: ${f.rsa.chainPath}, key: ${f.rsa.keyPath}, tlsa_ttl: 60, tlsa: [ { name: _25._tcp.mx.example.com } ] }
  - { name: gone, cert: ${f.dir}/missing.pem, key: ${f.dir}/missing.key, tlsa: [ { name: _26._tcp.mx.example.com } ] }
  - { name: plain, cert: ${f.ec2.chainPath}, key: ${f.ec2.keyPath} }
`);
  });
  after(async () => { await f?.cleanup(); });

  const rec = (leaf: DaneFixture['ec']) => formatTlsa(computeTlsa({ usage: 3, selector: 1, matching: 1 }, { kind: 'chain', chain: f.chain(leaf) }));

  it('prints zone-file lines for one certificate, with the RRset TTL', async () => {
    const r = await tlskeeper(['--config', cfg, 'tlsa', '--cert', 'mx-ec']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `_25._tcp.mx.example.com. 60 IN TLSA ${rec(f.ec)}\n`);
  });

  it('without --cert: every record, and exit 1 with a hint for a certificate that cannot be read', async () => {
    const r = await tlskeeper(['--config', cfg, 'tlsa']);
    assert.equal(r.code, 1);
    assert.deepEqual(r.stdout.trim().split('\n').sort(), [
      `_25._tcp.mx.example.com. 60 IN TLSA ${rec(f.ec)}`, `_25._tcp.mx.example.com. 60 IN TLSA ${rec(f.rsa)}`,
    ].sort());
    assert.match(r.stderr, /_26\._tcp\.mx\.example\.com: certificate gone could not be read/);
    assert.match(r.stderr, /hint: /);
    const j = await tlskeeper(['--config', cfg, '--json', 'tlsa']);
    const doc = j.json<{ records: unknown[]; errors: Array<{ certificate: string }>; exitCode: number }>();
    assert.equal(doc.records.length, 2);
    assert.deepEqual(doc.errors.map((e) => e.certificate), ['gone']);
    assert.equal(doc.exitCode, 1);
  });

  it('a certificate without tlsa entries, and an unknown name', async () => {
    const r = await tlskeeper(['--config', cfg, 'tlsa', '--cert', 'plain']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout, '; no tlsa records configured for certificate plain\n');
    assert.equal((await tlskeeper(['--config', cfg, 'tlsa', '--cert', 'nope'])).code, 2);
  });
});
