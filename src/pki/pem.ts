/** PEM (RFC 7468) blocks: `-----BEGIN LABEL-----` base64 `-----END LABEL-----`. */

export interface PemBlock {
  label: string;
  der: Buffer;
}

const BLOCK_RE = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** All PEM blocks of a text; `rest` is what lies outside them (non-whitespace means garbage). */
export function parsePem(text: string): { blocks: PemBlock[]; rest: string } {
  const blocks: PemBlock[] = [];
  const rest = text.replace(BLOCK_RE, (_all, label: string, body: string) => {
    const b64 = body.replace(/[\r\n\t ]/g, '');
    // Headers (RFC 1421 Proc-Type) are not base64; treat such blocks as unparsable.
    if (/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) blocks.push({ label, der: Buffer.from(b64, 'base64') });
    else blocks.push({ label, der: Buffer.alloc(0) });
    return '';
  });
  return { blocks, rest };
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/.{1,64}/g, '$&\n');
  return `-----BEGIN ${label}-----\n${b64}-----END ${label}-----\n`;
}
