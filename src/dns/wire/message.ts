/**
 * DNS message encoding and decoding (RFC 1035 §4.1), enough for queries,
 * UPDATE (RFC 2136 §2) and TSIG (RFC 8945). dns-packet's whole-message
 * encoder cannot write what UPDATE needs (class NONE, and RRs with empty
 * RDATA for "delete an RRset", RFC 2136 §2.5.2), and TSIG needs the byte
 * offsets of records, so the message framing is done here and dns-packet
 * supplies the RDATA codecs and the compressed-name decoder (`./codec.ts`).
 *
 * Names are written uncompressed: always valid (RFC 1035 §4.1.4 makes
 * compression optional) and what TSIG's canonical form wants anyway.
 */
import { decodeName } from './codec.js';

export const Opcode = { QUERY: 0, NOTIFY: 4, UPDATE: 5 } as const;

/** RCODEs (RFC 1035 §4.1.1, RFC 2136 §2.2). */
export const Rcode = {
  NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5,
  YXDOMAIN: 6, YXRRSET: 7, NXRRSET: 8, NOTAUTH: 9, NOTZONE: 10,
} as const;

/** Extended errors carried in the TSIG RR's Error field (RFC 8945 §4.2, §5.2). */
export const TsigErrorCode = { BADSIG: 16, BADKEY: 17, BADTIME: 18, BADTRUNC: 22 } as const;

export const RRClass = { IN: 1, NONE: 254, ANY: 255 } as const;

export const RRType = { A: 1, NS: 2, CNAME: 5, SOA: 6, TXT: 16, AAAA: 28, TLSA: 52, TSIG: 250, ANY: 255 } as const;

const RCODE_NAMES = new Map<number, string>([
  ...Object.entries(Rcode).map(([k, v]) => [v, k] as [number, string]),
  ...Object.entries(TsigErrorCode).map(([k, v]) => [v, k] as [number, string]),
]);
export function rcodeName(code: number): string {
  return RCODE_NAMES.get(code) ?? `RCODE${code}`;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(RRType).map(([k, v]) => [v, k]));
export function typeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `TYPE${type}`;
}
export function typeCode(name: string): number {
  const code = (RRType as Record<string, number>)[name.toUpperCase()];
  if (code === undefined) throw new Error(`unknown record type ${name}`);
  return code;
}

export interface Question {
  name: string;
  type: number;
  class: number;
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  /** RDATA without its length prefix; empty for UPDATE's "delete" forms. */
  rdata: Buffer;
}

export interface DecodedRecord extends ResourceRecord {
  /** Offset of the record's owner name in the message. */
  offset: number;
  /** Offset of RDLENGTH (what dns-packet's RDATA decoders read first). */
  rdlengthOffset: number;
}

export interface HeaderFlags {
  qr: boolean;
  opcode: number;
  aa: boolean;
  tc: boolean;
  rd: boolean;
  ra: boolean;
  rcode: number;
}

/**
 * A message. For UPDATE (RFC 2136 §2) the four sections are the Zone,
 * Prerequisite, Update and Additional Data sections.
 */
export interface Message {
  id: number;
  flags: Partial<HeaderFlags>;
  questions: Question[];
  answers: ResourceRecord[];
  authorities: ResourceRecord[];
  additionals: ResourceRecord[];
}

export interface DecodedMessage {
  id: number;
  flags: HeaderFlags;
  questions: Question[];
  answers: DecodedRecord[];
  authorities: DecodedRecord[];
  additionals: DecodedRecord[];
  /** The bytes decoded. */
  raw: Buffer;
}

/** `Mx.Example.COM.` → `mx.example.com`; the root is the empty string. */
export function normalizeName(name: string): string {
  const n = name.trim().replace(/\.$/, '').toLowerCase();
  return n === '.' ? '' : n;
}

/**
 * Wire form of a name (RFC 1035 §3.1), uncompressed. `canonical` lowercases it
 * (RFC 4034 §6.2), as TSIG's MAC input requires (RFC 8945 §4.3.3).
 */
export function encodeName(name: string, canonical = false): Buffer {
  let n = name.replace(/\.$/, '');
  if (canonical) n = n.toLowerCase();
  if (n === '' || n === '.') return Buffer.from([0]);
  const parts: Buffer[] = [];
  let total = 1;
  for (const label of n.split('.')) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0) throw new Error(`empty label in name "${name}"`);
    if (bytes.length > 63) throw new Error(`label longer than 63 octets in name "${name}"`);
    if (!/^[\x21-\x7e]+$/.test(label)) throw new Error(`name "${name}" contains characters outside printable ASCII`);
    parts.push(Buffer.from([bytes.length]), bytes);
    total += bytes.length + 1;
  }
  if (total > 255) throw new Error(`name "${name}" is longer than 255 octets`);
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

export function encodeFlags(f: Partial<HeaderFlags>): number {
  return (
    ((f.qr ? 1 : 0) << 15) |
    (((f.opcode ?? 0) & 0xf) << 11) |
    ((f.aa ? 1 : 0) << 10) |
    ((f.tc ? 1 : 0) << 9) |
    ((f.rd ? 1 : 0) << 8) |
    ((f.ra ? 1 : 0) << 7) |
    ((f.rcode ?? 0) & 0xf)
  );
}

export function decodeFlags(v: number): HeaderFlags {
  return {
    qr: (v & 0x8000) !== 0,
    opcode: (v >> 11) & 0xf,
    aa: (v & 0x0400) !== 0,
    tc: (v & 0x0200) !== 0,
    rd: (v & 0x0100) !== 0,
    ra: (v & 0x0080) !== 0,
    rcode: v & 0xf,
  };
}

export function encodeRecord(rr: ResourceRecord): Buffer {
  const name = encodeName(rr.name);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(rr.type, 0);
  fixed.writeUInt16BE(rr.class, 2);
  fixed.writeUInt32BE(rr.ttl >>> 0, 4);
  if (rr.rdata.length > 0xffff) throw new Error('RDATA longer than 65535 octets');
  fixed.writeUInt16BE(rr.rdata.length, 8);
  return Buffer.concat([name, fixed, rr.rdata]);
}

export function encodeMessage(m: Message): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(m.id & 0xffff, 0);
  header.writeUInt16BE(encodeFlags(m.flags), 2);
  header.writeUInt16BE(m.questions.length, 4);
  header.writeUInt16BE(m.answers.length, 6);
  header.writeUInt16BE(m.authorities.length, 8);
  header.writeUInt16BE(m.additionals.length, 10);
  const parts: Buffer[] = [header];
  for (const q of m.questions) {
    const tail = Buffer.alloc(4);
    tail.writeUInt16BE(q.type, 0);
    tail.writeUInt16BE(q.class, 2);
    parts.push(encodeName(q.name), tail);
  }
  for (const rr of [...m.answers, ...m.authorities, ...m.additionals]) parts.push(encodeRecord(rr));
  const out = Buffer.concat(parts);
  if (out.length > 0xffff) throw new Error(`DNS message of ${out.length} octets exceeds 65535`);
  return out;
}

/** Thrown for a message that cannot be parsed. */
export class MalformedMessageError extends Error {}

export function decodeMessage(buf: Buffer): DecodedMessage {
  if (buf.length < 12) throw new MalformedMessageError(`DNS message of ${buf.length} octets is shorter than its header`);
  const id = buf.readUInt16BE(0);
  const flags = decodeFlags(buf.readUInt16BE(2));
  const counts = [buf.readUInt16BE(4), buf.readUInt16BE(6), buf.readUInt16BE(8), buf.readUInt16BE(10)] as const;
  let offset = 12;
  const need = (n: number) => {
    if (offset + n > buf.length) throw new MalformedMessageError('DNS message truncated');
  };
  const readName = () => {
    try {
      const { name, bytes } = decodeName(buf, offset);
      offset += bytes;
      return name === '.' ? '' : name;
    } catch (err) {
      throw new MalformedMessageError(`bad name at offset ${offset}: ${(err as Error).message}`);
    }
  };
  const questions: Question[] = [];
  for (let i = 0; i < counts[0]; i++) {
    const name = readName();
    need(4);
    questions.push({ name, type: buf.readUInt16BE(offset), class: buf.readUInt16BE(offset + 2) });
    offset += 4;
  }
  const readRecords = (n: number): DecodedRecord[] => {
    const out: DecodedRecord[] = [];
    for (let i = 0; i < n; i++) {
      const start = offset;
      const name = readName();
      need(10);
      const type = buf.readUInt16BE(offset);
      const klass = buf.readUInt16BE(offset + 2);
      const ttl = buf.readUInt32BE(offset + 4);
      const rdlengthOffset = offset + 8;
      const rdlength = buf.readUInt16BE(rdlengthOffset);
      offset += 10;
      need(rdlength);
      out.push({ name, type, class: klass, ttl, rdata: buf.subarray(offset, offset + rdlength), offset: start, rdlengthOffset });
      offset += rdlength;
    }
    return out;
  };
  const answers = readRecords(counts[1]);
  const authorities = readRecords(counts[2]);
  const additionals = readRecords(counts[3]);
  if (offset !== buf.length) throw new MalformedMessageError(`${buf.length - offset} octets of trailing garbage after the DNS message`);
  return { id, flags, questions, answers, authorities, additionals, raw: buf };
}
