// tlskeeper killed with SIGKILL in the middle of a 4096-bit generation (a
// search that takes minutes): the live file is untouched, no temp file is
// left, and the workers die on their own (their IPC channel closes) even
// though nobody signals them. Then the hard timeout, through the CLI, after
// taking over the dead run's lock.
import assert from 'node:assert/strict';
import { getDiffieHellman } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeDhParameter } from '../../src/dh/index.js';
import { toPem } from '../../src/pki/index.js';
import { tlskeeper } from '../support/cli.js';
import { run, startProcess, waitFor, type ManagedProcess } from '../support/proc.js';

const REPO = new URL('../../', import.meta.url).pathname;
const CLI = join(REPO, 'src/cli/main.ts');

/** Running, i.e. neither gone nor a zombie waiting for a reaper. */
async function running(pid: number): Promise<boolean> {
  try {
    const st = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(st);
  } catch {
    return false;
  }
}

/** Worker processes (pid, ppid) whose command line names the dh worker module. */
async function workers(): Promise<Array<{ pid: number; ppid: number; args: string }>> {
  const r = await run(['ps', '-eo', 'pid=,ppid=,args=']);
  return r.stdout.split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }))
    .filter((p) => p.args.includes('src/dh/worker.ts'));
}

describe('dhparams: SIGKILL mid-generation and the hard timeout', { timeout: 120_000 }, () => {
  let dir: string;
  let cfg: string;
  let file: string;
  let original: Buffer;
  let originalMtime: number;
  let proc: ManagedProcess | undefined;
  const seen = new Set<number>();

  const writeConfig = (timeout: string) => writeFile(cfg, JSON.stringify({
    state_dir: join(dir, 'state'),
    // reader: root — this test is about killing, not about who may read the file (see dh-files).
    dhparams: [{ file, bits: 4096, timeout, reader: 'root' }],
  }));

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-dh-kill-'));
    await mkdir(join(dir, 'dh'));
    file = join(dir, 'dh', 'dh4096.pem');
    // A valid 4096-bit file (RFC 3526 group 16): only --force replaces it.
    const p = BigInt(`0x${getDiffieHellman('modp16').getPrime('hex')}`);
    await writeFile(file, toPem('DH PARAMETERS', encodeDhParameter({ p, g: 2n })), { mode: 0o400 });
    original = await readFile(file);
    originalMtime = (await stat(file)).mtimeMs;
    cfg = join(dir, 'config.yaml');
    await writeConfig('15m');
  });
  after(async () => {
    await proc?.stop('SIGKILL');
    // Never leave a 4096-bit search burning the CI's cores, whatever failed.
    for (const pid of seen) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await rm(dir, { recursive: true, force: true });
  });

  it('status says the old file is valid', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(r.code, 0, r.stdout);
  });

  it('SIGKILL of tlskeeper leaves the old file untouched and no worker behind', async () => {
    proc = startProcess([process.execPath, '--import', 'tsx', CLI, '--config', cfg, 'refresh', '--force', 'dhparams'], {
      cwd: REPO, logFile: join(dir, 'tlskeeper.log'),
    });
    const mine = await waitFor(async () => {
      const w = (await workers()).filter((x) => x.ppid === proc!.pid);
      w.forEach((x) => seen.add(x.pid));
      return w.length === availableParallelism() ? w : undefined;
    }, { timeoutMs: 30_000, what: 'the prime-search workers to start', onTimeout: () => proc!.logTail() });
    await new Promise((r) => setTimeout(r, 500)); // mid-search
    // Only the main process: the workers must notice on their own.
    process.kill(proc.pid, 'SIGKILL');
    await waitFor(() => proc!.hasExited(), { timeoutMs: 5000, what: 'tlskeeper to die' }); // (the child is unref'd: poll, do not just await)
    await waitFor(async () => {
      for (const w of mine) if (await running(w.pid)) return false;
      return true;
    }, { timeoutMs: 5000, what: `workers ${mine.map((w) => w.pid).join(', ')} to exit after their parent died` });

    assert.deepEqual(await readFile(file), original);
    assert.equal((await stat(file)).mtimeMs, originalMtime);
    assert.deepEqual((await readdir(join(dir, 'dh'))).sort(), ['dh4096.pem'], 'no temp file');
    await assert.rejects(readdir(join(dir, 'state', 'dhparams-old')), 'nothing was moved away');
  });

  it('the next run takes over the dead run\'s lock; the hard timeout stops it with a clear error', async () => {
    await writeConfig('2s');
    const t0 = Date.now();
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', '--force', 'dhparams']);
    assert.equal(r.code, 1, r.stdout);
    assert.ok(Date.now() - t0 < 30_000, 'the timeout is hard (2 s of search; the rest is start-up and the checks of the old file on a loaded machine)');
    const res = r.json<{ results: Array<{ outcome: string; error?: { code: string; message: string; hint?: string } }> }>().results;
    assert.equal(res.length, 1, r.stdout);
    assert.equal(res[0]!.outcome, 'failed', r.stdout);
    assert.equal(res[0]!.error?.code, 'DH_GENERATION_TIMEOUT', r.stdout);
    assert.match(res[0]!.error!.message, /no 4096-bit safe prime found within 2s/);
    assert.match(res[0]!.error!.hint!, /previous file is unchanged/);
    assert.deepEqual(await readFile(file), original);
    const left = (await workers()).filter((w) => w.ppid === process.pid);
    assert.deepEqual(left, [], `no worker left: ${JSON.stringify(left)}`);
    assert.deepEqual(await readdir(join(dir, 'state', 'locks')), [], 'lock released');
  });
});
