// Shared by the dane unit tests: a throw-away PKI (root → intermediate →
// an ECDSA and an RSA leaf for mx.example.com), built once per test file.
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestPki, type LeafFiles, type TestPki } from '../../support/pki.js';
import { run } from '../../support/proc.js';
import type { TlsaRecordConfig } from '../../../src/config/index.js';
import type { TlsaCertificateView } from '../../../src/dane/index.js';

export interface DaneFixture {
  dir: string;
  pki: TestPki;
  ec: LeafFiles;
  rsa: LeafFiles;
  /** A second ECDSA leaf: "the old key" / "another certificate". */
  ec2: LeafFiles;
  chain(leaf: LeafFiles): X509Certificate[];
  publicKey(leaf: LeafFiles): KeyObject;
  cleanup(): Promise<void>;
}

export async function makeFixture(): Promise<DaneFixture> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dane-'));
  const pki = await createTestPki(path.join(dir, 'pki'));
  const ec = await pki.issueLeaf({ name: 'mx-ec', sans: ['mx.example.com'] });
  const rsa = await pki.issueLeaf({ name: 'mx-rsa', sans: ['mx.example.com'], keyType: 'rsa' });
  const ec2 = await pki.issueLeaf({ name: 'mx-ec-old', sans: ['mx.example.com'] });
  return {
    dir, pki, ec, rsa, ec2,
    chain: (leaf) => [new X509Certificate(leaf.certPem), new X509Certificate(pki.intermediateCertPem)],
    publicKey: (leaf) => createPublicKey(createPrivateKey(leaf.keyPem)),
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

/** Runs a shell pipeline (openssl … | sha256sum) and returns the first hex word of its output. */
export async function shellHex(script: string): Promise<string> {
  const r = await run(['sh', '-ec', script], { timeoutMs: 20_000 });
  if (r.code !== 0) throw new Error(`${script}: ${r.stderr}`);
  const m = /^[0-9a-f]+/i.exec(r.stdout.replace(/\s+/g, ''));
  if (!m) throw new Error(`${script}: no hex in ${JSON.stringify(r.stdout)}`);
  return m[0].toLowerCase();
}

export function spec(name: string, usage: 2 | 3 = 3, selector: 0 | 1 = 1, matching: 0 | 1 | 2 = 1): TlsaRecordConfig {
  return { name, usage, selector, matching, allow_trust_anchor: usage === 2 };
}

export function view(name: string, chain: X509Certificate[] | undefined, specs: TlsaRecordConfig[], ttl = 300): TlsaCertificateView {
  return chain
    ? { name, ttl, specs, liveChain: chain, keys: [{ role: 'current', source: { kind: 'chain', chain } }] }
    : { name, ttl, specs, keys: [], error: { code: 'CERT_UNREADABLE', message: `certificate ${name}: file does not exist` } };
}
