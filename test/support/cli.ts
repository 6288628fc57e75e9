/**
 * Drive tlskeeper's CLI in-process, as a postmaster would from the shell:
 * `await tlskeeper(['--config', cfg, '--json', 'status'], { now })`.
 */
import { main } from '../../src/cli/index.js';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON (for --json runs). */
  json<T = any>(): T;
}

export async function tlskeeper(args: string[], opts: { now?: Date | (() => Date); env?: NodeJS.ProcessEnv } = {}): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const now = opts.now instanceof Date ? () => opts.now as Date : opts.now ?? (() => new Date());
  const code = await main(args, {
    stdout: (s) => { stdout += s; },
    stderr: (s) => { stderr += s; },
    env: { ...(opts.env ?? {}) },
    now,
  });
  return {
    code, stdout, stderr,
    json<T>() {
      try {
        return JSON.parse(stdout) as T;
      } catch {
        throw new Error(`stdout is not JSON:\n${stdout}\nstderr:\n${stderr}`);
      }
    },
  };
}
