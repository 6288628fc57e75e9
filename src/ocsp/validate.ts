/**
 * RFC 6960 policy: may this OCSP response be believed and served for this
 * certificate, and until when?
 *
 * Split in two so `status` and `plan` stay pure functions of `now`:
 *   - `examineStaple(der, subject)` checks everything that does not depend
 *     on the clock (structure, CertID, signature, signer authorisation,
 *     critical extensions) and computes the proof's real lifetime;
 *   - `stapleTimeProblem(examined, subject, now)` checks the clock-dependent
 *     rules (signer valid now, thisUpdate not in the future, not expired).
 * `validateFetchedStaple` combines both with the certificate status; only a
 * response that passes it is ever written.
 *
 * Every rejection is a ValidationError whose code names the rule, whose
 * message names the certificate, and whose hint says what to do.
 */
import { ValidationError } from '../errors/index.js';
import {
  OID, certIdMatches, describeResponderId, integerHex, isIssuedBy, parseOcspResponse, publicKeyOf,
  responderIdMatches, verifySignedBytes, type CertStatus, type CertificateInfo, type OcspResponseInfo, type SingleResponseInfo,
} from '../pki/index.js';

/** Clock skew tolerated for thisUpdate and the signer's notBefore (RFC 5019 §4 leaves it to local policy). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export type ExpiryReason = 'nextUpdate' | 'signer' | 'leaf';

export interface StapleSubject {
  /** Certificate name from the configuration (every message names it). */
  name: string;
  leaf: CertificateInfo;
  /** Without the issuer only the serial and issuer-name hash can be compared and nothing is verified. */
  issuer: CertificateInfo | undefined;
  /** "the OCSP response from http://…" or "the staple in /etc/exim4/mx.ocsp" */
  source: string;
}

export interface SignerFacts {
  /** The issuing CA itself, or a delegated responder certificate (RFC 6960 §4.2.2.2). */
  role: 'issuer' | 'delegated';
  subject: string;
  serialHex: string;
  notBefore: Date;
  notAfter: Date;
}

export interface ExaminedStaple {
  certStatus: CertStatus;
  revocationTime?: Date;
  revocationReason?: string;
  thisUpdate: Date;
  nextUpdate: Date;
  producedAt: Date;
  responderId: string;
  /** Undefined when the issuer was not at hand, so the signature could not be checked. */
  signer: SignerFacts | undefined;
  /** min(nextUpdate, signer notAfter, leaf notAfter): after it the proof is worthless. */
  effectiveExpiry: Date;
  expiryReason: ExpiryReason;
  /** thisUpdate + ½ (effectiveExpiry − thisUpdate). */
  refreshAt: Date;
}

/** Extensions whose meaning is known, so their criticality does not make a response unusable (RFC 6960 §4.4, RFC 5280 §5.3). */
const KNOWN_EXTENSIONS = new Set<string>([
  OID.ocspNonce, OID.ocspCrlRef, OID.ocspArchiveCutoff, OID.ocspServiceLocator, OID.ocspPrefSigAlgs, OID.ocspExtendedRevoke,
  OID.crlReason, OID.invalidityDate, OID.certificateIssuer,
]);

/** The response is valid but its certificate status is not `good`; carries what was examined (for the revocation record). */
export class OcspCertStatusError extends ValidationError {
  constructor(message: string, options: ConstructorParameters<typeof ValidationError>[1], readonly examined: ExaminedStaple) {
    super(message, options);
  }
}

function failure(subject: StapleSubject, code: string, message: string, hint: string): ValidationError {
  return new ValidationError(`certificate ${subject.name}: ${subject.source} ${message}`, { code, object: `certificate ${subject.name}`, hint });
}

const iso = (d: Date): string => d.toISOString();

const NOT_SUCCESSFUL: Record<number, { code: string; text: string; hint: string }> = {
  1: { code: 'OCSP_MALFORMED_REQUEST', text: 'malformedRequest', hint: 'the responder could not parse the request; if a proxy rewrites it, or the responder wants SHA-256 CertIDs, set ocsp.hash for this certificate' },
  2: { code: 'OCSP_INTERNAL_ERROR', text: 'internalError', hint: 'the responder failed; tlskeeper retries with backoff and keeps the staple it has' },
  3: { code: 'OCSP_TRY_LATER', text: 'tryLater', hint: 'the responder is busy; tlskeeper retries with backoff and keeps the staple it has' },
  5: { code: 'OCSP_SIG_REQUIRED', text: 'sigRequired', hint: 'this responder only answers signed requests, which stapling cannot send; set ocsp.url to another responder or disable OCSP for this certificate' },
  6: { code: 'OCSP_UNAUTHORIZED', text: 'unauthorized', hint: 'the responder does not answer for this CA: check ocsp.url, or remove it to use the URL in the certificate' },
};

/**
 * Check the clock-independent rules of RFC 6960 on `der` for `subject`.
 * Throws ValidationError naming the rule that failed.
 */
export function examineStaple(der: Uint8Array, subject: StapleSubject): ExaminedStaple {
  let response: OcspResponseInfo;
  try {
    response = parseOcspResponse(der);
  } catch (err) {
    const detail = err instanceof Error ? err.message.replace(/^OCSP response: /, '') : String(err);
    throw new ValidationError(`certificate ${subject.name}: ${subject.source} is ${der.length === 0 ? 'empty' : detail}`, {
      code: der.length === 0 ? 'OCSP_EMPTY' : 'OCSP_UNPARSABLE', object: `certificate ${subject.name}`, cause: err,
      hint: 'an OCSP staple must be a DER OCSPResponse; a wrong body from the responder is never written, and a bad file is replaced by the next good proof',
    });
  }

  // RFC 6960 §4.2.1: only "successful" carries responseBytes.
  if (response.status !== 0) {
    const known = NOT_SUCCESSFUL[response.status];
    throw failure(subject, known?.code ?? 'OCSP_RESPONSE_STATUS', `is "${known?.text ?? response.statusName}" (OCSPResponseStatus ${response.status}), not a proof`,
      known?.hint ?? 'the responder did not answer with a proof; tlskeeper retries with backoff');
  }
  if (!response.basic) {
    throw failure(subject, 'OCSP_UNSUPPORTED_RESPONSE_TYPE', `has response type ${response.responseType ?? '(none)'}, not id-pkix-ocsp-basic`,
      'RFC 6960 §4.2.1 requires every responder to support the basic type; check ocsp.url');
  }
  const basic = response.basic;
  const { leaf, issuer } = subject;

  // Exactly the SingleResponse whose CertID (hash algorithm, issuer name hash,
  // issuer key hash, serial; RFC 6960 §4.1.1) is our leaf's.
  const matching = basic.responses.map((r, i) => ({ r, i })).filter(({ r }) => certIdMatches(r, leaf, issuer));
  if (matching.length === 0) {
    const serials = basic.responses.map((r) => r.serialHex).join(', ') || 'none';
    throw failure(subject, 'OCSP_WRONG_CERTIFICATE', `is for another certificate (serial ${serials}; this certificate is serial ${leaf.serialHex} from ${leaf.issuer})`,
      'GnuTLS (Exim) refuses every STARTTLS with a proof for another certificate; tlskeeper fetches the proof for the certificate in the file');
  }
  if (matching.length > 1) {
    throw failure(subject, 'OCSP_AMBIGUOUS_RESPONSE', `holds ${matching.length} answers for this certificate`, 'the responder misbehaves; report it to the CA');
  }
  // GnuTLS checks only the first SingleResponse against the served certificate
  // (lib/ocsp-api.c resp_matches_pcert → gnutls_ocsp_resp_check_crt(resp, 0, …)).
  if (matching[0]!.i !== 0) {
    throw failure(subject, 'OCSP_MATCH_NOT_FIRST', `answers for this certificate only in SingleResponse #${matching[0]!.i + 1}`,
      'GnuTLS (Exim) compares only the first SingleResponse with the certificate and would refuse every STARTTLS');
  }
  const single: SingleResponseInfo = matching[0]!.r;

  let signer: SignerFacts | undefined;
  if (issuer) signer = authenticate(subject, basic, issuer);

  // RFC 5280 §4.2 / RFC 6960 §4.4: a critical extension we do not understand makes the response unusable.
  for (const ext of [...basic.extensions, ...single.extensions]) {
    if (ext.critical && !KNOWN_EXTENSIONS.has(ext.oid)) {
      throw failure(subject, 'OCSP_UNKNOWN_CRITICAL_EXTENSION', `carries the unknown critical extension ${ext.oid}`,
        'a client must reject a response with a critical extension it does not know; report it to the CA');
    }
  }

  // RFC 5019 §2.2.4: nextUpdate is required. Exim under OpenSSL ignores a proof without it,
  // and without it the proof's lifetime, hence the refresh time, is unknown.
  if (!single.nextUpdate) {
    throw failure(subject, 'OCSP_NO_NEXT_UPDATE', 'carries no nextUpdate',
      'a proof without nextUpdate is ignored by Exim under OpenSSL and cannot be scheduled; configure the responder to set nextUpdate (openssl ocsp: -ndays/-nmin)');
  }

  // The proof is worth nothing once its nextUpdate has passed, once its
  // signer certificate has expired (the failure seen in the field: Exim/OpenSSL
  // reject it while naive re-fetch scripts accept it), or once the leaf has expired.
  const bounds: Array<[Date, ExpiryReason]> = [[single.nextUpdate, 'nextUpdate']];
  if (signer) bounds.push([signer.notAfter, 'signer']);
  bounds.push([leaf.notAfter, 'leaf']);
  let [effectiveExpiry, expiryReason] = bounds[0]!;
  for (const [date, reason] of bounds) {
    if (date.getTime() < effectiveExpiry.getTime()) {
      effectiveExpiry = date;
      expiryReason = reason;
    }
  }
  const thisUpdate = single.thisUpdate;
  const refreshAt = new Date(thisUpdate.getTime() + Math.floor((effectiveExpiry.getTime() - thisUpdate.getTime()) / 2));

  return {
    certStatus: single.status,
    ...(single.revocationTime ? { revocationTime: single.revocationTime } : {}),
    ...(single.revocationReason ? { revocationReason: single.revocationReason } : {}),
    thisUpdate,
    nextUpdate: single.nextUpdate,
    producedAt: basic.producedAt,
    responderId: describeResponderId(basic.responderId),
    signer,
    effectiveExpiry,
    expiryReason,
    refreshAt,
  };
}

/**
 * RFC 6960 §4.2.2.2: the response must be signed by the CA that issued the
 * certificate, or by a responder certificate issued directly by that CA
 * carrying id-kp-OCSPSigning. The responderID (§4.2.2.3) must name that signer.
 */
function authenticate(subject: StapleSubject, basic: NonNullable<OcspResponseInfo['basic']>, issuer: CertificateInfo): SignerFacts {
  const isTheIssuer = (c: CertificateInfo): boolean => c.der.equals(issuer.der) || (c.subjectDer.equals(issuer.subjectDer) && c.publicKeyBits.equals(issuer.publicKeyBits));
  const candidates: CertificateInfo[] = [];
  if (responderIdMatches(basic.responderId, issuer)) candidates.push(issuer);
  for (const c of basic.certs) if (!isTheIssuer(c) && responderIdMatches(basic.responderId, c)) candidates.push(c);
  if (candidates.length === 0) {
    throw failure(subject, 'OCSP_SIGNER_NOT_FOUND',
      `names its signer ${describeResponderId(basic.responderId)}, but that is neither the issuer (${issuer.subject}) nor a certificate included in the response`,
      'the response cannot be verified; check that ocsp.url points at the responder of this certificate\'s CA');
  }
  const signer = candidates.find((c) => verifySignedBytes(basic.tbs, basic.signatureAlgorithm, basic.signature, publicKeyOf(c), `certificate ${subject.name}: OCSP response`));
  if (!signer) {
    throw failure(subject, 'OCSP_BAD_SIGNATURE', `has a signature that does not verify with the key of ${candidates.map((c) => c.subject).join(' or ')}`,
      'the response was altered or signed with another key; it is not installed');
  }
  if (isTheIssuer(signer)) {
    return { role: 'issuer', subject: issuer.subject, serialHex: issuer.serialHex, notBefore: issuer.notBefore, notAfter: issuer.notAfter };
  }
  if (!isIssuedBy(signer, issuer)) {
    throw failure(subject, 'OCSP_SIGNER_WRONG_ISSUER',
      `is signed by the delegated responder ${signer.subject}, issued by ${signer.issuer}, not by this certificate's issuer ${issuer.subject} (RFC 6960 §4.2.2.2)`,
      'a responder certificate must be issued directly by the CA that issued the certificate; check ocsp.url');
  }
  if (!signer.extendedKeyUsage?.includes(OID.kpOcspSigning)) {
    throw failure(subject, 'OCSP_SIGNER_NOT_AUTHORIZED',
      `is signed by ${signer.subject}, whose certificate lacks the id-kp-OCSPSigning extended key usage (RFC 6960 §4.2.2.2)`,
      'the CA did not authorise that certificate to sign OCSP responses; the response is not installed');
  }
  return { role: 'delegated', subject: signer.subject, serialHex: signer.serialHex, notBefore: signer.notBefore, notAfter: signer.notAfter };
}

/** The clock-dependent rules; undefined when the proof is usable at `now`. */
export function stapleTimeProblem(ex: ExaminedStaple, subject: StapleSubject, now: Date, skewMs = CLOCK_SKEW_MS): ValidationError | undefined {
  const t = now.getTime();
  if (ex.signer && ex.signer.notBefore.getTime() > t + skewMs) {
    return failure(subject, 'OCSP_SIGNER_NOT_YET_VALID', `is signed by ${ex.signer.subject}, whose certificate is valid only from ${iso(ex.signer.notBefore)}`,
      'check the system clock; clients reject a proof whose signer is not yet valid');
  }
  if (ex.signer && ex.signer.notAfter.getTime() <= t) {
    return failure(subject, 'OCSP_SIGNER_EXPIRED', `is signed by ${ex.signer.subject}, whose certificate expired on ${iso(ex.signer.notAfter)}`,
      'Exim/OpenSSL reject a proof whose signer has expired even before its nextUpdate; the responder must be given a new signing certificate (tell the CA)');
  }
  if (ex.thisUpdate.getTime() > t + skewMs) {
    return failure(subject, 'OCSP_THIS_UPDATE_IN_FUTURE', `has thisUpdate ${iso(ex.thisUpdate)}, in the future (now ${iso(now)})`,
      "check this host's clock (timedatectl) and the responder's; clients reject a proof from the future (RFC 6960 §3.2)");
  }
  if (ex.nextUpdate.getTime() <= t) {
    return failure(subject, 'OCSP_RESPONSE_EXPIRED', `expired at its nextUpdate ${iso(ex.nextUpdate)}`,
      'the responder serves an outdated proof (a stale cache?); tlskeeper keeps retrying');
  }
  if (subject.leaf.notAfter.getTime() <= t) {
    return failure(subject, 'OCSP_CERTIFICATE_EXPIRED', `is for a certificate that expired on ${iso(subject.leaf.notAfter)}`,
      'renew the certificate; a proof cannot help an expired certificate');
  }
  return undefined;
}

/**
 * Everything a freshly fetched response must pass before it may be written:
 * all of RFC 6960 as above, valid at `now`, and the certificate `good`.
 */
export function validateFetchedStaple(der: Uint8Array, subject: StapleSubject, now: Date): ExaminedStaple {
  if (!subject.issuer) {
    throw new ValidationError(`certificate ${subject.name}: the issuer certificate is unknown, so the OCSP response cannot be verified`, {
      code: 'OCSP_ISSUER_UNKNOWN', object: `certificate ${subject.name}`,
      hint: 'put the intermediate certificate into the certificate file after the leaf',
    });
  }
  const examined = examineStaple(der, subject);
  const timeProblem = stapleTimeProblem(examined, subject, now);
  if (timeProblem) throw timeProblem;
  if (examined.certStatus === 'revoked') {
    const when = examined.revocationTime ? ` at ${iso(examined.revocationTime)}` : '';
    const why = examined.revocationReason ? ` (${examined.revocationReason})` : '';
    throw new OcspCertStatusError(`certificate ${subject.name}: ${subject.source} says the certificate (serial ${integerHex(subject.leaf.serial)}) was REVOKED${when}${why}`, {
      code: 'OCSP_CERT_REVOKED', object: `certificate ${subject.name}`,
      hint: 'replace the certificate now: clients that check revocation refuse it. The revoked proof is never installed',
    }, examined);
  }
  if (examined.certStatus === 'unknown') {
    throw new OcspCertStatusError(`certificate ${subject.name}: ${subject.source} says the certificate is "unknown" to the responder`, {
      code: 'OCSP_CERT_UNKNOWN', object: `certificate ${subject.name}`,
      hint: 'normal for a few minutes after issuance; tlskeeper retries with backoff (1 min doubling to 1 h). If it persists, check ocsp.url',
    }, examined);
  }
  return examined;
}
