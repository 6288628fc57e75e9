// Process helpers for the integration-test kit: start long-running servers in
// their own process group with output captured to a log file, run short
// commands with a timeout, find free loopback ports, and wait for readiness.
//
// Leftover daemons are prevented three ways: every ManagedProcess is
// registered in a module-level set and a process 'exit' handler SIGKILLs the
// groups still alive; SIGINT/SIGTERM/SIGHUP to the test process do the same
// and then re-raise; and daemons are started through
// `setpriv --pdeathsig SIGKILL` so they die even if the test process is
// SIGKILLed (not inherited by processes they fork, e.g. `openssl ocsp -multi`
// children).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export interface StartProcessOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** stdout and stderr are appended here; required so failures can show a log tail. */
  logFile: string;
  /** Start in a new session/process group (default true). */
  detached?: boolean;
  /** Kill the process when the test process dies, via setpriv --pdeathsig (default true). */
  pdeathsig?: boolean;
}

export interface ManagedProcess {
  readonly pid: number;
  readonly child: ChildProcess;
  readonly logFile: string;
  /** Resolves when the process has exited (code or signal). */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** True once the child has exited. */
  hasExited(): boolean;
  /**
   * Sends `signal` (default SIGTERM) to the whole process group, waits up to
   * `timeoutMs` (default 5000) for exit, then SIGKILLs the group. Idempotent.
   */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<void>;
  /** Last `n` lines (default 40) of the log file. */
  logTail(n?: number): string;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

function killAllLive(): void {
  for (const p of live) {
    if (!p.hasExited()) killGroup(p.pid, 'SIGKILL');
  }
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', killAllLive);
  // Daemons run in their own sessions, so a signal to the test process (or
  // its process group) does not reach them: kill them, then re-raise so the
  // signal keeps its usual effect.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllLive();
      process.kill(process.pid, sig);
    });
  }
}

export function readTail(file: string, n = 40): string {
  if (!existsSync(file)) return `(no log file ${file})`;
  try {
    const lines = readFileSync(file, 'utf8').split('\n');
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    return lines.slice(-n).join('\n');
  } catch (e) {
    return `(cannot read ${file}: ${(e as Error).message})`;
  }
}

const SETPRIV = '/usr/bin/setpriv';
let setprivOk: boolean | undefined;
function hasSetprivPdeathsig(): boolean {
  if (setprivOk === undefined) {
    try {
      setprivOk = existsSync(SETPRIV) && execFileSync(SETPRIV, ['--help'], { encoding: 'utf8' }).includes('--pdeathsig');
    } catch {
      setprivOk = false;
    }
  }
  return setprivOk;
}

export function startProcess(argv: readonly string[], opts: StartProcessOptions): ManagedProcess {
  if (argv.length === 0) throw new Error('startProcess: empty argv');
  // Wrap in `setpriv --pdeathsig SIGKILL` (util-linux) so the daemon dies even
  // if the test process is SIGKILLed (no exit handler runs then). setpriv
  // execs the command: same pid, so stop() and process groups are unaffected.
  const full = opts.pdeathsig === false || !hasSetprivPdeathsig() ? [...argv] : [SETPRIV, '--pdeathsig', 'SIGKILL', '--', ...argv];
  const [cmd, ...args] = full;
  if (!cmd) throw new Error('startProcess: empty argv');
  installExitHook();
  appendFileSync(opts.logFile, `[${new Date().toISOString()}] $ ${argv.join(' ')}\n`);
  const fd = openSync(opts.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      // detached => setsid(): own session and process group, so stop() can
      // signal the whole group. openssl ocsp -multi needs detached:false
      // (it calls setpgid(0,0) itself, which a session leader may not).
      detached: opts.detached ?? true,
      stdio: ['ignore', fd, fd],
    });
  } finally {
    closeSync(fd);
  }
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
    });
    child.once('error', (err) => {
      // spawn failure (ENOENT...): record it in the log for logTail
      exitedFlag = true;
      try {
        appendFileSync(opts.logFile, `spawn error: ${err.message}\n`);
      } catch {
        /* ignore */
      }
      resolve({ code: -1, signal: null });
    });
  });
  // Do not keep the test runner's event loop alive because of a daemon.
  child.unref();
  const pid = child.pid ?? -1;
  let stopping: Promise<void> | null = null;

  const mp: ManagedProcess = {
    pid,
    child,
    logFile: opts.logFile,
    exited,
    hasExited: () => exitedFlag,
    stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 5000): Promise<void> {
      if (stopping) return stopping;
      stopping = (async () => {
        if (pid > 0) {
          // Signal the group even if the leader already exited: forked
          // children may still be alive in it.
          killGroup(pid, signal);
          const r = exitedFlag ? 'exited' : await raceRef(exited, timeoutMs);
          if (r === 'timeout') {
            killGroup(pid, 'SIGKILL');
            await raceRef(exited, 5000);
          }
          // Anything left in the group (children that ignored the signal).
          killGroup(pid, 'SIGKILL');
        }
        live.delete(mp);
      })();
      return stopping;
    },
    logTail: (n = 40) => readTail(opts.logFile, n),
  };
  live.add(mp);
  return mp;
}

/**
 * Waits for `p` or `ms`, keeping the event loop alive meanwhile with a ref'd
 * timer (children are unref'd, so awaiting their exit alone would let Node quit).
 */
async function raceRef<T>(p: Promise<T>, ms: number): Promise<'exited' | 'timeout'> {
  let t: NodeJS.Timeout | undefined;
  const timer = new Promise<'timeout'>((r) => {
    t = setTimeout(() => r('timeout'), ms);
  });
  try {
    return await Promise.race([p.then(() => 'exited' as const), timer]);
  } finally {
    clearTimeout(t);
  }
}

export interface WaitForOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Description used in the timeout error. */
  what?: string;
  /** Extra text appended to the timeout error (e.g. a log tail), computed lazily. */
  onTimeout?: () => string;
}

/** Thrown from a waitFor callback to stop waiting at once (e.g. the server died). */
export class AbortWait extends Error {}

/** Polls `fn` until it returns a truthy value (which is returned) or the timeout expires. */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<NonNullable<T>> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      if (e instanceof AbortWait) throw e;
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      const parts = [`timed out after ${timeoutMs} ms waiting for ${opts.what ?? 'condition'}`];
      if (lastErr) parts.push(`last error: ${(lastErr as Error).message ?? String(lastErr)}`);
      if (opts.onTimeout) parts.push(opts.onTimeout());
      throw new Error(parts.join('\n'));
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once. */
  input?: string | Buffer;
  /** Kill (SIGKILL, whole group) after this many ms; default 30000. */
  timeoutMs?: number;
  /** Throw if the exit code is not 0 (default false). */
  check?: boolean;
  /** Stop collecting stdout beyond this many bytes (default 64 MiB). stdoutBuffer has the raw bytes. */
  maxBuffer?: number;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  stdoutBuffer: Buffer;
  timedOut: boolean;
}

/** Runs a short-lived command; resolves (never rejects on exit code unless `check`). */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv;
  if (!cmd) return Promise.reject(new Error('run: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxBuffer = opts.maxBuffer ?? 64 * 1024 * 1024;
  return new Promise<RunResult>((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      size += b.length;
      if (size <= maxBuffer) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err.push(b);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`run ${argv.join(' ')}: ${e.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdoutBuffer = Buffer.concat(out);
      const res: RunResult = {
        code,
        signal,
        stdout: stdoutBuffer.toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        stdoutBuffer,
        timedOut,
      };
      if (opts.check && code !== 0) {
        reject(
          new Error(
            `command failed (code ${code}${signal ? `, signal ${signal}` : ''}${timedOut ? ', timed out' : ''}): ${argv.join(' ')}\n` +
              `stdout: ${res.stdout.slice(-2000)}\nstderr: ${res.stderr.slice(-2000)}`,
          ),
        );
        return;
      }
      resolve(res);
    });
    child.stdin.on('error', () => {
      /* EPIPE when the command does not read stdin */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}

/** Same as run(..., {check: true}). */
export function runChecked(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return run(argv, { ...opts, check: true });
}

/**
 * A port that was free on 127.0.0.1 a moment ago (bind to 0, read, close).
 * Ports handed out by this process are remembered and not handed out twice.
 */
const handedOut = new Set<number>();
export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = net.createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port > 0 && !handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('freePort: could not find a free port');
}

/** True if something listens on TCP `port` (any local address), per `ss -ltnH`. Never connects. */
export async function isTcpListening(port: number): Promise<boolean> {
  const r = await run(['ss', '-ltnH', `sport = :${port}`], { timeoutMs: 5000 });
  return r.code === 0 && r.stdout.trim().length > 0;
}

/** True if something has a UDP socket bound on `port`, per `ss -lunH`. */
export async function isUdpBound(port: number): Promise<boolean> {
  const r = await run(['ss', '-lunH', `sport = :${port}`], { timeoutMs: 5000 });
  return r.code === 0 && r.stdout.trim().length > 0;
}

/**
 * Waits until TCP `port` is in LISTEN state, checked with `ss -ltnH` (no
 * connection is made, which matters for `openssl ocsp`). If `proc` is given,
 * fails early when it exits, with its log tail.
 */
export async function waitForListeningPort(
  port: number,
  timeoutMs = 10_000,
  proc?: ManagedProcess,
): Promise<void> {
  await waitFor(
    async () => {
      if (proc) assertAlive(proc, `port ${port} listened`);
      return isTcpListening(port);
    },
    {
      timeoutMs,
      intervalMs: 50,
      what: `TCP port ${port} to listen`,
      onTimeout: () => (proc ? `log tail (${proc.logFile}):\n${proc.logTail()}` : ''),
    },
  );
}

/** Throws AbortWait (with the log tail) if `proc` has exited. For waitFor callbacks. */
export function assertAlive(proc: ManagedProcess, before = 'it was ready'): void {
  if (proc.hasExited()) {
    throw new AbortWait(`process ${proc.pid} exited before ${before}; log tail (${proc.logFile}):\n${proc.logTail()}`);
  }
}

/** Wraps an error with a process's log tail. */
export function withLogTail(e: unknown, proc: { logFile: string; logTail(n?: number): string }): Error {
  const msg = e instanceof Error ? e.message : String(e);
  return new Error(`${msg}\n--- log tail (${proc.logFile}) ---\n${proc.logTail()}`);
}

/** Milliseconds since `t0` (performance.now based), rounded. */
export function msSince(t0: number): number {
  return Math.round(performance.now() - t0);
}

/** A fresh 0700 directory under os.tmpdir() (fs.mkdtemp). */
export async function makeTempDir(prefix = 'tlskeeper-test-'): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

/**
 * Removes a directory made by makeTempDir, unless TLSKEEPER_KEEP_TMP is set
 * (then its path is printed so the logs can be read after a failure).
 */
export async function removeTempDir(dir: string | undefined): Promise<void> {
  if (!dir) return;
  if (process.env.TLSKEEPER_KEEP_TMP) {
    process.stderr.write(`[test kit] keeping ${dir}\n`);
    return;
  }
  await rm(dir, { recursive: true, force: true });
}
