/**
 * The checks a DH parameter file must pass before tlskeeper puts it live, and
 * that `status` runs on every call. Each failure has its own code and hint.
 *
 * What "valid" means here (and why):
 *  - Exactly one PEM block labelled `DH PARAMETERS` (PKCS#3, what OpenSSL's
 *    and GnuTLS's loaders read for `tls_dhparam`, nginx `ssl_dhparam`,
 *    Dovecot, Postfix). `X9.42 DH PARAMETERS` (RFC 3279 DomainParameters with
 *    q) and `EC PARAMETERS` are other formats that GnuTLS's
 *    gnutls_dh_params_import_pkcs3 refuses; several blocks or text after the
 *    block are ambiguous. Explanatory text before the block is tolerated
 *    (RFC 7468 §5.2; `certtool --generate-dh-params` writes it, as in the Exim
 *    spec ch. 42 §3 procedure), and reported as a fact.
 *  - The prime has exactly the configured number of bits: never more (Exim
 *    spec ch. 42 §3: "make sure it's not more than [requested]"; Exim with
 *    OpenSSL ignores a file above tls_dh_max_bits), never fewer.
 *  - p is prime and q = (p−1)/2 is prime (a safe prime), so the only
 *    subgroups have order 1, 2, q and 2q, and a peer that knows only p and g
 *    (TLS 1.2 sends nothing else) cannot be pushed into a small subgroup.
 *    A prime p that is not safe (the DSA-style parameters `certtool` writes,
 *    with a ~256-bit subgroup) works but is reported as WARNING and replaced.
 *  - 1 < g < p−1, and g generates the subgroup of prime order q: by Euler's
 *    criterion g^q ≡ (g/p) (mod p), so this is the Jacobi symbol (g/p) = 1.
 *    For g = 2 that is p ≡ ±1 (mod 8); OpenSSL asks for p ≡ 23 (mod 24) when
 *    generating for g = 2 (dh_builtin_genparams: add = 24, rem = 23). A g of
 *    order 2q (OpenSSL before 1.1.0 wrote p ≡ 11 (mod 24) with g = 2) leaks
 *    the low bit of every private exponent: WARNING, replaced.
 */
import type { Severity } from '../jobs/index.js';
import { bitLength, decodeDhParameter, DerError, type DhParameter } from './der.js';
import { isProbablePrime, jacobi } from './math.js';

/** A DH file larger than this is not a DH file (8192-bit PEM is ~1.5 KiB). */
export const MAX_DH_FILE_BYTES = 64 * 1024;

export const PEM_LABEL = 'DH PARAMETERS';

export interface DhFacts {
  /** Bit length of p. */
  bits?: number;
  /** g in decimal (hex with its size for a large g). */
  generator?: string;
  /** (p−1)/2 is prime; undefined when not (yet) tested. */
  safePrime?: boolean;
  /** p mod 24 (23 for OpenSSL-style g = 2 parameters). */
  pMod24?: number;
  /** 'q': g generates the prime-order subgroup; '2q': the whole group. */
  generatorOrder?: 'q' | '2q';
  privateValueLength?: number;
  /** The file has text before its PEM block (certtool writes a description there). */
  explanatoryText?: boolean;
}

export interface DhCheck {
  /** OK: can be (or stay) live; WARNING: works but is replaced at the next run; CRITICAL: broken or unsafe. */
  severity: Exclude<Severity, 'UNKNOWN'>;
  /** 'DH_OK' or the failure's code. */
  code: string;
  message: string;
  hint?: string;
  facts: DhFacts;
}

const REPLACE = 'tlskeeper replaces it at the next `tlskeeper refresh dhparams` (the old file is kept in state_dir/dhparams-old)';

function fail(severity: 'WARNING' | 'CRITICAL', code: string, message: string, hint: string, facts: DhFacts = {}): DhCheck {
  return { severity, code, message, hint, facts };
}

interface PemParse {
  blocks: Array<{ label: string; lines: string[] }>;
  leadingText: boolean;
  problem?: DhCheck;
}

/** Line-oriented PEM reader (RFC 7468 §3), strict about everything after the first block. */
function readPem(text: string): PemParse {
  const lines = text.split(/\r?\n/);
  const blocks: PemParse['blocks'] = [];
  let leadingText = false;
  let current: { label: string; lines: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const begin = /^-----BEGIN ([^-]*)-----\s*$/.exec(line);
    const end = /^-----END ([^-]*)-----\s*$/.exec(line);
    if (current) {
      if (end) {
        if (end[1] !== current.label) {
          return { blocks, leadingText, problem: fail('CRITICAL', 'DH_PEM_INVALID', `PEM block "${current.label}" ends with "END ${end[1]}"`, `the file is damaged; ${REPLACE}`) };
        }
        blocks.push(current);
        current = undefined;
      } else if (begin || /^-----/.test(line)) {
        return { blocks, leadingText, problem: truncated(current.label) };
      } else {
        current.lines.push(line.trim());
      }
      continue;
    }
    if (begin) {
      current = { label: begin[1]!, lines: [] };
    } else if (end || /^-----(BEGIN|END)/.test(line)) {
      return { blocks, leadingText, problem: fail('CRITICAL', 'DH_PEM_INVALID', `line ${i + 1} is a damaged PEM boundary`, `the file is damaged; ${REPLACE}`) };
    } else if (line.trim() !== '') {
      if (blocks.length > 0) {
        return {
          blocks, leadingText,
          problem: fail('CRITICAL', 'DH_TRAILING_GARBAGE', `text after the END line (line ${i + 1})`,
            `a DH file holds one PEM block and nothing after it; ${REPLACE}`),
        };
      }
      // Explanatory text before the block (RFC 7468 §5.2), but only text.
      if (/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(line)) {
        return {
          blocks, leadingText,
          problem: fail('CRITICAL', 'DH_NOT_PEM', 'the file holds binary data outside a PEM block',
            `DH parameters must be PEM ("-----BEGIN DH PARAMETERS-----"); DER is not read by Exim's tls_dhparam; ${REPLACE}`),
        };
      }
      leadingText = true;
    }
  }
  if (current) return { blocks, leadingText, problem: truncated(current.label) };
  return { blocks, leadingText };
}

function truncated(label: string): DhCheck {
  return fail('CRITICAL', 'DH_PEM_TRUNCATED', `PEM block "${label}" has no END line (truncated file)`,
    `a partly written file: something wrote it in place instead of renaming a complete file over it; ${REPLACE}`);
}

/** Strict base64 (RFC 4648 §4, canonical padding) of the block's body. */
function decodeBody(lines: string[]): Buffer | DhCheck {
  if (lines.some((l) => l.includes(':'))) {
    return fail('CRITICAL', 'DH_PEM_INVALID', 'the PEM block has headers (such as Proc-Type), which DH parameter files never have',
      `the file is not plain DH parameters; ${REPLACE}`);
  }
  const b64 = lines.join('');
  if (b64.length === 0 || b64.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) {
    return fail('CRITICAL', 'DH_PEM_BASE64', 'the PEM body is not valid base64', `the file is damaged; ${REPLACE}`);
  }
  const der = Buffer.from(b64, 'base64');
  if (der.toString('base64') !== b64) {
    return fail('CRITICAL', 'DH_PEM_BASE64', 'the PEM body is not canonical base64', `the file is damaged; ${REPLACE}`);
  }
  return der;
}

export type ParsedDhFile = { params: DhParameter; facts: DhFacts } | { problem: DhCheck };

/** The cheap, synchronous part: PEM framing, label, DER. */
export function parseDhFile(bytes: Uint8Array): ParsedDhFile {
  if (bytes.length === 0) {
    return { problem: fail('CRITICAL', 'DH_EMPTY', 'the file is empty', `GnuTLS cannot import it and every STARTTLS fails; ${REPLACE}`) };
  }
  if (bytes.length > MAX_DH_FILE_BYTES) {
    return { problem: fail('CRITICAL', 'DH_FILE_TOO_LARGE', `the file is ${bytes.length} bytes; DH parameters take under 2 KiB`, `this is not a DH parameter file; ${REPLACE}`) };
  }
  const text = Buffer.from(bytes).toString('latin1');
  if (text.trim() === '') {
    return { problem: fail('CRITICAL', 'DH_EMPTY', 'the file holds only whitespace', `GnuTLS cannot import it and every STARTTLS fails; ${REPLACE}`) };
  }
  const pem = readPem(text);
  if (pem.problem) return { problem: pem.problem };
  if (pem.blocks.length === 0) {
    const der = bytes[0] === 0x30;
    return {
      problem: fail('CRITICAL', 'DH_NOT_PEM', der ? 'the file looks like DER, not PEM' : 'the file holds no PEM block',
        `DH parameters must be PEM ("-----BEGIN DH PARAMETERS-----"); ${REPLACE}`),
    };
  }
  if (pem.blocks.length > 1) {
    return {
      problem: fail('CRITICAL', 'DH_MULTIPLE_BLOCKS', `the file holds ${pem.blocks.length} PEM blocks (${pem.blocks.map((b) => b.label).join(', ')})`,
        `a DH parameter file holds exactly one "DH PARAMETERS" block; loaders differ in which one they take; ${REPLACE}`),
    };
  }
  const block = pem.blocks[0]!;
  if (block.label === 'X9.42 DH PARAMETERS') {
    return {
      problem: fail('CRITICAL', 'DH_X942_PARAMETERS', 'the file holds X9.42 DH parameters (RFC 3279 DomainParameters), not PKCS#3 "DH PARAMETERS"',
        `GnuTLS (Exim on Debian) cannot import X9.42 parameters and every STARTTLS fails; \`openssl genpkey -genparam -algorithm DHX\` writes this format; ${REPLACE}`),
    };
  }
  if (block.label === 'EC PARAMETERS') {
    return {
      problem: fail('CRITICAL', 'DH_EC_PARAMETERS', 'the file holds EC parameters, not DH parameters',
        `elliptic-curve groups are configured by name (Exim: tls_eccurve), not through tls_dhparam; ${REPLACE}`),
    };
  }
  if (block.label !== PEM_LABEL) {
    return {
      problem: fail('CRITICAL', 'DH_WRONG_PEM_LABEL', `the PEM block is "${block.label}", not "${PEM_LABEL}"`,
        `the file is not DH parameters; ${REPLACE}`),
    };
  }
  const der = decodeBody(block.lines);
  if (!Buffer.isBuffer(der)) return { problem: der };
  let params: DhParameter;
  try {
    params = decodeDhParameter(der);
  } catch (err) {
    if (!(err instanceof DerError)) throw err;
    return {
      problem: fail('CRITICAL', err.truncated ? 'DH_DER_TRUNCATED' : 'DH_DER_INVALID',
        `the DH PARAMETERS block is not a valid PKCS#3 DHParameter: ${err.message}`, `the file is damaged; ${REPLACE}`),
    };
  }
  const facts: DhFacts = {
    bits: bitLength(params.p),
    generator: params.g < 1n << 32n ? params.g.toString() : `0x${params.g.toString(16).slice(0, 16)}… (${bitLength(params.g)} bits)`,
    pMod24: Number(params.p % 24n),
    ...(params.privateValueLength !== undefined ? { privateValueLength: Number(params.privateValueLength) } : {}),
    ...(pem.leadingText ? { explanatoryText: true } : {}),
  };
  return { params, facts };
}

/** The arithmetic checks (async: primality runs on the libuv pool). */
export async function checkDhParameter(params: DhParameter, requestedBits: number, facts: DhFacts = {}): Promise<DhCheck> {
  const { p, g } = params;
  const bits = bitLength(p);
  const f: DhFacts = { ...facts, bits };
  if (bits > requestedBits) {
    return fail('CRITICAL', 'DH_TOO_LARGE', `the prime has ${bits} bits, more than the ${requestedBits} configured`,
      `never larger than requested (Exim spec ch. 42 §3: generators overshoot); Exim with OpenSSL ignores a prime above tls_dh_max_bits and silently offers no DHE; ${REPLACE}`, f);
  }
  if (bits < requestedBits) {
    return fail('CRITICAL', 'DH_TOO_SMALL', `the prime has ${bits} bits, fewer than the ${requestedBits} configured`,
      `a smaller group is weaker than configured (1024-bit DH is within reach of precomputation: weakdh.org); ${REPLACE}`, f);
  }
  if ((p & 1n) === 0n) {
    return fail('CRITICAL', 'DH_P_NOT_PRIME', 'p is even, so not prime', `the parameters give no security; ${REPLACE}`, f);
  }
  if (g <= 1n || g >= p - 1n) {
    const which = g <= 1n ? `g = ${g}` : g === p - 1n ? 'g = p−1' : 'g ≥ p';
    return fail('CRITICAL', 'DH_BAD_GENERATOR', `${which} is not a valid generator (it must lie strictly between 1 and p−1)`,
      `${g === 1n ? 'with g = 1 every public value and every shared secret is 1; ' : ''}the parameters give no security; ${REPLACE}`, f);
  }
  const q = (p - 1n) >> 1n;
  const [pPrime, qPrime] = await Promise.all([isProbablePrime(p), isProbablePrime(q)]);
  if (!pPrime) {
    return fail('CRITICAL', 'DH_P_NOT_PRIME', 'p is not prime (composite modulus)',
      `discrete logarithms modulo a composite split into small problems; the parameters give no security; ${REPLACE}`, { ...f, safePrime: false });
  }
  if (!qPrime) {
    return fail('WARNING', 'DH_NOT_SAFE_PRIME', 'p is prime but (p−1)/2 is not: DSA-style parameters (as `certtool --generate-dh-params` writes), not a safe prime',
      `they work, but a TLS 1.2 peer gets only p and g and cannot check the subgroup (small-subgroup attacks, RFC 7919 §1); \`openssl dhparam -check\` rejects them; ${REPLACE}`,
      { ...f, safePrime: false });
  }
  const order = jacobi(g, p) === 1 ? 'q' : '2q';
  const withOrder: DhFacts = { ...f, safePrime: true, generatorOrder: order };
  if (order === '2q') {
    return fail('WARNING', 'DH_GENERATOR_FULL_GROUP', `g = ${f.generator ?? g} generates the whole group of order 2q, not the subgroup of prime order q (g^q ≢ 1 mod p)`,
      `every public value then leaks the low bit of the private exponent (OpenSSL before 1.1.0 wrote such files, p ≡ 11 mod 24 with g = 2); ${REPLACE}`,
      withOrder);
  }
  return { severity: 'OK', code: 'DH_OK', message: `${bits}-bit safe prime, g = ${withOrder.generator} of prime order q`, facts: withOrder };
}

/** Every check on the bytes of a file. */
export async function checkDhBytes(bytes: Uint8Array, requestedBits: number): Promise<DhCheck> {
  const parsed = parseDhFile(bytes);
  if ('problem' in parsed) return parsed.problem;
  return checkDhParameter(parsed.params, requestedBits, parsed.facts);
}
