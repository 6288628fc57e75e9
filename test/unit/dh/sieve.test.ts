// The sieved safe-prime search (src/dh/sieve.ts) and the OpenSSL modular
// exponentiation it uses (src/dh/modexp.ts): the sieve never discards a
// candidate it should keep, and every result is a safe prime of the exact size
// and the form g = 2 needs.
import assert from 'node:assert/strict';
import { checkPrimeSync, createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { canPowModOpenssl, findSafePrime, modSmall, powModOpenssl, randomStart, sievingPrimes, toLimbs } from '../../../src/dh/index.js';
import { modp, modPow } from './fixtures.js';

/** Deterministic "random" bytes for reproducible searches. */
function seeded(seed: string): (n: number) => Uint8Array {
  let counter = 0;
  return (n) => {
    const out = Buffer.alloc(n);
    for (let off = 0; off < n; off += 32) createHash('sha256').update(`${seed}/${counter++}`).digest().copy(out, off);
    return out;
  };
}

describe('sieve primitives', () => {
  it('sievingPrimes lists the primes from 5 below the limit', () => {
    assert.deepEqual([...sievingPrimes(40)], [5, 7, 11, 13, 17, 19, 23, 29, 31, 37]);
    assert.equal(sievingPrimes(1 << 16).length, 6542 - 2); // π(65536) = 6542, minus 2 and 3
  });

  it('modSmall over 32-bit limbs equals BigInt %', () => {
    const n = modp('modp14');
    for (const r of [5, 7, 65537, 1_000_003, 2_097_143]) assert.equal(modSmall(toLimbs(n), r), Number(n % BigInt(r)));
    assert.deepEqual([...toLimbs(0x1_0000_0002n)], [1, 2]);
  });

  it('randomStart gives q ≡ 11 (mod 12) with p = 2q + 1 of exactly the size, top bits set', () => {
    for (const bits of [64, 512, 2048]) {
      for (let i = 0; i < 20; i++) {
        const q = randomStart(bits, randomBytes);
        assert.equal(q % 12n, 11n);
        const p = 2n * q + 1n;
        assert.equal(p.toString(2).length, bits);
        assert.equal(p % 24n, 23n);
        assert.ok(q >> BigInt(bits - 3) === 3n, 'top two bits of q set');
      }
      // All-ones random input must not overflow the size.
      const q = randomStart(bits, (n) => Buffer.alloc(n, 0xff));
      assert.equal((2n * q + 1n).toString(2).length, bits);
    }
  });
});

describe('powModOpenssl (the raw RSA public operation)', () => {
  it('agrees with BigInt square-and-multiply, even exponents and exponents near the modulus included', () => {
    const p = modp('modp14'); // 2048-bit prime
    assert.equal(powModOpenssl(2n, p - 1n, p), 1n); // Fermat
    const m = p + 2n; // odd and composite (p + 2 ≡ 1 mod 3 for this p is irrelevant: any odd modulus works)
    for (const [b, e] of [[2n, 12345678901234567890n], [7n, m - 1n], [m - 1n, 2n], [3n, 1n], [2n, (m - 1n) / 2n]] as const) {
      assert.equal(powModOpenssl(b, e, m), modPow(b, e, m), `${b}^${e} mod m`);
    }
    assert.equal(powModOpenssl(5n, 0n, 13n), 1n);
  });

  it('is available up to 3,072 bits only (OpenSSL caps the exponent above)', () => {
    assert.equal(canPowModOpenssl(2048), true);
    assert.equal(canPowModOpenssl(3072), true);
    assert.equal(canPowModOpenssl(4096), false);
  });
});

describe('findSafePrime', () => {
  it('finds a safe prime of the exact size, p ≡ 23 (mod 24), at 64, 256 and 512 bits', async () => {
    for (const bits of [64, 256, 512]) {
      const { p, tested } = await findSafePrime({ bits, random: seeded(`sizes-${bits}`), powMod: powModOpenssl });
      assert.equal(p.toString(2).length, bits);
      assert.equal(p % 24n, 23n);
      assert.ok(checkPrimeSync(p, { checks: 64 }), `${bits}-bit p prime`);
      assert.ok(checkPrimeSync((p - 1n) / 2n, { checks: 64 }), `${bits}-bit q prime`);
      assert.ok(tested >= 1);
    }
  });

  it('keeps every candidate it should: the result is the first safe prime at or after the start (checked by brute force)', async () => {
    // 64-bit: scan q₀, q₀ + 12, … with full primality tests and no sieve; the
    // sieve must stop at the same q.
    for (const seed of ['a', 'b', 'c', 'd']) {
      const random = seeded(`first-${seed}`);
      const q0 = randomStart(64, seeded(`first-${seed}`));
      let q = q0;
      while (!(checkPrimeSync(q) && checkPrimeSync(2n * q + 1n))) q += 12n;
      const { p } = await findSafePrime({ bits: 64, random, powMod: modPow, window: 1 << 12 });
      assert.equal(p, 2n * q + 1n, `seed ${seed}: first safe prime after ${q0}`);
    }
  });

  it('yields at its checkpoints (so a worker notices its parent is gone)', async () => {
    let checkpoints = 0;
    const { tested } = await findSafePrime({ bits: 512, random: seeded('checkpoints'), powMod: powModOpenssl, batch: 1, checkpoint: async () => { checkpoints++; } });
    assert.equal(checkpoints, tested - 1, 'one checkpoint after every test but the successful one');
  });
});
