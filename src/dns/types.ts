/**
 * The DNS layer's contract, shared by TLSA publication (src/dane) and, later,
 * ACME dns-01 challenges. Records travel in presentation form (RFC 1035 §5.1):
 * TLSA `3 1 1 <hex>` (lower-case hex), TXT `"text"`.
 */

import type { Logger } from '../log/index.js';

export type RecordType = 'TLSA' | 'TXT';

/** A whole RRset: every record of one owner name and type (RFC 2181 §5). */
export interface RRset {
  /** Absolute owner name without the trailing dot, lower case: `_25._tcp.mx.example.com`. */
  name: string;
  type: RecordType;
  ttl: number;
  /** Presentation-form RDATA, canonical (TLSA hex in lower case), no duplicates. */
  values: string[];
}

export interface DnsOperationOptions {
  signal?: AbortSignal;
}

/**
 * A DNS provider: the one thing tlskeeper needs to change a zone.
 *
 * Contract:
 * - Every method is idempotent: replacing an RRset with what it already holds,
 *   adding a record that exists or removing one that does not succeeds and
 *   changes nothing.
 * - `replaceRRset` is atomic: a resolver sees the old RRset or the new one,
 *   never a mixture or an empty set in between. `values: []` deletes the RRset.
 * - `getRRset` reads what the provider's primary holds now (not a cache);
 *   `undefined` when the name has no records of that type.
 * - Failures throw `DnsError` with one of the codes `DNS_AUTH_FAILED`,
 *   `DNS_REFUSED`, `DNS_NOT_AUTHORITATIVE`, `DNS_TIMEOUT`, `DNS_FAILED`, and a
 *   hint. A failed change leaves the zone as it was. (An operation aborted
 *   through `signal` throws `DNS_ABORTED`.)
 * - Secrets (TSIG keys, API keys) never appear in errors or logs.
 * - Every network call has a timeout and honours `signal`.
 */
export interface DnsProvider {
  /** Provider id, e.g. `rfc2136`. */
  readonly id: string;
  /** The zone it manages, without the trailing dot. */
  readonly zone: string;
  getRRset(name: string, type: RecordType, options?: DnsOperationOptions): Promise<RRset | undefined>;
  replaceRRset(rrset: RRset, options?: DnsOperationOptions): Promise<void>;
  addRecords(rrset: RRset, options?: DnsOperationOptions): Promise<void>;
  removeRecords(rrset: RRset, options?: DnsOperationOptions): Promise<void>;
}

/** What a provider folder exports besides its factory: docs and help come from here. */
export interface DnsProviderMetadata {
  id: string;
  title: string;
  /** One paragraph for README and `--help`. */
  description: string;
  /** Config keys it reads, each with a one-line explanation. */
  configKeys: Record<string, string>;
  /** Longer reference text (e.g. the exec provider's protocol), for README and `--help`. */
  details?: string;
}

/** What a provider factory receives besides its zone configuration. */
export interface DnsProviderDeps {
  log?: Logger;
  /** Clock, milliseconds since the epoch (TSIG's time signed); tests inject skew here. */
  now?: () => number;
}
