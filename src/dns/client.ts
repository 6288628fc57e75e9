/**
 * One DNS exchange over TCP, optionally TSIG-signed and verified: encode,
 * sign (RFC 8945 §5.1), send (RFC 1035 §4.2.2 framing), decode, check the
 * answer matches the question (ID, QR, opcode), verify its TSIG (§5.4), and
 * turn every failure into a DnsError. Used by the rfc2136 provider and by
 * propagation checks.
 */
import { randomInt } from 'node:crypto';
import type { DnsError } from '../errors/index.js';
import { dnsError } from './errors.js';
import { type TsigKey, type TsigRecord, signMessage, TsigVerificationError, verifyResponse } from './tsig.js';
import { type DecodedMessage, decodeMessage, encodeMessage, MalformedMessageError, type Message, rcodeName } from './wire/message.js';
import { formatServer, type ServerAddress, tcpExchange } from './wire/tcp.js';

export interface ExchangeOptions {
  server: ServerAddress;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Sign the request and require a verified, signed response. */
  key?: TsigKey;
  /** Clock for TSIG (ms since the epoch). */
  now?: () => number;
  fudge?: number;
  /** What is being done, for messages: `UPDATE of _25._tcp.mx.example.com TLSA`. */
  what: string;
  /** `dns zone example.com`, for the error's object. */
  object?: string;
  /**
   * RCODEs that are an acceptable outcome for this request (NOERROR, and
   * NXDOMAIN for a query). An unsigned or badly signed answer with one of
   * these is rejected; one with another RCODE is a failure anyway and is
   * reported by its RCODE (with a note that it was not authenticated).
   */
  successRcodes?: readonly number[];
  maxResponseBytes?: number;
}

export interface ExchangeResult {
  response: DecodedMessage;
  /** The verified TSIG of the response, when a key was used. */
  tsig?: TsigRecord;
  /** Set when the response failed TSIG verification but carries a failing RCODE (reported by the caller). */
  unauthenticated?: TsigVerificationError;
  /** The request as sent (signed), for tests and debugging. */
  request: Buffer;
}

export function newMessageId(): number {
  return randomInt(0, 0x10000);
}

/** Hint for a TSIG failure; never includes the secret. */
export function tsigHint(err: TsigVerificationError, key: TsigKey, now: number): string {
  switch (err.reason) {
    case 'BADKEY':
      return `the server has no key named "${key.name}" with algorithm ${key.algorithm}: check the key name and algorithm match the server's key statement`;
    case 'BADSIG':
      return `the server has key "${key.name}" but our MAC did not verify: check that the secret matches the server's copy of the key`;
    case 'BADTIME':
    case 'TIME_SKEW': {
      const d = err.serverTime === undefined ? undefined : Math.floor(now / 1000) - err.serverTime;
      const skew = d === undefined ? '' : ` (this host's clock is ${Math.abs(d)} s ${d < 0 ? 'behind' : 'ahead of'} the server's)`;
      return `check this host's clock and the server's${skew}: TSIG allows only the fudge window (usually 300 s) of difference; run an NTP client`;
    }
    case 'WRONG_KEY':
    case 'MAC_MISMATCH':
      return 'the answer is not authenticated by our key: check the secret matches the server copy, and that nothing between us and the server alters DNS traffic';
    case 'UNSIGNED':
      return `the server did not sign its answer: check that it has key "${key.name}" configured and that "server" points at the right host`;
    default:
      return 'the server and tlskeeper disagree on TSIG; check both use the same key';
  }
}

export async function exchange(message: Message, opts: ExchangeOptions): Promise<ExchangeResult> {
  const where = formatServer(opts.server);
  const now = opts.now ?? Date.now;
  const object = opts.object;
  let wire: Buffer;
  try {
    wire = encodeMessage(message);
  } catch (err) {
    throw dnsError('DNS_FAILED', `${opts.what}: cannot encode the request: ${(err as Error).message}`, { ...(object ? { object } : {}), cause: err });
  }
  let requestMac: Buffer | undefined;
  if (opts.key) {
    const signed = signMessage(wire, opts.key, { now, ...(opts.fudge === undefined ? {} : { fudge: opts.fudge }) });
    wire = signed.message;
    requestMac = signed.mac;
  }
  const raw = await tcpExchange(opts.server, wire, {
    timeoutMs: opts.timeoutMs,
    what: opts.what,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.maxResponseBytes ? { maxResponseBytes: opts.maxResponseBytes } : {}),
  }).catch((err: DnsError) => {
    if (object && !err.object) throw dnsError(err.code as 'DNS_FAILED', err.message, { object, ...(err.hint ? { hint: err.hint } : {}), cause: err.cause });
    throw err;
  });
  let response: DecodedMessage;
  try {
    response = decodeMessage(raw);
  } catch (err) {
    if (!(err instanceof MalformedMessageError)) throw err;
    throw dnsError('DNS_FAILED', `${opts.what}: ${where} sent a malformed answer: ${err.message}`, { ...(object ? { object } : {}), cause: err });
  }
  if (response.id !== message.id || !response.flags.qr || response.flags.opcode !== (message.flags.opcode ?? 0)) {
    throw dnsError('DNS_FAILED', `${opts.what}: ${where} sent an answer that does not match the request (ID ${response.id}, opcode ${response.flags.opcode})`, {
      ...(object ? { object } : {}),
      hint: 'something between tlskeeper and the server alters DNS traffic, or the server is broken',
    });
  }
  if (!opts.key || !requestMac) return { response, request: wire };
  const success = opts.successRcodes ?? [0];
  try {
    const tsig = verifyResponse(response, opts.key, { requestMac, now });
    return { response, tsig, request: wire };
  } catch (err) {
    if (!(err instanceof TsigVerificationError)) throw err;
    const serverSide = err.reason === 'BADKEY' || err.reason === 'BADSIG' || err.reason === 'BADTIME' || err.reason === 'BADTRUNC';
    // A TSIG error reported by the server is the cause of the failure, whatever the RCODE (NOTAUTH, RFC 8945 §5.2).
    // An unauthenticated answer with a failing RCODE is reported by its RCODE; with a success RCODE it is rejected.
    if (!serverSide && !success.includes(response.flags.rcode)) return { response, unauthenticated: err, request: wire };
    throw dnsError('DNS_AUTH_FAILED', `${opts.what}: TSIG authentication with ${where} failed: ${err.message}${serverSide ? ` (RCODE ${rcodeName(response.flags.rcode)})` : ''}`, {
      ...(object ? { object } : {}),
      hint: tsigHint(err, opts.key, now()),
      cause: err,
    });
  }
}
