// The worker race: real forked workers (small sizes), timeout, abort, and
// workers that die with their parent's IPC channel.
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { describe, it } from 'node:test';
import { checkDhBytes, defaultWorkerCount, generateDhParams, WORKER_PATH, workerExecArgv } from '../../../src/dh/index.js';
import { TlskeeperError } from '../../../src/errors/index.js';

/** Running (not a zombie, not gone). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX] /.test(stat);
  } catch {
    return false;
  }
}

async function waitGone(pids: number[], ms = 3000): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const alive = pids.filter(running);
    if (alive.length === 0 || Date.now() > deadline) return alive;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('workerExecArgv', () => {
  it('keeps loader flags, drops --test and --inspect, adds --import tsx for a .ts worker without a loader', () => {
    assert.deepEqual(workerExecArgv(['--import', 'tsx', '--test-concurrency=1', '--inspect'], '/x/worker.ts'), ['--import', 'tsx']);
    assert.deepEqual(workerExecArgv(['--import=tsx', '--enable-source-maps', '--test'], '/x/worker.ts'), ['--import=tsx', '--enable-source-maps']);
    assert.deepEqual(workerExecArgv(['-r', 'foo', '--conditions', 'dev'], '/x/worker.js'), ['-r', 'foo', '--conditions', 'dev']);
    assert.deepEqual(workerExecArgv([], '/x/worker.ts'), ['--import', 'tsx']);
    assert.deepEqual(workerExecArgv(['--conditions', 'dev'], '/x/worker.ts'), ['--conditions', 'dev', '--import', 'tsx']);
    assert.deepEqual(workerExecArgv([], '/x/worker.js'), []);
  });

  it('the worker sits next to this module with the same extension', () => {
    assert.match(WORKER_PATH, /src\/dh\/worker\.ts$/);
  });
});

describe('generateDhParams', () => {
  it('bounds the workers by the cores', () => {
    assert.equal(defaultWorkerCount(), availableParallelism());
    assert.equal(defaultWorkerCount(1000), availableParallelism());
    assert.equal(defaultWorkerCount(0), 1);
  });

  it('returns verified 512-bit parameters; every worker is gone when it returns', async () => {
    let pids: number[] = [];
    const r = await generateDhParams({ bits: 512, timeoutMs: 60_000, onWorkers: (p) => { pids = p; } });
    assert.equal(r.check.code, 'DH_OK');
    assert.equal(r.rounds, 1);
    assert.equal(r.workers, availableParallelism());
    assert.equal(pids.length, r.workers);
    assert.deepEqual(pids.filter(running), [], 'losers killed and reaped before returning');
    assert.match(r.pem, /^-----BEGIN DH PARAMETERS-----\n[A-Za-z0-9+/=\n]+-----END DH PARAMETERS-----\n$/);
    const again = await checkDhBytes(Buffer.from(r.pem), 512);
    assert.equal(again.facts.pMod24, 23);
    assert.equal(again.facts.generator, '2');
  });

  it('times out with a clear error and kills every worker', async () => {
    let pids: number[] = [];
    const t0 = performance.now();
    await assert.rejects(
      generateDhParams({ bits: 4096, timeoutMs: 400, object: '/x/dh4096.pem', onWorkers: (p) => { pids = p; } }),
      (err: unknown) => {
        assert.ok(err instanceof TlskeeperError);
        assert.equal(err.code, 'DH_GENERATION_TIMEOUT');
        assert.match(err.message, /\/x\/dh4096\.pem: no 4096-bit safe prime found within/);
        assert.match(err.hint!, /timeout.*ffdhe3072/);
        return true;
      },
    );
    assert.ok(performance.now() - t0 < 5000, 'the timeout is hard (400 ms, plus killing and reaping)');
    assert.ok(pids.length > 0);
    assert.deepEqual(pids.filter(running), []);
  });

  it('stops at once when the run is aborted (daemon shutdown), before or during the search', async () => {
    const ac = new AbortController();
    let pids: number[] = [];
    const p = generateDhParams({ bits: 4096, timeoutMs: 60_000, signal: ac.signal, onWorkers: (x) => { pids = x; setTimeout(() => ac.abort(), 100); } });
    await assert.rejects(p, (err: unknown) => (err as TlskeeperError).code === 'DH_GENERATION_ABORTED');
    assert.deepEqual(pids.filter(running), []);
    await assert.rejects(generateDhParams({ bits: 512, timeoutMs: 60_000, signal: AbortSignal.abort() }),
      (err: unknown) => (err as TlskeeperError).code === 'DH_GENERATION_ABORTED');
  });

  // 3072: the sieved search (synchronous between checkpoints); 4096: OpenSSL's own search on the pool.
  for (const bits of ['3072', '4096']) {
    it(`a ${bits}-bit worker kills itself when its parent’s IPC channel closes (as when the parent is SIGKILLed)`, async () => {
      const child = fork(WORKER_PATH, [bits], { execArgv: workerExecArgv(), stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      await new Promise((r) => setTimeout(r, 1000)); // let it load and start searching
      assert.ok(running(child.pid!));
      child.disconnect();
      const signal = await Promise.race([exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 3000))]);
      assert.equal(signal, 'SIGKILL');
      assert.deepEqual(await waitGone([child.pid!]), []);
    });
  }

  it('reports a worker failure (bad size) instead of hanging', async () => {
    await assert.rejects(generateDhParams({ bits: 20, timeoutMs: 20_000 }),
      (err: unknown) => (err as TlskeeperError).code === 'DH_WORKER_FAILED' && /invalid bit size 20/.test((err as Error).message));
  });
});
