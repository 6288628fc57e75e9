/**
 * Safe-prime generation in killable worker processes.
 *
 * Safe-prime search is a random walk whose time varies widely (8–40 s for
 * 2048 bits with `openssl dhparam` here): each failed candidate starts a new
 * random search, so several searches racing on several cores finish much
 * sooner than one (measured: about 5× lower median time to the first prime
 * with two searches on two cores). So: one forked worker per core
 * (os.availableParallelism()), the first prime that passes the checks wins,
 * the others are SIGKILLed at once. Restarting a loser later loses nothing,
 * because the search has no memory.
 *
 * The daemon's event loop never waits on any of it: the searches run in
 * other processes, IPC is asynchronous, and the checks of the winner run on
 * the libuv pool (./math.ts). A hard timeout per file kills every worker;
 * workers also die on their own when the parent dies (./worker.ts).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TlskeeperError, ValidationError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { toPem } from '../pki/index.js';
import { formatDuration } from '../util/index.js';
import { checkDhBytes, PEM_LABEL, type DhCheck } from './check.js';
import { bitLength, encodeDhParameter } from './der.js';
import type { WorkerMessage } from './worker.js';

const SELF = fileURLToPath(import.meta.url);
/**
 * The worker module next to this one, with this module's own extension:
 * `worker.ts` when running from source under tsx, `worker.js` in dist/.
 */
export const WORKER_PATH = join(dirname(SELF), `worker${extname(SELF)}`);

/** Node flags that take a value and that a worker needs to load TypeScript the way its parent does. */
const LOADER_FLAGS = new Set(['--import', '--require', '-r', '--loader', '--experimental-loader', '--conditions', '-C']);

/**
 * The parent's loader flags (e.g. `--import tsx`), and nothing else: a
 * parent started with `--test`, `--inspect` or `--watch` must not pass those
 * on. A `.ts` worker without any loader flag gets `--import tsx`.
 */
export function workerExecArgv(parentExecArgv: readonly string[] = process.execArgv, workerPath: string = WORKER_PATH): string[] {
  const out: string[] = [];
  for (let i = 0; i < parentExecArgv.length; i++) {
    const arg = parentExecArgv[i]!;
    const name = arg.split('=', 1)[0]!;
    if (LOADER_FLAGS.has(name)) {
      if (arg.includes('=')) out.push(arg);
      else if (i + 1 < parentExecArgv.length) out.push(arg, parentExecArgv[++i]!);
    } else if (arg === '--enable-source-maps' || arg === '--no-warnings') {
      out.push(arg);
    }
  }
  const hasLoader = out.some((a) => LOADER_FLAGS.has(a.split('=', 1)[0]!) && !a.startsWith('--conditions') && !a.startsWith('-C'));
  if (workerPath.endsWith('.ts') && !hasLoader) out.push('--import', 'tsx');
  return out;
}

export interface GenerateOptions {
  bits: number;
  /** Hard limit for the whole generation, checks included. */
  timeoutMs: number;
  signal?: AbortSignal;
  /** Parallel searches; default (and upper bound) os.availableParallelism(). */
  workers?: number;
  /** For messages: the file the parameters are for. */
  object?: string;
  log?: Logger;
  /** Called with the worker pids of each race (tests, benchmark). */
  onWorkers?: (pids: number[]) => void;
}

export interface GeneratedDhParams {
  pem: string;
  check: DhCheck;
  workers: number;
  durationMs: number;
  /** Races run: more than 1 only when a worker's prime failed verification. */
  rounds: number;
}

/** A worker's prime that failed verification is a bug; give up after this many. */
const MAX_ROUNDS = 3;
/** After SIGKILL a child is reaped within milliseconds; do not wait forever for the exit events. */
const REAP_WAIT_MS = 2000;

export function defaultWorkerCount(requested?: number): number {
  const cores = Math.max(1, availableParallelism());
  return requested === undefined ? cores : Math.max(1, Math.min(cores, Math.floor(requested)));
}

/** Generate PKCS#3 DH parameters (safe prime p ≡ 23 mod 24, g = 2) and verify them with the file checks. */
export async function generateDhParams(opts: GenerateOptions): Promise<GeneratedDhParams> {
  const started = performance.now();
  const deadline = started + opts.timeoutMs;
  const workers = defaultWorkerCount(opts.workers);
  const object = opts.object ?? `${opts.bits}-bit DH parameters`;
  const rejected: string[] = [];
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const p = await race({ ...opts, workers, deadline, object, started });
    const pem = toPem(PEM_LABEL, encodeDhParameter({ p, g: 2n }));
    const check = await checkDhBytes(Buffer.from(pem, 'ascii'), opts.bits);
    if (check.severity === 'OK') {
      return { pem, check, workers, durationMs: performance.now() - started, rounds: round };
    }
    // Never expected (OpenSSL already tested both p and q); the checks are the last word.
    rejected.push(`${check.code}: ${check.message}`);
    opts.log?.error({ object, code: check.code }, `generated parameters failed verification: ${check.message}`);
    if (performance.now() >= deadline) break;
  }
  throw new ValidationError(`${object}: generated parameters failed verification ${rejected.length} times (${rejected.join('; ')})`, {
    code: 'DH_GENERATED_INVALID', object,
    hint: 'nothing was written; this points at a broken OpenSSL build or a tlskeeper bug — please report it with this message',
  });
}

interface RaceOptions extends GenerateOptions {
  workers: number;
  deadline: number;
  object: string;
  started: number;
}

/** Run `workers` searches; resolve with the first plausible prime, after every worker has exited. */
function race(opts: RaceOptions): Promise<bigint> {
  const { bits, workers, deadline, object, signal, log } = opts;
  return new Promise<bigint>((resolve, reject) => {
    const children: ChildProcess[] = [];
    const exited = new Set<ChildProcess>();
    const problems: string[] = [];
    let stderrTail = '';
    let outcome: { ok: true; p: bigint } | { ok: false; err: Error } | undefined;
    let onAllExited: (() => void) | undefined;

    const settle = (o: NonNullable<typeof outcome>) => {
      if (outcome) return;
      outcome = o;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      for (const child of children) if (!exited.has(child)) child.kill('SIGKILL');
      const deliver = () => {
        clearTimeout(reapTimer);
        if (o.ok) resolve(o.p);
        else reject(o.err);
      };
      const reapTimer = setTimeout(deliver, REAP_WAIT_MS);
      if (exited.size === children.length) deliver();
      else onAllExited = deliver;
    };

    const markExited = (child: ChildProcess) => {
      if (exited.has(child)) return;
      exited.add(child);
      if (exited.size < children.length) return;
      if (outcome) onAllExited?.();
      else {
        settle({
          ok: false,
          err: new TlskeeperError(`${object}: every prime search failed${problems.length ? `: ${problems.join('; ')}` : ''}${stderrTail ? ` (stderr: ${stderrTail.trim().slice(-500)})` : ''}`, {
            code: 'DH_WORKER_FAILED', object,
            hint: 'nothing was written and the previous file is unchanged; check that tlskeeper can start node child processes (memory, process limits)',
          }),
        });
      }
    };

    const onAbort = () => settle({
      ok: false,
      err: new TlskeeperError(`${object}: generation abandoned (tlskeeper is stopping)`, {
        code: 'DH_GENERATION_ABORTED', object, hint: 'nothing was written and the previous file is unchanged; the next run starts again',
      }),
    });

    const remaining = Math.max(0, deadline - performance.now());
    const timer = setTimeout(() => settle({
      ok: false,
      err: new TlskeeperError(`${object}: no ${bits}-bit safe prime found within ${formatDuration(opts.timeoutMs)} (${workers} parallel searches)`, {
        code: 'DH_GENERATION_TIMEOUT', object,
        hint: 'the search time varies widely and grows steeply with the size; nothing was written and the previous file is unchanged. Raise this entry\'s `timeout`, or use a smaller `bits`, or use an RFC 7919 group (Exim: tls_dhparam = ffdhe3072), which needs no file',
      }),
    }), remaining);

    if (signal?.aborted) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });

    const execArgv = workerExecArgv();
    for (let i = 0; i < workers; i++) {
      let child: ChildProcess;
      try {
        child = fork(WORKER_PATH, [String(bits)], { execArgv, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
      } catch (err) {
        problems.push(`cannot start a worker: ${(err as Error).message}`);
        continue;
      }
      children.push(child);
      child.stderr?.on('data', (d: Buffer) => { if (stderrTail.length < 4096) stderrTail += d.toString(); });
      child.on('message', (m: WorkerMessage) => {
        if (outcome) return;
        if (m?.type === 'prime' && /^[0-9a-f]+$/.test(m.hex)) {
          const p = BigInt(`0x${m.hex}`);
          // Cheap plausibility here; the full checks run on the winner.
          if (bitLength(p) === bits && p % 24n === 23n) {
            log?.debug({ object, pid: child.pid, ms: Math.round(performance.now() - opts.started) }, 'prime search finished first');
            settle({ ok: true, p });
          } else {
            problems.push(`worker returned a ${bitLength(p)}-bit number ≡ ${p % 24n} (mod 24)`);
          }
        } else if (m?.type === 'error') {
          problems.push(m.message);
        }
      });
      child.on('error', (err) => {
        problems.push(err.message);
        if (child.pid === undefined) markExited(child);
      });
      child.on('exit', () => markExited(child));
    }
    if (children.length === 0) {
      settle({
        ok: false,
        err: new TlskeeperError(`${object}: could not start any prime search: ${problems.join('; ')}`, {
          code: 'DH_WORKER_FAILED', object, hint: 'nothing was written; check process limits and that node can start child processes',
        }),
      });
      return;
    }
    log?.debug({ object, bits, workers: children.length, pids: children.map((c) => c.pid) }, 'prime searches started');
    opts.onWorkers?.(children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined));
  });
}
