/**
 * One safe-prime search, in a child process forked by ./generate.ts.
 *
 * Why a process and not a call in the daemon: crypto.generatePrime runs on
 * the libuv pool and cannot be cancelled; a process that raced several calls
 * stayed alive until every call had finished, 18–74 s after process.exit()
 * (measured on Debian 12). A child process ends at once on SIGKILL, so the
 * losers of a race and a timed-out search cost nothing after they are killed.
 *
 * Up to 3,072 bits the search is ./sieve.ts (a deep sieve, then base-2
 * tests with OpenSSL's exponentiation): about 2× less work than OpenSSL's
 * own search for the same kind of prime. Above that OpenSSL's exponentiation
 * is not reachable with a large exponent (./modexp.ts), and the search is
 * OpenSSL's own: BN_generate_prime_ex with safe = 1, add = 24, rem = 23,
 * exactly what `openssl dhparam` does for g = 2 (crypto/dh/dh_gen.c,
 * dh_builtin_genparams). Either way p ≡ 23 (mod 24), so p ≡ 7 (mod 8), 2 is a
 * quadratic residue and generates the subgroup of prime order q = (p−1)/2
 * (quadratic reciprocity: (2/p) = 1 iff p ≡ ±1 mod 8). Exim spec ch. 42 §3
 * describes the manual procedure this replaces.
 *
 * Protocol (IPC, JSON): argv[2] is the bit size; the child sends
 * `{ type: 'prime', hex }` or `{ type: 'error', message }` and exits.
 * It kills itself when the IPC channel closes, which is how it notices that
 * the parent died (even by SIGKILL): an orphaned search never outlives it.
 */
import { generatePrime, randomBytes } from 'node:crypto';
import { canPowModOpenssl, powModOpenssl } from './modexp.js';
import { findSafePrime } from './sieve.js';

export type WorkerMessage = { type: 'prime'; hex: string } | { type: 'error'; message: string };

/** SIGKILL, not process.exit(): exit would wait for the uncancellable pool thread. */
function die(): never {
  process.kill(process.pid, 'SIGKILL');
  // Unreachable: SIGKILL cannot be caught. Keeps the type checker honest.
  throw new Error('unreachable');
}

function send(msg: WorkerMessage, code: number): void {
  process.send!(msg, undefined, {}, () => process.exit(code));
}

if (typeof process.send !== 'function' || !process.connected) {
  process.stderr.write('tlskeeper dh worker: must be started by tlskeeper (child_process.fork with an IPC channel)\n');
  process.exit(2);
}
process.on('disconnect', die);

const bits = Number(process.argv[2]);
if (!Number.isInteger(bits) || bits < 64 || bits > 16384) {
  send({ type: 'error', message: `invalid bit size ${process.argv[2]}` }, 1);
} else if (canPowModOpenssl(bits)) {
  // The search is synchronous between checkpoints; yielding there lets the
  // 'disconnect' handler run, so a worker whose parent died stops within a batch.
  findSafePrime({ bits, random: randomBytes, powMod: powModOpenssl, checkpoint: () => new Promise((r) => setImmediate(r)) })
    .then((found) => send({ type: 'prime', hex: found.p.toString(16) }, 0))
    .catch((err: Error) => send({ type: 'error', message: err.message }, 1));
} else {
  generatePrime(bits, { safe: true, add: 24n, rem: 23n, bigint: true }, (err, prime) => {
    if (err) send({ type: 'error', message: err.message }, 1);
    else send({ type: 'prime', hex: prime.toString(16) }, 0);
  });
}
