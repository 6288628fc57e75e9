/**
 * Reload actions (src/reload): argv without a shell, a hard timeout that
 * kills the whole process group, and failures reported, never thrown.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCommand, runReload } from '../../../src/reload/index.js';
import { processAlive } from '../../../src/store/index.js';

describe('reload actions', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tlskeeper-reload-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('runs the argv without a shell: metacharacters are plain bytes of an argument', async () => {
    const name = 'a b; touch pwned $(touch pwned2)';
    const r = await runReload({ object: 'mx', argv: ['touch', join(dir, name)], timeoutMs: 5000 });
    assert.equal(r.ok, true, r.message);
    assert.deepEqual(await readdir(dir), [name]);
  });

  it('kills the command and everything it started once the timeout passes', async () => {
    const script = `echo $$ > ${dir}/sh.pid; sleep 30 & echo $! > ${dir}/bg.pid; wait`;
    const r = await runCommand(['sh', '-c', script], { timeoutMs: 300 });
    assert.equal(r.ok, false);
    assert.equal(r.reason, 'timed out after 300 ms');
    const pids = [Number(await readFile(join(dir, 'sh.pid'), 'utf8')), Number(await readFile(join(dir, 'bg.pid'), 'utf8'))];
    // SIGKILL went to the process group; wait for the kernel to reap them (the orphaned sleep is reaped by init).
    for (let i = 0; i < 100 && pids.some(processAlive); i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(pids.map(processAlive), [false, false], 'the shell and its background child are gone');
  });

  it('reports a failing or missing command in the outcome, with the tail of its stderr', async () => {
    const failed = await runReload({ object: 'mx', argv: ['sh', '-c', 'echo "exim: config error" >&2; exit 3'], timeoutMs: 5000 });
    assert.equal(failed.ok, false);
    assert.match(failed.message, /^reload failed: sh -c .*: exit status 3: exim: config error$/);
    const missing = await runReload({ object: 'mx', argv: [join(dir, 'no-such-command')], timeoutMs: 5000 });
    assert.equal(missing.ok, false);
    assert.match(missing.message, /ENOENT/);
    assert.equal(existsSync(join(dir, 'no-such-command')), false);
  });
});
