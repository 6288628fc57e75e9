/**
 * Facts about certificates and keys, read with Node's X509Certificate and,
 * for the extension Node does not expose (TLS Feature / Must-Staple, RFC
 * 7633), with the DER codec (./ocsp-codec.ts), falling back to pkijs for a
 * certificate the strict codec refuses. No openssl process is started.
 */
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import type * as Pkijs from 'pkijs';
import { ValidationError } from '../errors/index.js';
import { asn1js, pkijs } from './lazy.js';
import { parseCertificateInfoCached } from './ocsp-codec.js';
import { parsePem } from './pem.js';

/** id-pe-tlsfeature (RFC 7633 §6) */
const OID_TLS_FEATURE = '1.3.6.1.5.5.7.1.24';
/** status_request (RFC 6066 §8), the TLS Feature value that means Must-Staple. */
const TLS_FEATURE_STATUS_REQUEST = 5;

export interface CertificateFacts {
  subject: string;
  sans: string[];
  issuer: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
  keyType: string;
  keySize: number | undefined;
  keyCurve: string | undefined;
  ocspUrls: string[];
  caIssuersUrls: string[];
  mustStaple: boolean;
  fingerprintSha256: string;
  isCa: boolean;
}

export interface CertificateChain {
  /** Leaf first, then intermediates, as read. */
  certificates: X509Certificate[];
  /** Each certificate is signed by the one after it. */
  inOrder: boolean;
  /** Human reasons when not in order. */
  orderProblems: string[];
}

/** Read a PEM bundle: leaf first, then intermediates. Throws ValidationError when it holds no certificate. */
export function parseCertificateChain(pem: string | Buffer, object = 'certificate'): CertificateChain {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const { blocks, rest } = parsePem(text);
  const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
  if (certBlocks.length === 0) {
    throw new ValidationError(`${object}: no PEM certificate found`, {
      code: 'CERT_NOT_PEM', object,
      hint: 'the file must hold PEM certificates (-----BEGIN CERTIFICATE-----), leaf first, then intermediates',
    });
  }
  const certificates = certBlocks.map((b, i) => {
    try {
      return new X509Certificate(b.der);
    } catch (err) {
      throw new ValidationError(`${object}: certificate #${i + 1} in the file is not a valid X.509 certificate`, {
        code: 'CERT_UNPARSABLE', object, cause: err, hint: 'replace the file with the certificate your CA issued',
      });
    }
  });
  const orderProblems: string[] = [];
  for (let i = 0; i + 1 < certificates.length; i++) {
    const child = certificates[i]!;
    const parent = certificates[i + 1]!;
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      orderProblems.push(`certificate #${i + 1} (${child.subject.replace(/\n/g, ', ')}) is not signed by certificate #${i + 2}`);
    }
  }
  if (rest.trim() !== '' && !/^[\s]*$/.test(rest)) {
    // Text outside PEM blocks is allowed by RFC 7468 (explanatory text); do not fail on it.
  }
  return { certificates, inOrder: orderProblems.length === 0, orderProblems };
}

function parseInfoAccess(info: string | undefined): { ocsp: string[]; caIssuers: string[] } {
  const ocsp: string[] = [];
  const caIssuers: string[] = [];
  for (const line of (info ?? '').split('\n')) {
    const m = /^(OCSP|CA Issuers) - URI:(.+)$/.exec(line.trim());
    if (!m) continue;
    (m[1] === 'OCSP' ? ocsp : caIssuers).push(m[2]!);
  }
  return { ocsp, caIssuers };
}

function parseSans(san: string | undefined): string[] {
  if (!san) return [];
  return san.split(/,\s*/).map((s) => s.replace(/^DNS:/, '').replace(/^IP Address:/, ''));
}

/** Must-Staple: a TLS Feature extension listing status_request (RFC 7633 §4.2.3). */
export function hasMustStaple(cert: X509Certificate): boolean {
  try {
    return parseCertificateInfoCached(cert.raw).mustStaple;
  } catch {
    // A certificate OpenSSL accepted but the strict codec does not: ask pkijs.
  }
  const a = asn1js();
  const parsed = toPkijs(cert);
  const ext = parsed.extensions?.find((e) => e.extnID === OID_TLS_FEATURE);
  if (!ext) return false;
  const asn = a.fromBER(ext.extnValue.valueBlock.valueHexView);
  if (asn.offset === -1 || !(asn.result instanceof a.Sequence)) return false;
  return asn.result.valueBlock.value.some((v) => v instanceof a.Integer && v.valueBlock.valueDec === TLS_FEATURE_STATUS_REQUEST);
}

export function toPkijs(cert: X509Certificate): Pkijs.Certificate {
  return pkijs().Certificate.fromBER(cert.raw);
}

export function keyDescription(key: KeyObject): { keyType: string; keySize: number | undefined; keyCurve: string | undefined } {
  const d = key.asymmetricKeyDetails ?? {};
  const type = key.asymmetricKeyType ?? 'unknown';
  const curveBits: Record<string, number> = { prime256v1: 256, secp384r1: 384, secp521r1: 521 };
  if (type === 'ec') return { keyType: 'ECDSA', keySize: d.namedCurve ? curveBits[d.namedCurve] : undefined, keyCurve: d.namedCurve };
  if (type === 'rsa' || type === 'rsa-pss') return { keyType: 'RSA', keySize: d.modulusLength, keyCurve: undefined };
  if (type === 'ed25519') return { keyType: 'Ed25519', keySize: 256, keyCurve: undefined };
  return { keyType: type, keySize: d.modulusLength, keyCurve: undefined };
}

export function describeCertificate(cert: X509Certificate): CertificateFacts {
  const { ocsp, caIssuers } = parseInfoAccess(cert.infoAccess);
  return {
    subject: cert.subject.replace(/\n/g, ', '),
    sans: parseSans(cert.subjectAltName),
    issuer: cert.issuer.replace(/\n/g, ', '),
    serialHex: cert.serialNumber.toLowerCase(),
    notBefore: new Date(cert.validFrom),
    notAfter: new Date(cert.validTo),
    ...keyDescription(cert.publicKey),
    ocspUrls: ocsp,
    caIssuersUrls: caIssuers,
    mustStaple: hasMustStaple(cert),
    fingerprintSha256: cert.fingerprint256.replace(/:/g, '').toLowerCase(),
    isCa: cert.ca,
  };
}

/** Parse a private key file (PEM, any of PKCS#1/PKCS#8/SEC1). Throws ValidationError. */
export function parsePrivateKey(pem: string | Buffer, object = 'key'): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch (err) {
    throw new ValidationError(`${object}: not a readable private key`, {
      code: 'KEY_UNPARSABLE', object, cause: err,
      hint: 'the file must hold an unencrypted PEM private key (BEGIN PRIVATE KEY / RSA PRIVATE KEY / EC PRIVATE KEY)',
    });
  }
}

/** Does the private key belong to the certificate's public key? */
export function keyMatchesCertificate(key: KeyObject, cert: X509Certificate): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/** DER SubjectPublicKeyInfo of a certificate or key (TLSA selector 1, RFC 6698 §2.1.2). */
export function spkiDer(source: X509Certificate | KeyObject): Buffer {
  const key = source instanceof X509Certificate ? source.publicKey : source.type === 'private' ? createPublicKey(source) : source;
  return key.export({ type: 'spki', format: 'der' });
}
