/**
 * Pure decisions: how good is the staple on disk at `now`, and is a refresh
 * due. Used by `plan` (what `--dry-run` prints), by `status`, and by `apply`
 * to re-check under the lock.
 */
import type { SerializedError } from '../errors/index.js';
import type { PlannedStep } from '../jobs/index.js';
import { formatDuration } from '../util/index.js';
import type { ObservedOcsp } from './read.js';
import { stapleSource, subjectOf } from './read.js';
import type { ExaminedStaple } from './validate.js';
import { stapleTimeProblem } from './validate.js';

/**
 * The staple file's condition for this certificate at `now`.
 * - `empty`, `unparsable`, `other-certificate`: GnuTLS (Exim) refuses every
 *   STARTTLS while such a file is configured (measured on Debian 12).
 * - `invalid`: a proof for this certificate that does not verify or lacks
 *   nextUpdate; Exim serves it, verifying clients reject it.
 * - `expired`, `not-yet-valid`: a proof for this certificate that is not
 *   valid now; Exim silently staples nothing.
 */
export type StapleFileState =
  | 'not-configured' | 'missing' | 'unreadable' | 'empty' | 'unparsable' | 'other-certificate' | 'invalid'
  | 'expired' | 'not-yet-valid' | 'revoked' | 'unknown' | 'good';

export interface StapleAssessment {
  fileState: StapleFileState;
  examined?: ExaminedStaple;
  /** Why the file is not a good proof now. */
  problem?: SerializedError;
}

const NOT_A_PROOF = new Set(['OCSP_EMPTY', 'OCSP_UNPARSABLE', 'OCSP_UNSUPPORTED_RESPONSE_TYPE', 'OCSP_MALFORMED_REQUEST', 'OCSP_INTERNAL_ERROR',
  'OCSP_TRY_LATER', 'OCSP_SIG_REQUIRED', 'OCSP_UNAUTHORIZED', 'OCSP_RESPONSE_STATUS']);
const FOR_ANOTHER_CERTIFICATE = new Set(['OCSP_WRONG_CERTIFICATE', 'OCSP_MATCH_NOT_FIRST', 'OCSP_AMBIGUOUS_RESPONSE']);

export function assessStaple(o: ObservedOcsp, now: Date): StapleAssessment {
  const file = o.staple;
  if (!file) return { fileState: 'not-configured' };
  if (file.missing) return { fileState: 'missing' };
  if (file.readError) return { fileState: 'unreadable', problem: file.readError };
  if (!file.bytes) return { fileState: 'missing' };
  const verdict = file.verdict();
  if (verdict.problem) {
    const code = verdict.problem.code;
    const fileState: StapleFileState = code === 'OCSP_EMPTY' ? 'empty'
      : NOT_A_PROOF.has(code) ? 'unparsable'
        : FOR_ANOTHER_CERTIFICATE.has(code) ? 'other-certificate' : 'invalid';
    return { fileState, problem: verdict.problem };
  }
  const examined = verdict.examined;
  const subject = subjectOf(o, stapleSource(file.path));
  if (!examined || !subject) return { fileState: 'invalid' };
  const timeProblem = stapleTimeProblem(examined, subject, now);
  if (timeProblem) {
    const notYet = timeProblem.code === 'OCSP_THIS_UPDATE_IN_FUTURE' || timeProblem.code === 'OCSP_SIGNER_NOT_YET_VALID';
    return { fileState: notYet ? 'not-yet-valid' : 'expired', examined, problem: timeProblem.toJSON() };
  }
  if (examined.certStatus !== 'good') return { fileState: examined.certStatus, examined };
  return { fileState: 'good', examined };
}

/** Files whose mere presence breaks TLS under GnuTLS (and so may be removed where ocsp_missing_ok allows). */
export const BREAKS_GNUTLS: ReadonlySet<StapleFileState> = new Set(['empty', 'unparsable', 'other-certificate']);

export interface OcspStepDetail {
  /** SHA-256 fingerprint of the leaf the step was planned for. */
  certificate?: string;
  force: boolean;
  responderUrl?: string;
}

const iso = (d: Date): string => d.toISOString();

function step(o: ObservedOcsp, action: 'fetch-staple' | 'remove-staple' | 'none', reason: string, force: boolean, dueAt?: Date): PlannedStep {
  const detail: OcspStepDetail = {
    force,
    ...(o.leaf ? { certificate: o.leaf.fingerprintSha256 } : {}),
    ...(o.responderUrl ? { responderUrl: o.responderUrl } : {}),
  };
  // The observation rides along, not enumerable (so `--json --dry-run` prints
  // only the small detail above): apply re-reads under the lock and reuses
  // the parsed certificate and verdict when the bytes have not changed.
  Object.defineProperty(detail, 'observed', { value: o, enumerable: false });
  return { job: 'ocsp', object: o.config.name, action, reason, ...(dueAt ? { dueAt } : {}), detail };
}

export function observedOf(s: PlannedStep): ObservedOcsp | undefined {
  return (s.detail as { observed?: ObservedOcsp } | undefined)?.observed;
}

/** Why a fetch is due now (undefined when the staple is good and before its refresh point). */
function whyDue(o: ObservedOcsp, a: StapleAssessment, now: Date): { reason: string; dueAt?: Date } {
  const path = o.staple!.path;
  switch (a.fileState) {
    case 'missing': return { reason: `no staple in ${path} yet` };
    case 'unreadable': return { reason: `${path} cannot be read (${a.problem?.message ?? 'error'})` };
    case 'empty': case 'unparsable': return { reason: `${path} holds no usable proof (${a.problem?.message ?? a.fileState})` };
    case 'other-certificate': return { reason: `${path} holds a proof for another certificate` };
    case 'invalid': return { reason: `${path} holds a proof that does not verify (${a.problem?.code ?? 'invalid'})` };
    case 'expired': case 'not-yet-valid': return { reason: `the proof in ${path} is not valid now (${a.problem?.code ?? a.fileState})` };
    case 'revoked': return { reason: `the proof in ${path} says revoked; asking the responder again` };
    case 'unknown': return { reason: `the proof in ${path} says unknown; asking the responder again` };
    default: break;
  }
  const ex = a.examined!;
  const why = `half-life of the proof (thisUpdate ${iso(ex.thisUpdate)}, effective expiry ${iso(ex.effectiveExpiry)} set by ${ex.expiryReason})`;
  if (ex.refreshAt.getTime() <= now.getTime()) return { reason: `past its refresh point ${iso(ex.refreshAt)}: ${why}` };
  return { reason: `fresh for ${formatDuration(ex.refreshAt.getTime() - now.getTime())} more: refresh at the ${why}`, dueAt: ex.refreshAt };
}

/** The one step for one certificate entry. Pure. */
export function planStaple(o: ObservedOcsp, now: Date, force: boolean): PlannedStep {
  const cfg = o.config;
  if (cfg.ocsp.disabled) return step(o, 'none', 'OCSP is disabled for this certificate (ocsp.disabled)', force);
  if (!o.leaf) return step(o, 'none', `the certificate cannot be read: ${o.certError?.message ?? 'unknown error'}`, force);
  if (!o.responderUrl) {
    // RFC 5280 §4.2.2.1: without an id-ad-ocsp access method there is no responder to ask
    // (every Let's Encrypt certificate since May 2025).
    const a = assessStaple(o, now);
    if (o.staple && BREAKS_GNUTLS.has(a.fileState) && cfg.ocsp_missing_ok) {
      return step(o, 'remove-staple',
        `no OCSP URL in the certificate, and ${o.staple.path} holds ${a.fileState === 'other-certificate' ? 'a proof for an earlier certificate' : 'no usable proof'}, which makes GnuTLS refuse every STARTTLS; ocsp_missing_ok allows removing it`, force);
    }
    return step(o, 'none', 'not applicable: the certificate names no OCSP responder', force);
  }
  if (!o.staple) return step(o, 'none', 'not stapled: no ocsp_file is configured for this certificate', force);
  if (force) return step(o, 'fetch-staple', 'forced (--force)', force);
  const due = whyDue(o, assessStaple(o, now), now);
  if (due.dueAt) return step(o, 'none', due.reason, force, due.dueAt);
  const retry = o.state?.nextRetry ? new Date(o.state.nextRetry) : undefined;
  if (retry && retry.getTime() > now.getTime()) {
    const last = o.state?.lastError ? ` (last error: ${o.state.lastError.code})` : '';
    return step(o, 'none', `${due.reason}; retrying at ${iso(retry)} after ${o.state!.failures} failed attempt${o.state!.failures === 1 ? '' : 's'}${last}`, force, retry);
  }
  return step(o, 'fetch-staple', due.reason, force);
}
