/** The tlsa job's view of the DNS layer (src/dns): zone lookup, providers, propagation checks. */
import type { Config, DnsZoneConfig } from '../config/index.js';
import { createDnsProvider, describeLaggards, verifyPropagation, zoneForName, type DnsProvider } from '../dns/index.js';
import type { TlsaDnsAccess } from './job.js';

// One provider per zone configuration object (a loaded config), so a run
// reads its TSIG key file once.
const providers = new WeakMap<DnsZoneConfig, DnsProvider>();

export const defaultDnsAccess: TlsaDnsAccess = {
  zoneFor(config: Config, name: string) {
    return zoneForName(name, config.dns);
  },
  provider(zone, ctx) {
    let p = providers.get(zone);
    if (!p) {
      // No injected clock here on purpose: TSIG signs with the wall clock
      // (RFC 8945 §5.2.3, time fudge), whatever clock the job plans with.
      p = createDnsProvider(zone, { log: ctx.log });
      providers.set(zone, p);
    }
    return p;
  },
  async verify(zone, rrset, ctx) {
    const result = await verifyPropagation(zone, rrset, { signal: ctx.signal });
    const lines = describeLaggards(result);
    const laggards = result.servers.filter((c) => !c.ok).map((c, i) => ({
      server: c.server,
      reason: (lines[i] ?? '').replace(`${c.server}: `, '') || 'does not serve the new RRset',
    }));
    return { servers: result.servers.map((s) => s.server), laggards };
  },
};
