/**
 * Propagation check: after a change, ask every authoritative server of the
 * zone directly (TCP, RD=0, so no cache answers) until each serves exactly
 * the expected RRset, or the time is up. Reports per server, naming the
 * ones that lag. A secondary that missed a NOTIFY, a hidden primary that
 * is not the published one, an anycast node that stopped syncing: DANE
 * senders ask any of them, so all must agree before the new key goes live.
 *
 * Servers come from the zone's NS RRset (resolved through the system
 * resolver, or the `resolver` given), or from `authoritative_servers`
 * (host[:port]) when configured. An NS name's IPv6 addresses are used only
 * when this host has a global IPv6 address; otherwise they would always
 * look unreachable from here.
 */
import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { DnsError } from '../errors/index.js';
import { dnsError } from './errors.js';
import { queryRRset } from './query.js';
import { canonicalRRset, sameValues } from './rrset.js';
import type { RRset } from './types.js';
import { normalizeName } from './wire/message.js';
import { formatServer, parseServer } from './wire/tcp.js';

export interface AuthoritativeServer {
  /** The NS name or the configured host. */
  name: string;
  address: string;
  port: number;
  /** `ns1.example.com (192.0.2.1)`, or `192.0.2.1:5353` for a configured address. */
  label: string;
}

/** How NS names and addresses are found; the system resolver by default. */
export interface NsResolver {
  resolveNs(zone: string): Promise<string[]>;
  resolveAddresses(host: string): Promise<string[]>;
}

/** A resolver using `node:dns` (c-ares); `servers` (ip[:port]) overrides /etc/resolv.conf. */
export function systemResolver(opts: { servers?: string[]; timeoutMs?: number } = {}): NsResolver {
  const r = new Resolver({ timeout: opts.timeoutMs ?? 5000, tries: 2 });
  if (opts.servers) r.setServers(opts.servers);
  const quiet = async (p: Promise<string[]>) => {
    try {
      return await p;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENODATA' || code === 'ENOTFOUND') return [];
      throw err;
    }
  };
  return {
    resolveNs: (zone) => r.resolveNs(zone),
    async resolveAddresses(host) {
      const v6 = hasGlobalIpv6() ? await quiet(r.resolve6(host)) : [];
      return [...(await quiet(r.resolve4(host))), ...v6];
    },
  };
}

function hasGlobalIpv6(): boolean {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv6' && !a.internal && !/^fe80:/i.test(a.address)) return true;
    }
  }
  return false;
}

export interface VerifyZone {
  zone: string;
  authoritative_servers?: string[] | undefined;
  /** Milliseconds (the parsed config value). */
  propagation_timeout?: number;
  /** Milliseconds per query. */
  timeout?: number;
}

export interface ServerListOptions {
  resolver?: NsResolver;
  /** Port for servers found through NS records (53). */
  port?: number;
}

/** The servers to check, from `authoritative_servers` or the zone's NS RRset. */
export async function authoritativeServers(zone: VerifyZone, opts: ServerListOptions = {}): Promise<AuthoritativeServer[]> {
  const zname = normalizeName(zone.zone);
  const object = `dns zone ${zname}`;
  const resolver = opts.resolver ?? systemResolver();
  const out: AuthoritativeServer[] = [];
  const push = (s: AuthoritativeServer) => {
    if (!out.some((o) => o.address === s.address && o.port === s.port)) out.push(s);
  };
  try {
    if (zone.authoritative_servers && zone.authoritative_servers.length > 0) {
      for (const spec of zone.authoritative_servers) {
        const { host, port } = parseServer(spec, opts.port ?? 53);
        if (isIP(host)) {
          push({ name: host, address: host, port, label: formatServer({ host, port }) });
          continue;
        }
        const addrs = await resolver.resolveAddresses(host);
        if (addrs.length === 0) throw dnsError('DNS_FAILED', `authoritative server ${host} has no address`, { object, hint: 'fix authoritative_servers' });
        for (const a of addrs) push({ name: host, address: a, port, label: `${host} (${formatServer({ host: a, port })})` });
      }
      return out;
    }
    const port = opts.port ?? 53;
    const names = (await resolver.resolveNs(zname)).map(normalizeName).sort();
    if (names.length === 0) throw dnsError('DNS_FAILED', `zone ${zname} has no NS records`, { object, hint: 'set authoritative_servers for this zone' });
    for (const ns of names) {
      let addrs: string[];
      try {
        addrs = await resolver.resolveAddresses(ns);
      } catch {
        addrs = [];
      }
      if (addrs.length === 0) {
        // An NS without a (findable) address cannot be checked: it stays a laggard, by name.
        out.push({ name: ns, address: '', port, label: `${ns} (no address)` });
        continue;
      }
      for (const a of addrs) push({ name: ns, address: a, port, label: `${ns} (${port === 53 ? a : formatServer({ host: a, port })})` });
    }
    return out;
  } catch (err) {
    if (err instanceof DnsError) throw err;
    throw dnsError('DNS_FAILED', `cannot find the authoritative servers of zone ${zname}: ${(err as Error).message}`, {
      object, cause: err, hint: 'check this host\'s resolver, or set authoritative_servers for this zone',
    });
  }
}

export interface ServerCheck {
  server: string;
  address: string;
  port: number;
  /** Serves exactly the expected RRset (with authority). */
  ok: boolean;
  /** What it served at the last check (undefined: no such RRset). */
  served?: RRset | undefined;
  authoritative?: boolean;
  /** Why it could not be checked (timeout, refused, not authoritative…). */
  error?: string;
}

export interface PropagationResult {
  ok: boolean;
  expected: RRset;
  servers: ServerCheck[];
  /** Labels of the servers that do not (yet) serve the expected RRset. */
  laggards: string[];
  attempts: number;
  elapsedMs: number;
}

export interface PropagationOptions extends ServerListOptions {
  /** Total wait; default the zone's propagation_timeout, else 120 s (the last round may overrun it by up to min(queryTimeoutMs, 2 s)). */
  timeoutMs?: number;
  /** Pause between rounds (default 2 s). */
  intervalMs?: number;
  /** Per query; default the zone's timeout, else 10 s. */
  queryTimeoutMs?: number;
  signal?: AbortSignal;
  /** Also require the TTL to match (default true). */
  compareTtl?: boolean;
  /** Use these servers instead of looking them up. */
  servers?: AuthoritativeServer[];
  /** Called after every round (progress output). */
  onRound?: (servers: readonly ServerCheck[], attempt: number) => void;
}

/**
 * Waits until every authoritative server serves `expected` (values: [] means
 * the RRset must be absent). Resolves with per-server results, `ok: false`
 * and the laggards when the time runs out; throws only when the server list
 * cannot be found, or DNS_ABORTED when `signal` aborts.
 */
export async function verifyPropagation(zone: VerifyZone, expectedInput: RRset, opts: PropagationOptions = {}): Promise<PropagationResult> {
  const zname = normalizeName(zone.zone);
  const expected = canonicalRRset(expectedInput, `dns zone ${zname}`);
  const start = Date.now();
  const timeoutMs = opts.timeoutMs ?? zone.propagation_timeout ?? 120_000;
  const intervalMs = opts.intervalMs ?? 2000;
  const queryTimeoutMs = opts.queryTimeoutMs ?? zone.timeout ?? 10_000;
  const compareTtl = opts.compareTtl ?? true;
  const servers = opts.servers ?? await authoritativeServers(zone, opts);
  const checks: ServerCheck[] = servers.map((s) => ({ server: s.label, address: s.address, port: s.port, ok: false }));
  const deadline = start + timeoutMs;
  let attempts = 0;
  const aborted = () => dnsError('DNS_ABORTED', `propagation check of ${expected.name} ${expected.type} aborted`, { object: `dns zone ${zname}` });
  for (;;) {
    if (opts.signal?.aborted) throw aborted();
    attempts++;
    await Promise.all(servers.map(async (s, i) => {
      const check = checks[i]!;
      if (check.ok) return;
      if (!s.address) {
        check.error = 'no address';
        return;
      }
      try {
        const answer = await queryRRset({ host: s.address, port: s.port }, expected.name, expected.type, {
          // Each round gives every server a fair chance to answer, even the last round started just
          // before the deadline: at least min(queryTimeoutMs, 2 s), so a wait may overrun by that much.
          timeoutMs: Math.min(queryTimeoutMs, Math.max(2000, deadline - Date.now())),
          zone: zname,
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        check.served = answer.rrset;
        check.authoritative = answer.authoritative;
        delete check.error;
        if (!answer.authoritative) {
          check.error = 'answered without authority (AA bit clear): it does not serve the zone';
          check.ok = false;
          return;
        }
        check.ok = matches(answer.rrset, expected, compareTtl);
      } catch (err) {
        if (err instanceof DnsError && err.code === 'DNS_ABORTED') throw err;
        check.ok = false;
        check.error = err instanceof Error ? err.message : String(err);
      }
    })).catch((err: unknown) => {
      if (err instanceof DnsError && err.code === 'DNS_ABORTED') throw aborted();
      throw err;
    });
    opts.onRound?.(checks, attempts);
    const laggards = checks.filter((c) => !c.ok).map((c) => c.server);
    if (laggards.length === 0 || Date.now() + intervalMs >= deadline) {
      return { ok: laggards.length === 0, expected, servers: checks, laggards, attempts, elapsedMs: Date.now() - start };
    }
    await sleep(intervalMs, opts.signal).catch(() => {
      throw aborted();
    });
  }
}

function matches(served: RRset | undefined, expected: RRset, compareTtl: boolean): boolean {
  if (expected.values.length === 0) return served === undefined;
  if (!served) return false;
  if (compareTtl && served.ttl !== expected.ttl) return false;
  return sameValues(served.values, expected.values);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** One line per laggard, for logs and `status`. */
export function describeLaggards(result: PropagationResult): string[] {
  return result.servers.filter((c) => !c.ok).map((c) => {
    if (c.error) return `${c.server}: ${c.error}`;
    if (!c.served) return `${c.server}: serves no ${result.expected.type} records for ${result.expected.name}`;
    return `${c.server}: serves ${c.served.values.length} record(s) (TTL ${c.served.ttl}) that differ from the expected ${result.expected.values.length} (TTL ${result.expected.ttl})`;
  });
}
