/**
 * Which configured zone a name belongs to: the one with the longest matching
 * suffix, on label boundaries (`_25._tcp.mx.example.com` → `example.com`,
 * or `mx.example.com` when that zone is configured too).
 */
import { normalizeName } from './wire/message.js';
import { nameInZone } from './rrset.js';

export function zoneForName<T extends { zone: string }>(name: string, zones: readonly T[]): T | undefined {
  let best: T | undefined;
  let bestLen = -1;
  for (const z of zones) {
    const zone = normalizeName(z.zone);
    if (nameInZone(name, zone) && zone.length > bestLen) {
      best = z;
      bestLen = zone.length;
    }
  }
  return best;
}
