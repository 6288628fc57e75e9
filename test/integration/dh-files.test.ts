// `tlskeeper status` / `refresh dhparams` through the CLI on every kind of bad
// DH file, made at test time with the real tools (openssl, certtool) or with
// tlskeeper's DER writer where no tool writes such a file (composite p, g = 1).
// Small sizes (512/1024 bits, allow_weak): size does not matter here.
// What tlskeeper writes is judged by `openssl dhparam -check` and
// `certtool --dh-info`, not by tlskeeper's own checks.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeDhParameter } from '../../src/dh/index.js';
import { toPem } from '../../src/pki/index.js';
import { acquireLock } from '../../src/store/index.js';
import { tlskeeper } from '../support/cli.js';
import { run, runChecked } from '../support/proc.js';
import { safePrime } from '../unit/dh/fixtures.js';

const DAY = 86_400_000;

interface Case {
  name: string;
  bits: number;
  /** Writes the bad file (or directory) at `path`. */
  make: (path: string) => Promise<void>;
  code: string;
  severity: 'WARNING' | 'CRITICAL';
}

const openssl = (...args: string[]) => runChecked(['openssl', ...args], { timeoutMs: 60_000 });

const CASES: Case[] = [
  { name: 'overshoot', bits: 512, code: 'DH_TOO_LARGE', severity: 'CRITICAL', make: async (p) => { await openssl('dhparam', '-out', p, '513'); } },
  { name: 'too-small', bits: 1024, code: 'DH_TOO_SMALL', severity: 'CRITICAL', make: async (p) => { await openssl('dhparam', '-out', p, '512'); } },
  {
    name: 'certtool-dsa', bits: 1024, code: 'DH_NOT_SAFE_PRIME', severity: 'WARNING',
    // As in the Exim spec's procedure: certtool's output, description text included.
    make: async (p) => { await writeFile(p, (await runChecked(['certtool', '--generate-dh-params', '--bits', '1024'], { timeoutMs: 60_000 })).stdout); },
  },
  { name: 'composite', bits: 512, code: 'DH_P_NOT_PRIME', severity: 'CRITICAL', make: (p) => writeFile(p, toPem('DH PARAMETERS', encodeDhParameter({ p: (1n << 511n) + 1n, g: 2n }))) },
  { name: 'g-one', bits: 512, code: 'DH_BAD_GENERATOR', severity: 'CRITICAL', make: (p) => writeFile(p, toPem('DH PARAMETERS', encodeDhParameter({ p: safePrime(512), g: 1n }))) },
  {
    name: 'truncated', bits: 512, code: 'DH_PEM_TRUNCATED', severity: 'CRITICAL',
    make: async (p) => { await openssl('dhparam', '-out', p, '512'); const t = await readFile(p, 'utf8'); await writeFile(p, t.slice(0, Math.floor(t.length / 2))); },
  },
  {
    name: 'x942', bits: 1024, code: 'DH_X942_PARAMETERS', severity: 'CRITICAL',
    make: async (p) => { await openssl('genpkey', '-genparam', '-algorithm', 'DHX', '-pkeyopt', 'dh_paramgen_prime_len:1024', '-pkeyopt', 'dh_paramgen_subprime_len:160', '-out', p); },
  },
  { name: 'ec', bits: 512, code: 'DH_EC_PARAMETERS', severity: 'CRITICAL', make: async (p) => { await openssl('ecparam', '-name', 'prime256v1', '-out', p); } },
  { name: 'empty', bits: 512, code: 'DH_EMPTY', severity: 'CRITICAL', make: (p) => writeFile(p, '') },
  {
    name: 'directory', bits: 512, code: 'DH_NOT_A_FILE', severity: 'CRITICAL',
    make: async (p) => { await mkdir(p); await writeFile(join(p, 'inside.txt'), 'kept\n'); },
  },
];

describe('dhparams: bad files are detected and replaced (CLI, real tools)', () => {
  let dir: string;
  let cfg: string;
  let stateDir: string;
  const file = (c: Case) => join(dir, 'dh', `${c.name}.pem`);
  const originals = new Map<string, Buffer | 'directory'>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-dh-files-'));
    stateDir = join(dir, 'state');
    await mkdir(join(dir, 'dh'));
    for (const c of CASES) {
      await c.make(file(c));
      const st = await stat(file(c));
      originals.set(c.name, st.isDirectory() ? 'directory' : await readFile(file(c)));
    }
    cfg = join(dir, 'config.yaml');
    // JSON is YAML.
    await writeFile(cfg, JSON.stringify({
      state_dir: stateDir,
      owner: 'Debian-exim',
      group: 'Debian-exim',
      dhparams: CASES.map((c, i) => ({
        file: file(c), bits: c.bits, allow_weak: true, max_age: '30d',
        ...(i === 0 ? { reload: ['touch', join(dir, 'reloaded')] } : {}),
      })),
    }, null, 2));
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('status reports each bad file with its own code and severity', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(r.code, 2, r.stderr);
    const doc = r.json<{ severity: string; entries: Array<{ kind: string; object: string; severity: string; facts: Record<string, unknown>; problems: Array<{ hint?: string }> }> }>();
    assert.equal(doc.severity, 'CRITICAL');
    for (const c of CASES) {
      const e = doc.entries.find((x) => x.object === file(c));
      assert.ok(e, c.name);
      assert.equal(e.kind, 'dhparams');
      assert.equal(e.facts.check, c.code, `${c.name}: ${JSON.stringify(e.facts)}`);
      assert.equal(e.severity, c.severity, c.name);
      assert.ok(e.problems[0]?.hint, `${c.name} has a hint`);
    }
    const overshoot = doc.entries.find((x) => x.object === file(CASES[0]!))!;
    assert.equal(overshoot.facts.bits, 513);
    assert.equal(overshoot.facts.requestedBits, 512);
  });

  it('--dry-run prints the plan with every reason and writes nothing', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', '--dry-run', 'dhparams']);
    assert.equal(r.code, 0, r.stderr);
    const steps = r.json<{ plans: Array<{ steps: Array<{ object: string; action: string; reason: string }> }> }>().plans[0]!.steps;
    assert.deepEqual(steps.map((s) => s.action), CASES.map(() => 'regenerate'));
    assert.match(steps[0]!.reason, /513 bits, more than the 512/);
    for (const c of CASES) {
      const st = await stat(file(c));
      if (originals.get(c.name) === 'directory') assert.ok(st.isDirectory());
      else assert.deepEqual(await readFile(file(c)), originals.get(c.name));
    }
  });

  it('refresh replaces every one, keeps the old ones in state_dir, runs the reload', async () => {
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
    assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`);
    const report = r.json<{ results: Array<{ object: string; outcome: string; message: string; changedFiles?: string[] }>; reloads: Array<{ ok: boolean; argv: string[] }> }>();
    for (const c of CASES) {
      const res = report.results.find((x) => x.object === file(c));
      assert.equal(res?.outcome, 'changed', `${c.name}: ${res?.message}`);
      assert.match(res!.message, new RegExp(`${c.bits}-bit safe prime`));
      assert.deepEqual(res!.changedFiles, [file(c)]);
    }
    assert.equal(report.reloads.length, 1);
    assert.equal(report.reloads[0]!.ok, true);
    await stat(join(dir, 'reloaded'));

    // The old file or directory of each is in state_dir/dhparams-old, unchanged.
    const kept = await readdir(join(stateDir, 'dhparams-old'));
    assert.equal(kept.length, CASES.length);
    for (const c of CASES) {
      const name = kept.find((k) => k.includes(`_dh_${c.name}.pem.`));
      assert.ok(name, `${c.name} kept (${kept.join(', ')})`);
      const original = originals.get(c.name)!;
      if (original === 'directory') {
        assert.equal(await readFile(join(stateDir, 'dhparams-old', name, 'inside.txt'), 'utf8'), 'kept\n');
      } else {
        assert.deepEqual(await readFile(join(stateDir, 'dhparams-old', name)), original);
      }
    }
  });

  it('what it wrote passes openssl dhparam -check and certtool --dh-info, 0400 owned by the configured user', async () => {
    const exim = (await runChecked(['id', '-u', 'Debian-exim'])).stdout.trim();
    for (const c of CASES) {
      const f = file(c);
      const ossl = await run(['openssl', 'dhparam', '-in', f, '-check', '-noout']);
      assert.equal(ossl.code, 0, `${c.name}: ${ossl.stdout}${ossl.stderr}`);
      assert.match(ossl.stdout + ossl.stderr, /DH parameters appear to be ok/);
      const text = (await runChecked(['openssl', 'dhparam', '-in', f, '-noout', '-text'])).stdout;
      assert.match(text, new RegExp(`\\(${c.bits} bit\\)`), c.name);
      assert.match(text, /G:\s+2 \(0x2\)/);
      const gnutls = await run(['certtool', '--dh-info', '--infile', f]);
      assert.equal(gnutls.code, 0, `${c.name}: ${gnutls.stderr}`);
      assert.match(gnutls.stdout, /-----BEGIN DH PARAMETERS-----/);
      const st = await stat(f);
      assert.ok(st.isFile());
      assert.equal(st.mode & 0o7777, 0o400, c.name);
      assert.equal(String(st.uid), exim);
    }
    assert.deepEqual((await readdir(join(dir, 'dh'))).filter((n) => n.startsWith('.tlskeeper-tmp-')), [], 'no temp files left');
  });

  it('status is OK afterwards, and a second refresh changes nothing', async () => {
    const s = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(s.code, 0, s.stdout);
    const entries = s.json<{ entries: Array<{ severity: string; facts: Record<string, unknown> }> }>().entries;
    assert.ok(entries.every((e) => e.severity === 'OK' && e.facts.safePrime === true && e.facts.generator === '2' && e.facts.pMod24 === 23));
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
    assert.equal(r.code, 0);
    const results = r.json<{ results: Array<{ outcome: string }>; reloads: unknown[] }>();
    assert.deepEqual(results.results.map((x) => x.outcome), CASES.map(() => 'unchanged'));
    assert.deepEqual(results.reloads, []);
  });

  it('a file whose lock another run holds is skipped (LOCK_BUSY) and left alone', async () => {
    const c = CASES.find((x) => x.name === 'empty')!;
    await writeFile(file(c), '');
    const lock = await acquireLock(join(stateDir, 'locks'), `dhparams/${file(c)}`);
    try {
      const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
      const res = r.json<{ results: Array<{ object: string; outcome: string; error?: { code: string } }> }>().results;
      const mine = res.find((x) => x.object === file(c))!;
      assert.equal(mine.outcome, 'skipped');
      assert.equal(mine.error?.code, 'LOCK_BUSY');
      assert.equal((await readFile(file(c))).length, 0, 'untouched');
      assert.ok(res.filter((x) => x !== mine).every((x) => x.outcome === 'unchanged'));
    } finally {
      await lock.release();
    }
    const again = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
    assert.equal(again.code, 0);
    assert.equal(again.json<{ results: Array<{ object: string; outcome: string }> }>().results.find((x) => x.object === file(c))?.outcome, 'changed');
  });

  it('after max_age (injected clock) every file is regenerated again, with "older than max_age"', async () => {
    const before = await readFile(file(CASES[0]!));
    const later = new Date(Date.now() + 31 * DAY);
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams'], { now: later });
    assert.equal(r.code, 0, r.stderr);
    const res = r.json<{ results: Array<{ outcome: string; message: string }> }>().results;
    assert.ok(res.every((x) => x.outcome === 'changed' && /older than max_age/.test(x.message)), JSON.stringify(res, null, 1));
    assert.notDeepEqual(await readFile(file(CASES[0]!)), before);
    // One more kept copy: the empty file of the lock test.
    assert.equal((await readdir(join(stateDir, 'dhparams-old'))).length, 2 * CASES.length + 1);
  });
});

describe('dhparams: a file the MTA user cannot read (the real Debian-exim user of exim4)', () => {
  let dir: string;
  let dhFile: string;
  const config = async (extra: Record<string, unknown>): Promise<string> => {
    const cfg = join(dir, `config-${Object.keys(extra).join('-') || 'plain'}.yaml`);
    await writeFile(cfg, JSON.stringify({ state_dir: join(dir, 'state'), dhparams: [{ file: dhFile, bits: 512, allow_weak: true, ...extra }] }));
    return cfg;
  };
  type Status = { severity: string; entries: Array<{ severity: string; problems: Array<{ message: string; hint?: string }> }> };
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tlskeeper-dh-reader-'));
    dhFile = join(dir, 'gnutls-params-512');
  });
  after(async () => { await rm(dir, { recursive: true, force: true }); });

  it('root-owned 0400 (the defaults): status WARNING names Debian-exim and the fix', async () => {
    const cfg = await config({});
    assert.equal((await tlskeeper(['--config', cfg, 'refresh', 'dhparams'])).code, 0);
    const st = await stat(dhFile);
    assert.equal(st.uid, 0);
    assert.equal(st.mode & 0o7777, 0o400);
    const s = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(s.code, 1, s.stdout);
    const problems = s.json<Status>().entries[0]!.problems;
    const p = problems.find((x) => /Debian-exim cannot read it/.test(x.message));
    assert.ok(p, JSON.stringify(problems));
    assert.match(p.hint!, /set owner: Debian-exim/);
  });

  it('owner: Debian-exim then rewrites the same parameters with the new owner (plan: fix-permissions), and status is OK', async () => {
    const cfg = await config({ owner: 'Debian-exim' });
    const bytes = await readFile(dhFile);
    const dry = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams', '--dry-run']);
    const planned = dry.json<{ plans: Array<{ steps: Array<{ action: string; reason: string }> }> }>().plans[0]!.steps[0]!;
    assert.equal(planned.action, 'fix-permissions');
    assert.match(planned.reason, /owner is uid 0, configured uid \d+/);
    const r = await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams']);
    assert.equal(r.code, 0, r.stdout);
    const res = r.json<{ results: Array<{ outcome: string; message: string }> }>().results[0]!;
    assert.equal(res.outcome, 'changed');
    assert.match(res.message, /permissions corrected \(same parameters\)/);
    assert.deepEqual(await readFile(dhFile), bytes, 'same bytes');
    assert.equal(String((await stat(dhFile)).uid), (await runChecked(['id', '-u', 'Debian-exim'])).stdout.trim());
    const s = await tlskeeper(['--config', cfg, '--json', 'status']);
    assert.equal(s.code, 0, s.stdout);
    assert.equal((await tlskeeper(['--config', cfg, '--json', 'refresh', 'dhparams'])).json<{ results: Array<{ outcome: string }> }>().results[0]!.outcome, 'unchanged');
  });

  it('reader: root (a file only root-run servers read) silences the check; an unknown reader is reported', async () => {
    await runChecked(['chown', 'root:root', dhFile]);
    const s = await tlskeeper(['--config', await config({ reader: 'root', owner: 'root' }), '--json', 'status']);
    assert.equal(s.code, 0, s.stdout);
    const u = await tlskeeper(['--config', await config({ reader: 'no-such-user-tk', owner: 'root' }), '--json', 'status']);
    assert.equal(u.code, 1);
    assert.match(u.json<Status>().entries[0]!.problems.map((x) => x.message).join('\n'), /reader "no-such-user-tk" is not a user on this host/);
  });
});
