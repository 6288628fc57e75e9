/**
 * `tlskeeper tlsa`: the records of the current key(s) in zone-file form
 * (RFC 1035 §5.1 master file syntax, owner absolute with its trailing dot),
 * ready to paste into a zone that tlskeeper does not manage.
 */
import type { Config } from '../config/index.js';
import { readTlsaCertificate } from './job.js';
import { groupOwners, targetForOwner } from './plan.js';
import { parseTlsa } from './records.js';

export interface TlsaLine {
  name: string;
  ttl: number;
  certificate: string;
  /** 'current' today; 'next' once key rollover lands. */
  role: 'current' | 'next';
  usage: number;
  selector: number;
  matching: number;
  data: string;
  /** `3 1 1 <hex>` */
  rdata: string;
  /** `_25._tcp.mx.example.com. 300 IN TLSA 3 1 1 <hex>` */
  line: string;
}

export interface TlsaListing {
  records: TlsaLine[];
  errors: Array<{ name: string; certificate: string; code: string; message: string; hint?: string }>;
  warnings: Array<{ name: string; certificate: string; message: string; hint?: string }>;
}

export function zoneFileLine(name: string, ttl: number, rdata: string): string {
  return `${name}. ${ttl} IN TLSA ${rdata}`;
}

/** Reads the certificate files (no DNS) and computes every owner's records; with `only`, that certificate's records. */
export async function listTlsaRecords(config: Config, only?: string): Promise<TlsaListing> {
  const withTlsa = config.certificates.filter((c) => c.tlsa.length > 0);
  const owners = groupOwners(withTlsa.map((c) => ({ name: c.name, ttl: c.tlsa_ttl, specs: c.tlsa })))
    .filter((o) => !only || o.certificates.includes(only));
  const needed = withTlsa.filter((c) => owners.some((o) => o.certificates.includes(c.name)));
  const certs = new Map((await Promise.all(needed.map(readTlsaCertificate))).map((v) => [v.name, v]));
  const listing: TlsaListing = { records: [], errors: [], warnings: [] };
  for (const owner of owners) {
    const target = targetForOwner(owner, certs);
    const seen = new Set<string>();
    for (const r of target.records) {
      if (only && r.certificate !== only) continue;
      if (seen.has(r.value)) continue;
      seen.add(r.value);
      const p = parseTlsa(r.value)!;
      listing.records.push({
        name: owner.name, ttl: owner.ttl, certificate: r.certificate, role: r.role,
        usage: p.usage, selector: p.selector, matching: p.matching, data: p.data,
        rdata: r.value, line: zoneFileLine(owner.name, owner.ttl, r.value),
      });
    }
    for (const e of target.errors) if (!only || e.certificate === only) listing.errors.push({ name: owner.name, ...e });
    for (const w of target.warnings) if (!only || w.certificate === only) listing.warnings.push({ name: owner.name, ...w });
  }
  return listing;
}
