/**
 * What the ocsp job remembers between runs for one certificate, in
 * `state_dir/state/ocsp--<name>.json`: consecutive failures and when to try
 * again (backoff), the last error for `status`, a validated "revoked"
 * answer (for the ACME capability, which renews on it), and an issuer
 * certificate fetched from AIA caIssuers so later runs can verify offline.
 *
 * The state is bound to one leaf (its SHA-256 fingerprint): a renewed
 * certificate starts afresh, with no backoff inherited from its predecessor.
 */
import type { SerializedError } from '../errors/index.js';

export const OCSP_STATE_VERSION = 1;

export interface OcspRefreshState {
  version: typeof OCSP_STATE_VERSION;
  /** SHA-256 fingerprint of the leaf this state is about. */
  certificate: string;
  /** Consecutive failed refresh attempts. */
  failures: number;
  lastAttempt?: string;
  /** Not before this time, unless forced (ISO 8601). */
  nextRetry?: string;
  lastError?: SerializedError;
  /** A validated "revoked" answer from the responder (RFC 6960 §2.2). */
  revoked?: { detectedAt: string; revocationTime?: string; reason?: string };
  /** Base64 DER of the issuer certificate fetched from AIA caIssuers (it verified the leaf). */
  issuerDer?: string;
}

/**
 * For the ACME capability (issue: "revoked … triggers renewal"): the
 * validated revocation the ocsp job recorded for this leaf, if any.
 */
export function revocationOf(raw: unknown, fingerprint: string): OcspRefreshState['revoked'] {
  return stateForLeaf(raw, fingerprint)?.revoked;
}

/** State object id (the state file is `state_dir/state/ocsp--<name>.json`). */
export function stateObjectId(certificateName: string): string {
  return `ocsp/${certificateName}`;
}

export const BACKOFF_FIRST_MS = 60_000;
export const BACKOFF_MAX_MS = 3_600_000;

/** Backoff after `failures` consecutive failures: 1 min, 2, 4, … capped at 1 h. */
export function backoffDelayMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 30), BACKOFF_MAX_MS);
}

/** The stored state if it is about this leaf; undefined otherwise (fresh start). */
export function stateForLeaf(raw: unknown, fingerprint: string | undefined): OcspRefreshState | undefined {
  if (!raw || typeof raw !== 'object' || fingerprint === undefined) return undefined;
  const s = raw as Partial<OcspRefreshState>;
  if (s.version !== OCSP_STATE_VERSION || s.certificate !== fingerprint || typeof s.failures !== 'number') return undefined;
  return s as OcspRefreshState;
}

/** The state after a failed attempt at `now`. */
export function afterFailure(previous: OcspRefreshState | undefined, fingerprint: string, now: Date, error: SerializedError,
  extra: Partial<Pick<OcspRefreshState, 'revoked' | 'issuerDer'>> = {}): OcspRefreshState {
  const failures = (previous?.failures ?? 0) + 1;
  return {
    version: OCSP_STATE_VERSION,
    certificate: fingerprint,
    failures,
    lastAttempt: now.toISOString(),
    nextRetry: new Date(now.getTime() + backoffDelayMs(failures)).toISOString(),
    lastError: error,
    ...(previous?.revoked ? { revoked: previous.revoked } : {}),
    ...(previous?.issuerDer ? { issuerDer: previous.issuerDer } : {}),
    ...extra,
  };
}

/** The state after a good proof was written: no failures; an AIA-fetched issuer is kept. */
export function afterSuccess(fingerprint: string, issuerDer: string | undefined): OcspRefreshState {
  return { version: OCSP_STATE_VERSION, certificate: fingerprint, failures: 0, ...(issuerDer ? { issuerDer } : {}) };
}

export function sameState(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
