/** `tlskeeper run`: starts, runs a first pass, and on SIGTERM exits 0 after the running job. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { createTestPki } from '../support/pki.js';

const BIN = new URL('../../bin/tlskeeper.js', import.meta.url).pathname;
let dir: string;

before(async () => { dir = await mkdtemp(join(tmpdir(), 'tlskeeper-daemon-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

it('runs until SIGTERM, then exits 0; logs carry journald priorities under systemd', async () => {
  const pki = await createTestPki(join(dir, 'pki'));
  const leaf = await pki.issueLeaf({ name: 'mx', sans: ['mx.example.test'] });
  const cfg = join(dir, 'config.yaml');
  await writeFile(cfg, `state_dir: ${join(dir, 'state')}\ncertificates:\n  - {name: mx, cert: ${leaf.chainPath}, key: ${leaf.keyPath}}\n`);
  const child = spawn(process.execPath, [BIN, '--config', cfg, 'run'], { env: { ...process.env, JOURNAL_STREAM: '8:1234' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const started = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('run finished') || stderr.includes('daemon started')) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await started;
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  const lines = stderr.trim().split('\n');
  assert.ok(lines.every((l) => /^<[0-7]>\{/.test(l)), stderr);
  assert.ok(lines.some((l) => l.includes('tlskeeper daemon started')));
  assert.ok(lines.some((l) => l.includes('stopping after the running job')));
});

it('SIGTERM during a long DH search abandons it cleanly: exit 0 at once, no worker left, no file written', async () => {
  const cfg = join(dir, 'dh.yaml');
  const target = join(dir, 'gnutls-params-4096');
  await writeFile(cfg, `state_dir: ${join(dir, 'state-dh')}\ndhparams:\n  - {file: ${target}, bits: 4096}\n`);
  const child = spawn(process.execPath, [BIN, '--config', cfg, 'run'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const generating = new Promise<void>((resolve) => child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.includes('generating DH parameters')) resolve();
  }));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await generating;
  const t0 = Date.now();
  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`);
  const { existsSync } = await import('node:fs');
  assert.equal(existsSync(target), false);
  const { spawnSync } = await import('node:child_process');
  const workers = spawnSync('pgrep', ['-f', 'dh/worker'], { encoding: 'utf8' }).stdout.trim();
  assert.equal(workers, '', 'no DH worker process is left behind');
});
