/**
 * DANE: TLSA records from certificates and keys (records.ts), the pure plan
 * and its safety rule (plan.ts), status (status.ts), the `tlsa` job that
 * publishes through the DNS layer and verifies on every authoritative server
 * (job.ts), and the listing behind `tlskeeper tlsa` (print.ts).
 */
import { createTlsaJob } from './job.js';
import { defaultDnsAccess } from './dns-access.js';

export const tlsaJob = createTlsaJob(defaultDnsAccess);

export { createTlsaJob, readTlsaCertificate, type TlsaDnsAccess, type PropagationOutcome } from './job.js';
export { listTlsaRecords, zoneFileLine, type TlsaLine, type TlsaListing } from './print.js';
export {
  computeTlsa, formatTlsa, parseTlsa, canonicalTlsa, matchData, recordMatchesChain, recordMatchesKey, subjectCertificate,
  issuedByPublicCa, describeParams, type TlsaParams, type TlsaRecord, type TlsaSource,
} from './records.js';
export {
  groupOwners, targetForOwner, planOwner, planTlsa, assertSafeRRset, unmatchedCertificates, normalizeOwner,
  type TlsaObserved, type TlsaCertificateView, type TlsaKeyMaterial, type PublishedTlsa, type TlsaOwner,
} from './plan.js';
export { tlsaStatus } from './status.js';
