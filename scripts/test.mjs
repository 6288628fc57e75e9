#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx).
// `node scripts/test.mjs [unit|integration] [filter]`: without an argument,
// type-checks, then runs unit tests, then integration tests. Integration
// files run one at a time: each starts its own real servers on loopback and
// the CI machine has two cores.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  let out = [];
  let entries;
  try { entries = readdirSync(dir); } catch { return out; }
  for (const name of entries.sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(findTests(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const [which, filter] = process.argv.slice(2);
const suites = which ? [which] : ['unit', 'integration'];

if (!which) {
  const tc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json', '--noEmit'], { stdio: 'inherit' });
  if (tc.status !== 0) { console.error('typecheck failed'); process.exit(1); }
}

let failed = false;
for (const suite of suites) {
  let files = findTests(join('test', suite));
  if (filter) files = files.filter((f) => f.includes(filter));
  if (files.length === 0) continue;
  const concurrency = suite === 'unit' ? '2' : '1';
  const r = spawnSync(process.execPath, [
    '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
    '--test-reporter=spec', ...files,
  ], { stdio: 'inherit', env: { ...process.env, TLSKEEPER_TEST: '1' } });
  if (r.status !== 0) failed = true;
}
process.exit(failed ? 1 : 0);
