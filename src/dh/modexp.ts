/**
 * Modular exponentiation by OpenSSL, for the safe-prime search (./sieve.ts).
 *
 * Node has no BigInt modPow, and one in JavaScript costs 20–90 ms at
 * 2048–4096 bits (measured, ./math.ts), against ~2 ms for OpenSSL's. Node
 * does expose OpenSSL's exponentiation through the raw RSA public operation:
 * c = m^e mod n, with any odd n and any e < n, taken from a JWK (RFC 7518
 * §6.3.1) and run with RSA_NO_PADDING. Nothing here is RSA: n is the
 * candidate and e the exponent under test; no key is ever used for anything
 * else.
 *
 * The limit: OpenSSL refuses a public exponent over 64 bits once n is over
 * 3,072 bits (OPENSSL_RSA_SMALL_MODULUS_BITS, rsa_ossl.c), so
 * `canPowModOpenssl` tells the worker when to fall back to OpenSSL's own
 * search (crypto.generatePrime).
 */
import { constants, createPublicKey, publicEncrypt } from 'node:crypto';

/** Above this modulus size OpenSSL limits the exponent to 64 bits. */
export const OPENSSL_FULL_EXPONENT_MAX_BITS = 3072;

export function canPowModOpenssl(modulusBits: number): boolean {
  return modulusBits <= OPENSSL_FULL_EXPONENT_MAX_BITS;
}

function toBytes(n: bigint, length?: number): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const raw = Buffer.from(hex, 'hex');
  if (length === undefined || raw.length === length) return raw;
  const out = Buffer.alloc(length);
  raw.copy(out, length - raw.length);
  return out;
}

/** base^exponent mod modulus, for an odd modulus of at most 3,072 bits, 0 < exponent < modulus and 0 ≤ base < modulus. */
export function powModOpenssl(base: bigint, exponent: bigint, modulus: bigint): bigint {
  if (exponent === 0n) return 1n % modulus;
  const key = createPublicKey({
    key: { kty: 'RSA', n: toBytes(modulus).toString('base64url'), e: toBytes(exponent).toString('base64url') },
    format: 'jwk',
  });
  const size = toBytes(modulus).length;
  const out = publicEncrypt({ key, padding: constants.RSA_NO_PADDING }, toBytes(base, size));
  return BigInt(`0x${out.toString('hex')}`);
}
