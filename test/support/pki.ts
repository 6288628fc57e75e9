// Test PKI built with the `openssl` CLI at test time (no key is ever committed).
//
//   root CA (self-signed, own index.txt)
//     └─ intermediate CA (issued by root with `openssl ca`, own index.txt)
//          ├─ leaves (serverAuth, SAN, optional AIA OCSP URL, optional must-staple)
//          └─ delegated OCSP signers (id-kp-OCSPSigning, optional id-pkix-ocsp-nocheck)
//   other CAs (createOtherCa): unrelated self-signed roots, for "signer issued by
//   another CA" and "wrong issuer" tests.
//
// Every CA is an `openssl ca` directory (ca.cnf, index.txt, index.txt.attr,
// newcerts/), so `openssl ocsp -index <ca>/index.txt -CA <ca>/cert.pem` can
// answer for what it issued, revocations are `openssl ca -revoke`, and
// validity windows are exact (`-startdate/-enddate`). Keys are ECDSA P-256 by
// default (fast), RSA 2048 on request; they are generated with node:crypto
// (PKCS#8 PEM, mode 0600), everything else is the openssl CLI.
import { generateKeyPair, randomBytes, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile, chmod } from 'node:fs/promises';
import { isIP } from 'node:net';
import path from 'node:path';
import { runChecked } from './proc.js';

export type KeyType = 'ec' | 'rsa';

export interface LeafFiles {
  name: string;
  certPath: string;
  keyPath: string;
  /** leaf + issuing CA (intermediate) PEM, as a server would send it. */
  chainPath: string;
  /** leaf + key + chain in one PEM file (some servers want that). */
  fullPemPath: string;
  /** Lower-case hex, no leading zeros stripped beyond what openssl prints (as in index.txt). */
  serialHex: string;
  certPem: string;
  keyPem: string;
  chainPem: string;
  /** SHA-256 fingerprint as Node prints it (AA:BB:...). */
  fingerprint256: string;
  issuer: Ca;
}

export interface OcspSignerFiles {
  name: string;
  certPath: string;
  keyPath: string;
  certPem: string;
  keyPem: string;
  serialHex: string;
  issuer: Ca;
}

export interface IssueLeafOptions {
  name: string;
  /** DNS names and IP addresses (IP literals become iPAddress SANs). */
  sans: string[];
  ocspUrl?: string;
  /** caIssuers URL for the AIA extension. */
  caIssuersUrl?: string;
  /** Adds the TLS feature extension status_request (RFC 7633). */
  mustStaple?: boolean;
  keyType?: KeyType;
  notBefore?: Date;
  notAfter?: Date;
  /** Validity in days from now when notAfter is not given (default 90). */
  days?: number;
  issuer?: 'intermediate' | 'root' | Ca;
  /** Reuse an existing private key (PEM) instead of generating one (renewal with same key). */
  keyPem?: string;
  /** Extra lines for the extension section, e.g. "crlDistributionPoints = URI:http://...". */
  extraExtensions?: string[];
}

export interface IssueOcspSignerOptions {
  name: string;
  /** Include extendedKeyUsage = OCSPSigning (default true). */
  ekuOcspSigning?: boolean;
  /** Include id-pkix-ocsp-nocheck (default true). */
  noCheck?: boolean;
  keyType?: KeyType;
  notBefore?: Date;
  notAfter?: Date;
  days?: number;
  issuer?: 'intermediate' | 'root' | Ca;
}

export interface RevokeOptions {
  /** CRL reason, e.g. 'keyCompromise', 'superseded' (default 'unspecified'). */
  reason?: string;
  /** Rewrite the revocation time in index.txt (default: now, as openssl ca does). */
  revokedAt?: Date;
}

export interface TestPkiOptions {
  keyType?: KeyType;
  /** Name prefix for the CA subjects (default "tlskeeper test"). */
  namePrefix?: string;
}

/** YYMMDDHHMMSSZ (UTCTime) for years 1950-2049, else YYYYMMDDHHMMSSZ, as `openssl ca` takes. */
export function opensslDate(d: Date): string {
  const iso = d.toISOString(); // 2025-01-02T03:04:05.678Z
  const y = d.getUTCFullYear();
  const rest = iso.slice(5, 7) + iso.slice(8, 10) + iso.slice(11, 13) + iso.slice(14, 16) + iso.slice(17, 19) + 'Z';
  if (y >= 1950 && y < 2050) return String(y).slice(2) + rest;
  return String(y).padStart(4, '0') + rest;
}

export async function generateKeyPem(keyType: KeyType = 'ec'): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const cb = (err: Error | null, _pub: string, priv: string): void => {
      if (err) reject(err);
      else resolve(priv);
    };
    if (keyType === 'rsa') {
      generateKeyPair(
        'rsa',
        { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
        cb,
      );
    } else {
      generateKeyPair(
        'ec',
        { namedCurve: 'prime256v1', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } },
        cb,
      );
    }
  });
}

async function writeKey(file: string, pem: string): Promise<void> {
  await writeFile(file, pem, { mode: 0o600 });
  await chmod(file, 0o600);
}

function safeName(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '_');
  if (!s) throw new Error(`bad name: ${JSON.stringify(name)}`);
  return s;
}

/** Subject values for -subj: escape / and the characters openssl treats specially. */
function subj(cn: string): string {
  return `/CN=${cn.replace(/([/\\+=,])/g, '\\$1')}`;
}

function serialOf(pem: string): string {
  return new X509Certificate(pem).serialNumber.toLowerCase();
}

/** First PEM certificate block of a PEM text. */
export function firstCertPem(pem: string): string | null {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  return m ? m[0] + '\n' : null;
}

/** All PEM certificate blocks of a PEM text. */
export function allCertPems(pem: string): string[] {
  return [...pem.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map((m) => m[0] + '\n');
}

/** SHA-256 fingerprint (AA:BB:..) of the first certificate in a PEM text. */
export function fingerprint256(pem: string): string {
  return new X509Certificate(pem).fingerprint256;
}

function caConfig(dir: string, defaultDays: number): string {
  return `# generated by test/support/pki.ts
[ ca ]
default_ca = CA_default

[ CA_default ]
dir = ${dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
certificate = $dir/cert.pem
private_key = $dir/key.pem
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_days = ${defaultDays}
default_crl_days = 7
policy = policy_loose
unique_subject = no
copy_extensions = none
email_in_dn = no
preserve = no
name_opt = ca_default
cert_opt = ca_default

[ policy_loose ]
commonName = supplied
organizationName = optional
organizationalUnitName = optional

[ req ]
distinguished_name = req_dn
string_mask = utf8only
prompt = no

[ req_dn ]
CN = placeholder

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
`;
}

/** One `openssl ca` directory. */
export class Ca {
  readonly name: string;
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly indexPath: string;
  readonly configPath: string;
  readonly crlPath: string;
  /** Set for CAs issued by another (the intermediate): the issuer. */
  readonly parent: Ca | null;
  certPem = '';
  keyPem = '';
  private lock: Promise<unknown> = Promise.resolve();
  private seq = 0;

  constructor(name: string, dir: string, parent: Ca | null) {
    this.name = name;
    this.dir = dir;
    this.parent = parent;
    this.certPath = path.join(dir, 'cert.pem');
    this.keyPath = path.join(dir, 'key.pem');
    this.indexPath = path.join(dir, 'index.txt');
    this.configPath = path.join(dir, 'ca.cnf');
    this.crlPath = path.join(dir, 'crl.pem');
  }

  /** Serializes openssl ca invocations on this CA's database. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.lock.then(fn, fn);
    this.lock = next.catch(() => undefined);
    return next;
  }

  async init(defaultDays = 90): Promise<void> {
    await mkdir(path.join(this.dir, 'newcerts'), { recursive: true });
    await mkdir(path.join(this.dir, 'issued'), { recursive: true });
    await writeFile(this.configPath, caConfig(this.dir, defaultDays));
    await writeFile(this.indexPath, '');
    await writeFile(this.indexPath + '.attr', 'unique_subject = no\n');
    await writeFile(path.join(this.dir, 'crlnumber'), '1000\n');
  }

  /** Runs `openssl ca` on this CA's database with the given extension section text. */
  async sign(opts: {
    csrPath: string;
    outPath: string;
    cn: string;
    extSection: string;
    notBefore?: Date;
    notAfter?: Date;
    days?: number;
    selfsign?: boolean;
  }): Promise<string> {
    return this.exclusive(async () => {
      const extPath = opts.outPath.replace(/\.pem$/, '') + '.ext.cnf';
      await writeFile(extPath, `[ ext ]\n${opts.extSection}\n`);
      const argv = [
        'openssl', 'ca', '-batch', '-notext', '-rand_serial', '-config', this.configPath,
        '-in', opts.csrPath, '-out', opts.outPath, '-subj', subj(opts.cn),
        '-extfile', extPath, '-extensions', 'ext',
      ];
      if (opts.selfsign) argv.push('-selfsign', '-keyfile', this.keyPath);
      if (opts.notBefore) argv.push('-startdate', opensslDate(opts.notBefore));
      if (opts.notAfter) argv.push('-enddate', opensslDate(opts.notAfter));
      else if (opts.days !== undefined) argv.push('-days', String(opts.days));
      await runChecked(argv, { timeoutMs: 20_000 });
      return readFile(opts.outPath, 'utf8');
    });
  }

  /** Marks `certPath`'s certificate revoked in index.txt (`openssl ca -revoke`). */
  async revokeCert(certPath: string, opts: RevokeOptions = {}): Promise<void> {
    await this.exclusive(async () => {
      const argv = ['openssl', 'ca', '-batch', '-config', this.configPath, '-revoke', certPath];
      if (opts.reason) argv.push('-crl_reason', opts.reason);
      await runChecked(argv, { timeoutMs: 20_000 });
      if (opts.revokedAt) {
        const serial = serialOf(await readFile(certPath, 'utf8')).toUpperCase();
        const lines = (await readFile(this.indexPath, 'utf8')).split('\n');
        const out = lines.map((line) => {
          const f = line.split('\t');
          if (f[0] === 'R' && (f[3] ?? '').toUpperCase().replace(/^0+/, '') === serial.replace(/^0+/, '')) {
            const old = f[2] ?? '';
            const comma = old.indexOf(',');
            const at = opensslDate(opts.revokedAt!);
            f[2] = comma >= 0 ? at + old.slice(comma) : at;
            return f.join('\t');
          }
          return line;
        });
        await writeFile(this.indexPath, out.join('\n'));
      }
    });
  }

  /** Writes a CRL (`openssl ca -gencrl`) to crlPath and returns its PEM. */
  async generateCrl(): Promise<string> {
    return this.exclusive(async () => {
      await runChecked(['openssl', 'ca', '-batch', '-config', this.configPath, '-gencrl', '-out', this.crlPath], { timeoutMs: 20_000 });
      return readFile(this.crlPath, 'utf8');
    });
  }

  /** A fresh, unique directory for one issued certificate. */
  async newItemDir(name: string): Promise<string> {
    const d = path.join(this.dir, 'issued', `${safeName(name)}-${++this.seq}`);
    await mkdir(d, { recursive: true });
    return d;
  }

  async makeCsr(dir: string, cn: string, keyPem: string): Promise<{ keyPath: string; csrPath: string }> {
    const keyPath = path.join(dir, 'key.pem');
    const csrPath = path.join(dir, 'csr.pem');
    await writeKey(keyPath, keyPem);
    await runChecked(['openssl', 'req', '-new', '-config', this.configPath, '-key', keyPath, '-subj', subj(cn), '-out', csrPath], {
      timeoutMs: 20_000,
    });
    return { keyPath, csrPath };
  }

  /** The chain a server sends for a certificate this CA issued (this CA, then its parents except the root). */
  chainPem(): string {
    const parts: string[] = [];
    for (let c: Ca | null = this; c && c.parent; c = c.parent) parts.push(c.certPem);
    return parts.join('');
  }

  /** Creates a self-signed root CA in `dir`. */
  static async createRoot(name: string, dir: string, keyType: KeyType = 'ec'): Promise<Ca> {
    const ca = new Ca(name, dir, null);
    await ca.init();
    ca.keyPem = await generateKeyPem(keyType);
    await writeKey(ca.keyPath, ca.keyPem);
    await runChecked(
      [
        'openssl', 'req', '-x509', '-new', '-config', ca.configPath, '-extensions', 'v3_root',
        '-key', ca.keyPath, '-subj', subj(name), '-sha256', '-days', '3650', '-set_serial', '0x' + randomSerialHex(),
        '-out', ca.certPath,
      ],
      { timeoutMs: 20_000 },
    );
    ca.certPem = await readFile(ca.certPath, 'utf8');
    return ca;
  }

  /** Creates an intermediate CA issued (and recorded in the index) by `parent`. */
  static async createIntermediate(name: string, dir: string, parent: Ca, keyType: KeyType = 'ec'): Promise<Ca> {
    const ca = new Ca(name, dir, parent);
    await ca.init();
    ca.keyPem = await generateKeyPem(keyType);
    const item = await parent.newItemDir(name);
    const { csrPath } = await parent.makeCsr(item, name, ca.keyPem);
    await writeKey(ca.keyPath, ca.keyPem);
    const ext = [
      'basicConstraints = critical, CA:TRUE, pathlen:0',
      'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
    ].join('\n');
    ca.certPem = await parent.sign({ csrPath, outPath: ca.certPath, cn: name, extSection: ext, days: 1825 });
    return ca;
  }
}

function randomSerialHex(): string {
  // 16 random bytes, top bit cleared so the INTEGER is positive.
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x10;
  return b.toString('hex');
}

export class TestPki {
  readonly dir: string;
  readonly root: Ca;
  readonly intermediate: Ca;
  readonly keyType: KeyType;
  private otherCount = 0;

  constructor(dir: string, root: Ca, intermediate: Ca, keyType: KeyType) {
    this.dir = dir;
    this.root = root;
    this.intermediate = intermediate;
    this.keyType = keyType;
  }

  get rootCertPath(): string {
    return this.root.certPath;
  }
  get rootCertPem(): string {
    return this.root.certPem;
  }
  get intermediateCertPath(): string {
    return this.intermediate.certPath;
  }
  get intermediateCertPem(): string {
    return this.intermediate.certPem;
  }
  get intermediateKeyPath(): string {
    return this.intermediate.keyPath;
  }
  get intermediateIndexPath(): string {
    return this.intermediate.indexPath;
  }
  /** Root + intermediate PEM (a CAfile that verifies leaves). */
  get caBundlePem(): string {
    return this.intermediate.certPem + this.root.certPem;
  }

  private resolveIssuer(issuer: IssueLeafOptions['issuer']): Ca {
    if (issuer === undefined || issuer === 'intermediate') return this.intermediate;
    if (issuer === 'root') return this.root;
    return issuer;
  }

  async issueLeaf(opts: IssueLeafOptions): Promise<LeafFiles> {
    const ca = this.resolveIssuer(opts.issuer);
    const keyType = opts.keyType ?? this.keyType;
    const dir = await ca.newItemDir(opts.name);
    const keyPem = opts.keyPem ?? (await generateKeyPem(keyType));
    const { keyPath, csrPath } = await ca.makeCsr(dir, opts.name, keyPem);
    const isRsa = keyType === 'rsa' || keyPem.includes('RSA');
    const ext: string[] = [
      'basicConstraints = critical, CA:FALSE',
      `keyUsage = critical, digitalSignature${isRsa ? ', keyEncipherment' : ''}`,
      'extendedKeyUsage = serverAuth',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
    ];
    if (opts.sans.length > 0) {
      ext.push('subjectAltName = @alt');
    }
    const aia: string[] = [];
    if (opts.ocspUrl) aia.push(`OCSP;URI:${opts.ocspUrl}`);
    if (opts.caIssuersUrl) aia.push(`caIssuers;URI:${opts.caIssuersUrl}`);
    if (aia.length) ext.push(`authorityInfoAccess = ${aia.join(', ')}`);
    if (opts.mustStaple) ext.push('1.3.6.1.5.5.7.1.24 = DER:30:03:02:01:05');
    for (const l of opts.extraExtensions ?? []) ext.push(l);
    if (opts.sans.length > 0) {
      ext.push('', '[ alt ]');
      let d = 0;
      let ip = 0;
      for (const s of opts.sans) {
        if (isIP(s)) ext.push(`IP.${++ip} = ${s}`);
        else ext.push(`DNS.${++d} = ${s}`);
      }
    }
    const certPath = path.join(dir, 'cert.pem');
    const signOpts: Parameters<Ca['sign']>[0] = { csrPath, outPath: certPath, cn: opts.name, extSection: ext.join('\n') };
    if (opts.notBefore) signOpts.notBefore = opts.notBefore;
    if (opts.notAfter) signOpts.notAfter = opts.notAfter;
    signOpts.days = opts.days ?? 90;
    const certPem = await ca.sign(signOpts);
    const chainPem = certPem + ca.chainPem();
    const chainPath = path.join(dir, 'chain.pem');
    await writeFile(chainPath, chainPem);
    const fullPemPath = path.join(dir, 'full.pem');
    await writeKey(fullPemPath, chainPem + keyPem);
    return {
      name: opts.name,
      certPath,
      keyPath,
      chainPath,
      fullPemPath,
      serialHex: serialOf(certPem),
      certPem,
      keyPem,
      chainPem,
      fingerprint256: fingerprint256(certPem),
      issuer: ca,
    };
  }

  /** A delegated OCSP responder certificate, issued by the intermediate unless told otherwise. */
  async issueOcspSigner(opts: IssueOcspSignerOptions): Promise<OcspSignerFiles> {
    const ca = this.resolveIssuer(opts.issuer);
    const dir = await ca.newItemDir(opts.name);
    const keyPem = await generateKeyPem(opts.keyType ?? this.keyType);
    const { keyPath, csrPath } = await ca.makeCsr(dir, opts.name, keyPem);
    const ext: string[] = [
      'basicConstraints = critical, CA:FALSE',
      'keyUsage = critical, digitalSignature',
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid:always',
    ];
    if (opts.ekuOcspSigning ?? true) ext.push('extendedKeyUsage = OCSPSigning');
    if (opts.noCheck ?? true) ext.push('noCheck = ignored');
    const certPath = path.join(dir, 'cert.pem');
    const signOpts: Parameters<Ca['sign']>[0] = { csrPath, outPath: certPath, cn: opts.name, extSection: ext.join('\n') };
    if (opts.notBefore) signOpts.notBefore = opts.notBefore;
    if (opts.notAfter) signOpts.notAfter = opts.notAfter;
    signOpts.days = opts.days ?? 90;
    const certPem = await ca.sign(signOpts);
    return { name: opts.name, certPath, keyPath, certPem, keyPem, serialHex: serialOf(certPem), issuer: ca };
  }

  /** Revokes a leaf (or signer) in its issuer's index.txt; a running `openssl ocsp -index` picks it up. */
  async revoke(leaf: { certPath: string; issuer: Ca }, opts: RevokeOptions = {}): Promise<void> {
    await leaf.issuer.revokeCert(leaf.certPath, opts);
  }

  /** A second, unrelated self-signed CA (own index) that can issue leaves and signers via `issuer:`. */
  async createOtherCa(name: string, keyType?: KeyType): Promise<Ca> {
    const dir = path.join(this.dir, `other-${++this.otherCount}-${safeName(name)}`);
    return Ca.createRoot(name, dir, keyType ?? this.keyType);
  }
}

/** Builds root + intermediate under `dir` (created if needed). ~100 ms with EC keys. */
export async function createTestPki(dir: string, opts: TestPkiOptions = {}): Promise<TestPki> {
  const keyType = opts.keyType ?? 'ec';
  const prefix = opts.namePrefix ?? 'tlskeeper test';
  await mkdir(dir, { recursive: true });
  const root = await Ca.createRoot(`${prefix} root CA`, path.join(dir, 'root'), keyType);
  const intermediate = await Ca.createIntermediate(`${prefix} intermediate CA`, path.join(dir, 'intermediate'), root, keyType);
  return new TestPki(dir, root, intermediate, keyType);
}

export interface DhParamsOptions {
  /**
   * 'ffdhe' (default): an RFC 7919 group (ffdhe2048/3072/4096) via
   *   `openssl genpkey -genparam`, instant, PKCS#3 "BEGIN DH PARAMETERS".
   * 'generate': fresh safe-prime `openssl dhparam BITS` (1024: ~0.2 s, 2048: seconds to a minute).
   * 'dsaparam': `openssl dhparam -dsaparam BITS`, fast but written as
   *   "BEGIN X9.42 DH PARAMETERS", which GnuTLS (Debian's Exim) rejects with
   *   "gnutls_dh_params_import_pkcs3: Base64 unexpected header error" on every
   *   TLS connection: useful for negative tests.
   */
  method?: 'ffdhe' | 'generate' | 'dsaparam';
  bits?: 1024 | 2048 | 3072 | 4096;
}

/** Writes DH parameters (PEM) to `outPath` and returns the PEM. */
export async function writeDhParams(outPath: string, opts: DhParamsOptions = {}): Promise<string> {
  const method = opts.method ?? 'ffdhe';
  const bits = opts.bits ?? 2048;
  if (method === 'ffdhe') {
    if (bits === 1024) throw new Error('no ffdhe1024 group; use method generate');
    await runChecked(['openssl', 'genpkey', '-genparam', '-algorithm', 'DH', '-pkeyopt', `group:ffdhe${bits}`, '-out', outPath], {
      timeoutMs: 20_000,
    });
  } else {
    const argv = ['openssl', 'dhparam', '-out', outPath];
    if (method === 'dsaparam') argv.push('-dsaparam');
    argv.push(String(bits));
    await runChecked(argv, { timeoutMs: 300_000 });
  }
  return readFile(outPath, 'utf8');
}
