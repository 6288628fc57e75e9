/**
 * The `tlsa` job: keep every configured TLSA owner name's RRset equal to the
 * records of the current key(s) of the certificates naming it.
 *
 *   read   certificate files (as the MTA serves them) + each published RRset
 *          from the zone's provider + the last verification outcome
 *   plan   pure (plan.ts): target RRset per owner name, safety-checked
 *   apply  per owner name, under the lock `tlsa/<name>`: re-read, re-plan,
 *          check safety on the exact RRset, replaceRRset (atomic), then ask
 *          every authoritative server until it serves the new RRset; laggards
 *          are reported and remembered for `status`
 *
 * A TLSA change needs no MTA reload: senders look the records up per
 * connection.
 */
import type { X509Certificate } from 'node:crypto';
import { readCertificateEntry } from '../certs/index.js';
import { lockDirOf, type CertificateConfig, type Config, type DnsZoneConfig } from '../config/index.js';
import type { DnsProvider, RRset } from '../dns/types.js';
import { describeError, TlskeeperError, type SerializedError } from '../errors/index.js';
import type { Job, JobContext, Plan, PlanOptions, StatusEntry, StepResult } from '../jobs/index.js';
import { readState, withLock, writeState } from '../store/index.js';
import {
  assertSafeRRset, groupOwners, planOwner, planTlsa, targetForOwner,
  type PublishDetail, type PublishedTlsa, type TlsaCertificateView, type TlsaObserved, type TlsaOwner, type TlsaVerificationState,
} from './plan.js';
import { canonicalTlsa } from './records.js';
import { tlsaStatus } from './status.js';

/** Propagation check outcome, as the DNS layer reports it. */
export interface PropagationOutcome {
  /** Every authoritative server asked (host:port). */
  servers: string[];
  /** Servers that did not serve the RRset before the timeout, and why. */
  laggards: Array<{ server: string; reason: string }>;
}

/** How the job reaches DNS; injectable so the pure parts can be tested without servers. */
export interface TlsaDnsAccess {
  /** The configured zone with the longest matching suffix, or undefined. */
  zoneFor(config: Config, name: string): DnsZoneConfig | undefined;
  provider(zone: DnsZoneConfig, ctx: JobContext): DnsProvider;
  verify(zone: DnsZoneConfig, rrset: RRset, ctx: JobContext): Promise<PropagationOutcome>;
}

const objectId = (name: string) => `tlsa/${name}`;

/** Certificates with tlsa specs; with `--cert`, those sharing an owner name with it (their records share the RRset). */
function relevantCertificates(config: Config, only: string | undefined): { certs: CertificateConfig[]; owners: TlsaOwner[] } {
  const withTlsa = config.certificates.filter((c) => c.tlsa.length > 0);
  const owners = groupOwners(withTlsa.map((c) => ({ name: c.name, ttl: c.tlsa_ttl, specs: c.tlsa })))
    .filter((o) => !only || o.certificates.includes(only));
  const names = new Set(owners.flatMap((o) => o.certificates));
  return { certs: withTlsa.filter((c) => names.has(c.name)), owners };
}

/** A certificate as the TLSA job sees it: its served chain is its current key. */
export async function readTlsaCertificate(config: CertificateConfig): Promise<TlsaCertificateView> {
  const o = await readCertificateEntry(config);
  const view: TlsaCertificateView = { name: config.name, ttl: config.tlsa_ttl, specs: config.tlsa, keys: [] };
  if (o.certError || o.chain.length === 0) {
    view.error = o.certError ?? { code: 'CERT_UNREADABLE', message: `certificate ${config.name}: no certificate` };
    return view;
  }
  const chain: X509Certificate[] = o.chain;
  view.liveChain = chain;
  // Rollover seam: the next key is appended here as { role: 'next', source: { kind: 'key', publicKey } }.
  view.keys = [{ role: 'current', source: { kind: 'chain', chain } }];
  if (o.keyMatches === false) view.keyMismatch = true;
  return view;
}

async function readPublished(dns: TlsaDnsAccess, ctx: JobContext, name: string): Promise<PublishedTlsa> {
  const zone = dns.zoneFor(ctx.config, name);
  if (!zone) {
    return { name, error: { code: 'TLSA_NO_ZONE', message: `${name} is in no configured dns zone`, hint: 'add its zone under dns:' } };
  }
  try {
    const rrset = await dns.provider(zone, ctx).getRRset(name, 'TLSA', { signal: ctx.signal });
    return { name, zone: zone.zone, ...(rrset ? { rrset } : {}) };
  } catch (err) {
    return { name, zone: zone.zone, error: describeError(err) };
  }
}

export function createTlsaJob(dns: TlsaDnsAccess): Job<TlsaObserved> {
  return {
    name: 'tlsa',

    async read(ctx: JobContext, options: PlanOptions): Promise<TlsaObserved> {
      const { certs, owners } = relevantCertificates(ctx.config, options.certificate);
      const certificates = await Promise.all(certs.map(readTlsaCertificate));
      const published = await Promise.all(owners.map((o) => readPublished(dns, ctx, o.name)));
      const verification: TlsaObserved['verification'] = {};
      for (const o of owners) verification[o.name] = await readState<TlsaVerificationState>(ctx.config.state_dir, objectId(o.name));
      return { certificates, published, verification };
    },

    plan(observed, now, options): Plan {
      return planTlsa(observed, now, options);
    },

    async apply(ctx: JobContext, plan: Plan): Promise<StepResult[]> {
      const results: StepResult[] = [];
      for (const step of plan.steps) {
        const base = { job: 'tlsa' as const, object: step.object, action: step.action };
        if (step.action === 'none') {
          results.push({ ...base, outcome: 'unchanged', message: step.reason });
          continue;
        }
        if (step.action === 'blocked') {
          const errors = (step.detail as { errors?: Array<{ code?: string; hint?: string }> } | undefined)?.errors ?? [];
          results.push({
            ...base, outcome: 'failed', message: step.reason,
            error: { code: 'TLSA_BLOCKED', message: step.reason, object: step.object, ...(errors[0]?.hint ? { hint: errors[0].hint } : {}) },
          });
          continue;
        }
        if (ctx.signal.aborted) {
          results.push({ ...base, outcome: 'skipped', message: 'stopping: not started' });
          continue;
        }
        try {
          results.push(await withLock(lockDirOf(ctx.config), objectId(step.object), () => publishOwner(dns, ctx, step.object, step.detail as PublishDetail)));
        } catch (err) {
          const error = describeError(err);
          ctx.log.error({ job: 'tlsa', object: step.object, err: error }, `tlsa ${step.object}: ${error.message}`);
          results.push({ ...base, outcome: 'failed', message: error.message, error });
        }
      }
      return results;
    },

    status(observed, now): StatusEntry[] {
      return tlsaStatus(observed, now);
    },
  };
}

/** Under the owner's lock: re-read everything, re-plan, check safety, send, verify. */
async function publishOwner(dns: TlsaDnsAccess, ctx: JobContext, name: string, planned: PublishDetail | undefined): Promise<StepResult> {
  const base = { job: 'tlsa' as const, object: name, action: 'publish-tlsa' };
  // Re-read: another run may have published meanwhile, or a certificate changed.
  const { certs: certConfigs, owners } = relevantCertificates(ctx.config, undefined);
  const owner = owners.find((o) => o.name === name);
  if (!owner) throw new TlskeeperError(`no certificate names TLSA ${name} any more`, { code: 'TLSA_NO_OWNER', object: name });
  const views = await Promise.all(certConfigs.filter((c) => owner.certificates.includes(c.name)).map(readTlsaCertificate));
  const certs = new Map(views.map((v) => [v.name, v]));
  const zone = dns.zoneFor(ctx.config, name);
  if (!zone) throw new TlskeeperError(`${name} is in no configured dns zone`, { code: 'TLSA_NO_ZONE', object: name, hint: 'add its zone under dns:' });
  const provider = dns.provider(zone, ctx);
  const current = await provider.getRRset(name, 'TLSA', { signal: ctx.signal });
  const fresh = planOwner(owner, certs, { name, zone: zone.zone, ...(current ? { rrset: current } : {}) }, { force: true });
  if (fresh.action === 'blocked') {
    const errors = (fresh.detail as { errors?: SerializedError[] } | undefined)?.errors ?? [];
    throw new TlskeeperError(fresh.reason, { code: errors[0]?.code === 'TLSA_UNSAFE' ? 'TLSA_UNSAFE' : 'TLSA_BLOCKED', object: name, ...(errors[0]?.hint ? { hint: errors[0].hint } : {}) });
  }
  const detail = fresh.detail as PublishDetail;
  const rrset = detail.rrset;
  const currentValues = current ? [...new Set(current.values.map(canonicalTlsa))].sort() : null;
  const upToDate = currentValues !== null && current!.values.length === currentValues.length
    && currentValues.length === rrset.values.length && currentValues.every((v, i) => v === rrset.values[i]) && current!.ttl === rrset.ttl;
  const forced = planned !== undefined && planned.add.length === 0 && planned.remove.length === 0 && planned.previous !== null;
  if (upToDate && !forced) {
    return { ...base, outcome: 'unchanged', message: 'already published (by another run meanwhile)' };
  }
  // The safety rule, on the exact RRset that is sent.
  assertSafeRRset(rrset, owner, certs);
  if (planned && !sameValues(planned.rrset.values, rrset.values)) {
    ctx.log.info({ job: 'tlsa', object: name }, `tlsa ${name}: certificates changed since the plan; publishing the re-read target`);
  }
  const target = targetForOwner(owner, certs);
  for (const w of target.warnings) ctx.log.warn({ job: 'tlsa', object: name }, `${w.message}${w.hint ? ` — ${w.hint}` : ''}`);
  if (!upToDate) {
    await provider.replaceRRset(rrset, { signal: ctx.signal });
    ctx.log.info({ job: 'tlsa', object: name, zone: zone.zone, values: rrset.values, ttl: rrset.ttl }, `tlsa ${name}: published ${rrset.values.length} record(s)`);
  }
  let outcome: PropagationOutcome;
  try {
    outcome = await dns.verify(zone, rrset, ctx);
  } catch (err) {
    // Published, but the authoritative servers could not even be listed or
    // asked: report it like a lagging server rather than as a failed publish.
    if (ctx.signal.aborted) throw err;
    const e = describeError(err);
    outcome = { servers: [], laggards: [{ server: `the authoritative servers of ${zone.zone}`, reason: `not verified: ${e.message}` }] };
  }
  const state: TlsaVerificationState = {
    checkedAt: ctx.now().toISOString(), values: rrset.values, servers: outcome.servers, laggards: outcome.laggards,
  };
  await writeState(ctx.config.state_dir, objectId(name), state);
  const added = currentValues ? rrset.values.filter((v) => !currentValues.includes(v)).length : rrset.values.length;
  const removed = currentValues ? currentValues.filter((v) => !rrset.values.includes(v)).length : 0;
  const what = upToDate ? 're-verified (unchanged)' : `published ${rrset.values.length} record${rrset.values.length === 1 ? '' : 's'} (+${added} −${removed})`;
  if (outcome.laggards.length > 0) {
    const lag = outcome.laggards.map((l) => `${l.server} (${l.reason})`).join(', ');
    ctx.log.warn({ job: 'tlsa', object: name, laggards: outcome.laggards }, `tlsa ${name}: not yet served by ${lag}`);
    return { ...base, outcome: upToDate ? 'unchanged' : 'changed', message: `${what}; NOT yet served by ${lag} (of ${outcome.servers.length} authoritative servers)` };
  }
  return { ...base, outcome: upToDate ? 'unchanged' : 'changed', message: `${what}; served by all ${outcome.servers.length} authoritative server${outcome.servers.length === 1 ? '' : 's'}` };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
