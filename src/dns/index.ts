/**
 * The DNS layer: providers that change zones (rfc2136, powerdns, exec), DNS
 * wire format and TSIG, and propagation checks. Only this folder imports
 * dns-packet.
 */
export type { RecordType, RRset, DnsOperationOptions, DnsProvider, DnsProviderMetadata, DnsProviderDeps } from './types.js';
export { createDnsProvider, providerMetadata } from './providers/index.js';
export { loadTsigKey } from './providers/rfc2136/index.js';
export { buildUpdate, type UpdateAction } from './providers/rfc2136/update.js';
export { EXEC_EXIT_CODES } from './providers/exec/index.js';
export { zoneForName } from './zone.js';
export { canonicalRRset, canonicalValues, sameValues, nameInZone, isRecordType, RECORD_TYPES } from './rrset.js';
export { dnsError, rcodeError, type DnsErrorCode } from './errors.js';
export { queryRRset, type QueryAnswer, type QueryOptions } from './query.js';
export { exchange, newMessageId, type ExchangeOptions, type ExchangeResult } from './client.js';
export {
  verifyPropagation, authoritativeServers, systemResolver, describeLaggards,
  type VerifyZone, type NsResolver, type AuthoritativeServer, type ServerCheck, type PropagationOptions, type PropagationResult, type ServerListOptions,
} from './verify.js';
export {
  TsigKey, TsigVerificationError, KeyFileError, parseKeyFile, keyFromSecret, parseAlgorithm, signMessage, verifyResponse, computeMac,
  findTsig, unsignedPart, encodeTsigRdata, decodeTsigRdata, TSIG_ALGORITHMS, DEFAULT_FUDGE,
  type TsigAlgorithm, type TsigRecord, type TsigFailure, type SignOptions, type SignedMessage, type VerifyOptions, type MacInput,
} from './tsig.js';
export * as wire from './wire/index.js';
export { canonicalValue, parseServer, formatServer, type ServerAddress } from './wire/index.js';
