/**
 * Reload targets: what tells a server to pick up new files.
 *
 * Contract of a ReloadTarget: `reload()` returns only once the server has been
 * told (the command exited 0); it never throws; a failure is reported in the
 * outcome with the command's stderr tail. Commands run without a shell, with a
 * timeout, and are killed (SIGKILL to the process group) past it.
 */
import { spawn } from 'node:child_process';
import type { Logger } from '../log/index.js';

export interface ReloadOutcome {
  ok: boolean;
  message: string;
}

export interface ReloadRequestLike {
  object: string;
  argv: string[];
  timeoutMs: number;
}

export async function runReload(req: ReloadRequestLike, opts: { signal?: AbortSignal; log?: Logger } = {}): Promise<ReloadOutcome> {
  const { argv, timeoutMs } = req;
  const outcome = await runCommand(argv, { timeoutMs, ...(opts.signal ? { signal: opts.signal } : {}) });
  const message = outcome.ok
    ? `reloaded: ${argv.join(' ')}`
    : `reload failed: ${argv.join(' ')}: ${outcome.reason}${outcome.stderr ? `: ${outcome.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
  if (outcome.ok) opts.log?.info({ object: req.object, argv }, message);
  else opts.log?.error({ object: req.object, argv }, message);
  return { ok: outcome.ok, message };
}

export interface CommandOutcome {
  ok: boolean;
  code: number | null;
  reason: string;
  stdout: string;
  stderr: string;
}

/** Run argv without a shell; capture at most 64 KiB of each stream. */
export function runCommand(
  argv: string[],
  opts: { timeoutMs: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv; input?: string },
): Promise<CommandOutcome> {
  return new Promise((resolve) => {
    const cap = 64 * 1024;
    let stdout = '';
    let stderr = '';
    let settled = false;
    const child = spawn(argv[0]!, argv.slice(1), {
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      env: opts.env ?? process.env,
      detached: true,
    });
    const finish = (o: CommandOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      resolve(o);
    };
    const kill = () => {
      try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
    };
    const timer = setTimeout(() => {
      kill();
      finish({ ok: false, code: null, reason: `timed out after ${opts.timeoutMs} ms`, stdout, stderr });
    }, opts.timeoutMs);
    const onAbort = () => {
      kill();
      finish({ ok: false, code: null, reason: 'aborted', stdout, stderr });
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (d: Buffer) => { if (stdout.length < cap) stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { if (stderr.length < cap) stderr += d.toString(); });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    child.on('error', (err) => finish({ ok: false, code: null, reason: err.message, stdout, stderr }));
    child.on('close', (code, signal) =>
      finish({ ok: code === 0, code, reason: code === 0 ? 'ok' : signal ? `killed by ${signal}` : `exit status ${code}`, stdout, stderr }));
  });
}
