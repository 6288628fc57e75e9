// Writes a demo PKI into a directory. This is the committed script that makes
// TLS fixtures: no key or certificate is ever committed; tests call
// createTestPki() themselves, and people (or the demo) run this.
//
//   node --import tsx test/support/make-fixtures.ts <dir> [--rsa] [--ocsp-url URL]
//
// <dir> must not exist or be empty. It gets:
//   root/cert.pem, root/key.pem, root/index.txt        self-signed root CA
//   intermediate/cert.pem, key.pem, index.txt, ca.cnf  intermediate CA (openssl ca dir)
//   leaves/mail/{cert,key,chain,full}.pem              mail.example.test, SAN mail.example.test +
//                                                      127.0.0.1, AIA OCSP URL, must-staple
//   leaves/mail-rsa/...                                same names, RSA 2048, no must-staple
//   leaves/revoked/...                                 revoked.example.test, revoked (keyCompromise)
//   leaves/expired/...                                 expired.example.test, expired yesterday
//   ocsp-signer/{cert,key}.pem                         delegated OCSP signer (intermediate-issued)
//   other-ca/cert.pem, other-signer/{cert,key}.pem     unrelated CA and a signer it issued
//   ca-bundle.pem                                      intermediate + root
//   README.txt                                         this list, with serials, and how to run
//                                                      `openssl ocsp` on it
// The OCSP URL defaults to http://127.0.0.1:8888 (`--ocsp-url` to change).
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTestPki, type LeafFiles, type TestPki } from './pki.js';

export interface DemoFixtures {
  pki: TestPki;
  dir: string;
  files: Record<string, string>;
}

async function place(leaf: LeafFiles, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(leaf.certPath, path.join(dir, 'cert.pem'));
  await copyFile(leaf.keyPath, path.join(dir, 'key.pem'));
  await copyFile(leaf.chainPath, path.join(dir, 'chain.pem'));
  await copyFile(leaf.fullPemPath, path.join(dir, 'full.pem'));
}

export async function makeDemoFixtures(dir: string, opts: { rsa?: boolean; ocspUrl?: string } = {}): Promise<DemoFixtures> {
  const out = path.resolve(dir);
  await mkdir(out, { recursive: true });
  if ((await readdir(out)).length > 0) throw new Error(`${out} is not empty`);
  const ocspUrl = opts.ocspUrl ?? 'http://127.0.0.1:8888';
  // The CAs live directly in <dir>/root and <dir>/intermediate.
  const pki = await createTestPki(out, { keyType: opts.rsa ? 'rsa' : 'ec', namePrefix: 'tlskeeper demo' });
  const day = 86_400_000;
  const mail = await pki.issueLeaf({ name: 'mail.example.test', sans: ['mail.example.test', '127.0.0.1'], ocspUrl, mustStaple: true });
  const mailRsa = await pki.issueLeaf({ name: 'mail.example.test', sans: ['mail.example.test', '127.0.0.1'], ocspUrl, keyType: 'rsa' });
  const revoked = await pki.issueLeaf({ name: 'revoked.example.test', sans: ['revoked.example.test'], ocspUrl });
  await pki.revoke(revoked, { reason: 'keyCompromise' });
  const expired = await pki.issueLeaf({
    name: 'expired.example.test',
    sans: ['expired.example.test'],
    ocspUrl,
    notBefore: new Date(Date.now() - 91 * day),
    notAfter: new Date(Date.now() - day),
  });
  const signer = await pki.issueOcspSigner({ name: 'tlskeeper demo OCSP signer' });
  const other = await pki.createOtherCa('tlskeeper demo unrelated CA');
  const otherSigner = await pki.issueOcspSigner({ name: 'tlskeeper demo foreign OCSP signer', issuer: other });

  await place(mail, path.join(out, 'leaves', 'mail'));
  await place(mailRsa, path.join(out, 'leaves', 'mail-rsa'));
  await place(revoked, path.join(out, 'leaves', 'revoked'));
  await place(expired, path.join(out, 'leaves', 'expired'));
  await mkdir(path.join(out, 'ocsp-signer'), { recursive: true });
  await copyFile(signer.certPath, path.join(out, 'ocsp-signer', 'cert.pem'));
  await copyFile(signer.keyPath, path.join(out, 'ocsp-signer', 'key.pem'));
  await mkdir(path.join(out, 'other-ca'), { recursive: true });
  await copyFile(other.certPath, path.join(out, 'other-ca', 'cert.pem'));
  await mkdir(path.join(out, 'other-signer'), { recursive: true });
  await copyFile(otherSigner.certPath, path.join(out, 'other-signer', 'cert.pem'));
  await copyFile(otherSigner.keyPath, path.join(out, 'other-signer', 'key.pem'));
  await writeFile(path.join(out, 'ca-bundle.pem'), pki.caBundlePem);

  const port = new URL(ocspUrl).port || '80';
  const readme = `tlskeeper demo PKI (generated ${new Date().toISOString()} by test/support/make-fixtures.ts)

root CA            root/cert.pem
intermediate CA    intermediate/cert.pem   (openssl ca dir: intermediate/ca.cnf, index.txt)
mail leaf (EC)     leaves/mail/            serial ${mail.serialHex}  must-staple, OCSP ${ocspUrl}
mail leaf (RSA)    leaves/mail-rsa/        serial ${mailRsa.serialHex}
revoked leaf       leaves/revoked/         serial ${revoked.serialHex}  (keyCompromise)
expired leaf       leaves/expired/         serial ${expired.serialHex}
OCSP signer        ocsp-signer/            serial ${signer.serialHex}
unrelated CA       other-ca/cert.pem, its signer other-signer/

Run an OCSP responder for the intermediate:
  openssl ocsp -index intermediate/index.txt -CA intermediate/cert.pem \\
    -rsigner ocsp-signer/cert.pem -rkey ocsp-signer/key.pem -port ${port} -nmin 60 -ignore_err
Fetch a staple:
  openssl ocsp -issuer intermediate/cert.pem -cert leaves/mail/cert.pem -url ${ocspUrl} \\
    -no_nonce -CAfile root/cert.pem -respout staple.der
(Do not probe the responder port with a bare TCP connect: OpenSSL 3.0's responder then spins.)
`;
  await writeFile(path.join(out, 'README.txt'), readme);
  return {
    pki,
    dir: out,
    files: {
      rootCert: pki.rootCertPath,
      intermediateCert: pki.intermediateCertPath,
      mailCert: path.join(out, 'leaves', 'mail', 'cert.pem'),
      mailKey: path.join(out, 'leaves', 'mail', 'key.pem'),
      ocspSignerCert: path.join(out, 'ocsp-signer', 'cert.pem'),
      ocspSignerKey: path.join(out, 'ocsp-signer', 'key.pem'),
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const args = [...argv];
  let rsa = false;
  let ocspUrl: string | undefined;
  const rest: string[] = [];
  while (args.length > 0) {
    const a = args.shift()!;
    if (a === '--rsa') rsa = true;
    else if (a === '--ocsp-url') ocspUrl = args.shift();
    else rest.push(a);
  }
  const dir = rest[0];
  if (!dir || rest.length !== 1) {
    process.stderr.write('usage: node --import tsx test/support/make-fixtures.ts <dir> [--rsa] [--ocsp-url URL]\n');
    process.exit(2);
  }
  const opts: { rsa: boolean; ocspUrl?: string } = { rsa };
  if (ocspUrl) opts.ocspUrl = ocspUrl;
  const f = await makeDemoFixtures(dir, opts);
  process.stdout.write(`wrote demo PKI to ${f.dir} (see ${path.join(f.dir, 'README.txt')})\n`);
}

const invoked = process.argv[1] ? pathToFileURL(path.resolve(process.argv[1])).href : '';
if (import.meta.url === invoked) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`make-fixtures: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
