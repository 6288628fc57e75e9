/**
 * DH parameter files: safe-prime generation in killable workers, checks, and
 * the `dhparams` job. See docs/dhparams.md.
 */
export { dhparamsJob, planFile, dhStatus, EXIM_DEFAULT_DH_MAX_BITS, type DhStepDetail, type DhTrigger } from './job.js';
export { checkDhBytes, checkDhParameter, parseDhFile, MAX_DH_FILE_BYTES, PEM_LABEL, type DhCheck, type DhFacts, type ParsedDhFile } from './check.js';
export { decodeDhParameter, encodeDhParameter, bitLength, DerError, type DhParameter } from './der.js';
export { generateDhParams, defaultWorkerCount, workerExecArgv, WORKER_PATH, type GenerateOptions, type GeneratedDhParams } from './generate.js';
export { observeDhFile, dhObjectId, type ObservedDhFile, type DhFileIdentity, type DhGenerationState } from './observe.js';
export { preserveOld, oldDir } from './preserve.js';
export { jacobi, isProbablePrime, MILLER_RABIN_ROUNDS } from './math.js';
export { findSafePrime, randomStart, sievingPrimes, modSmall, toLimbs, DEFAULT_SIEVE_LIMIT, type SafePrimeFound, type SafePrimeSearchOptions } from './sieve.js';
export { powModOpenssl, canPowModOpenssl, OPENSSL_FULL_EXPONENT_MAX_BITS } from './modexp.js';
