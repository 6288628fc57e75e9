/**
 * RRset helpers shared by providers, verification and callers: normalise an
 * RRset to the canonical form of src/dns/types.ts, compare two of them, and
 * check a name belongs to a zone.
 */
import { dnsError } from './errors.js';
import type { RecordType, RRset } from './types.js';
import { BadValueError, canonicalValue } from './wire/rdata.js';
import { normalizeName } from './wire/message.js';

export const RECORD_TYPES: readonly RecordType[] = ['TLSA', 'TXT'];

export function isRecordType(t: string): t is RecordType {
  return (RECORD_TYPES as readonly string[]).includes(t);
}

/** Canonical values, de-duplicated and sorted (an RRset has no order, RFC 2181 §5). Throws DNS_FAILED on a bad value. */
export function canonicalValues(type: RecordType, values: readonly string[], object?: string): string[] {
  const out = new Set<string>();
  for (const v of values) {
    try {
      out.add(canonicalValue(type, v));
    } catch (err) {
      if (!(err instanceof BadValueError)) throw err;
      throw dnsError('DNS_FAILED', `invalid ${type} value: ${err.message}`, {
        ...(object ? { object } : {}),
        hint: type === 'TLSA' ? 'write TLSA values as "usage selector matching hex", e.g. "3 1 1 8f3a…"' : 'write TXT values as one or more quoted strings',
      });
    }
  }
  return [...out].sort();
}

/** Name lower-cased without the trailing dot, values canonical, TTL checked. */
export function canonicalRRset(rrset: RRset, object?: string): RRset {
  if (!isRecordType(rrset.type)) throw dnsError('DNS_FAILED', `record type ${String(rrset.type)} is not supported`, { ...(object ? { object } : {}) });
  if (!Number.isInteger(rrset.ttl) || rrset.ttl < 0 || rrset.ttl > 2_147_483_647) {
    throw dnsError('DNS_FAILED', `TTL ${rrset.ttl} of ${rrset.name} ${rrset.type} is out of range`, { ...(object ? { object } : {}), hint: 'TTLs are 0–2147483647 seconds (RFC 2181 §8)' });
  }
  return { name: normalizeName(rrset.name), type: rrset.type, ttl: rrset.ttl, values: canonicalValues(rrset.type, rrset.values, object) };
}

/** Same set of (canonical) values, order ignored. */
export function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((v, i) => v === sb[i]);
}

/** `mx.example.com` is in `example.com`; `badexample.com` is not. */
export function nameInZone(name: string, zone: string): boolean {
  const n = normalizeName(name);
  const z = normalizeName(zone);
  return z === '' || n === z || n.endsWith(`.${z}`);
}

export function assertInZone(name: string, zone: string, object?: string): void {
  if (!nameInZone(name, zone)) {
    throw dnsError('DNS_FAILED', `${name} is not in zone ${zone}`, {
      ...(object ? { object } : {}),
      hint: 'the name belongs to another zone: configure that zone under dns:',
    });
  }
}
