/**
 * The parts of `dns-packet` this layer uses, typed. `@types/dns-packet` types
 * only whole-packet encode/decode; the RDATA codecs and the name decoder
 * (which follows compression pointers, RFC 1035 §4.1.4) are exported at run
 * time too, and those are what we build on. Only `src/dns` imports dns-packet.
 *
 * Loaded on first use (~16 ms at every start otherwise, measured): most
 * commands (`status`, `refresh ocsp`, `version`) never touch DNS. The
 * package is CommonJS, so require() returns what a static import would.
 */
import { createRequire } from 'node:module';

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

const load = createRequire(import.meta.url);
let loaded: DnsPacketInternals | undefined;
const dnsPacket = (): DnsPacketInternals => (loaded ??= load('dns-packet') as DnsPacketInternals);

/** Decodes a possibly compressed name at `offset`; returns it (no trailing dot, `.` for the root) and its length in the message. */
export function decodeName(buf: Buffer, offset: number): { name: string; bytes: number } {
  const { name: codec } = dnsPacket();
  const name = codec.decode(buf, offset);
  return { name, bytes: codec.decode.bytes };
}

/** One of dns-packet's RDATA codecs, resolved when first called. */
function rdataCodec<K extends 'tlsa' | 'txt' | 'ns' | 'soa' | 'a' | 'aaaa'>(type: K): DnsPacketInternals[K] {
  return {
    encode: (data: never, buf?: Buffer, offset?: number) => dnsPacket()[type].encode(data, buf, offset),
    decode: (buf: Buffer, offset: number) => dnsPacket()[type].decode(buf, offset),
    encodingLength: (data: never) => dnsPacket()[type].encodingLength(data),
  } as DnsPacketInternals[K];
}

export const tlsaCodec = rdataCodec('tlsa');
export const txtCodec = rdataCodec('txt');
export const nsCodec = rdataCodec('ns');
export const soaCodec = rdataCodec('soa');
export const aCodec = rdataCodec('a');
export const aaaaCodec = rdataCodec('aaaa');
