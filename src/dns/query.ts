/**
 * Asks one server directly for one RRset over TCP, without recursion (RD=0):
 * what that server itself serves, not what a cache remembers.
 */
import { exchange, newMessageId } from './client.js';
import { rcodeError } from './errors.js';
import type { TsigKey } from './tsig.js';
import type { RecordType, RRset } from './types.js';
import { normalizeName, Opcode, Rcode, RRClass, typeCode } from './wire/message.js';
import { formatRdata } from './wire/rdata.js';
import { formatServer, type ServerAddress } from './wire/tcp.js';

export interface QueryOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  key?: TsigKey;
  now?: () => number;
  /** The zone, for messages and the error object. */
  zone: string;
}

export interface QueryAnswer {
  /** The RRset as served; undefined when the name has no records of the type (NXDOMAIN or NODATA). */
  rrset: RRset | undefined;
  /** The answer had the AA bit: the server is authoritative for the name. */
  authoritative: boolean;
  rcode: number;
}

/**
 * Queries `server` for `name`/`type`. Throws DnsError for transport and TSIG
 * failures and for RCODEs other than NOERROR/NXDOMAIN; a non-authoritative
 * answer (AA=0) is returned as such, the caller decides.
 */
export async function queryRRset(server: ServerAddress, name: string, type: RecordType, opts: QueryOptions): Promise<QueryAnswer> {
  const qname = normalizeName(name);
  const what = `query for ${qname} ${type} at ${formatServer(server)}`;
  const object = `dns zone ${opts.zone}`;
  const result = await exchange(
    {
      id: newMessageId(),
      flags: { opcode: Opcode.QUERY, rd: false },
      questions: [{ name: qname, type: typeCode(type), class: RRClass.IN }],
      answers: [],
      authorities: [],
      additionals: [],
    },
    {
      server,
      timeoutMs: opts.timeoutMs,
      what,
      object,
      successRcodes: [Rcode.NOERROR, Rcode.NXDOMAIN],
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.key ? { key: opts.key } : {}),
      ...(opts.now ? { now: opts.now } : {}),
    },
  );
  const { response } = result;
  const rcode = response.flags.rcode;
  if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) {
    throw rcodeError(rcode, { what, server: formatServer(server), zone: opts.zone, update: false }, result.unauthenticated ? ' (unauthenticated answer)' : '');
  }
  const code = typeCode(type);
  const records = response.answers.filter((r) => r.type === code && r.class === RRClass.IN && normalizeName(r.name) === qname);
  const rrset: RRset | undefined = records.length === 0
    ? undefined
    : {
      name: qname,
      type,
      ttl: Math.min(...records.map((r) => r.ttl)),
      values: [...new Set(records.map((r) => formatRdata(r.type, response.raw, r.rdlengthOffset)))].sort(),
    };
  return { rrset, authoritative: response.flags.aa, rcode };
}
