/**
 * OCSP stapling: fetch (RFC 6960 Appendix A, RFC 5019), validate (RFC 6960
 * §3.2, §4.2.2.2), refresh at half-life, replace atomically. See job.ts.
 */
export { ocspJob } from './job.js';
export { readOcspEntry, reobserveOcspEntry, type ObservedOcsp, type ObservedStapleFile, type StapleVerdict, type FileIdentity } from './read.js';
export { planStaple, assessStaple, type StapleAssessment, type StapleFileState, type OcspStepDetail } from './plan.js';
export { ocspStatus, type OcspStatusWord } from './status.js';
export {
  examineStaple, stapleTimeProblem, validateFetchedStaple, OcspCertStatusError, CLOCK_SKEW_MS,
  type ExaminedStaple, type ExpiryReason, type SignerFacts, type StapleSubject,
} from './validate.js';
export { fetchOcspResponse, fetchIssuerFromAia, ocspGetUrl, ocspRequestMethod, GET_URL_MAX_BYTES, OCSP_MAX_RESPONSE_BYTES } from './fetch.js';
export {
  backoffDelayMs, afterFailure, afterSuccess, stateForLeaf, stateObjectId, revocationOf, BACKOFF_FIRST_MS, BACKOFF_MAX_MS, OCSP_STATE_VERSION,
  type OcspRefreshState,
} from './state.js';
export { OCSP_CONCURRENCY, OCSP_STEP_CONCURRENCY } from './apply.js';
