/**
 * Safe-prime search with a deep sieve, run inside a DH worker (./worker.ts).
 *
 * Why not OpenSSL's own search (crypto.generatePrime, what `openssl dhparam`
 * runs): its cost is almost all Miller–Rabin exponentiations on candidates
 * that survived trial division, and OpenSSL trial-divides by only the first
 * 2,048 primes (up to 17,863; bn_prime.h). The chance that a random q and
 * 2q + 1 both escape every prime up to B falls like 1/(ln B)², so sieving
 * both up to 2²¹ instead leaves (ln 17863 / ln 2²¹)² ≈ 0.45 of the
 * candidates to exponentiate: about 2.2× less work for the same answer. The
 * sieve itself (one residue of q₀ per small prime, then striding through a
 * window) costs a few per cent of the search. This is how OpenSSH builds its
 * moduli file (ssh-keygen -M generate sieves, then tests), and how OpenSSL
 * itself searches (an increment from a random start, not a new random
 * number per candidate), so the distribution of results is no worse.
 *
 * The form is fixed by g = 2: q ≡ 11 (mod 12), so q is odd, neither q nor
 * p = 2q + 1 is divisible by 3, and p ≡ 23 (mod 24) exactly as OpenSSL's
 * dh_builtin_genparams asks (add = 24, rem = 23); p ≡ 7 (mod 8) makes 2 a
 * quadratic residue, so 2 generates the subgroup of prime order q.
 *
 * Each survivor gets one base-2 test of p (2^q ≡ 1 mod p, Euler's criterion
 * for a residue), which nearly every composite fails; only then one of q
 * (2^(q−1) ≡ 1 mod q). A pair that passes both is reported; the parent runs
 * the full checks (64 Miller–Rabin rounds on p and on q, ./math.ts) before
 * anything is written, so a base-2 pseudoprime (vanishingly rare at these
 * sizes) is rejected there, never installed.
 *
 * Everything here is pure apart from `random` and `powMod`, which are
 * injected: the worker passes crypto.randomBytes and OpenSSL's modular
 * exponentiation (./modexp.ts); tests pass small deterministic ones.
 */

/** Sieve primes below this; 2²¹ keeps q₀ mod r exact in doubles with 32-bit limbs (r · 2³² < 2⁵³). */
export const DEFAULT_SIEVE_LIMIT = 1 << 21;
/** Candidates per sieve window (one byte each). */
export const DEFAULT_WINDOW = 1 << 18;
/** Candidate q values step by 12 to keep q ≡ 11 (mod 12). */
const STEP = 12;

/** The odd primes 5 ≤ r < limit (2 and 3 are excluded by the form q ≡ 11 mod 12). */
export function sievingPrimes(limit: number): Uint32Array {
  const composite = new Uint8Array(limit);
  const out: number[] = [];
  for (let i = 2; i < limit; i++) {
    if (composite[i]) continue;
    if (i >= 5) out.push(i);
    for (let j = i * i; j < limit; j += i) composite[j] = 1;
  }
  return Uint32Array.from(out);
}

/** n mod r for a small r (< 2²¹), from n's 32-bit limbs (Horner; every product stays below 2⁵³). */
export function modSmall(limbs: Uint32Array, r: number): number {
  let acc = 0;
  for (let i = 0; i < limbs.length; i++) acc = (acc * 4294967296 + limbs[i]!) % r;
  return acc;
}

/** Big-endian 32-bit limbs of a non-negative n. */
export function toLimbs(n: bigint): Uint32Array {
  let hex = n.toString(16);
  hex = hex.padStart(Math.ceil(hex.length / 8) * 8, '0');
  const limbs = new Uint32Array(hex.length / 8);
  for (let i = 0; i < limbs.length; i++) limbs[i] = parseInt(hex.slice(i * 8, i * 8 + 8), 16);
  return limbs;
}

/** x⁻¹ mod m for gcd(x, m) = 1 (extended Euclid on small numbers). */
function inverseMod(x: number, m: number): number {
  let [a, b, u, v] = [x % m, m, 1, 0];
  while (b !== 0) {
    const t = Math.floor(a / b);
    [a, b] = [b, a - t * b];
    [u, v] = [v, u - t * v];
  }
  return ((u % m) + m) % m;
}

/** A uniformly random starting q₀ ≡ 11 (mod 12) with p = 2q₀ + 1 of exactly `bits` bits and its top two bits set. */
export function randomStart(bits: number, random: (bytes: number) => Uint8Array): bigint {
  const qBits = bits - 1;
  const bytes = random(Math.ceil(qBits / 8));
  let q = BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
  q &= (1n << BigInt(qBits)) - 1n;
  // Top two bits of q set: p stays `bits` long for the whole window (the
  // window spans far fewer than 2^(bits−3) values), as OpenSSL sets the top
  // bits of its candidates.
  q |= 3n << BigInt(qBits - 2);
  const start = q - (q % 12n) + 11n;
  return start >> BigInt(qBits) === 0n ? start : start - 12n;
}

export interface SafePrimeSearchOptions {
  bits: number;
  /** `bytes` uniformly random bytes (crypto.randomBytes in the worker). */
  random: (bytes: number) => Uint8Array;
  /** base^exponent mod modulus (OpenSSL's, through ./modexp.ts, in the worker). */
  powMod: (base: bigint, exponent: bigint, modulus: bigint) => bigint;
  sieveLimit?: number;
  window?: number;
  /** Called between batches of tests; the worker yields to its event loop there so it notices a dead parent. */
  checkpoint?: () => Promise<void>;
  /** Survivors tested between checkpoints. */
  batch?: number;
}

export interface SafePrimeFound {
  p: bigint;
  /** Candidates that survived the sieve and were exponentiated (the search's real cost). */
  tested: number;
  windows: number;
}

/**
 * Search from a random start until a q ≡ 11 (mod 12) is found with q and
 * 2q + 1 both passing a base-2 test. Runs until found: the caller (a worker
 * process) is killed on timeout.
 */
export async function findSafePrime(opts: SafePrimeSearchOptions): Promise<SafePrimeFound> {
  const { bits, powMod } = opts;
  const limit = opts.sieveLimit ?? DEFAULT_SIEVE_LIMIT;
  const window = opts.window ?? DEFAULT_WINDOW;
  const batch = opts.batch ?? 16;
  // Small sizes (tests) must not sieve away their own primes: only sieve by r < q₀.
  const primes = sievingPrimes(Math.min(limit, 2 ** Math.max(3, bits - 3)));
  const q0 = randomStart(bits, opts.random);
  const limbs = toLimbs(q0);
  // For each r: the first index k ≥ 0 (in the current window) with r | q₀ + 12k,
  // and the first with r | 2(q₀ + 12k) + 1, i.e. q₀ + 12k ≡ (r − 1)/2 (mod r).
  const hitQ = new Float64Array(primes.length);
  const hitP = new Float64Array(primes.length);
  for (let i = 0; i < primes.length; i++) {
    const r = primes[i]!;
    const q0r = modSmall(limbs, r);
    const inv12 = inverseMod(STEP % r, r);
    hitQ[i] = (((r - q0r) % r) * inv12) % r;
    hitP[i] = (((((r - 1) / 2 - q0r) % r + r) % r) * inv12) % r;
  }
  const sieve = new Uint8Array(window);
  let tested = 0;
  for (let w = 0; ; w++) {
    sieve.fill(0);
    for (let i = 0; i < primes.length; i++) {
      const r = primes[i]!;
      let k = hitQ[i]!;
      for (; k < window; k += r) sieve[k] = 1;
      hitQ[i] = k - window;
      k = hitP[i]!;
      for (; k < window; k += r) sieve[k] = 1;
      hitP[i] = k - window;
    }
    const base = q0 + BigInt(STEP * window) * BigInt(w);
    // Ran off the top (only conceivable for tiny test sizes): start again elsewhere.
    if ((base + BigInt(STEP * window)) >> BigInt(bits - 1) !== 0n) {
      const again = await findSafePrime(opts);
      return { ...again, tested: again.tested + tested, windows: again.windows + w };
    }
    let sinceCheckpoint = 0;
    for (let k = 0; k < window; k++) {
      if (sieve[k]) continue;
      const q = base + BigInt(STEP * k);
      const p = 2n * q + 1n;
      tested++;
      // Euler's criterion for the residue 2 (p ≡ 7 mod 8): 2^q ≡ 1 (mod p) for a prime p.
      if (powMod(2n, q, p) === 1n && powMod(2n, q - 1n, q) === 1n) return { p, tested, windows: w + 1 };
      if (opts.checkpoint && ++sinceCheckpoint >= batch) {
        sinceCheckpoint = 0;
        await opts.checkpoint();
      }
    }
    await opts.checkpoint?.();
  }
}
