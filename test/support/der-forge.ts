// A minimal DER writer, to forge OCSP responses with properties no real
// responder (`openssl ocsp`) can be made to produce — e.g. an unknown
// critical extension — signed with a test CA's key so that every other check
// passes. Independent of src/pki (tests must not build their inputs with the
// code under test).
import { createHash, createPrivateKey, sign, X509Certificate } from 'node:crypto';

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

export const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), length(body.length), body]);
};
export const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);
export const octets = (b: Buffer): Buffer => tlv(0x04, b);
export const bool = (v: boolean): Buffer => tlv(0x01, Buffer.from([v ? 0xff : 0]));
export const enumerated = (v: number): Buffer => tlv(0x0a, Buffer.from([v]));
export const explicit = (n: number, ...c: Buffer[]): Buffer => tlv(0xa0 | n, ...c);
export const implicitPrimitive = (n: number, b: Buffer = Buffer.alloc(0)): Buffer => tlv(0x80 | n, b);
export const integer = (hex: string): Buffer => {
  let b = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
};
export const generalizedTime = (d: Date): Buffer => tlv(0x18, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`, 'latin1'));

export function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  const push = (v: number): void => {
    const chunk = [v & 0x7f];
    for (v = Math.floor(v / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const a of arcs.slice(2)) push(a);
  return tlv(0x06, Buffer.from(out));
}

/** DER of the subject Name and the subjectPublicKey bits of a certificate, read with a tiny walk of its TBSCertificate. */
function certificateParts(pem: string): { subject: Buffer; keyBits: Buffer; issuer: Buffer; serialHex: string } {
  const der = new X509Certificate(pem).raw;
  const read = (buf: Buffer, at: number): { tag: number; start: number; end: number } => {
    let len = buf[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
      start += n;
    }
    return { tag: buf[at]!, start, end: start + len };
  };
  const cert = read(der, 0);
  const tbs = read(der, cert.start);
  const fields: Array<{ tag: number; start: number; end: number; at: number }> = [];
  for (let at = tbs.start; at < tbs.end;) {
    const f = read(der, at);
    fields.push({ ...f, at });
    at = f.end;
  }
  const off = fields[0]!.tag === 0xa0 ? 1 : 0;
  const serial = fields[off]!;
  const issuer = fields[off + 2]!;
  const subject = fields[off + 4]!;
  const spki = fields[off + 5]!;
  const bits = read(der, read(der, spki.start).end);
  return {
    serialHex: der.subarray(serial.start, serial.end).toString('hex'),
    issuer: der.subarray(issuer.at, issuer.end),
    subject: der.subarray(subject.at, subject.end),
    keyBits: der.subarray(bits.start + 1, bits.end),
  };
}

export interface ForgeOptions {
  leafPem: string;
  issuerPem: string;
  /** PKCS#8 PEM of the issuer's key (the response is signed by the issuer itself, ECDSA/SHA-256). */
  issuerKeyPem: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Extra entries for responseExtensions: [oid, critical, value DER]. */
  responseExtensions?: Array<[string, boolean, Buffer]>;
}

/** A CA-signed BasicOCSPResponse saying "good" for the leaf (RFC 6960 §4.2.1). */
export function forgeOcspResponse(o: ForgeOptions): Buffer {
  const leaf = certificateParts(o.leafPem);
  const issuer = certificateParts(o.issuerPem);
  const sha1 = (b: Buffer): Buffer => createHash('sha1').update(b).digest();
  const certId = seq(seq(oid('1.3.14.3.2.26'), tlv(0x05)), octets(sha1(leaf.issuer)), octets(sha1(issuer.keyBits)), tlv(0x02, Buffer.from(leaf.serialHex, 'hex')));
  const single = seq(
    certId,
    implicitPrimitive(0),
    generalizedTime(o.thisUpdate),
    ...(o.nextUpdate ? [explicit(0, generalizedTime(o.nextUpdate))] : []),
  );
  const extensions = o.responseExtensions?.length
    ? [explicit(1, seq(...o.responseExtensions.map(([id, critical, value]) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value)))))]
    : [];
  const tbs = seq(explicit(1, issuer.subject), generalizedTime(o.thisUpdate), seq(single), ...extensions);
  const signature = sign('sha256', tbs, createPrivateKey(o.issuerKeyPem));
  const basic = seq(tbs, seq(oid('1.2.840.10045.4.3.2')), tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  return seq(enumerated(0), explicit(0, seq(oid('1.3.6.1.5.5.7.48.1.1'), octets(basic))));
}
