// Test-time DH parameter material (nothing is committed): primes from
// node:crypto, well-known groups from Node's built-in RFC 3526 MODP table,
// and PEM built with tlskeeper's own DER writer so tests can make files no
// real tool would write (composite p, g = 1, overshoot).
import { checkPrimeSync, generatePrimeSync, getDiffieHellman } from 'node:crypto';
import { encodeDhParameter, type DhParameter } from '../../../src/dh/index.js';
import { toPem } from '../../../src/pki/index.js';

export function pemOf(params: DhParameter, label = 'DH PARAMETERS'): string {
  return toPem(label, encodeDhParameter(params));
}

/** A safe prime p ≡ rem (mod 24): 23 gives g = 2 order q, 11 gives order 2q. */
export function safePrime(bits: number, rem: 23n | 11n = 23n): bigint {
  return generatePrimeSync(bits, { safe: true, add: 24n, rem, bigint: true });
}

/** A prime whose (p−1)/2 is composite (what DSA-style generators produce). */
export function nonSafePrime(bits: number): bigint {
  for (;;) {
    const p = generatePrimeSync(bits, { bigint: true });
    if (!checkPrimeSync((p - 1n) / 2n)) return p;
  }
}

/** RFC 3526 MODP groups (safe primes, g = 2) as Node ships them. */
export function modp(name: 'modp14' | 'modp15' | 'modp16'): bigint {
  return BigInt(`0x${getDiffieHellman(name).getPrime('hex')}`);
}

export const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** base^e mod m by square-and-multiply in BigInt: slow, obviously right; the reference the fast paths are checked against. */
export function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n;
  b %= m;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % m;
    b = (b * b) % m;
    e >>= 1n;
  }
  return r;
}
