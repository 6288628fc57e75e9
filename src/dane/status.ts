/**
 * Pure: what `tlskeeper status` says about each TLSA owner name.
 *
 * What a DANE sender does with the published RRset (RFC 7672 §2.2): with at
 * least one usable record it authenticates the server and defers mail when no
 * record matches the certificate it is served; records with usage 0/1 (RFC
 * 7672 §3.1.3) or that do not parse are unusable and ignored; with no RRset it
 * falls back to unauthenticated TLS. Hence:
 *   CRITICAL  a certificate the server serves is matched by no record
 *             (all of them: every DANE sender defers all mail)
 *   WARNING   records that match no current (or next) key — stale — or are
 *             unusable; configured records missing; no RRset at all;
 *             verification found lagging servers; usage 2 on a public CA
 *   UNKNOWN   the RRset or a certificate could not be read
 */
import { worst, type Severity, type StatusEntry } from '../jobs/index.js';
import {
  normalizeOwner, targetForOwner, groupOwners, type TlsaCertificateView, type TlsaObserved,
} from './plan.js';
import { canonicalTlsa, parseTlsa, recordMatchesChain, recordMatchesKey, type TlsaRecord } from './records.js';

export interface PublishedRecordFacts {
  value: string;
  usable: boolean;
  /** `mx (current)`, `mx-rsa (next)` */
  matches: string[];
}

function matchesOf(record: TlsaRecord, cert: TlsaCertificateView): Array<'current' | 'next'> {
  const roles: Array<'current' | 'next'> = [];
  for (const key of cert.keys) {
    const ok = key.source.kind === 'chain'
      ? recordMatchesChain(record, key.source.chain)
      : recordMatchesKey(record, key.source.publicKey, record.usage === 2 ? 'ta' : 'ee');
    if (ok && !roles.includes(key.role)) roles.push(key.role);
  }
  return roles;
}

export function tlsaStatus(observed: TlsaObserved, _now: Date): StatusEntry[] {
  const certs = new Map(observed.certificates.map((c) => [c.name, c]));
  const published = new Map(observed.published.map((p) => [normalizeOwner(p.name), p]));
  const entries: StatusEntry[] = [];
  for (const owner of groupOwners(observed.certificates)) {
    const pub = published.get(owner.name);
    if (!pub) continue; // not read (outside --cert)
    const problems: StatusEntry['problems'] = [];
    let severity: Severity = 'OK';
    const flag = (s: Severity, message: string, hint?: string) => {
      severity = worst(severity, s);
      problems.push({ severity: s, message, ...(hint ? { hint } : {}) });
    };
    const target = targetForOwner(owner, certs, observed.publicRoots);
    for (const w of target.warnings) flag('WARNING', w.message, w.hint);
    // An unreadable certificate: its match cannot be judged (UNKNOWN); a record
    // that cannot be computed from a readable one is a configuration problem.
    for (const e of target.errors) flag(certs.get(e.certificate)?.liveChain ? 'WARNING' : 'UNKNOWN', e.message, e.hint);
    for (const name of owner.certificates) {
      if (certs.get(name)?.keyMismatch) {
        flag('WARNING', `the key file of certificate ${name} does not belong to the certificate; records follow the certificate`, 'install the matching key (see the certificate entry of status)');
      }
    }

    const records: PublishedRecordFacts[] = [];
    const matchedCerts = new Set<string>();
    if (pub.error) {
      flag('UNKNOWN', `cannot read the published TLSA RRset: ${pub.error.message}`, pub.error.hint);
    } else if (!pub.rrset || pub.rrset.values.length === 0) {
      flag('WARNING', 'no TLSA records are published', 'run `tlskeeper refresh tlsa`; until then DANE senders use unauthenticated TLS');
    } else {
      for (const raw of pub.rrset.values) {
        const value = canonicalTlsa(raw);
        const parsed = parseTlsa(raw);
        const usable = parsed !== undefined && (parsed.usage === 2 || parsed.usage === 3);
        const matches: string[] = [];
        if (parsed && usable) {
          for (const name of owner.certificates) {
            const cert = certs.get(name);
            if (!cert) continue;
            const roles = matchesOf(parsed, cert);
            for (const role of roles) matches.push(`${name} (${role})`);
            if (cert.liveChain && recordMatchesChain(parsed, cert.liveChain)) matchedCerts.add(name);
          }
        }
        records.push({ value, usable, matches });
      }
      const readable = owner.certificates.filter((n) => certs.get(n)?.liveChain);
      const unmatched = readable.filter((n) => !matchedCerts.has(n));
      const usableCount = records.filter((r) => r.usable).length;
      if (usableCount === 0) {
        // Only unusable records: senders use TLS without authentication (RFC 7672 §2.2); the unusable warning below says it.
      } else if (readable.length > 0 && unmatched.length === readable.length) {
        flag('CRITICAL', `none of the ${records.length} published record${records.length === 1 ? '' : 's'} matches ${readable.length === 1 ? 'the certificate' : 'any certificate'} the server serves (${readable.join(', ')})`,
          'run `tlskeeper refresh tlsa` now: DANE senders defer all mail to this service until a record matches (RFC 7672 §2.2)');
      } else if (unmatched.length > 0) {
        flag('CRITICAL', `no published record matches certificate ${unmatched.join(', ')}`,
          'run `tlskeeper refresh tlsa` now: DANE senders that negotiate that certificate defer mail');
      }
      const stale = records.filter((r) => r.usable && r.matches.length === 0);
      if (stale.length > 0) {
        flag('WARNING', `${stale.length} published record${stale.length === 1 ? ' matches' : 's match'} no current certificate: ${stale.map((r) => r.value).join(', ')}`,
          'stale records (an old key?) weaken nothing today but hide mistakes; `tlskeeper refresh tlsa` removes them');
      }
      const unusable = records.filter((r) => !r.usable);
      if (unusable.length > 0) {
        flag('WARNING', `${unusable.length} published record${unusable.length === 1 ? ' is' : 's are'} unusable for SMTP (usage 0/1 or malformed, RFC 7672 §3.1.3): ${unusable.map((r) => r.value).join(', ')}`,
          '`tlskeeper refresh tlsa` replaces the RRset with DANE-EE/DANE-TA records');
      }
      const publishedValues = new Set(records.map((r) => r.value));
      const missing = target.errors.length === 0 ? target.values.filter((v) => !publishedValues.has(v)) : [];
      if (missing.length > 0 && (unmatched.length === 0 || usableCount === 0)) {
        flag('WARNING', `${missing.length} configured record${missing.length === 1 ? ' is' : 's are'} not published: ${missing.join(', ')}`, 'run `tlskeeper refresh tlsa`');
      }
    }

    const ver = observed.verification[owner.name];
    const currentValues = pub.rrset ? [...pub.rrset.values.map(canonicalTlsa)].sort() : [];
    if (ver && ver.laggards.length > 0 && sameList(ver.values, currentValues)) {
      flag('WARNING', `at the last change (${ver.checkedAt}) ${ver.laggards.length} authoritative server${ver.laggards.length === 1 ? '' : 's'} did not serve the new RRset: ${ver.laggards.map((l) => `${l.server} (${l.reason})`).join(', ')}`,
        'check zone transfers (NOTIFY/IXFR) to those servers; resolvers asking them get the old records');
    }

    const matching = records.filter((r) => r.matches.length > 0).length;
    const summary = pub.error
      ? 'RRset unreadable'
      : !pub.rrset || pub.rrset.values.length === 0
        ? 'no TLSA records published'
        : `${records.length} record${records.length === 1 ? '' : 's'}, ${matching} matching ${owner.certificates.join(', ')}${matching < records.length ? `, ${records.length - matching} not` : ''}`;
    entries.push({
      kind: 'tlsa',
      object: owner.name,
      severity,
      summary,
      facts: {
        zone: pub.zone ?? null,
        certificates: owner.certificates,
        ttl: pub.rrset?.ttl ?? null,
        configuredTtl: owner.ttl,
        // Strings only, so the status table prints them as they are.
        published: records.map((r) => `${r.value}${r.matches.length ? ` = ${r.matches.join(' + ')}` : r.usable ? ' = STALE' : ' = UNUSABLE'}`),
        expected: target.values,
        unmatchedCertificates: owner.certificates.filter((n) => certs.get(n)?.liveChain && records.length > 0 && !matchedCerts.has(n)),
        ...(ver ? {
          lastVerifiedAt: ver.checkedAt,
          verifiedServers: ver.servers,
          laggards: ver.laggards.map((l) => `${l.server}: ${l.reason}`),
        } : {}),
      },
      problems,
    });
  }
  return entries;
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  const x = [...a].sort();
  const y = [...b].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
}
