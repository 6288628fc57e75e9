/**
 * The parts of `dns-packet` this layer uses, typed. `@types/dns-packet` types
 * only whole-packet encode/decode; the RDATA codecs and the name decoder
 * (which follows compression pointers, RFC 1035 §4.1.4) are exported at run
 * time too, and those are what we build on. Only `src/dns` imports dns-packet.
 */
import dnsPacket from 'dns-packet';

export interface RdataCodec<T> {
  /** Writes RDLENGTH (2 bytes) then RDATA. */
  encode(data: T, buf?: Buffer, offset?: number): Buffer;
  /** Reads RDLENGTH at `offset` then RDATA; `buf` is the whole message (for compression pointers). */
  decode(buf: Buffer, offset: number): T;
  encodingLength(data: T): number;
}

export interface TlsaRdata {
  usage: number;
  selector: number;
  matchingType: number;
  certificate: Buffer;
}

export interface SoaRdata {
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}

interface DnsPacketInternals {
  name: {
    decode(buf: Buffer, offset: number): string;
  } & { decode: { bytes: number } };
  tlsa: RdataCodec<TlsaRdata>;
  txt: RdataCodec<Buffer[]>;
  ns: RdataCodec<string>;
  soa: RdataCodec<SoaRdata>;
  a: RdataCodec<string>;
  aaaa: RdataCodec<string>;
}

const internals = dnsPacket as unknown as DnsPacketInternals;

/** Decodes a possibly compressed name at `offset`; returns it (no trailing dot, `.` for the root) and its length in the message. */
export function decodeName(buf: Buffer, offset: number): { name: string; bytes: number } {
  const name = internals.name.decode(buf, offset);
  return { name, bytes: internals.name.decode.bytes };
}

export const tlsaCodec = internals.tlsa;
export const txtCodec = internals.txt;
export const nsCodec = internals.ns;
export const soaCodec = internals.soa;
export const aCodec = internals.a;
export const aaaaCodec = internals.aaaa;
