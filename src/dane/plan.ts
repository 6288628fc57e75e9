/**
 * Pure planning for the `tlsa` job: which RRset every TLSA owner name should
 * hold, how that differs from what is published, and the safety rule that is
 * checked before anything is sent.
 *
 * An owner name is one RRset (RFC 2181 §5): when an RSA and an ECDSA
 * certificate both name `_25._tcp.mx.example.com`, the RRset must hold the
 * records of both, since a sender may negotiate either (RFC 7671 §5 — any one
 * matching record authenticates the server, so records of several
 * certificates coexist). The target RRset is therefore computed from the tlsa
 * specs of ALL certificates, grouped by owner name.
 *
 * Safety (never break mail): an RRset that leaves a live certificate — the one
 * the MTA serves now — without a matching record makes every DANE sender that
 * negotiates it defer mail (RFC 7672 §2.2). `assertSafeRRset` refuses such an
 * RRset; the job calls it on the plan and again, under the lock, right before
 * sending.
 *
 * Key rollover seam: each certificate carries a list of key materials
 * (`role: 'current' | 'next'`). Today it holds the current chain only; the
 * rollover capability adds the next key, whose records are then published
 * alongside ("current + next", RFC 7671 §8.1) and are not reported as stale.
 */
import type { X509Certificate } from 'node:crypto';
import type { TlsaRecordConfig } from '../config/index.js';
import type { RRset } from '../dns/types.js';
import { describeError, ValidationError, type SerializedError } from '../errors/index.js';
import type { Plan, PlannedStep, PlanOptions } from '../jobs/index.js';
import {
  canonicalTlsa, computeTlsa, formatTlsa, issuedByPublicCa, parseTlsa, recordMatchesChain,
  type TlsaParams, type TlsaSource,
} from './records.js';

/** One key a certificate's records are computed from. */
export interface TlsaKeyMaterial {
  /** 'current': what the certificate file holds and the MTA serves. 'next': a rollover key (later). */
  role: 'current' | 'next';
  source: TlsaSource;
}

/** What the job knows about one certificate that names TLSA owners. */
export interface TlsaCertificateView {
  name: string;
  ttl: number;
  specs: TlsaRecordConfig[];
  /** The chain the MTA serves now, leaf first; undefined when the file could not be read. */
  liveChain?: X509Certificate[];
  keys: TlsaKeyMaterial[];
  /** Why the certificate could not be read (then no record can be computed for it). */
  error?: SerializedError;
  /** The key file does not belong to the certificate (reported; records follow the certificate). */
  keyMismatch?: boolean;
}

/** What the provider's primary holds for one owner name. */
export interface PublishedTlsa {
  name: string;
  zone?: string;
  /** undefined: no TLSA RRset at that name. */
  rrset?: RRset;
  /** The RRset could not be read. */
  error?: SerializedError;
}

/** The outcome of the last propagation check after a change (kept in the state file). */
export interface TlsaVerificationState {
  checkedAt: string;
  values: string[];
  servers: string[];
  laggards: Array<{ server: string; reason: string }>;
}

export interface TlsaObserved {
  certificates: TlsaCertificateView[];
  published: PublishedTlsa[];
  verification: Record<string, TlsaVerificationState | undefined>;
  /** Roots that count as public CAs (default: Node's bundled Mozilla store); tests inject their own. */
  publicRoots?: X509Certificate[];
}

export interface TlsaOwner {
  /** Lower case, no trailing dot. */
  name: string;
  /** An RRset has one TTL (RFC 2181 §5.2): the smallest tlsa_ttl of the certificates naming it. */
  ttl: number;
  /** Certificate names, in configuration order. */
  certificates: string[];
  uses: Array<{ certificate: string; params: TlsaParams }>;
}

export interface TargetRecord {
  value: string;
  certificate: string;
  role: TlsaKeyMaterial['role'];
}

export interface OwnerTarget {
  owner: TlsaOwner;
  /** Canonical presentation form, sorted, no duplicates. */
  values: string[];
  records: TargetRecord[];
  /** Problems that block publishing (a record that cannot be computed). */
  errors: Array<{ certificate: string; message: string; hint?: string; code: string }>;
  /** Problems worth a WARNING that do not block. */
  warnings: Array<{ certificate: string; message: string; hint?: string }>;
}

/** `_25._tcp.MX.example.com.` → `_25._tcp.mx.example.com` */
export function normalizeOwner(name: string): string {
  return name.replace(/\.$/, '').toLowerCase();
}

/** Group the tlsa specs of every certificate by owner name. */
export function groupOwners(certs: ReadonlyArray<Pick<TlsaCertificateView, 'name' | 'ttl' | 'specs'>>): TlsaOwner[] {
  const owners = new Map<string, TlsaOwner>();
  for (const cert of certs) {
    for (const spec of cert.specs) {
      const name = normalizeOwner(spec.name);
      let owner = owners.get(name);
      if (!owner) {
        owner = { name, ttl: cert.ttl, certificates: [], uses: [] };
        owners.set(name, owner);
      }
      owner.ttl = Math.min(owner.ttl, cert.ttl);
      if (!owner.certificates.includes(cert.name)) owner.certificates.push(cert.name);
      const params: TlsaParams = { usage: spec.usage, selector: spec.selector, matching: spec.matching };
      if (!owner.uses.some((u) => u.certificate === cert.name && sameParams(u.params, params))) {
        owner.uses.push({ certificate: cert.name, params });
      }
    }
  }
  return [...owners.values()];
}

function sameParams(a: TlsaParams, b: TlsaParams): boolean {
  return a.usage === b.usage && a.selector === b.selector && a.matching === b.matching;
}

/** The RRset an owner name should hold: the records of every key of every certificate naming it. */
export function targetForOwner(
  owner: TlsaOwner, certs: ReadonlyMap<string, TlsaCertificateView>, publicRoots?: readonly X509Certificate[],
): OwnerTarget {
  const target: OwnerTarget = { owner, values: [], records: [], errors: [], warnings: [] };
  const warnedPublic = new Set<string>();
  for (const use of owner.uses) {
    const cert = certs.get(use.certificate);
    if (!cert || cert.error || !cert.liveChain) {
      target.errors.push({
        certificate: use.certificate, code: cert?.error?.code ?? 'TLSA_CERT_UNREADABLE',
        message: `certificate ${use.certificate} could not be read${cert?.error ? `: ${cert.error.message}` : ''}; its records cannot be computed`,
        hint: cert?.error?.hint ?? 'fix the certificate file; the published RRset is left as it is meanwhile',
      });
      continue;
    }
    if (use.params.usage === 2 && !warnedPublic.has(cert.name) && issuedByPublicCa(cert.liveChain, publicRoots)) {
      warnedPublic.add(cert.name);
      target.warnings.push({
        certificate: cert.name,
        message: `certificate ${cert.name}: usage 2 (DANE-TA) pins an intermediate of a public CA`,
        hint: "public CAs rotate intermediates (Let's Encrypt picks among several at random): a renewal from another intermediate breaks DANE until the new record propagates; prefer 3 1 1 (RFC 7672 §3.1.1)",
      });
    }
    for (const key of cert.keys) {
      try {
        const value = formatTlsa(computeTlsa(use.params, key.source));
        target.records.push({ value, certificate: cert.name, role: key.role });
      } catch (err) {
        const e = describeError(err);
        target.errors.push({
          certificate: cert.name, code: e.code,
          message: `certificate ${cert.name} (${key.role} key), record ${use.params.usage} ${use.params.selector} ${use.params.matching}: ${e.message}`,
          ...(e.hint ? { hint: e.hint } : {}),
        });
      }
    }
  }
  target.values = [...new Set(target.records.map((r) => r.value))].sort();
  return target;
}

/** Certificates naming the owner whose live chain no value of the RRset matches. */
export function unmatchedCertificates(
  values: readonly string[], owner: TlsaOwner, certs: ReadonlyMap<string, TlsaCertificateView>,
): string[] {
  const records = values.map(parseTlsa).filter((r) => r !== undefined);
  return owner.certificates.filter((name) => {
    const chain = certs.get(name)?.liveChain;
    // A certificate we cannot read cannot be proven matched: count it as unmatched.
    if (!chain || chain.length === 0) return true;
    return !records.some((r) => recordMatchesChain(r, chain));
  });
}

/**
 * The safety rule, checked on the exact RRset about to be sent: every live
 * certificate naming the owner must be matched by at least one record.
 * Throws ValidationError `TLSA_UNSAFE` otherwise.
 */
export function assertSafeRRset(rrset: RRset, owner: TlsaOwner, certs: ReadonlyMap<string, TlsaCertificateView>): void {
  if (normalizeOwner(rrset.name) !== owner.name || rrset.type !== 'TLSA') {
    throw new ValidationError(`refusing to send ${rrset.type} ${rrset.name}: it is not the TLSA RRset of ${owner.name}`, {
      code: 'TLSA_UNSAFE', object: owner.name, hint: 'this is a bug in tlskeeper; please report it',
    });
  }
  const unmatched = unmatchedCertificates(rrset.values, owner, certs);
  if (unmatched.length > 0) {
    throw new ValidationError(
      `refusing to publish TLSA ${owner.name}: it would leave ${unmatched.map((c) => `certificate ${c}`).join(', ')} without a matching record`,
      {
        code: 'TLSA_UNSAFE', object: owner.name,
        hint: 'DANE senders would defer mail for the certificate the server serves; nothing was sent (check the certificate files and the tlsa specs)',
      },
    );
  }
}

export interface PublishDetail {
  name: string;
  zone: string | undefined;
  rrset: RRset;
  /** Values published before (null: no RRset or not readable). */
  previous: string[] | null;
  add: string[];
  remove: string[];
}

/** Plan one owner: publish, nothing, or blocked. Also used by apply() after re-reading under the lock. */
export function planOwner(
  owner: TlsaOwner, certs: ReadonlyMap<string, TlsaCertificateView>, published: PublishedTlsa | undefined,
  options: Pick<PlanOptions, 'force'>, publicRoots?: readonly X509Certificate[],
): PlannedStep {
  const target = targetForOwner(owner, certs, publicRoots);
  const base = { job: 'tlsa' as const, object: owner.name };
  if (target.errors.length > 0) {
    return {
      ...base, action: 'blocked',
      reason: `${target.errors.map((e) => e.message).join('; ')}; the published RRset is left unchanged`,
      detail: { errors: target.errors },
    };
  }
  const rrset: RRset = { name: owner.name, type: 'TLSA', ttl: owner.ttl, values: target.values };
  try {
    assertSafeRRset(rrset, owner, certs);
  } catch (err) {
    return { ...base, action: 'blocked', reason: (err as Error).message, detail: { errors: [describeError(err)] } };
  }
  const previous = published?.rrset ? [...new Set(published.rrset.values.map(canonicalTlsa))].sort() : null;
  const detail: PublishDetail = {
    name: owner.name, zone: published?.zone, rrset, previous,
    add: target.values.filter((v) => !previous?.includes(v)),
    remove: (previous ?? []).filter((v) => !target.values.includes(v)),
  };
  const warn = target.warnings.length > 0 ? ` (warning: ${target.warnings.map((w) => w.message).join('; ')})` : '';
  if (published?.error) {
    return { ...base, action: 'publish-tlsa', reason: `the published RRset could not be read (${published.error.message}); publishing ${describeValues(target.values)}${warn}`, detail };
  }
  if (!published?.rrset) {
    return { ...base, action: 'publish-tlsa', reason: `no TLSA records published; publishing ${describeValues(target.values)}${warn}`, detail };
  }
  const sameValues = detail.add.length === 0 && detail.remove.length === 0 && published.rrset.values.length === previous!.length;
  const sameTtl = published.rrset.ttl === owner.ttl;
  if (sameValues && sameTtl && !options.force) {
    return { ...base, action: 'none', reason: `published RRset holds exactly the records of the current key(s) of ${owner.certificates.join(', ')}${warn}` };
  }
  const why: string[] = [];
  if (detail.add.length) why.push(`adding ${detail.add.length}`);
  if (detail.remove.length) why.push(`removing ${detail.remove.length} stale`);
  if (!sameTtl) why.push(`TTL ${published.rrset.ttl} → ${owner.ttl}`);
  if (why.length === 0) why.push('forced');
  return { ...base, action: 'publish-tlsa', reason: `${why.join(', ')}: publishing ${describeValues(target.values)}${warn}`, detail };
}

function describeValues(values: readonly string[]): string {
  return `${values.length} record${values.length === 1 ? '' : 's'}`;
}

/** The whole plan: one step per owner name (of the selected certificate, with `--cert`). */
export function planTlsa(observed: TlsaObserved, _now: Date, options: PlanOptions): Plan {
  const certs = new Map(observed.certificates.map((c) => [c.name, c]));
  const owners = groupOwners(observed.certificates)
    .filter((o) => !options.certificate || o.certificates.includes(options.certificate));
  const published = new Map(observed.published.map((p) => [normalizeOwner(p.name), p]));
  return {
    job: 'tlsa',
    steps: owners.map((o) => planOwner(o, certs, published.get(o.name), options, observed.publicRoots)),
  };
}
