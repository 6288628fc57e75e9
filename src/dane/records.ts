/**
 * TLSA records (RFC 6698), pure: computed from a certificate chain or a bare
 * public key, parsed from presentation form, and matched against the chain a
 * server serves. No I/O, no clock.
 *
 * Field names and acronyms follow RFC 7218:
 *   usage     PKIX-TA(0) PKIX-EE(1) DANE-TA(2) DANE-EE(3)    (RFC 6698 §2.1.1)
 *   selector  Cert(0) SPKI(1)                                (RFC 6698 §2.1.2)
 *   matching  Full(0) SHA2-256(1) SHA2-512(2)                (RFC 6698 §2.1.3)
 * tlskeeper only publishes DANE-TA(2) and DANE-EE(3): RFC 7672 §3.1.3 makes
 * PKIX-TA(0)/PKIX-EE(1) records unusable for SMTP. The default is `3 1 1`
 * (RFC 7672 §3.1.1): it pins the server's own public key, survives renewals
 * that keep the key, and depends on no CA.
 */
import { createHash, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { rootCertificates } from 'node:tls';
import { ValidationError } from '../errors/index.js';
import { spkiDer } from '../pki/index.js';

export type TlsaUsage = 0 | 1 | 2 | 3;
export type TlsaSelector = 0 | 1;
export type TlsaMatching = 0 | 1 | 2;

export interface TlsaParams {
  usage: TlsaUsage;
  selector: TlsaSelector;
  matching: TlsaMatching;
}

export interface TlsaRecord extends TlsaParams {
  /** Certificate association data, lower-case hex (RFC 6698 §2.2). */
  data: string;
}

/** RFC 7218 §2 acronyms, for messages. */
export const USAGE_NAMES: Record<TlsaUsage, string> = { 0: 'PKIX-TA', 1: 'PKIX-EE', 2: 'DANE-TA', 3: 'DANE-EE' };
export const SELECTOR_NAMES: Record<TlsaSelector, string> = { 0: 'Cert', 1: 'SPKI' };
export const MATCHING_NAMES: Record<TlsaMatching, string> = { 0: 'Full', 1: 'SHA2-256', 2: 'SHA2-512' };

export function describeParams(p: TlsaParams): string {
  return `${p.usage} ${p.selector} ${p.matching} (${USAGE_NAMES[p.usage]} ${SELECTOR_NAMES[p.selector]} ${MATCHING_NAMES[p.matching]})`;
}

/**
 * What a record can be computed from.
 * - `chain`: a certificate chain, leaf first, as the server sends it. DANE-EE(3)
 *   uses the leaf; DANE-TA(2) uses the issuing CA, the certificate right after
 *   the leaf (RFC 7671 §5.2.2: the trust anchor must be in the served chain,
 *   and pinning the immediate issuer is what survives leaf renewals).
 * - `publicKey`: a bare key (e.g. the next key of a rollover, before any
 *   certificate exists for it, RFC 7671 §8.1). Only selector SPKI(1) can be
 *   computed from a key; it is the leaf's key for usage 3 and the CA's key
 *   for usage 2.
 */
export type TlsaSource =
  | { kind: 'chain'; chain: readonly X509Certificate[] }
  | { kind: 'key'; publicKey: KeyObject };

/** The raw bytes the selector picks (RFC 6698 §2.1.2). */
function selectedBytes(selector: TlsaSelector, subject: X509Certificate | KeyObject): Buffer {
  if (selector === 1) return spkiDer(subject);
  if (subject instanceof X509Certificate) return Buffer.from(subject.raw);
  throw new ValidationError('selector 0 (Cert) needs a certificate, but only a key is available', {
    code: 'TLSA_SELECTOR_NEEDS_CERT',
    hint: 'use selector 1 (SPKI), which can be computed from a key before its certificate exists (RFC 7671 §8.1)',
  });
}

/** The matching type applied to the selected bytes (RFC 6698 §2.1.3). */
export function matchData(matching: TlsaMatching, bytes: Buffer): string {
  switch (matching) {
    case 0: return bytes.toString('hex');
    case 1: return createHash('sha256').update(bytes).digest('hex');
    case 2: return createHash('sha512').update(bytes).digest('hex');
  }
}

/** The certificate a record for `usage` is about: leaf for EE usages, the issuer for TA usages. */
export function subjectCertificate(usage: TlsaUsage, chain: readonly X509Certificate[]): X509Certificate {
  const leaf = chain[0];
  if (!leaf) {
    throw new ValidationError('the certificate file holds no certificate', { code: 'TLSA_NO_CERTIFICATE', hint: 'install the certificate first' });
  }
  if (usage === 1 || usage === 3) return leaf;
  const issuer = chain[1];
  if (!issuer) {
    throw new ValidationError(`usage ${usage} (${USAGE_NAMES[usage]}) pins the issuing CA, but the certificate file holds only the leaf`, {
      code: 'TLSA_NO_ISSUER_IN_CHAIN',
      hint: 'append the issuing CA certificate to the certificate file: DANE-TA needs the trust anchor in the chain the server sends (RFC 7671 §5.2.2)',
    });
  }
  return issuer;
}

/** Compute one TLSA record. Throws ValidationError when the source cannot give it. */
export function computeTlsa(params: TlsaParams, source: TlsaSource): TlsaRecord {
  const subject = source.kind === 'chain' ? subjectCertificate(params.usage, source.chain) : source.publicKey;
  const data = matchData(params.matching, selectedBytes(params.selector, subject));
  return { usage: params.usage, selector: params.selector, matching: params.matching, data };
}

/** `3 1 1 <lower-case hex>`: the presentation form of RFC 6698 §2.2, canonical. */
export function formatTlsa(record: TlsaRecord): string {
  return `${record.usage} ${record.selector} ${record.matching} ${record.data.toLowerCase()}`;
}

/** Expected association data length in hex digits, per matching type (0: any). */
const HEX_LENGTH: Record<TlsaMatching, number> = { 0: 0, 1: 64, 2: 128 };

/**
 * Parse presentation form (RFC 6698 §2.2: decimal fields, then hex that may be
 * split by white space and is case-insensitive). Returns undefined for what is
 * not a well-formed record with a known usage/selector/matching; such records
 * are "unusable" to an SMTP client (RFC 7672 §2.2).
 */
export function parseTlsa(text: string): TlsaRecord | undefined {
  const m = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+([0-9A-Fa-f\s]+?)\s*$/.exec(text);
  if (!m) return undefined;
  const usage = Number(m[1]);
  const selector = Number(m[2]);
  const matching = Number(m[3]);
  const data = m[4]!.replace(/\s+/g, '').toLowerCase();
  if (![0, 1, 2, 3].includes(usage) || ![0, 1].includes(selector) || ![0, 1, 2].includes(matching)) return undefined;
  if (data.length === 0 || data.length % 2 !== 0) return undefined;
  const want = HEX_LENGTH[matching as TlsaMatching];
  if (want !== 0 && data.length !== want) return undefined;
  return { usage: usage as TlsaUsage, selector: selector as TlsaSelector, matching: matching as TlsaMatching, data };
}

/** Canonical presentation form of a published value, or the value trimmed when it does not parse. */
export function canonicalTlsa(text: string): string {
  const r = parseTlsa(text);
  return r ? formatTlsa(r) : text.trim().replace(/\s+/g, ' ');
}

/**
 * Does a published record authenticate a server that serves `chain`?
 * - DANE-EE(3): it must match the leaf (RFC 7671 §5.1).
 * - DANE-TA(2): it must match a CA certificate in the served chain (not the
 *   leaf), RFC 7671 §5.2; with SPKI(1) a bare-key trust anchor is allowed too,
 *   but tlskeeper only sees the served chain, so that is what it checks.
 * - PKIX-TA(0)/PKIX-EE(1): never, for SMTP (RFC 7672 §3.1.3).
 * Pure: the record's own selector and matching type are applied, so a
 * hand-published `3 0 1` for the current certificate is recognised too.
 */
export function recordMatchesChain(record: TlsaRecord, chain: readonly X509Certificate[]): boolean {
  if (chain.length === 0) return false;
  const candidates = record.usage === 3 ? chain.slice(0, 1) : record.usage === 2 ? chain.slice(1) : [];
  return candidates.some((c) => matchData(record.matching, selectedBytes(record.selector, c)) === record.data);
}

/** Does a published record match a bare public key (SPKI(1) records only)? */
export function recordMatchesKey(record: TlsaRecord, publicKey: KeyObject, role: 'ee' | 'ta'): boolean {
  if (record.selector !== 1) return false;
  if ((role === 'ee' && record.usage !== 3) || (role === 'ta' && record.usage !== 2)) return false;
  return matchData(record.matching, spkiDer(publicKey)) === record.data;
}

/** Public key from a PEM/DER private or public key, for `TlsaSource` of kind 'key'. */
export function publicKeyOf(key: KeyObject): KeyObject {
  return key.type === 'private' ? createPublicKey(key) : key;
}

let bundledRoots: X509Certificate[] | undefined;
/** The public web PKI roots Node ships (Mozilla's store). */
export function publicRootCertificates(): X509Certificate[] {
  bundledRoots ??= rootCertificates.map((pem) => new X509Certificate(pem));
  return bundledRoots;
}

/**
 * Is the CA a DANE-TA(2) record would pin a public CA? True when a CA
 * certificate of the chain is itself one of `roots` or is signed by one.
 * Public CAs rotate intermediates (Let's Encrypt picks among several at
 * random), so a `2 x x` record on one of them breaks at a renewal, before
 * tlskeeper can publish the new issuer's record.
 */
export function issuedByPublicCa(chain: readonly X509Certificate[], roots: readonly X509Certificate[] = publicRootCertificates()): boolean {
  for (const ca of chain.slice(1)) {
    for (const root of roots) {
      if (ca.fingerprint256 === root.fingerprint256) return true;
      try {
        if (ca.checkIssued(root) && ca.verify(root.publicKey)) return true;
      } catch {
        // a root with a key type this Node cannot verify: not a match
      }
    }
  }
  return false;
}
