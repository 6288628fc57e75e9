/**
 * The provider registry: one folder per provider, each exporting `metadata`
 * and `create(config, deps)`. Docs and `--help` come from `providerMetadata`.
 */
import type { DnsZoneConfig } from '../../config/index.js';
import type { DnsProvider, DnsProviderDeps, DnsProviderMetadata } from '../types.js';
import * as execProvider from './exec/index.js';
import * as powerdns from './powerdns/index.js';
import * as rfc2136 from './rfc2136/index.js';

export const providerMetadata: readonly DnsProviderMetadata[] = [rfc2136.metadata, powerdns.metadata, execProvider.metadata];

export function createDnsProvider(config: DnsZoneConfig, deps: DnsProviderDeps = {}): DnsProvider {
  switch (config.provider) {
    case 'rfc2136': return rfc2136.create(config, deps);
    case 'powerdns': return powerdns.create(config, deps);
    case 'exec': return execProvider.create(config, deps);
  }
}
