/**
 * `npm run bench [name]`: runs bench/<name>.bench.ts (all of them by default),
 * one after the other so they do not share the two cores. Timings live here,
 * never in tests.
 */
import { readdirSync } from 'node:fs';

const only = process.argv[2];
const dir = new URL('./', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (!only || f.startsWith(only))).sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${only ?? '*'}`);
  process.exit(2);
}
for (const f of files) {
  console.log(`\n=== ${f} ===`);
  const mod = (await import(new URL(f, dir).href)) as { default: () => Promise<void> };
  await mod.default();
}
