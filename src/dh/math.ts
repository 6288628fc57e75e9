/**
 * Number theory for DH parameter checks, chosen so the daemon's event loop
 * never blocks: primality runs on the libuv pool (crypto.checkPrime, OpenSSL's
 * BN_check_prime), and the generator-order test is a Jacobi symbol (a gcd-like
 * loop, well under a millisecond for 8192-bit p) instead of a modular
 * exponentiation (2^q mod p in BigInt takes 20–90 ms for 2048–4096 bits on
 * the reference machine, all of it on the main thread).
 */
import { checkPrime } from 'node:crypto';

/**
 * Miller–Rabin rounds: 0 lets OpenSSL choose, and OpenSSL 3 never does fewer
 * than its minimum anyway (bn_mr_min_checks: 64 rounds up to 2048 bits, 128
 * above; a smaller `checks` is raised to it, measured: 64 and 128 cost the
 * same at 3072 bits). 64 rounds bound the error at 4^-64 = 2^-128 for any
 * input, adversarial ones included (Rabin). A composite fails at the first
 * round, so only a (probable) prime pays for all of them: ~0.1 s at 2048
 * bits, ~0.7 s at 3072 here, on the pool.
 */
export const MILLER_RABIN_ROUNDS = 0;

export function isProbablePrime(n: bigint): Promise<boolean> {
  return new Promise((resolve, reject) => {
    checkPrime(n, { checks: MILLER_RABIN_ROUNDS }, (err, result) => (err ? reject(err) : resolve(result)));
  });
}

/**
 * Jacobi symbol (a/n) for odd n > 0 (Cohen, "A Course in Computational
 * Algebraic Number Theory", Algorithm 1.4.10). For prime n it is the
 * Legendre symbol, and by Euler's criterion a^((n-1)/2) ≡ (a/n) (mod n).
 */
export function jacobi(a: bigint, n: bigint): -1 | 0 | 1 {
  if (n <= 0n || (n & 1n) === 0n) throw new RangeError('jacobi: n must be odd and positive');
  let x = ((a % n) + n) % n;
  let m = n;
  let t: 1 | -1 = 1;
  while (x !== 0n) {
    while ((x & 1n) === 0n) {
      x >>= 1n;
      const r = m & 7n;
      if (r === 3n || r === 5n) t = t === 1 ? -1 : 1;
    }
    [x, m] = [m, x];
    if ((x & 3n) === 3n && (m & 3n) === 3n) t = t === 1 ? -1 : 1;
    x %= m;
  }
  return m === 1n ? t : 0;
}
