// A DNS test kit: a tiny TCP DNS listener on loopback that records every
// message it receives (RFC 1035 §4.2.2 framing) and answers through a
// handler, so a unit test can assert the exact bytes and sections a
// provider sends, and make the answers a real server cannot be made to
// give on demand (a tampered MAC, an unsigned NOERROR, silence).
import net from 'node:net';
import { encodeTsigRdata, findTsig, signMessage, type TsigKey } from '../../src/dns/index.js';
import {
  decodeMessage, encodeMessage, encodeRecord, parseValue, RRClass, RRType,
  type DecodedMessage, type Message, type ResourceRecord,
} from '../../src/dns/wire/index.js';

export interface Captured {
  raw: Buffer;
  message: DecodedMessage;
}

/** What the handler returns: bytes to send, or 'silence' (never answer), or 'close'. */
export type Reply = Buffer | 'silence' | 'close';

export interface FakeDnsServer {
  port: number;
  address: string;
  /** `127.0.0.1:PORT` */
  spec: string;
  received: Captured[];
  close(): Promise<void>;
}

export async function startFakeDnsServer(handler: (req: Captured) => Reply | Promise<Reply>): Promise<FakeDnsServer> {
  const received: Captured[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', async (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const raw = Buffer.from(buf.subarray(2, 2 + len));
        buf = buf.subarray(2 + len);
        const captured = { raw, message: decodeMessage(raw) };
        received.push(captured);
        const reply = await handler(captured);
        if (reply === 'silence') continue;
        if (reply === 'close') { sock.destroy(); return; }
        const l = Buffer.alloc(2);
        l.writeUInt16BE(reply.length, 0);
        sock.write(Buffer.concat([l, reply]));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    address: '127.0.0.1',
    spec: `127.0.0.1:${port}`,
    received,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface AnswerOptions {
  rcode?: number;
  aa?: boolean;
  answers?: ResourceRecord[];
  /** Sign with this key, chaining the request's MAC (RFC 8945 §4.3.1). */
  key?: TsigKey;
  /** Clock for the answer's time signed. */
  now?: () => number;
  /** TSIG error to report (BADSIG, BADKEY: sent unsigned, with an empty MAC, as servers do). */
  tsigError?: number;
  otherData?: Buffer;
  /** Flip one bit of the MAC after signing. */
  tamper?: boolean;
  /** Request MAC to chain instead of the real one. */
  requestMac?: Buffer;
}

/** Builds an answer to `req` as a server would. */
export function answer(req: Captured, o: AnswerOptions = {}): Buffer {
  const m: Message = {
    id: req.message.id,
    flags: { qr: true, opcode: req.message.flags.opcode, aa: o.aa ?? true, rcode: o.rcode ?? 0 },
    questions: req.message.questions,
    answers: o.answers ?? [],
    authorities: [],
    additionals: [],
  };
  const body = encodeMessage(m);
  if (!o.key) return body;
  const reqTsig = findTsig(req.message);
  const requestMac = o.requestMac ?? reqTsig?.tsig.mac ?? Buffer.alloc(0);
  if (o.tsigError !== undefined && o.tsigError !== 18) {
    // BADSIG / BADKEY: an unsigned answer with an empty MAC (RFC 8945 §5.3.2).
    const rdata = encodeTsigRdata({
      keyName: o.key.name, algorithm: o.key.algorithm, timeSigned: Math.floor((o.now ?? Date.now)() / 1000), fudge: 300,
      mac: Buffer.alloc(0), originalId: req.message.id, error: o.tsigError, otherData: Buffer.alloc(0),
    });
    const out = Buffer.concat([body, encodeRecord({ name: o.key.name, type: RRType.TSIG, class: RRClass.ANY, ttl: 0, rdata })]);
    out.writeUInt16BE(1, 10);
    return out;
  }
  const signed = signMessage(body, o.key, {
    ...(o.now ? { now: o.now } : {}),
    requestMac,
    ...(o.tsigError !== undefined ? { error: o.tsigError, timeSigned: reqTsig?.tsig.timeSigned } : {}),
    ...(o.otherData ? { otherData: o.otherData } : {}),
  });
  if (o.tamper) {
    const out = Buffer.from(signed.message);
    // The last MAC octet: after it come original ID, error, other len (6 octets) and other data.
    const i = out.length - 7 - (o.otherData?.length ?? 0);
    out[i] = out[i]! ^ 0x01;
    return out;
  }
  return signed.message;
}

/** A TLSA answer record. */
export function tlsaRecord(name: string, value: string, ttl = 300): ResourceRecord {
  return { name, type: RRType.TLSA, class: RRClass.IN, ttl, rdata: parseValue('TLSA', value) };
}
