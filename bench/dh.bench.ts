/**
 * DH parameter generation: tlskeeper's racing workers against `openssl
 * dhparam`, run alternately in the same session (so both see the same load),
 * at 2048 and 3072 bits. tlskeeper's time includes the verification checks
 * (p, (p−1)/2 prime, generator order) it runs before a file may go live.
 * While tlskeeper generates, the event-loop delay of this (the daemon's)
 * process is sampled with perf_hooks.monitorEventLoopDelay.
 *
 * Targets (issue 4): median ≤ 0.6 × openssl's median; event-loop p99 < 50 ms.
 * Runs per size: DH_BENCH_RUNS (default 9); sizes: DH_BENCH_BITS (default "2048,3072").
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHistogram, monitorEventLoopDelay, type RecordableHistogram } from 'node:perf_hooks';
import { generateDhParams } from '../src/dh/index.js';

function opensslDhparam(bits: number, out: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn('openssl', ['dhparam', '-out', out, String(bits)], { stdio: ['ignore', 'ignore', 'ignore'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`openssl dhparam exited ${code}`))));
  });
}

/** Nearest-rank percentile: with 9 samples, p90 is the 9th (largest) value. */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

function summary(ms: number[]): { median: number; p90: number; min: number; max: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { median: percentile(s, 50), p90: percentile(s, 90), min: s[0]!, max: s[s.length - 1]! };
}

/**
 * Event-loop delay samples into `h` every `intervalMs` (how late each tick
 * fires), until the returned function is called. Merged over the runs, unlike
 * monitorEventLoopDelay, which would count the pauses between runs as delays.
 */
function sampleDelay(h: RecordableHistogram, intervalMs = 5): () => void {
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    h.record(Math.max(1, Math.round((now - last - intervalMs) * 1e6)));
    last = now;
  }, intervalMs);
  return () => clearInterval(timer);
}

const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export default async function dhBench(): Promise<void> {
  const runs = Number(process.env.DH_BENCH_RUNS ?? 9);
  const sizes = (process.env.DH_BENCH_BITS ?? '2048,3072').split(',').map(Number);
  const dir = await mkdtemp(join(tmpdir(), 'tlskeeper-bench-dh-'));
  console.log(`cores: ${availableParallelism()}, runs per size: ${runs}, load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  try {
    // Fixed cost of one generation apart from the search: fork + module loading
    // (+ the tsx loader when run from source, as `npm run bench` does) + IPC + checks.
    const fixed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await generateDhParams({ bits: 64, timeoutMs: 60_000 });
      fixed.push(performance.now() - t0);
    }
    console.log(`fixed overhead per generation (64-bit search): median ${summary(fixed).median.toFixed(0)} ms (worker ${process.execArgv.includes('tsx') || process.execArgv.some((a) => a.includes('tsx')) ? 'under the tsx loader, which adds ~300 ms to each worker start; from dist/ a worker starts in ~80 ms' : 'plain JavaScript'})`);
    for (const bits of sizes) {
      const ours: number[] = [];
      const theirs: number[] = [];
      const eld = createHistogram();
      let worstRunP99 = 0;
      for (let i = 0; i < runs; i++) {
        // Alternate who goes first, so a load spike does not always hit the same side.
        const order = i % 2 === 0 ? ['openssl', 'tlskeeper'] : ['tlskeeper', 'openssl'];
        for (const who of order) {
          if (who === 'openssl') {
            theirs.push(await opensslDhparam(bits, join(dir, `openssl-${bits}-${i}.pem`)));
          } else {
            const monitor = monitorEventLoopDelay({ resolution: 5 });
            monitor.enable();
            const stop = sampleDelay(eld);
            const t0 = performance.now();
            const r = await generateDhParams({ bits, timeoutMs: 60 * 60_000 });
            ours.push(performance.now() - t0);
            stop();
            monitor.disable();
            worstRunP99 = Math.max(worstRunP99, monitor.percentile(99));
            if (r.check.code !== 'DH_OK') throw new Error(`generated parameters failed: ${r.check.message}`);
          }
        }
        console.log(`  ${bits} bits run ${i + 1}/${runs}: openssl ${sec(theirs.at(-1)!)}, tlskeeper ${sec(ours.at(-1)!)} (load ${loadavg()[0]!.toFixed(2)})`);
      }
      const o = summary(ours);
      const t = summary(theirs);
      console.log(`${bits} bits, ${runs} runs each:`);
      console.log(`  openssl dhparam : median ${sec(t.median)}, p90 ${sec(t.p90)}, min ${sec(t.min)}, max ${sec(t.max)}`);
      console.log(`  tlskeeper       : median ${sec(o.median)}, p90 ${sec(o.p90)}, min ${sec(o.min)}, max ${sec(o.max)}  (checks included, ${availableParallelism()} workers)`);
      console.log(`  median ratio tlskeeper/openssl: ${(o.median / t.median).toFixed(2)} (target ≤ 0.60); p90 ratio ${(o.p90 / t.p90).toFixed(2)}`);
      console.log(`  event-loop delay while generating (5 ms ticks, all runs): p50 ${(eld.percentile(50) / 1e6).toFixed(1)} ms, p99 ${(eld.percentile(99) / 1e6).toFixed(1)} ms, max ${(eld.max / 1e6).toFixed(1)} ms; worst per-run monitorEventLoopDelay p99 ${(worstRunP99 / 1e6).toFixed(1)} ms (target p99 < 50 ms)`);
    }
    console.log(`load average at end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
