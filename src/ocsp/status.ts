/**
 * Pure: what `tlskeeper status` says about one certificate's OCSP staple.
 *
 * Severities follow what the MTA does with the file (Debian 12, Exim 4.96,
 * GnuTLS): a missing, empty, unparsable or foreign staple file makes every
 * STARTTLS fail (CRITICAL); an expired proof for the right certificate is
 * silently not stapled (WARNING); a Must-Staple certificate (RFC 7633)
 * without a valid proof is refused by clients that enforce it (CRITICAL).
 */
import { worst, type Severity, type StatusEntry } from '../jobs/index.js';
import { assessStaple, BREAKS_GNUTLS, planStaple, type StapleAssessment } from './plan.js';
import type { ObservedOcsp } from './read.js';

const FIX_NO_URL = 'unset tls_ocsp_file for this certificate in the Exim configuration, or guard it with ${if exists{FILE}{FILE}{}} and set ocsp_missing_ok: true so tlskeeper may remove the file';

export type OcspStatusWord = 'good' | 'revoked' | 'unknown' | 'not-applicable' | 'not-stapled';

export function ocspStatus(o: ObservedOcsp, now: Date): StatusEntry {
  const cfg = o.config;
  const problems: StatusEntry['problems'] = [];
  let severity: Severity = 'OK';
  const flag = (s: Severity, message: string, hint?: string): void => {
    severity = worst(severity, s);
    problems.push({ severity: s, message, ...(hint ? { hint } : {}) });
  };
  const file = o.staple?.path;
  const a: StapleAssessment = assessStaple(o, now);
  const ex = a.examined;
  const mustStaple = o.leaf?.mustStaple ?? false;
  let status: OcspStatusWord;
  let summary: string;

  if (!o.leaf) {
    status = 'not-stapled';
    flag('UNKNOWN', `cannot judge the staple: ${o.certError?.message ?? 'the certificate cannot be read'}`, o.certError?.hint);
    summary = 'certificate unreadable';
  } else if (cfg.ocsp.disabled) {
    status = 'not-stapled';
    summary = 'OCSP disabled in the configuration';
    if (mustStaple) flag('CRITICAL', 'the certificate is Must-Staple (RFC 7633) but OCSP is disabled for it', 'clients that enforce Must-Staple refuse it; enable OCSP or use a certificate without Must-Staple');
    // tlskeeper leaves the file alone, but Exim still reads whatever tls_ocsp_file names.
    if (file) flagFileThatBreaksTls(file, a, cfg.ocsp_missing_ok, flag,
      `tlskeeper does not touch ${file} while ocsp.disabled is true: remove tls_ocsp_file for this certificate from the Exim configuration, or set ocsp.disabled: false so tlskeeper keeps a valid proof there`);
  } else if (!o.responderUrl) {
    status = 'not-applicable';
    summary = 'not applicable: the certificate names no OCSP responder';
    if (mustStaple) {
      flag('CRITICAL', 'the certificate is Must-Staple (RFC 7633) but names no OCSP responder, so no proof can be had',
        'clients that enforce Must-Staple refuse it; get a certificate without the Must-Staple extension');
    }
    if (file) flagFileThatBreaksTls(file, a, cfg.ocsp_missing_ok, flag,
      cfg.ocsp_missing_ok ? 'run `tlskeeper refresh ocsp`: ocsp_missing_ok is set, so it removes the file' : FIX_NO_URL.replaceAll('FILE', file));
  } else if (!file) {
    status = 'not-stapled';
    summary = 'not stapled: no ocsp_file configured';
    if (mustStaple) flag('CRITICAL', 'the certificate is Must-Staple (RFC 7633) but no ocsp_file is configured', 'configure ocsp_file and tls_ocsp_file; clients that enforce Must-Staple refuse it');
  } else {
    status = ex ? ex.certStatus : 'not-stapled';
    summary = describeFile(a, now);
    judgeFile(o, a, now, flag);
    if (mustStaple && a.fileState !== 'good') {
      flag('CRITICAL', 'the certificate is Must-Staple (RFC 7633) and has no valid proof in place', 'clients that enforce Must-Staple refuse the handshake; see the other problems');
    }
  }
  if (o.state?.revoked) {
    status = 'revoked';
    flag('CRITICAL', `the OCSP responder says this certificate is REVOKED (since ${o.state.revoked.revocationTime ?? 'unknown'}${o.state.revoked.reason ? `, ${o.state.revoked.reason}` : ''}); checked ${o.state.revoked.detectedAt}`,
      'replace the certificate now; tlskeeper never installs a revoked proof');
  }
  const planned = planStaple(o, now, false);
  const nextRefresh = planned.action === 'fetch-staple' ? now : planned.dueAt;
  return {
    kind: 'ocsp',
    object: cfg.name,
    severity,
    summary,
    facts: {
      status,
      fileState: a.fileState,
      file: file ?? null,
      responderUrl: o.responderUrl ?? null,
      mustStaple,
      ...(ex ? {
        thisUpdate: ex.thisUpdate, nextUpdate: ex.nextUpdate, effectiveExpiry: ex.effectiveExpiry, expiryReason: ex.expiryReason,
        producedAt: ex.producedAt,
        signer: ex.signer
          ? `${ex.signer.subject} (${ex.signer.role}, valid until ${ex.signer.notAfter.toISOString()})`
          : 'not verified: the issuer certificate is not at hand (not in the certificate file, not fetched yet)',
      } : {}),
      nextRefresh: nextRefresh ?? null,
      failures: o.state?.failures ?? 0,
      lastError: o.state?.lastError ?? null,
      ...(o.state?.nextRetry && o.state.failures > 0 ? { nextRetry: new Date(o.state.nextRetry) } : {}),
    },
    problems,
  };
}

/**
 * For a staple file tlskeeper will not refresh (no responder URL, or OCSP
 * disabled): CRITICAL where the file as it stands makes Exim (GnuTLS) refuse
 * every STARTTLS — foreign, empty, unparsable, unreadable, or missing unless
 * the MTA tolerates that (`ocsp_missing_ok`).
 */
function flagFileThatBreaksTls(file: string, a: StapleAssessment, missingOk: boolean, flag: (s: Severity, m: string, h?: string) => void, fix: string): void {
  if (BREAKS_GNUTLS.has(a.fileState)) {
    const what = a.fileState === 'other-certificate' ? 'a proof for an earlier certificate' : `no usable proof (${a.fileState})`;
    flag('CRITICAL', `${file} holds ${what}: Exim (GnuTLS) refuses every STARTTLS with it, and would also without the file`, fix);
  } else if (a.fileState === 'missing' && !missingOk) {
    flag('CRITICAL', `${file} does not exist, and a tls_ocsp_file that is missing makes Exim (GnuTLS) refuse every STARTTLS`, fix);
  } else if (a.fileState === 'unreadable') {
    flag('CRITICAL', a.problem?.message ?? `${file} cannot be read`, a.problem?.hint);
  }
}

function describeFile(a: StapleAssessment, now: Date): string {
  const ex = a.examined;
  if (a.fileState === 'good' && ex) {
    const refresh = ex.refreshAt.getTime() <= now.getTime() ? 'refresh overdue' : `refresh at ${ex.refreshAt.toISOString()}`;
    return `good until ${ex.effectiveExpiry.toISOString()} (${expiryWords(ex)}), ${refresh}`;
  }
  switch (a.fileState) {
    case 'missing': return 'staple file missing';
    case 'empty': return 'staple file empty';
    case 'unparsable': return 'staple file holds no proof';
    case 'other-certificate': return 'staple is for another certificate';
    case 'invalid': return `staple invalid (${a.problem?.code ?? 'unverifiable'})`;
    case 'expired': return `staple expired (${a.problem?.code ?? ''})`;
    case 'not-yet-valid': return `staple not yet valid (${a.problem?.code ?? ''})`;
    case 'revoked': return 'staple says REVOKED';
    case 'unknown': return 'staple says unknown';
    default: return a.fileState;
  }
}

/** Why the proof's useful life ends when it does (the seed's failure mode is the signer). */
export function expiryWords(ex: NonNullable<StapleAssessment['examined']>): string {
  if (ex.expiryReason === 'signer') return `its signer certificate expires then, before nextUpdate ${ex.nextUpdate.toISOString()}`;
  if (ex.expiryReason === 'leaf') return `the certificate expires then, before nextUpdate ${ex.nextUpdate.toISOString()}`;
  return 'nextUpdate';
}

function judgeFile(o: ObservedOcsp, a: StapleAssessment, now: Date, flag: (s: Severity, m: string, h?: string) => void): void {
  const file = o.staple!.path;
  const last = o.state?.lastError ? ` Last refresh error: ${o.state.lastError.message}` : '';
  switch (a.fileState) {
    case 'missing':
      if (o.config.ocsp_missing_ok) flag('WARNING', `${file} does not exist: nothing is stapled.${last}`, 'run `tlskeeper refresh ocsp`');
      else flag('CRITICAL', `${file} does not exist: Exim (GnuTLS) refuses every STARTTLS while tls_ocsp_file names a missing file.${last}`, 'run `tlskeeper refresh ocsp`; to tolerate a missing file guard tls_ocsp_file with ${if exists{…}} and set ocsp_missing_ok: true');
      return;
    case 'unreadable':
      flag('CRITICAL', a.problem?.message ?? `${file} cannot be read`, a.problem?.hint);
      return;
    case 'empty': case 'unparsable':
      flag('CRITICAL', `${a.problem?.message ?? `${file} holds no proof`}: Exim (GnuTLS) refuses every STARTTLS with it.${last}`, 'run `tlskeeper refresh ocsp` to fetch a valid proof');
      return;
    case 'other-certificate':
      flag('CRITICAL', `${a.problem?.message ?? `${file} is for another certificate`}: Exim (GnuTLS) refuses every STARTTLS ("The OCSP response provided doesn't match the available certificates").${last}`,
        'run `tlskeeper refresh ocsp` to fetch the proof for the certificate now in place');
      return;
    case 'invalid':
      flag(a.problem?.code === 'OCSP_NO_NEXT_UPDATE' || a.problem?.code === 'OCSP_UNSUPPORTED_SIGNATURE_ALGORITHM' ? 'WARNING' : 'CRITICAL',
        `${a.problem?.message ?? `${file} does not verify`}.${last}`, a.problem?.hint);
      return;
    case 'expired': case 'not-yet-valid':
      flag('WARNING', `${a.problem?.message ?? 'the proof is not valid now'}: Exim staples nothing until a fresh proof is in place.${last}`, a.problem?.hint ?? 'run `tlskeeper refresh ocsp`');
      return;
    case 'revoked':
      flag('CRITICAL', `the proof in ${file} says the certificate is REVOKED`, 'replace the certificate now');
      return;
    case 'unknown':
      flag('WARNING', `the proof in ${file} says the certificate is "unknown" to the responder.${last}`, 'run `tlskeeper refresh ocsp`');
      return;
    case 'good': {
      const ex = a.examined!;
      if (!ex.signer) {
        // RFC 6960 §3.2: without the issuer neither the CertID's key hash nor the signer can be checked.
        flag('WARNING', `the proof in ${file} is for this certificate, but its signature is not verified: the issuer certificate is neither in ${o.config.cert} nor fetched yet`,
          'put the intermediate certificate after the leaf in the certificate file (clients need it too), or run `tlskeeper refresh ocsp --force`, which fetches it from the certificate\'s AIA caIssuers URL');
      }
      if (ex.refreshAt.getTime() <= now.getTime()) {
        flag('WARNING', `past its refresh point ${ex.refreshAt.toISOString()} (half-way to ${ex.effectiveExpiry.toISOString()}, set by ${ex.expiryReason}).${last}`,
          'tlskeeper refreshes it on the next run; if this persists, see the last error');
      }
      return;
    }
    default:
  }
}
