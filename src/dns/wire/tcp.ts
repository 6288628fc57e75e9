/**
 * DNS over TCP (RFC 1035 §4.2.2, RFC 7766): each message is preceded by its
 * length as a two-octet field. One request, one response, then the connection
 * is closed. Every exchange has a deadline, honours an AbortSignal and caps
 * the response size.
 */
import net from 'node:net';
import { isIP } from 'node:net';
import { dnsError } from '../errors.js';

export interface ServerAddress {
  host: string;
  port: number;
}

/**
 * `192.0.2.53`, `192.0.2.53:5353`, `ns1.example.com:53`, `[2001:db8::1]:53`,
 * `2001:db8::1` → host + port.
 */
export function parseServer(spec: string, defaultPort = 53): ServerAddress {
  const s = spec.trim();
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (bracket) return { host: bracket[1]!, port: bracket[2] ? checkPort(bracket[2], spec) : defaultPort };
  if (isIP(s) === 6) return { host: s, port: defaultPort };
  const hp = /^([^:\s]+)(?::(\d+))?$/.exec(s);
  if (!hp) throw dnsError('DNS_FAILED', `"${spec}" is not a server address`, { hint: 'write host, host:port or [IPv6]:port' });
  return { host: hp[1]!, port: hp[2] ? checkPort(hp[2], spec) : defaultPort };
}

function checkPort(p: string, spec: string): number {
  const n = Number(p);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw dnsError('DNS_FAILED', `"${spec}": port ${p} is out of range`, { hint: 'ports are 1–65535' });
  return n;
}

export function formatServer(s: ServerAddress): string {
  return isIP(s.host) === 6 ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`;
}

export interface TcpExchangeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest response accepted, in octets (the framing allows 65535). */
  maxResponseBytes?: number;
  /** For messages: what is being asked (`UPDATE of … TLSA`). */
  what?: string;
}

/** Sends one message and returns the one response (without its length prefix). */
export function tcpExchange(server: ServerAddress, request: Buffer, opts: TcpExchangeOptions): Promise<Buffer> {
  const where = formatServer(server);
  const what = opts.what ? `${opts.what}: ` : '';
  const max = Math.min(opts.maxResponseBytes ?? 65535, 65535);
  if (request.length > 65535) return Promise.reject(dnsError('DNS_FAILED', `${what}message of ${request.length} octets is too large for DNS`));
  return new Promise<Buffer>((resolve, reject) => {
    if (opts.signal?.aborted) {
      reject(dnsError('DNS_ABORTED', `${what}aborted before contacting ${where}`, { cause: opts.signal.reason }));
      return;
    }
    let settled = false;
    let connected = false;
    let received = Buffer.alloc(0);
    const socket = net.connect({ host: server.host, port: server.port });
    const finish = (err: Error | undefined, value?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err) reject(err);
      else resolve(value!);
    };
    const onAbort = () => finish(dnsError('DNS_ABORTED', `${what}aborted while talking to ${where}`, { cause: opts.signal?.reason }));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(() => finish(dnsError('DNS_TIMEOUT', `${what}${where} did not ${connected ? 'answer' : 'accept a TCP connection'} within ${opts.timeoutMs} ms`, {
      hint: `check that the DNS server at ${where} runs and is reachable over TCP from this host`,
    })), opts.timeoutMs);
    socket.once('connect', () => {
      connected = true;
      const len = Buffer.alloc(2);
      len.writeUInt16BE(request.length, 0);
      socket.write(Buffer.concat([len, request]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const len = received.readUInt16BE(0);
      if (len > max) {
        finish(dnsError('DNS_FAILED', `${what}${where} sent a ${len}-octet response, more than the ${max}-octet limit`));
        return;
      }
      if (received.length >= 2 + len) finish(undefined, Buffer.from(received.subarray(2, 2 + len)));
    });
    socket.once('end', () => finish(dnsError('DNS_FAILED', `${what}${where} closed the connection without a complete answer`, {
      hint: 'the server may not accept this request over TCP, or dropped it (see its log)',
    })));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      const refused = err.code === 'ECONNREFUSED';
      const unreachable = err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH' || err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN';
      finish(dnsError('DNS_FAILED', `${what}cannot talk to ${where}: ${refused ? 'connection refused' : err.message}`, {
        cause: err,
        hint: refused
          ? `nothing listens on TCP ${where}: check that the DNS server runs and the address and port are right`
          : unreachable
            ? `check the server address and this host's network`
            : undefined,
      }));
    });
  });
}
