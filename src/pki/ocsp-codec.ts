/**
 * OCSP codec (RFC 6960): the request builder, the response parser, and the
 * signature and certificate primitives the `ocsp` job's policy is built on.
 * Policy (which signer is authorised, which times are acceptable) is not
 * here; it lives in `src/ocsp/validate.ts`.
 *
 * Why a DER reader of its own instead of pkijs for parsing: pkijs parses an
 * OCSP response in about a millisecond (asn1js schema matching), which alone
 * would double the time of refreshing a thousand staples; the reader below
 * walks the same structures in tens of microseconds. It is strict DER
 * (definite lengths, no trailing bytes, every SEQUENCE exactly filled), which
 * is also what GnuTLS' libtasn1 expects of a staple. For the same reason the
 * one-certificate request is encoded directly (see buildOcspRequest). pkijs
 * reads PKCS#7 bundles from AIA caIssuers URLs; the unit tests cross-check
 * the parser and the request against pkijs and `openssl ocsp`.
 *
 * Signatures are verified with node:crypto over the exact signed bytes, not
 * with pkijs' `BasicOCSPResponse.verify()`: that method throws when the
 * response carries no certificates (normal for a response signed by the CA
 * itself) and checks neither dates nor the OCSPSigning EKU, so the policy
 * layer does those checks itself and only needs a "does this key verify these
 * bytes" primitive.
 */
import { createHash, createPublicKey, verify as verifySignatureRaw, constants as cryptoConstants, type KeyObject } from 'node:crypto';
import type * as Pkijs from 'pkijs';
import { ValidationError } from '../errors/index.js';
import { asn1js, pkijs } from './lazy.js';
import { parsePem } from './pem.js';
import { DER_TAG, DerCursor, DerError, derElement, readTlv, topLevel, type Tlv } from './der.js';

// ---------------------------------------------------------------------------
// Object identifiers
// ---------------------------------------------------------------------------

export const OID = {
  /** id-pkix-ocsp-basic (RFC 6960 §4.2.1) */
  ocspBasic: '1.3.6.1.5.5.7.48.1.1',
  /** id-pkix-ocsp-nonce (RFC 6960 §4.4.1) */
  ocspNonce: '1.3.6.1.5.5.7.48.1.2',
  ocspCrlRef: '1.3.6.1.5.5.7.48.1.3',
  ocspResponse: '1.3.6.1.5.5.7.48.1.4',
  /** id-pkix-ocsp-nocheck (RFC 6960 §4.2.2.2.1) */
  ocspNoCheck: '1.3.6.1.5.5.7.48.1.5',
  ocspArchiveCutoff: '1.3.6.1.5.5.7.48.1.6',
  ocspServiceLocator: '1.3.6.1.5.5.7.48.1.7',
  ocspPrefSigAlgs: '1.3.6.1.5.5.7.48.1.8',
  ocspExtendedRevoke: '1.3.6.1.5.5.7.48.1.9',
  /** id-ad-ocsp / id-ad-caIssuers (RFC 5280 §4.2.2.1) */
  adOcsp: '1.3.6.1.5.5.7.48.1',
  adCaIssuers: '1.3.6.1.5.5.7.48.2',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  /** id-pe-tlsfeature (RFC 7633 §6) */
  tlsFeature: '1.3.6.1.5.5.7.1.24',
  extKeyUsage: '2.5.29.37',
  anyExtendedKeyUsage: '2.5.29.37.0',
  /** id-kp-OCSPSigning (RFC 6960 §4.2.2.2) */
  kpOcspSigning: '1.3.6.1.5.5.7.3.9',
  basicConstraints: '2.5.29.19',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  crlReason: '2.5.29.21',
  invalidityDate: '2.5.29.24',
  certificateIssuer: '2.5.29.29',
  sha1: '1.3.14.3.2.26',
  sha224: '2.16.840.1.101.3.4.2.4',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  rsaPss: '1.2.840.113549.1.1.10',
  mgf1: '1.2.840.113549.1.1.8',
} as const;

/** status_request (RFC 6066 §8): the TLS Feature value that means Must-Staple (RFC 7633 §4.2.3). */
const TLS_FEATURE_STATUS_REQUEST = 5;

export type OcspHashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
const HASH_BY_OID: Record<string, OcspHashName> = {
  [OID.sha1]: 'sha1', [OID.sha224]: 'sha224', [OID.sha256]: 'sha256', [OID.sha384]: 'sha384', [OID.sha512]: 'sha512',
};
const OID_BY_HASH: Record<OcspHashName, string> = {
  sha1: OID.sha1, sha224: OID.sha224, sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512,
};

/** Signature algorithms node:crypto can verify, by OID. */
const SIGNATURE_ALGORITHMS: Record<string, { name: string; hash: OcspHashName | null; key: 'rsa' | 'ec' | 'ed25519' | 'ed448' | 'rsa-pss' }> = {
  '1.2.840.113549.1.1.5': { name: 'sha1WithRSAEncryption', hash: 'sha1', key: 'rsa' },
  '1.2.840.113549.1.1.14': { name: 'sha224WithRSAEncryption', hash: 'sha224', key: 'rsa' },
  '1.2.840.113549.1.1.11': { name: 'sha256WithRSAEncryption', hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { name: 'sha384WithRSAEncryption', hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { name: 'sha512WithRSAEncryption', hash: 'sha512', key: 'rsa' },
  [OID.rsaPss]: { name: 'RSASSA-PSS', hash: null, key: 'rsa-pss' },
  '1.2.840.10045.4.1': { name: 'ecdsa-with-SHA1', hash: 'sha1', key: 'ec' },
  '1.2.840.10045.4.3.1': { name: 'ecdsa-with-SHA224', hash: 'sha224', key: 'ec' },
  '1.2.840.10045.4.3.2': { name: 'ecdsa-with-SHA256', hash: 'sha256', key: 'ec' },
  '1.2.840.10045.4.3.3': { name: 'ecdsa-with-SHA384', hash: 'sha384', key: 'ec' },
  '1.2.840.10045.4.3.4': { name: 'ecdsa-with-SHA512', hash: 'sha512', key: 'ec' },
  '1.3.101.112': { name: 'Ed25519', hash: null, key: 'ed25519' },
  '1.3.101.113': { name: 'Ed448', hash: null, key: 'ed448' },
};

// ---------------------------------------------------------------------------
// Reading helpers (the strict reader itself is ./der.ts)
// ---------------------------------------------------------------------------

const TAG = DER_TAG;
/** [n] constructed, context-specific */
const ctx = (n: number): number => 0xa0 | n;
/** [n] primitive, context-specific */
const ctxPrim = (n: number): number => 0x80 | n;

const slice = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.start, tlv.end);
const whole = (buf: Buffer, tlv: Tlv): Buffer => buf.subarray(tlv.offset, tlv.end);

function decodeOid(buf: Buffer, tlv: Tlv): string {
  if (tlv.end === tlv.start) throw new DerError('empty OBJECT IDENTIFIER');
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const b = buf[i]!;
    value = value * 128 + (b & 0x7f);
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  if ((buf[tlv.end - 1]! & 0x80) !== 0) throw new DerError('truncated OBJECT IDENTIFIER');
  return parts.join('.');
}

function decodeTime(buf: Buffer, tlv: Tlv, what: string): Date {
  const text = buf.toString('latin1', tlv.start, tlv.end);
  let m: RegExpExecArray | null;
  let year: number;
  if (tlv.tag === TAG.UTCTime) {
    // RFC 5280 §4.1.2.5.1: YYMMDDHHMMSSZ, YY >= 50 means 19YY.
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new DerError(`${what}: malformed UTCTime "${text}"`);
    const yy = Number(m[1]);
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
  } else if (tlv.tag === TAG.GeneralizedTime) {
    // RFC 5280 §4.1.2.5.2 / RFC 6960: YYYYMMDDHHMMSS[.fff]Z, always UTC.
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d+))?Z$/.exec(text);
    if (!m) throw new DerError(`${what}: malformed GeneralizedTime "${text}"`);
    year = Number(m[1]);
  } else {
    throw new DerError(`${what}: not a time (tag 0x${tlv.tag.toString(16)})`);
  }
  const ms = m[7] ? Math.round(Number(`0.${m[7]}`) * 1000) : 0;
  const date = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
  if (Number.isNaN(date.getTime())) throw new DerError(`${what}: invalid date "${text}"`);
  return date;
}

/** Content bytes of an INTEGER, as a lower-case hex string without leading zero bytes. */
export function integerHex(content: Uint8Array): string {
  let i = 0;
  while (i < content.length - 1 && content[i] === 0) i++;
  return Buffer.from(content.subarray(i)).toString('hex');
}

function smallInteger(buf: Buffer, tlv: Tlv, what: string): number {
  const len = tlv.end - tlv.start;
  if (len < 1 || len > 4) throw new DerError(`${what}: integer of ${len} bytes`);
  let v = buf[tlv.start]! & 0x80 ? -1 : 0;
  for (let i = tlv.start; i < tlv.end; i++) v = v * 256 + buf[i]!;
  return v;
}

// ---------------------------------------------------------------------------
// Names, extensions, algorithms
// ---------------------------------------------------------------------------

const NAME_ATTRIBUTES: Record<string, string> = {
  '2.5.4.3': 'CN', '2.5.4.6': 'C', '2.5.4.7': 'L', '2.5.4.8': 'ST', '2.5.4.10': 'O', '2.5.4.11': 'OU',
  '2.5.4.5': 'serialNumber', '1.2.840.113549.1.9.1': 'emailAddress', '0.9.2342.19200300.100.1.25': 'DC',
};

function decodeDirectoryString(buf: Buffer, tlv: Tlv): string {
  switch (tlv.tag) {
    case TAG.UTF8String: return buf.toString('utf8', tlv.start, tlv.end);
    case TAG.BMPString: return Buffer.from(buf.subarray(tlv.start, tlv.end)).swap16().toString('utf16le');
    case TAG.UniversalString: {
      let s = '';
      for (let i = tlv.start; i + 3 < tlv.end; i += 4) s += String.fromCodePoint(buf.readUInt32BE(i));
      return s;
    }
    default: return buf.toString('latin1', tlv.start, tlv.end);
  }
}

/** "C=US, O=Let's Encrypt, CN=R11" from a DER Name (in encoded order, as openssl prints it), for messages. */
export function describeName(der: Buffer): string {
  try {
    const name = topLevel(der, TAG.SEQUENCE, 'Name');
    const rdns = new DerCursor(der, name, 'Name');
    const parts: string[] = [];
    while (!rdns.done) {
      const set = new DerCursor(der, rdns.next(TAG.SET, 'RDN'), 'RDN');
      while (!set.done) {
        const atv = new DerCursor(der, set.next(TAG.SEQUENCE, 'AttributeTypeAndValue'), 'AttributeTypeAndValue');
        const oid = decodeOid(der, atv.next(TAG.OID, 'type'));
        const value = atv.any('value');
        parts.push(`${NAME_ATTRIBUTES[oid] ?? oid}=${decodeDirectoryString(der, value)}`);
      }
    }
    return parts.join(', ') || '(empty name)';
  } catch {
    return '(unparsable name)';
  }
}

export interface ExtensionInfo {
  oid: string;
  critical: boolean;
  /** Contents of extnValue (the DER of the extension's own value). */
  value: Buffer;
}

function readExtensions(buf: Buffer, seq: Tlv, what: string): ExtensionInfo[] {
  const out: ExtensionInfo[] = [];
  const list = new DerCursor(buf, seq, what);
  while (!list.done) {
    const ext = new DerCursor(buf, list.next(TAG.SEQUENCE, 'Extension'), `${what} Extension`);
    const oid = decodeOid(buf, ext.next(TAG.OID, 'extnID'));
    const crit = ext.optional(TAG.BOOLEAN, 'critical');
    const critical = crit !== undefined && buf[crit.start] !== 0;
    const value = slice(buf, ext.next(TAG.OCTET_STRING, 'extnValue'));
    ext.end();
    out.push({ oid, critical, value });
  }
  return out;
}

export interface AlgorithmInfo {
  oid: string;
  /** DER of the parameters, when present. */
  params: Buffer | undefined;
}

function readAlgorithm(buf: Buffer, tlv: Tlv, what: string): AlgorithmInfo {
  const alg = new DerCursor(buf, tlv, what);
  const oid = decodeOid(buf, alg.next(TAG.OID, 'algorithm'));
  const params = alg.done ? undefined : whole(buf, alg.any('parameters'));
  alg.end();
  return { oid, params };
}

/** A readable name for a signature algorithm OID (for messages). */
export function signatureAlgorithmName(oid: string): string {
  return SIGNATURE_ALGORITHMS[oid]?.name ?? oid;
}

// ---------------------------------------------------------------------------
// Certificates (only the fields OCSP needs)
// ---------------------------------------------------------------------------

export interface CertificateInfo {
  der: Buffer;
  /** The signed TBSCertificate bytes. */
  tbs: Buffer;
  /** serialNumber INTEGER contents, as encoded. */
  serial: Buffer;
  serialHex: string;
  /** DER of the issuer and subject Names, exactly as in the certificate. */
  issuerDer: Buffer;
  subjectDer: Buffer;
  subject: string;
  issuer: string;
  notBefore: Date;
  notAfter: Date;
  spkiDer: Buffer;
  /** subjectPublicKey BIT STRING value without the unused-bits octet (what issuerKeyHash hashes, RFC 6960 §4.1.1). */
  publicKeyBits: Buffer;
  signatureAlgorithm: AlgorithmInfo;
  signature: Buffer;
  ocspUrls: string[];
  caIssuersUrls: string[];
  /** RFC 7633 TLS Feature status_request. */
  mustStaple: boolean;
  /** undefined when the certificate has no extendedKeyUsage extension. */
  extendedKeyUsage: string[] | undefined;
  ocspNoCheck: boolean;
  isCa: boolean;
  /** subjectKeyIdentifier (RFC 5280 §4.2.1.2), when present. */
  subjectKeyId: Buffer | undefined;
  /** authorityKeyIdentifier keyIdentifier (RFC 5280 §4.2.1.1), when present. */
  authorityKeyId: Buffer | undefined;
  fingerprintSha256: string;
  extensions: ExtensionInfo[];
}

function readBitStringBytes(buf: Buffer, tlv: Tlv, what: string): Buffer {
  if (tlv.end === tlv.start) throw new DerError(`${what}: empty BIT STRING`);
  if (buf[tlv.start] !== 0) throw new DerError(`${what}: BIT STRING with unused bits`);
  return buf.subarray(tlv.start + 1, tlv.end);
}

function readCertificateAt(buf: Buffer, certTlv: Tlv): CertificateInfo {
  const cert = new DerCursor(buf, certTlv, 'Certificate');
  const tbsTlv = cert.next(TAG.SEQUENCE, 'tbsCertificate');
  const signatureAlgorithm = readAlgorithm(buf, cert.next(TAG.SEQUENCE, 'signatureAlgorithm'), 'Certificate signatureAlgorithm');
  const signature = readBitStringBytes(buf, cert.next(TAG.BIT_STRING, 'signatureValue'), 'Certificate signatureValue');
  cert.end();

  const tbs = new DerCursor(buf, tbsTlv, 'TBSCertificate');
  tbs.optional(ctx(0), 'version');
  const serial = slice(buf, tbs.next(TAG.INTEGER, 'serialNumber'));
  tbs.next(TAG.SEQUENCE, 'signature');
  const issuerTlv = tbs.next(TAG.SEQUENCE, 'issuer');
  const validity = new DerCursor(buf, tbs.next(TAG.SEQUENCE, 'validity'), 'Validity');
  const notBefore = decodeTime(buf, validity.any('notBefore'), 'notBefore');
  const notAfter = decodeTime(buf, validity.any('notAfter'), 'notAfter');
  validity.end();
  const subjectTlv = tbs.next(TAG.SEQUENCE, 'subject');
  const spkiTlv = tbs.next(TAG.SEQUENCE, 'subjectPublicKeyInfo');
  const spki = new DerCursor(buf, spkiTlv, 'SubjectPublicKeyInfo');
  spki.next(TAG.SEQUENCE, 'algorithm');
  const publicKeyBits = readBitStringBytes(buf, spki.next(TAG.BIT_STRING, 'subjectPublicKey'), 'subjectPublicKey');
  spki.end();
  tbs.optional(ctxPrim(1), 'issuerUniqueID');
  tbs.optional(ctxPrim(2), 'subjectUniqueID');
  const extsOuter = tbs.optional(ctx(3), 'extensions');
  tbs.end();

  let extensions: ExtensionInfo[] = [];
  if (extsOuter) {
    const wrapper = new DerCursor(buf, extsOuter, 'extensions');
    extensions = readExtensions(buf, wrapper.next(TAG.SEQUENCE, 'Extensions'), 'certificate extensions');
    wrapper.end();
  }
  const ocspUrls: string[] = [];
  const caIssuersUrls: string[] = [];
  let mustStaple = false;
  let extendedKeyUsage: string[] | undefined;
  let ocspNoCheck = false;
  let isCa = false;
  let subjectKeyId: Buffer | undefined;
  let authorityKeyId: Buffer | undefined;
  for (const ext of extensions) {
    if (ext.oid === OID.authorityInfoAccess) {
      // AuthorityInfoAccessSyntax ::= SEQUENCE OF AccessDescription (RFC 5280 §4.2.2.1)
      const seq = new DerCursor(ext.value, topLevel(ext.value, TAG.SEQUENCE, 'AIA'), 'AIA');
      while (!seq.done) {
        const ad = new DerCursor(ext.value, seq.next(TAG.SEQUENCE, 'AccessDescription'), 'AccessDescription');
        const method = decodeOid(ext.value, ad.next(TAG.OID, 'accessMethod'));
        const location = ad.any('accessLocation');
        if (location.tag === ctxPrim(6)) { // uniformResourceIdentifier [6] IA5String
          const uri = ext.value.toString('latin1', location.start, location.end);
          if (method === OID.adOcsp) ocspUrls.push(uri);
          else if (method === OID.adCaIssuers) caIssuersUrls.push(uri);
        }
      }
    } else if (ext.oid === OID.tlsFeature) {
      // Features ::= SEQUENCE OF INTEGER (RFC 7633 §6)
      const seq = new DerCursor(ext.value, topLevel(ext.value, TAG.SEQUENCE, 'TLSFeature'), 'TLSFeature');
      while (!seq.done) {
        const feature = seq.next(TAG.INTEGER, 'feature');
        if (smallInteger(ext.value, feature, 'TLS feature') === TLS_FEATURE_STATUS_REQUEST) mustStaple = true;
      }
    } else if (ext.oid === OID.extKeyUsage) {
      extendedKeyUsage = [];
      const seq = new DerCursor(ext.value, topLevel(ext.value, TAG.SEQUENCE, 'ExtKeyUsage'), 'ExtKeyUsage');
      while (!seq.done) extendedKeyUsage.push(decodeOid(ext.value, seq.next(TAG.OID, 'KeyPurposeId')));
    } else if (ext.oid === OID.ocspNoCheck) {
      ocspNoCheck = true;
    } else if (ext.oid === OID.subjectKeyIdentifier) {
      subjectKeyId = slice(ext.value, topLevel(ext.value, TAG.OCTET_STRING, 'SubjectKeyIdentifier'));
    } else if (ext.oid === OID.authorityKeyIdentifier) {
      // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING OPTIONAL, … }
      const aki = new DerCursor(ext.value, topLevel(ext.value, TAG.SEQUENCE, 'AuthorityKeyIdentifier'), 'AuthorityKeyIdentifier');
      const keyId = aki.optional(ctxPrim(0), 'keyIdentifier');
      if (keyId) authorityKeyId = slice(ext.value, keyId);
    } else if (ext.oid === OID.basicConstraints) {
      const seq = new DerCursor(ext.value, topLevel(ext.value, TAG.SEQUENCE, 'BasicConstraints'), 'BasicConstraints');
      const ca = seq.optional(TAG.BOOLEAN, 'cA');
      isCa = ca !== undefined && ext.value[ca.start] !== 0;
    }
  }
  const der = whole(buf, certTlv);
  const issuerDer = whole(buf, issuerTlv);
  const subjectDer = whole(buf, subjectTlv);
  return {
    der,
    tbs: whole(buf, tbsTlv),
    serial,
    serialHex: integerHex(serial),
    issuerDer,
    subjectDer,
    subject: describeName(subjectDer),
    issuer: describeName(issuerDer),
    notBefore,
    notAfter,
    spkiDer: whole(buf, spkiTlv),
    publicKeyBits,
    signatureAlgorithm,
    signature,
    ocspUrls,
    caIssuersUrls,
    mustStaple,
    extendedKeyUsage,
    ocspNoCheck,
    isCa,
    subjectKeyId,
    authorityKeyId,
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    extensions,
  };
}

/** Parse one DER certificate. Throws ValidationError (CERT_UNPARSABLE). */
export function parseCertificateInfo(der: Uint8Array, object = 'certificate'): CertificateInfo {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    return readCertificateAt(buf, topLevel(buf, TAG.SEQUENCE, 'Certificate'));
  } catch (err) {
    throw new ValidationError(`${object}: not a valid X.509 certificate (${(err as Error).message})`, {
      code: 'CERT_UNPARSABLE', object, cause: err, hint: 'replace the file with the certificate your CA issued',
    });
  }
}

/**
 * Issuer and responder certificates repeat across hundreds of staples (one
 * intermediate, one delegated signer): parse each once. Bounded, so a daemon
 * that runs for months does not grow.
 */
const certificateCache = new Map<string, CertificateInfo>();
const CERTIFICATE_CACHE_LIMIT = 256;

export function parseCertificateInfoCached(der: Uint8Array, object = 'certificate'): CertificateInfo {
  const key = Buffer.from(der.buffer, der.byteOffset, der.byteLength).toString('latin1');
  const hit = certificateCache.get(key);
  if (hit) return hit;
  const info = parseCertificateInfo(Buffer.from(der), object);
  if (certificateCache.size >= CERTIFICATE_CACHE_LIMIT) certificateCache.delete(certificateCache.keys().next().value!);
  certificateCache.set(key, info);
  return info;
}

/** The certificates of a PEM file (leaf first), parsed. Throws ValidationError. */
export function parseCertificatePemChain(pem: string | Buffer, object = 'certificate'): CertificateInfo[] {
  const text = typeof pem === 'string' ? pem : pem.toString('latin1');
  const blocks = parsePem(text).blocks.filter((b) => b.label === 'CERTIFICATE' || b.label === 'TRUSTED CERTIFICATE');
  if (blocks.length === 0) {
    throw new ValidationError(`${object}: no PEM certificate found`, {
      code: 'CERT_NOT_PEM', object,
      hint: 'the file must hold PEM certificates (-----BEGIN CERTIFICATE-----), leaf first, then intermediates',
    });
  }
  // The leaf is parsed afresh; the certificates after it (intermediates) repeat across files.
  return blocks.map((b, i) => (i === 0 ? parseCertificateInfo(b.der, object) : parseCertificateInfoCached(b.der, object)));
}

const publicKeys = new WeakMap<CertificateInfo, KeyObject>();
export function publicKeyOf(cert: CertificateInfo): KeyObject {
  let key = publicKeys.get(cert);
  if (!key) {
    key = createPublicKey({ key: cert.spkiDer, format: 'der', type: 'spki' });
    publicKeys.set(cert, key);
  }
  return key;
}

// ---------------------------------------------------------------------------
// Signatures
// ---------------------------------------------------------------------------

/** RSASSA-PSS-params (RFC 4055 §3.1) → hash and salt length; undefined when node cannot express them. */
function pssParameters(params: Buffer | undefined): { hash: OcspHashName; saltLength: number } | undefined {
  if (!params) return undefined;
  try {
    const seq = new DerCursor(params, topLevel(params, TAG.SEQUENCE, 'RSASSA-PSS-params'), 'RSASSA-PSS-params');
    // Defaults (RFC 4055 §3.1): SHA-1, MGF1 with SHA-1, salt length 20.
    let hash: OcspHashName | undefined = 'sha1';
    let mgfHash: OcspHashName | undefined = 'sha1';
    let saltLength = 20;
    const h = seq.optional(ctx(0), 'hashAlgorithm');
    if (h) hash = HASH_BY_OID[readAlgorithm(params, readTlv(params, h.start, h.end, 'hash'), 'hash').oid];
    const m = seq.optional(ctx(1), 'maskGenAlgorithm');
    if (m) {
      const mgf = readAlgorithm(params, readTlv(params, m.start, m.end, 'mgf'), 'mgf');
      if (mgf.oid !== OID.mgf1 || !mgf.params) return undefined;
      mgfHash = HASH_BY_OID[readAlgorithm(mgf.params, topLevel(mgf.params, TAG.SEQUENCE, 'mgf hash'), 'mgf hash').oid];
    }
    const s = seq.optional(ctx(2), 'saltLength');
    if (s) saltLength = smallInteger(params, readTlv(params, s.start, s.end, 'salt'), 'saltLength');
    // node:crypto uses the message digest for MGF1 too.
    if (!hash || hash !== mgfHash) return undefined;
    return { hash, saltLength };
  } catch {
    return undefined;
  }
}

/**
 * Does `key` verify `signature` over `data` under `algorithm`? False for a
 * wrong signature or a key of the wrong type; throws ValidationError
 * (OCSP_UNSUPPORTED_SIGNATURE_ALGORITHM) for an algorithm node cannot check.
 */
export function verifySignedBytes(data: Buffer, algorithm: AlgorithmInfo, signature: Buffer, key: KeyObject, object = 'signature'): boolean {
  const alg = SIGNATURE_ALGORITHMS[algorithm.oid];
  if (!alg) {
    throw new ValidationError(`${object}: signature algorithm ${algorithm.oid} is not supported`, {
      code: 'OCSP_UNSUPPORTED_SIGNATURE_ALGORITHM', object,
      hint: 'tlskeeper verifies RSA (PKCS#1 v1.5 and PSS), ECDSA and EdDSA signatures; report the responder to the tlskeeper maintainers',
    });
  }
  const keyType = key.asymmetricKeyType;
  try {
    if (alg.key === 'rsa-pss') {
      const pss = pssParameters(algorithm.params);
      if (!pss) {
        throw new ValidationError(`${object}: RSASSA-PSS parameters not supported`, {
          code: 'OCSP_UNSUPPORTED_SIGNATURE_ALGORITHM', object, hint: 'only PSS with MGF1 using the message digest is supported',
        });
      }
      if (keyType !== 'rsa' && keyType !== 'rsa-pss') return false;
      return verifySignatureRaw(pss.hash, data, { key, padding: cryptoConstants.RSA_PKCS1_PSS_PADDING, saltLength: pss.saltLength }, signature);
    }
    if (alg.key !== keyType) return false;
    return verifySignatureRaw(alg.hash, data, key, signature);
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    return false; // malformed signature bytes (e.g. a truncated ECDSA value)
  }
}

/**
 * Could `parent` have issued `child`, judged by names and key identifiers
 * only (RFC 5280 §4.1.2.4 name chaining; §4.2.1.1 keyIdentifier equals the
 * parent's subjectKeyIdentifier when both are present). No signature check:
 * use it to pick a candidate, then `isIssuedBy` where it must be proven.
 */
export function namesIssuer(child: CertificateInfo, parent: CertificateInfo): boolean {
  if (!child.issuerDer.equals(parent.subjectDer)) return false;
  if (child.authorityKeyId && parent.subjectKeyId && !child.authorityKeyId.equals(parent.subjectKeyId)) return false;
  return true;
}

/** Results of isIssuedBy for certificates that repeat (cached parses): a delegated signer is checked once per run, not per staple. */
const issuedByCache = new WeakMap<CertificateInfo, WeakMap<CertificateInfo, boolean>>();

/** Was `child` issued by `parent`: names chain (RFC 5280 §4.1.2.4) and parent's key verifies child's signature. */
export function isIssuedBy(child: CertificateInfo, parent: CertificateInfo): boolean {
  let byParent = issuedByCache.get(child);
  const known = byParent?.get(parent);
  if (known !== undefined) return known;
  let verdict = false;
  if (child.issuerDer.equals(parent.subjectDer)) {
    try {
      verdict = verifySignedBytes(child.tbs, child.signatureAlgorithm, child.signature, publicKeyOf(parent));
    } catch {
      verdict = false;
    }
  }
  if (!byParent) issuedByCache.set(child, (byParent = new WeakMap()));
  byParent.set(parent, verdict);
  return verdict;
}

// ---------------------------------------------------------------------------
// CertID and the request
// ---------------------------------------------------------------------------

/** CertID (RFC 6960 §4.1.1). */
export interface CertId {
  hashAlgorithm: OcspHashName;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  /** serialNumber INTEGER contents as encoded. */
  serial: Buffer;
}

/**
 * The CertID of `leaf`. RFC 6960 §4.1.1: issuerNameHash is the hash of the
 * DER of the issuer field *in the certificate being checked*;
 * issuerKeyHash is the hash of the issuer's subjectPublicKey value
 * (excluding tag, length and unused-bits octet).
 */
export function computeCertId(leaf: CertificateInfo, issuer: CertificateInfo, hash: OcspHashName = 'sha1'): CertId {
  return {
    hashAlgorithm: hash,
    issuerNameHash: createHash(hash).update(leaf.issuerDer).digest(),
    issuerKeyHash: createHash(hash).update(issuer.publicKeyBits).digest(),
    serial: leaf.serial,
  };
}

/** OBJECT IDENTIFIER contents (X.690 §8.19). */
function encodeOid(oid: string): Buffer {
  const arcs = oid.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const chunk: number[] = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return Buffer.from(out);
}

const ALGORITHM_DER = new Map<OcspHashName, Buffer>();
/** AlgorithmIdentifier { algorithm, parameters NULL } as OpenSSL and pkijs write it for CertID. */
function hashAlgorithmDer(hash: OcspHashName): Buffer {
  let der = ALGORITHM_DER.get(hash);
  if (!der) ALGORITHM_DER.set(hash, (der = derElement(TAG.SEQUENCE, derElement(TAG.OID, encodeOid(OID_BY_HASH[hash])), Buffer.from([TAG.NULL, 0]))));
  return der;
}

/**
 * An OCSPRequest (RFC 6960 §4.1.1) for one certificate: unsigned, version
 * v1 (DEFAULT, so absent), no requestorName, no extensions — in particular no
 * nonce, so responders may answer from a cache (RFC 5019 §2.1.1, the
 * lightweight profile CAs run).
 *
 *   OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest }
 *   TBSRequest  ::= SEQUENCE { requestList SEQUENCE OF Request }
 *   Request     ::= SEQUENCE { reqCert CertID }
 *
 * Encoded directly rather than through pkijs' OCSPRequest, which costs
 * ~140 µs per request here (a thousand requests: 0.14 s); the unit tests
 * assert byte-identity with `openssl ocsp -reqout` and with pkijs.
 */
export function buildOcspRequest(certId: CertId): Buffer {
  const reqCert = derElement(TAG.SEQUENCE,
    hashAlgorithmDer(certId.hashAlgorithm),
    derElement(TAG.OCTET_STRING, certId.issuerNameHash),
    derElement(TAG.OCTET_STRING, certId.issuerKeyHash),
    derElement(TAG.INTEGER, certId.serial));
  return derElement(TAG.SEQUENCE, derElement(TAG.SEQUENCE, derElement(TAG.SEQUENCE, derElement(TAG.SEQUENCE, reqCert))));
}

// ---------------------------------------------------------------------------
// The response
// ---------------------------------------------------------------------------

/** OCSPResponseStatus (RFC 6960 §4.2.1); 4 is unused. */
export const RESPONSE_STATUS_NAMES: Record<number, string> = {
  0: 'successful', 1: 'malformedRequest', 2: 'internalError', 3: 'tryLater', 5: 'sigRequired', 6: 'unauthorized',
};

export type CertStatus = 'good' | 'revoked' | 'unknown';

/** CRLReason (RFC 5280 §5.3.1) */
export const CRL_REASONS: Record<number, string> = {
  0: 'unspecified', 1: 'keyCompromise', 2: 'cACompromise', 3: 'affiliationChanged', 4: 'superseded',
  5: 'cessationOfOperation', 6: 'certificateHold', 8: 'removeFromCRL', 9: 'privilegeWithdrawn', 10: 'aACompromise',
};

export interface SingleResponseInfo {
  /** The hash algorithm's OID; `certId.hashAlgorithm` is set when it is one we know. */
  hashAlgorithmOid: string;
  certId: CertId | undefined;
  issuerNameHash: Buffer;
  issuerKeyHash: Buffer;
  serial: Buffer;
  serialHex: string;
  status: CertStatus;
  revocationTime?: Date;
  revocationReason?: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  extensions: ExtensionInfo[];
}

export type ResponderId = { byName: Buffer } | { byKeyHash: Buffer };

export interface BasicOcspResponseInfo {
  /** The exact signed ResponseData bytes (RFC 6960 §4.2.1: the signature is computed over their DER). */
  tbs: Buffer;
  version: number;
  responderId: ResponderId;
  producedAt: Date;
  responses: SingleResponseInfo[];
  extensions: ExtensionInfo[];
  signatureAlgorithm: AlgorithmInfo;
  signature: Buffer;
  /** The certs field: a delegated responder's certificate and maybe its chain. */
  certs: CertificateInfo[];
}

export interface OcspResponseInfo {
  status: number;
  statusName: string;
  responseType: string | undefined;
  basic: BasicOcspResponseInfo | undefined;
}

function readSingleResponse(buf: Buffer, tlv: Tlv): SingleResponseInfo {
  const sr = new DerCursor(buf, tlv, 'SingleResponse');
  const cid = new DerCursor(buf, sr.next(TAG.SEQUENCE, 'certID'), 'CertID');
  const hashAlgorithmOid = readAlgorithm(buf, cid.next(TAG.SEQUENCE, 'hashAlgorithm'), 'CertID hashAlgorithm').oid;
  const issuerNameHash = slice(buf, cid.next(TAG.OCTET_STRING, 'issuerNameHash'));
  const issuerKeyHash = slice(buf, cid.next(TAG.OCTET_STRING, 'issuerKeyHash'));
  const serial = slice(buf, cid.next(TAG.INTEGER, 'serialNumber'));
  cid.end();
  const hash = HASH_BY_OID[hashAlgorithmOid];
  const statusTlv = sr.any('certStatus');
  let status: CertStatus;
  let revocationTime: Date | undefined;
  let revocationReason: string | undefined;
  if (statusTlv.tag === ctxPrim(0)) {
    status = 'good';
  } else if (statusTlv.tag === ctx(1)) {
    status = 'revoked';
    // RevokedInfo ::= SEQUENCE { revocationTime GeneralizedTime, revocationReason [0] EXPLICIT CRLReason OPTIONAL }
    const ri = new DerCursor(buf, statusTlv, 'RevokedInfo');
    revocationTime = decodeTime(buf, ri.next(TAG.GeneralizedTime, 'revocationTime'), 'revocationTime');
    const reason = ri.optional(ctx(0), 'revocationReason');
    if (reason) {
      const inner = readTlv(buf, reason.start, reason.end, 'CRLReason');
      const code = smallInteger(buf, inner, 'CRLReason');
      revocationReason = CRL_REASONS[code] ?? `reason ${code}`;
    }
    ri.end();
  } else if (statusTlv.tag === ctxPrim(2)) {
    status = 'unknown';
  } else {
    throw new DerError(`certStatus: unexpected tag 0x${statusTlv.tag.toString(16)}`);
  }
  const thisUpdate = decodeTime(buf, sr.next(TAG.GeneralizedTime, 'thisUpdate'), 'thisUpdate');
  let nextUpdate: Date | undefined;
  const nu = sr.optional(ctx(0), 'nextUpdate');
  if (nu) nextUpdate = decodeTime(buf, readTlv(buf, nu.start, nu.end, 'nextUpdate'), 'nextUpdate');
  let extensions: ExtensionInfo[] = [];
  const ex = sr.optional(ctx(1), 'singleExtensions');
  if (ex) extensions = readExtensions(buf, readTlv(buf, ex.start, ex.end, 'singleExtensions'), 'singleExtensions');
  sr.end();
  return {
    hashAlgorithmOid,
    certId: hash ? { hashAlgorithm: hash, issuerNameHash, issuerKeyHash, serial } : undefined,
    issuerNameHash, issuerKeyHash, serial, serialHex: integerHex(serial),
    status,
    ...(revocationTime ? { revocationTime } : {}),
    ...(revocationReason ? { revocationReason } : {}),
    thisUpdate,
    ...(nextUpdate ? { nextUpdate } : {}),
    extensions,
  };
}

function readBasicResponse(buf: Buffer): BasicOcspResponseInfo {
  const basicTlv = topLevel(buf, TAG.SEQUENCE, 'BasicOCSPResponse');
  const basic = new DerCursor(buf, basicTlv, 'BasicOCSPResponse');
  const tbsTlv = basic.next(TAG.SEQUENCE, 'tbsResponseData');
  const signatureAlgorithm = readAlgorithm(buf, basic.next(TAG.SEQUENCE, 'signatureAlgorithm'), 'BasicOCSPResponse signatureAlgorithm');
  const signature = readBitStringBytes(buf, basic.next(TAG.BIT_STRING, 'signature'), 'BasicOCSPResponse signature');
  const certs: CertificateInfo[] = [];
  const certsOuter = basic.optional(ctx(0), 'certs');
  if (certsOuter) {
    const wrapper = new DerCursor(buf, certsOuter, 'certs');
    const list = new DerCursor(buf, wrapper.next(TAG.SEQUENCE, 'SEQUENCE OF Certificate'), 'certs');
    wrapper.end();
    while (!list.done) {
      const c = list.next(TAG.SEQUENCE, 'Certificate');
      certs.push(parseCertificateInfoCached(whole(buf, c), 'certificate in the OCSP response'));
    }
  }
  basic.end();

  const tbs = new DerCursor(buf, tbsTlv, 'ResponseData');
  let version = 0;
  const v = tbs.optional(ctx(0), 'version');
  if (v) version = smallInteger(buf, readTlv(buf, v.start, v.end, 'version'), 'version');
  const rid = tbs.any('responderID');
  let responderId: ResponderId;
  if (rid.tag === ctx(1)) {
    // byName [1] Name — EXPLICIT (the OCSP ASN.1 module uses explicit tags)
    responderId = { byName: whole(buf, readTlv(buf, rid.start, rid.end, 'responderID byName')) };
  } else if (rid.tag === ctx(2)) {
    // byKey [2] KeyHash, KeyHash ::= OCTET STRING (SHA-1 of the responder's public key bits)
    const kh = readTlv(buf, rid.start, rid.end, 'responderID byKey');
    if (kh.tag !== TAG.OCTET_STRING) throw new DerError('responderID byKey: not an OCTET STRING');
    responderId = { byKeyHash: slice(buf, kh) };
  } else {
    throw new DerError(`responderID: unexpected tag 0x${rid.tag.toString(16)}`);
  }
  const producedAt = decodeTime(buf, tbs.next(TAG.GeneralizedTime, 'producedAt'), 'producedAt');
  const responsesList = new DerCursor(buf, tbs.next(TAG.SEQUENCE, 'responses'), 'responses');
  const responses: SingleResponseInfo[] = [];
  while (!responsesList.done) responses.push(readSingleResponse(buf, responsesList.next(TAG.SEQUENCE, 'SingleResponse')));
  let extensions: ExtensionInfo[] = [];
  const ex = tbs.optional(ctx(1), 'responseExtensions');
  if (ex) extensions = readExtensions(buf, readTlv(buf, ex.start, ex.end, 'responseExtensions'), 'responseExtensions');
  tbs.end();
  return { tbs: whole(buf, tbsTlv), version, responderId, producedAt, responses, extensions, signatureAlgorithm, signature, certs };
}

/**
 * Parse an OCSPResponse (RFC 6960 §4.2.1). Only the structure is checked
 * here; whether it may be believed is the caller's policy. Throws
 * ValidationError (OCSP_UNPARSABLE) for anything that is not strict DER of
 * that structure, including truncated data and trailing bytes.
 */
export function parseOcspResponse(der: Uint8Array, object = 'OCSP response'): OcspResponseInfo {
  const buf = Buffer.isBuffer(der) ? der : Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  try {
    if (buf.length === 0) throw new DerError('empty');
    const outer = new DerCursor(buf, topLevel(buf, TAG.SEQUENCE, 'OCSPResponse'), 'OCSPResponse');
    const statusTlv = outer.next(TAG.ENUMERATED, 'responseStatus');
    const status = smallInteger(buf, statusTlv, 'responseStatus');
    let responseType: string | undefined;
    let basic: BasicOcspResponseInfo | undefined;
    const rb = outer.optional(ctx(0), 'responseBytes');
    outer.end();
    if (rb) {
      const wrapper = new DerCursor(buf, rb, 'responseBytes');
      const bytes = new DerCursor(buf, wrapper.next(TAG.SEQUENCE, 'ResponseBytes'), 'ResponseBytes');
      wrapper.end();
      responseType = decodeOid(buf, bytes.next(TAG.OID, 'responseType'));
      const response = slice(buf, bytes.next(TAG.OCTET_STRING, 'response'));
      bytes.end();
      if (responseType === OID.ocspBasic) basic = readBasicResponse(response);
    }
    return { status, statusName: RESPONSE_STATUS_NAMES[status] ?? `status ${status}`, responseType, basic };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError(`${object}: not a DER-encoded OCSP response (${(err as Error).message})`, {
      code: 'OCSP_UNPARSABLE', object, cause: err,
      hint: 'the responder (or something between it and tlskeeper, such as a captive proxy) sent something else; nothing was written',
    });
  }
}

/** Does the ResponderID (RFC 6960 §4.2.2.3) name this certificate? */
export function responderIdMatches(responderId: ResponderId, cert: CertificateInfo): boolean {
  if ('byName' in responderId) return responderId.byName.equals(cert.subjectDer);
  // KeyHash: SHA-1 of the value of the BIT STRING subjectPublicKey (excluding tag, length and unused bits).
  return createHash('sha1').update(cert.publicKeyBits).digest().equals(responderId.byKeyHash);
}

/** "byName CN=…" or "byKey 12ab…", for messages. */
export function describeResponderId(responderId: ResponderId): string {
  return 'byName' in responderId ? `byName ${describeName(responderId.byName)}` : `byKey ${responderId.byKeyHash.toString('hex')}`;
}

/** Does the SingleResponse's CertID name this leaf under this issuer (hash algorithm, both hashes, serial)? */
export function certIdMatches(single: SingleResponseInfo, leaf: CertificateInfo, issuer: CertificateInfo | undefined): boolean {
  const hash = single.certId?.hashAlgorithm;
  if (!hash) return false;
  if (integerHex(single.serial) !== leaf.serialHex) return false;
  if (!createHash(hash).update(leaf.issuerDer).digest().equals(single.issuerNameHash)) return false;
  // Without the issuer certificate only the name hash and serial can be compared (status of a staple offline).
  if (!issuer) return true;
  return createHash(hash).update(issuer.publicKeyBits).digest().equals(single.issuerKeyHash);
}

// ---------------------------------------------------------------------------
// Issuer certificates fetched from AIA caIssuers (RFC 5280 §4.2.2.1)
// ---------------------------------------------------------------------------

/**
 * The certificates of an AIA caIssuers body: a DER certificate, PEM, or a
 * "certs-only" CMS/PKCS#7 bundle (RFC 5280 §4.2.2.1 names both DER and
 * BER/DER PKCS#7). Throws ValidationError (OCSP_ISSUER_UNPARSABLE).
 */
export function parseIssuerCertificates(body: Buffer, object = 'issuer certificate'): CertificateInfo[] {
  const text = body.subarray(0, 64).toString('latin1');
  if (text.includes('-----BEGIN')) {
    return parseCertificatePemChain(body, object);
  }
  try {
    return [parseCertificateInfo(body, object)];
  } catch {
    // not a single certificate: try PKCS#7
  }
  try {
    const p = pkijs();
    const asn = asn1js().fromBER(new Uint8Array(body));
    if (asn.offset === -1) throw new Error(asn.result.error);
    const contentInfo = new p.ContentInfo({ schema: asn.result });
    if (contentInfo.contentType !== p.ContentInfo.SIGNED_DATA) throw new Error('not SignedData');
    const signed = new p.SignedData({ schema: contentInfo.content });
    const certs = (signed.certificates ?? []).filter((c): c is Pkijs.Certificate => c instanceof p.Certificate);
    if (certs.length === 0) throw new Error('no certificates in the bundle');
    return certs.map((c) => parseCertificateInfo(Buffer.from(c.toSchema().toBER(false)), object));
  } catch (err) {
    throw new ValidationError(`${object}: neither a DER/PEM certificate nor a PKCS#7 bundle`, {
      code: 'OCSP_ISSUER_UNPARSABLE', object, cause: err,
      hint: 'put the intermediate certificate into the certificate file after the leaf, so it need not be fetched',
    });
  }
}
