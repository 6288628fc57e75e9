/**
 * Child processes for the safe-write tests (started with `node --import tsx`):
 *   write  <target> <count> <size>  replace <target> <count> times (count 0 = forever)
 *   read   <target> <ms>            read it in a loop (until <target>.stop exists), print bad reads
 *                                   as JSON lines, then {reads, bad}
 * Every version is self-checking: "v<n>:" then one fill byte repeated, then ":end".
 */
import { existsSync, readFileSync } from 'node:fs';
import { atomicWriteFile } from '../../src/store/index.js';

export function versionBytes(n: number, size: number): Buffer {
  const head = Buffer.from(`v${n}:`);
  const tail = Buffer.from(':end');
  const body = Buffer.alloc(Math.max(0, size - head.length - tail.length), 97 + (n % 26));
  return Buffer.concat([head, body, tail]);
}

/** undefined when the bytes are one whole version, else what is wrong. */
export function checkVersion(buf: Buffer): string | undefined {
  const m = /^v(\d+):/.exec(buf.subarray(0, 16).toString('latin1'));
  if (!m) return `bad header (${buf.length} bytes)`;
  const expected = versionBytes(Number(m[1]), buf.length);
  if (!buf.equals(expected)) return `torn content in v${m[1]} (${buf.length} bytes)`;
  return undefined;
}

async function writer(target: string, count: number, size: number): Promise<void> {
  for (let i = 1; count === 0 || i <= count; i++) {
    await atomicWriteFile(target, versionBytes(i, size), { mode: 0o644 });
    if (count === 0 && i % 10 === 0) process.stdout.write(`${i}\n`);
  }
}

function reader(target: string, ms: number): void {
  const end = Date.now() + ms;
  let reads = 0;
  let bad = 0;
  while (Date.now() < end && !(reads % 50 === 0 && existsSync(`${target}.stop`))) {
    let buf: Buffer;
    try {
      buf = readFileSync(target);
    } catch (err) {
      bad++;
      process.stdout.write(`${JSON.stringify({ error: (err as Error).message })}\n`);
      continue;
    }
    reads++;
    const problem = checkVersion(buf);
    if (problem) { bad++; process.stdout.write(`${JSON.stringify({ problem })}\n`); }
  }
  process.stdout.write(`${JSON.stringify({ reads, bad })}\n`);
}

const [mode, target, a, b] = process.argv.slice(2);
if (mode === 'write') await writer(target!, Number(a), Number(b));
else if (mode === 'read') reader(target!, Number(a));
