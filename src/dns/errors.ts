/**
 * DnsError construction and RCODE → error mapping, shared by every provider.
 * Messages name the server, zone and RRset; they never contain key material
 * (callers pass names, never secrets).
 */
import { DnsError } from '../errors/index.js';
import { Rcode, rcodeName } from './wire/message.js';

/** The codes the DnsProvider contract promises (src/dns/types.ts), plus DNS_ABORTED for a caller's own abort. */
export type DnsErrorCode = 'DNS_AUTH_FAILED' | 'DNS_REFUSED' | 'DNS_NOT_AUTHORITATIVE' | 'DNS_TIMEOUT' | 'DNS_FAILED' | 'DNS_ABORTED';

export function dnsError(code: DnsErrorCode, message: string, opts: { hint?: string; object?: string; cause?: unknown } = {}): DnsError {
  return new DnsError(message, {
    code,
    ...(opts.hint ? { hint: opts.hint } : {}),
    ...(opts.object ? { object: opts.object } : {}),
    ...(opts.cause === undefined ? {} : { cause: opts.cause }),
  });
}

export interface RcodeContext {
  /** `UPDATE of _25._tcp.mx.example.com TLSA` or `query for … TLSA`. */
  what: string;
  server: string;
  zone: string;
  /** true for UPDATE (changes the hints). */
  update: boolean;
}

/** Maps a failing RCODE (RFC 1035 §4.1.1, RFC 2136 §2.2) to a DnsError. */
export function rcodeError(rcode: number, ctx: RcodeContext, note = ''): DnsError {
  const base = `${ctx.what}: ${ctx.server} answered ${rcodeName(rcode)}${note}`;
  const object = `dns zone ${ctx.zone}`;
  switch (rcode) {
    case Rcode.NOTAUTH:
      return dnsError('DNS_NOT_AUTHORITATIVE', base, {
        object,
        hint: `${ctx.server} is not authoritative (primary) for zone ${ctx.zone}: check the zone name and that "server" points at the zone's primary`,
      });
    case Rcode.REFUSED:
      return dnsError('DNS_REFUSED', base, {
        object,
        hint: ctx.update
          ? `the server refused the update: allow this TSIG key to update zone ${ctx.zone} (BIND: update-policy / allow-update; Knot: acl with action update), and check the zone is served there`
          : `the server refused the query: check that it serves zone ${ctx.zone} and allows queries from this host`,
      });
    case Rcode.NOTZONE:
      return dnsError('DNS_FAILED', base, {
        object,
        hint: `a name in the update is outside zone ${ctx.zone}: configure the zone that contains it`,
      });
    case Rcode.NOTIMP:
      return dnsError('DNS_FAILED', base, { object, hint: `the server does not implement ${ctx.update ? 'DNS UPDATE (RFC 2136)' : 'this query'}` });
    case Rcode.YXDOMAIN:
    case Rcode.YXRRSET:
    case Rcode.NXDOMAIN:
    case Rcode.NXRRSET:
      return dnsError('DNS_FAILED', base, {
        object,
        hint: 'a prerequisite of the update did not hold (the RRset changed meanwhile); nothing was changed, run again',
      });
    case Rcode.SERVFAIL:
      return dnsError('DNS_FAILED', base, { object, hint: 'the server failed internally (see its log); nothing was changed' });
    case Rcode.FORMERR:
      return dnsError('DNS_FAILED', base, { object, hint: 'the server could not parse the message; please report this with the server software and version' });
    default:
      return dnsError('DNS_FAILED', base, { object });
  }
}
