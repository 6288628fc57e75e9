import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LockBusyError } from '../../../src/errors/index.js';
import { acquireLock, withLock, installRelease, currentRelease, readState, writeState } from '../../../src/store/index.js';

describe('locks, releases and state', () => {
  let dir: string;
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'tlskeeper-lock-')); });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('a held lock makes a second taker fail with LOCK_BUSY, then frees', async () => {
    const lock = await acquireLock(dir, 'certificate/mx');
    assert.equal((await readFile(lock.path, 'utf8')).trim(), String(process.pid));
    await assert.rejects(acquireLock(dir, 'certificate/mx'), (e: unknown) => e instanceof LockBusyError && e.code === 'LOCK_BUSY');
    await lock.release();
    const again = await acquireLock(dir, 'certificate/mx');
    await again.release();
  });

  it('waits for a live holder within waitMs', async () => {
    const lock = await acquireLock(dir, 'certificate/wait');
    setTimeout(() => void lock.release(), 150);
    const second = await acquireLock(dir, 'certificate/wait', { waitMs: 3000, pollMs: 20 });
    await second.release();
  });

  it('takes over a stale lock whose process is dead', async () => {
    const dead = spawnSync('true').pid; // a pid that has exited
    const lock0 = await acquireLock(dir, 'certificate/stale');
    await writeFile(lock0.path, `${dead}\n`);
    const lock = await acquireLock(dir, 'certificate/stale');
    assert.equal((await readFile(lock.path, 'utf8')).trim(), String(process.pid));
    await lock.release();
  });

  it('withLock serialises work on one object', async () => {
    const order: string[] = [];
    const a = withLock(dir, 'x', async () => { order.push('a1'); await new Promise((r) => setTimeout(r, 100)); order.push('a2'); });
    await new Promise((r) => setTimeout(r, 10));
    const b = withLock(dir, 'x', async () => { order.push('b'); }, { waitMs: 2000, pollMs: 10 });
    await Promise.all([a, b]);
    assert.deepEqual(order, ['a1', 'a2', 'b']);
  });

  it('swaps a release set by re-pointing one symlink and keeps the last good', async () => {
    const base = join(dir, 'mx');
    const r1 = await installRelease(base, [{ name: 'cert.pem', data: 'C1', mode: 0o644 }, { name: 'ocsp.der', data: 'S1', mode: 0o644 }], { now: new Date('2026-01-01T00:00:00Z') });
    assert.equal(await currentRelease(base), r1);
    assert.equal(await readFile(join(base, 'current', 'ocsp.der'), 'utf8'), 'S1');
    for (let i = 2; i <= 5; i++) {
      await installRelease(base, [{ name: 'cert.pem', data: `C${i}`, mode: 0o644 }, { name: 'ocsp.der', data: `S${i}`, mode: 0o644 }], { now: new Date(`2026-01-0${i}T00:00:00Z`) });
    }
    assert.equal(await readFile(join(base, 'current', 'cert.pem'), 'utf8'), 'C5');
    assert.equal(await readFile(join(base, 'current', 'ocsp.der'), 'utf8'), 'S5');
    assert.equal((await readdir(join(base, 'releases'))).length, 3);
    assert.match(await readlink(join(base, 'current')), /^releases\/20260105T000000Z-/);
  });

  it('state round-trips and a corrupt state file reads as none', async () => {
    await writeState(dir, 'ocsp/mx', { attempts: 2 });
    assert.deepEqual(await readState(dir, 'ocsp/mx'), { attempts: 2 });
    await writeFile(join(dir, 'state', 'ocsp--mx.json'), '{broken');
    assert.equal(await readState(dir, 'ocsp/mx'), undefined);
  });
});
