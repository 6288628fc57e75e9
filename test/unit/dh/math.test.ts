// The generator-order test: the Jacobi symbol agrees with Euler's criterion
// (g^q mod p computed the slow way) on real safe primes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isProbablePrime, jacobi } from '../../../src/dh/index.js';
import { modp, safePrime, modPow } from './fixtures.js';

describe('jacobi', () => {
  it('matches small known values', () => {
    // (a/7): squares mod 7 are 1, 2, 4.
    assert.deepEqual([1n, 2n, 3n, 4n, 5n, 6n, 7n].map((a) => jacobi(a, 7n)), [1, 1, -1, 1, -1, -1, 0]);
    assert.equal(jacobi(1001n, 9907n), -1); // Cohen's textbook example
    assert.equal(jacobi(-1n, 7n), -1);
    assert.throws(() => jacobi(2n, 8n), RangeError);
  });

  it('equals Euler’s criterion g^q mod p for safe primes (2 ≡ order q iff p ≡ ±1 mod 8)', () => {
    for (const p of [safePrime(256, 23n), safePrime(256, 11n), modp('modp14')]) {
      const q = (p - 1n) / 2n;
      const samples = [2n, 3n, 4n, 5n, p - 2n, BigInt(`0x${randomBytes(24).toString('hex')}`) % p];
      for (const g of samples) {
        const euler = modPow(g, q, p);
        const expected = euler === 1n ? 1 : euler === p - 1n ? -1 : 0;
        assert.equal(jacobi(g, p), expected, `g=${g} p mod 24=${p % 24n}`);
      }
      assert.equal(jacobi(2n, p) === 1, p % 8n === 7n);
    }
  });
});

describe('isProbablePrime', () => {
  it('runs on the pool and says what OpenSSL says', async () => {
    assert.equal(await isProbablePrime(modp('modp14')), true);
    assert.equal(await isProbablePrime((modp('modp14') - 1n) / 2n), true);
    assert.equal(await isProbablePrime((1n << 511n) + 1n), false);
    assert.equal(await isProbablePrime(561n), false); // Carmichael number
  });
});
