import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { StoreError } from '../../../src/errors/index.js';
import { atomicWriteFile, TEMP_PREFIX } from '../../../src/store/index.js';
import { checkVersion, versionBytes } from '../../support/store-children.js';

const CHILD = new URL('../../support/store-children.ts', import.meta.url).pathname;

function child(args: string[]) {
  const p = spawn(process.execPath, ['--import', 'tsx', CHILD, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  p.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    p.on('close', (code, signal) => resolve({ code, signal, out })));
  return { p, done, out: () => out };
}

describe('atomicWriteFile', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tlskeeper-store-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('writes with the exact mode, whatever the umask', async () => {
    const target = join(dir, 'staple.der');
    const old = process.umask(0o077);
    try {
      await atomicWriteFile(target, 'abc', { mode: 0o644 });
    } finally {
      process.umask(old);
    }
    assert.equal((await stat(target)).mode & 0o777, 0o644);
    await atomicWriteFile(target, 'def', { mode: 0o400 });
    assert.equal((await stat(target)).mode & 0o777, 0o400);
    assert.equal(await readFile(target, 'utf8'), 'def');
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(TEMP_PREFIX)), []);
  });

  it('sets the owner and group given by name', async () => {
    const target = join(dir, 'owned');
    await atomicWriteFile(target, 'x', { mode: 0o640, owner: 'nobody', group: 'nogroup' });
    const st = await stat(target);
    if (process.getuid?.() === 0) {
      assert.equal(st.uid, 65534);
      assert.equal(st.gid, 65534);
    }
  });

  it('refuses to replace a directory and reports the object', async () => {
    const target = join(dir, 'adir');
    await mkdir(target);
    await assert.rejects(atomicWriteFile(target, 'x', { mode: 0o644 }), (err: unknown) =>
      err instanceof StoreError && err.code === 'STORE_TARGET_IS_DIRECTORY' && err.object === target);
  });

  it('fails cleanly for a missing directory and leaves no temp file', async () => {
    await assert.rejects(atomicWriteFile(join(dir, 'nope', 'f'), 'x', { mode: 0o644 }), (err: unknown) =>
      err instanceof StoreError && err.code === 'STORE_WRITE_FAILED' && /unchanged/.test(err.hint ?? ''));
  });

  it('a reader never sees a partial file during 1,000 replacements', async () => {
    const target = join(dir, 'hot.pem');
    await writeFile(target, versionBytes(0, 64 * 1024));
    const reader = child(['read', target, '60000']);
    const writer = child(['write', target, '1000', String(64 * 1024)]);
    const w = await writer.done;
    assert.equal(w.code, 0);
    await writeFile(`${target}.stop`, '');
    await reader.done;
    const lines = reader.out().trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(lines.filter((l) => l.problem || l.error), []);
    const summary = lines.at(-1) as { reads: number; bad: number };
    assert.equal(summary.bad, 0);
    assert.ok(summary.reads > 100, `the reader read ${summary.reads} times while the writer worked`);
    assert.equal(checkVersion(await readFile(target)), undefined);
    assert.match((await readFile(target)).subarray(0, 6).toString(), /^v1000:/);
  });

  it('SIGKILL of a writer leaves the old or the new file, never a partial one', async () => {
    const target = join(dir, 'killed.pem');
    await writeFile(target, versionBytes(0, 4 * 1024 * 1024));
    for (let round = 0; round < 5; round++) {
      const writer = child(['write', target, '0', String(4 * 1024 * 1024)]);
      // Kill at a varying point of the write loop.
      await new Promise((r) => setTimeout(r, 150 + round * 97));
      writer.p.kill('SIGKILL');
      const res = await writer.done;
      assert.equal(res.signal, 'SIGKILL');
      assert.equal(checkVersion(await readFile(target)), undefined, `round ${round}`);
    }
    // A stray temp file of a dead writer is removed by the next tlskeeper process that writes there.
    const next = child(['write', target, '1', '1024']);
    assert.equal((await next.done).code, 0);
    assert.deepEqual((await readdir(dir)).filter((n) => n.startsWith(`${TEMP_PREFIX}killed.pem`)), []);
  });
});
