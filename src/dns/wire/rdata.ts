/**
 * Presentation form (RFC 1035 §5.1) ↔ RDATA for the record types the DNS
 * layer publishes: TLSA (RFC 6698 §2.2) and TXT (RFC 1035 §3.3.14), plus the
 * read-only formatting of a few others for messages and tests.
 *
 * The canonical presentation form used throughout tlskeeper:
 * - TLSA: `3 1 1 <hex>`: decimal fields, hex in lower case, no spaces
 *   (RFC 6698 §2.2 allows whitespace inside the hex; we never write it).
 * - TXT: every character-string in double quotes, separated by one space;
 *   `"` and `\` escaped with a backslash, bytes outside 0x20–0x7e as `\DDD`.
 */
import { aaaaCodec, aCodec, nsCodec, soaCodec, tlsaCodec, txtCodec, type RdataCodec } from './codec.js';
import { RRType } from './message.js';

export class BadValueError extends Error {}

function withoutLength(encoded: Buffer): Buffer {
  return encoded.subarray(2);
}

/** `3 1 1 AB CD…` → RDATA. */
export function parseTlsa(value: string): Buffer {
  const m = /^\s*(\d{1,3})\s+(\d{1,3})\s+(\d{1,3})\s+([0-9a-fA-F\s]+?)\s*$/.exec(value);
  if (!m) throw new BadValueError(`"${value}" is not a TLSA record (want "usage selector matching hex")`);
  const [usage, selector, matchingType] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (usage > 255 || selector > 255 || matchingType > 255) throw new BadValueError(`"${value}": TLSA fields are 0–255`);
  const hex = m[4]!.replace(/\s+/g, '');
  if (hex.length === 0 || hex.length % 2 !== 0) throw new BadValueError(`"${value}": the association data must be a non-empty, even number of hex digits`);
  return withoutLength(tlsaCodec.encode({ usage, selector, matchingType, certificate: Buffer.from(hex, 'hex') }));
}

/** Splits TXT presentation form into its character-strings (quoted or bare, with `\X` and `\DDD` escapes). */
export function parseTxtStrings(value: string): Buffer[] {
  const out: Buffer[] = [];
  let i = 0;
  const s = value;
  while (i < s.length) {
    while (i < s.length && /\s/.test(s[i]!)) i++;
    if (i >= s.length) break;
    const quoted = s[i] === '"';
    if (quoted) i++;
    const bytes: number[] = [];
    for (;;) {
      if (i >= s.length) {
        if (quoted) throw new BadValueError(`unterminated quoted string in TXT value ${JSON.stringify(value)}`);
        break;
      }
      const c = s[i]!;
      if (quoted && c === '"') { i++; break; }
      if (!quoted && /\s/.test(c)) break;
      if (!quoted && c === '"') throw new BadValueError(`stray quote in TXT value ${JSON.stringify(value)}`);
      if (c === '\\') {
        const ddd = /^\d{3}/.exec(s.slice(i + 1, i + 4));
        if (ddd) {
          const n = Number(ddd[0]);
          if (n > 255) throw new BadValueError(`\\${ddd[0]} is not a byte in TXT value ${JSON.stringify(value)}`);
          bytes.push(n);
          i += 4;
        } else if (i + 1 < s.length) {
          bytes.push(...Buffer.from(s[i + 1]!, 'utf8'));
          i += 2;
        } else {
          throw new BadValueError(`trailing backslash in TXT value ${JSON.stringify(value)}`);
        }
        continue;
      }
      bytes.push(...Buffer.from(c, 'utf8'));
      i++;
    }
    if (bytes.length > 255) throw new BadValueError(`a TXT character-string is longer than 255 octets; split it into several quoted strings`);
    out.push(Buffer.from(bytes));
  }
  if (out.length === 0) throw new BadValueError('empty TXT value');
  return out;
}

export function parseTxt(value: string): Buffer {
  return withoutLength(txtCodec.encode(parseTxtStrings(value)));
}

export function formatTxtString(b: Buffer): string {
  let out = '"';
  for (const byte of b) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte >= 0x20 && byte <= 0x7e) out += String.fromCharCode(byte);
    else out += `\\${String(byte).padStart(3, '0')}`;
  }
  return `${out}"`;
}

/** Presentation form → RDATA (without the RDLENGTH prefix). */
export function parseValue(type: string, value: string): Buffer {
  switch (type.toUpperCase()) {
    case 'TLSA': return parseTlsa(value);
    case 'TXT': return parseTxt(value);
    default: throw new BadValueError(`record type ${type} is not supported`);
  }
}

function decodeWith<T>(codec: RdataCodec<T>, msg: Buffer, rdlengthOffset: number): T {
  return codec.decode(msg, rdlengthOffset);
}

/**
 * RDATA → canonical presentation form. `msg` is the whole message and
 * `rdlengthOffset` the offset of the record's RDLENGTH, so compressed names
 * inside RDATA (NS, SOA) resolve.
 */
export function formatRdata(type: number, msg: Buffer, rdlengthOffset: number): string {
  switch (type) {
    case RRType.TLSA: {
      const t = decodeWith(tlsaCodec, msg, rdlengthOffset);
      return `${t.usage} ${t.selector} ${t.matchingType} ${t.certificate.toString('hex')}`;
    }
    case RRType.TXT:
      return decodeWith(txtCodec, msg, rdlengthOffset).map(formatTxtString).join(' ');
    case RRType.NS:
    case RRType.CNAME:
      return `${decodeWith(nsCodec, msg, rdlengthOffset)}.`;
    case RRType.SOA: {
      const s = decodeWith(soaCodec, msg, rdlengthOffset);
      return `${s.mname}. ${s.rname}. ${s.serial} ${s.refresh} ${s.retry} ${s.expire} ${s.minimum}`;
    }
    case RRType.A: return decodeWith(aCodec, msg, rdlengthOffset);
    case RRType.AAAA: return decodeWith(aaaaCodec, msg, rdlengthOffset);
    default: {
      // RFC 3597 §5 generic form for anything else.
      const len = msg.readUInt16BE(rdlengthOffset);
      return `\\# ${len} ${msg.subarray(rdlengthOffset + 2, rdlengthOffset + 2 + len).toString('hex')}`;
    }
  }
}

/** Formats standalone RDATA (no compression possible). */
export function formatRdataBytes(type: number, rdata: Buffer): string {
  const buf = Buffer.alloc(rdata.length + 2);
  buf.writeUInt16BE(rdata.length, 0);
  rdata.copy(buf, 2);
  return formatRdata(type, buf, 0);
}

/** Any accepted presentation form → the canonical one. Throws BadValueError. */
export function canonicalValue(type: string, value: string): string {
  const code = type.toUpperCase() === 'TLSA' ? RRType.TLSA : type.toUpperCase() === 'TXT' ? RRType.TXT : undefined;
  if (code === undefined) throw new BadValueError(`record type ${type} is not supported`);
  return formatRdataBytes(code, parseValue(type, value));
}
