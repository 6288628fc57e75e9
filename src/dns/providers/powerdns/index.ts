/**
 * The `powerdns` provider: PowerDNS Authoritative Server's HTTP API
 * (`/api/v1/servers/{server_id}/zones/{zone}.`).
 *
 * - Read: GET the zone with its RRsets and pick the one RRset (disabled
 *   records do not count: they are not served).
 * - Replace: one PATCH with `changetype: REPLACE` (or `DELETE` for an empty
 *   RRset). PowerDNS applies a PATCH in one backend transaction, so the
 *   RRset changes atomically.
 * - Add / remove: read, compute the target RRset, PATCH REPLACE. PowerDNS
 *   has no per-record operation; two writers racing on the same RRset could
 *   lose one change (tlskeeper itself holds a lock per object).
 *
 * The API key is read from `api_key_file` for every operation (rotation
 * needs no restart) and is sent only in the `X-API-Key` header.
 */
import { readFile } from 'node:fs/promises';
import type { DnsZoneConfig } from '../../../config/index.js';
import { NetworkError } from '../../../errors/index.js';
import { httpRequest, type HttpResponse } from '../../../net/index.js';
import { dnsError } from '../../errors.js';
import { assertInZone, canonicalRRset, canonicalValues, isRecordType, sameValues } from '../../rrset.js';
import type { DnsOperationOptions, DnsProvider, DnsProviderDeps, DnsProviderMetadata, RecordType, RRset } from '../../types.js';
import { normalizeName } from '../../wire/message.js';

export type PowerdnsZoneConfig = Extract<DnsZoneConfig, { provider: 'powerdns' }>;

export const metadata: DnsProviderMetadata = {
  id: 'powerdns',
  title: 'PowerDNS Authoritative Server HTTP API',
  description:
    'Changes the zone through the HTTP API of a PowerDNS Authoritative Server (pdns_server with `api=yes`, any backend that ' +
    'supports writes, e.g. gsqlite3, gmysql, gpgsql). A replace is one PATCH of the RRset, applied in one transaction. ' +
    'The API key is read from a file and sent only in the X-API-Key header. PowerDNS signs the zone itself when DNSSEC is on.',
  configKeys: {
    api_url: 'the API\'s base URL, e.g. http://127.0.0.1:8081 (the webserver-address/port of pdns.conf)',
    api_key_file: 'a file holding the API key (`api-key` in pdns.conf); read on every operation',
    server_id: 'the server id in the API path (default localhost)',
    timeout: 'how long one API request may take (default 10s)',
  },
};

interface PdnsRecord { content: string; disabled?: boolean }
interface PdnsRRset { name: string; type: string; ttl?: number; records?: PdnsRecord[] }
interface PdnsZone { rrsets?: PdnsRRset[] }

const MAX_BODY = 16 * 1024 * 1024;

export function create(config: PowerdnsZoneConfig, deps: DnsProviderDeps = {}): DnsProvider {
  const zone = normalizeName(config.zone);
  const object = `dns zone ${zone}`;
  const base = config.api_url.replace(/\/+$/, '').replace(/\/api\/v1$/, '');
  const zoneUrl = `${base}/api/v1/servers/${encodeURIComponent(config.server_id)}/zones/${encodeURIComponent(`${zone}.`)}`;
  const log = deps.log;

  const apiKey = async (): Promise<string> => {
    let text: string;
    try {
      text = await readFile(config.api_key_file, 'utf8');
    } catch (err) {
      throw dnsError('DNS_AUTH_FAILED', `cannot read the PowerDNS API key file ${config.api_key_file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        object, cause: err, hint: 'check the path and that tlskeeper may read it',
      });
    }
    const key = text.trim();
    if (!key) throw dnsError('DNS_AUTH_FAILED', `the PowerDNS API key file ${config.api_key_file} is empty`, { object, hint: 'put the api-key from pdns.conf in it' });
    return key;
  };

  const call = async (what: string, method: 'GET' | 'PATCH', url: string, body: unknown, options: DnsOperationOptions): Promise<HttpResponse> => {
    const key = await apiKey();
    let res: HttpResponse;
    try {
      res = await httpRequest({
        url, method, timeoutMs: config.timeout, maxBodyBytes: MAX_BODY, what: `PowerDNS API: ${what}`,
        headers: { 'x-api-key': key, accept: 'application/json', ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      if (!(err instanceof NetworkError)) throw err;
      const code = err.code === 'HTTP_TIMEOUT' ? 'DNS_TIMEOUT' : err.code === 'HTTP_ABORTED' ? 'DNS_ABORTED' : 'DNS_FAILED';
      throw dnsError(code, err.message, { object, cause: err, hint: err.hint ?? `check that the PowerDNS API answers at ${base}` });
    }
    if (res.status >= 200 && res.status < 300) return res;
    const apiMessage = apiError(res);
    const msg = `PowerDNS API: ${what}: HTTP ${res.status}${apiMessage ? `: ${apiMessage}` : ''}`;
    if (res.status === 401 || res.status === 403) {
      throw dnsError('DNS_AUTH_FAILED', msg, { object, hint: `check that ${config.api_key_file} holds the api-key set in pdns.conf` });
    }
    if (res.status === 404) {
      throw dnsError('DNS_NOT_AUTHORITATIVE', msg, { object, hint: `PowerDNS has no zone ${zone}. (server_id "${config.server_id}"): create it (pdnsutil create-zone ${zone}) or fix the zone / server_id` });
    }
    if (res.status === 422 || res.status === 400) {
      throw dnsError('DNS_REFUSED', msg, { object, hint: 'PowerDNS rejected the change; the message above says why' });
    }
    throw dnsError('DNS_FAILED', msg, { object, hint: 'see the PowerDNS log' });
  };

  const read = async (name: string, type: RecordType, options: DnsOperationOptions): Promise<RRset | undefined> => {
    const qname = `${name}.`;
    // rrset_name/rrset_type narrow the answer (PowerDNS 4.7 in Debian 12 honours them); a server that ignores
    // them sends the whole zone, and we pick the RRset ourselves either way.
    const url = `${zoneUrl}?rrsets=true&rrset_name=${encodeURIComponent(qname)}&rrset_type=${encodeURIComponent(type)}`;
    const res = await call(`read ${name} ${type}`, 'GET', url, undefined, options);
    let body: PdnsZone;
    try {
      body = JSON.parse(res.body.toString('utf8')) as PdnsZone;
    } catch (err) {
      throw dnsError('DNS_FAILED', `PowerDNS API: read ${name} ${type}: the answer is not JSON`, { object, cause: err });
    }
    const set = (body.rrsets ?? []).find((r) => normalizeName(r.name) === name && r.type.toUpperCase() === type);
    const contents = (set?.records ?? []).filter((r) => !r.disabled).map((r) => r.content);
    if (!set || contents.length === 0) return undefined;
    return { name, type, ttl: set.ttl ?? 0, values: canonicalValues(type, contents, object) };
  };

  const write = async (rrset: RRset, options: DnsOperationOptions): Promise<void> => {
    const change = rrset.values.length === 0
      ? { name: `${rrset.name}.`, type: rrset.type, changetype: 'DELETE' }
      : { name: `${rrset.name}.`, type: rrset.type, ttl: rrset.ttl, changetype: 'REPLACE', records: rrset.values.map((content) => ({ content, disabled: false })) };
    await call(`replace ${rrset.name} ${rrset.type}`, 'PATCH', zoneUrl, { rrsets: [change] }, options);
    log?.info({ zone, name: rrset.name, type: rrset.type, records: rrset.values.length }, `dns replace ${rrset.name} ${rrset.type}`);
  };

  const prepare = (input: RRset): RRset => {
    const rrset = canonicalRRset(input, object);
    assertInZone(rrset.name, zone, object);
    return rrset;
  };

  return {
    id: 'powerdns',
    zone,
    async getRRset(name, type, options = {}) {
      if (!isRecordType(type)) throw dnsError('DNS_FAILED', `record type ${String(type)} is not supported`, { object });
      const qname = normalizeName(name);
      assertInZone(qname, zone, object);
      return read(qname, type, options);
    },
    async replaceRRset(input, options = {}) {
      await write(prepare(input), options);
    },
    async addRecords(input, options = {}) {
      const rrset = prepare(input);
      if (rrset.values.length === 0) return;
      const current = await read(rrset.name, rrset.type, options);
      const values = [...new Set([...(current?.values ?? []), ...rrset.values])].sort();
      if (current && sameValues(values, current.values) && current.ttl === rrset.ttl) return;
      await write({ ...rrset, values }, options);
    },
    async removeRecords(input, options = {}) {
      const rrset = prepare(input);
      if (rrset.values.length === 0) return;
      const current = await read(rrset.name, rrset.type, options);
      if (!current) return;
      const values = current.values.filter((v) => !rrset.values.includes(v));
      if (values.length === current.values.length) return;
      await write({ ...current, values }, options);
    },
  };
}

function apiError(res: HttpResponse): string | undefined {
  try {
    const j = JSON.parse(res.body.toString('utf8')) as { error?: unknown };
    if (typeof j.error === 'string') return j.error.slice(0, 500);
  } catch {
    /* not JSON */
  }
  const text = res.body.toString('utf8').trim();
  return text ? text.slice(0, 200) : undefined;
}
