/**
 * `npm run bench ocsp`: refreshing 1,000 OCSP staples.
 *
 * 1,000 certificates (ECDSA, one per directory like /etc/letsencrypt/live/<name>/)
 * name their OCSP URL in AIA; the URLs are spread over several local
 * `openssl ocsp` responders (one request at a time each, so several, each
 * with `-multi` children), signing with a delegated responder certificate.
 * Printed:
 *   tlskeeper   wall time of `tlskeeper --json refresh ocsp --force`, twice:
 *               in process after two warm-up runs (as the daemon, `run`,
 *               does it: config, read, plan, fetch, validate, write, state),
 *               and as a new process of the compiled CLI (as a timer or a
 *               hook runs it: node start, module loading, cold JIT included)
 *   floor (a)   the responders alone: the same 1,000 prebuilt requests (the
 *               exact GET URLs tlskeeper sends) at the same concurrency
 *   script (b)  one `openssl ocsp` process per certificate, as cron scripts
 *               do: sequentially, and also 24 at a time
 *   store (c)   for attribution: what tlskeeper must do per certificate
 *               besides fetching — take its lock and replace the staple
 *               atomically (src/store, fsync'd) — alone, same concurrency
 *   least (d)   the floor's client plus the least the brief requires of any
 *               client: check each response's signature, then take the lock
 *               and replace the file atomically (fsync'd); no other check,
 *               no config, no state
 *   CPU         per run, the CPU time the whole machine and the responders
 *               used (/proc): on 2 cores a run cannot take less wall time
 *               than half the machine's CPU time
 * Targets (issue 3): tlskeeper ≤ 1.3 × floor, and ≥ 10 × faster than (b).
 *
 * The configuration puts the lock files on tmpfs (`lock_dir`), as the shipped
 * systemd units and README recommend for many certificates; one extra row
 * shows the new process with the default lock_dir (state_dir/locks, on disk).
 *
 * Then the same comparison with network latency (OCSP_BENCH_RTT_MS, default
 * 20; 0 skips it): the responders move to other ports and a delaying TCP
 * proxy (./delay-proxy.mjs, its own process) takes their place, so every
 * request, tlskeeper's and the floor's alike, costs two round trips (TCP
 * handshake, then request/response), as over a real network. On loopback the
 * responders answer in microseconds and the run is bound by tlskeeper's own
 * CPU and disk work; with latency it is bound by the round trips, as in
 * production.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../src/cli/index.js';
import { OCSP_CONCURRENCY, OCSP_STEP_CONCURRENCY, ocspGetUrl } from '../src/ocsp/index.js';
import { mapWithConcurrency, Semaphore } from '../src/util/index.js';
import { atomicWriteFile, withLock } from '../src/store/index.js';
import { buildOcspRequest, computeCertId, parseCertificatePemChain, parseOcspResponse, publicKeyOf, verifySignedBytes } from '../src/pki/index.js';
import { createTestPki, generateKeyPem, opensslDate } from '../test/support/pki.js';
import { startOcspResponder, type OcspResponder } from '../test/support/ocsp-responder.js';
import { freePort, run, runChecked } from '../test/support/proc.js';

const CERTIFICATES = Number(process.env.OCSP_BENCH_CERTS ?? 1000);
const RESPONDERS = Number(process.env.OCSP_BENCH_RESPONDERS ?? 8);
const MULTI = Number(process.env.OCSP_BENCH_MULTI ?? 3);
const ROUNDS = 3;
const RTT_MS = Number(process.env.OCSP_BENCH_RTT_MS ?? 20);

interface Leaf { name: string; dir: string; certPath: string; keyPath: string; ocspPath: string; url: string }

export default async function ocspBench(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tlskeeper-bench-ocsp-'));
  const responders: OcspResponder[] = [];
  let proxy: ChildProcess | undefined;
  let lockDir: string | undefined;
  try {
    const t0 = performance.now();
    const pki = await createTestPki(join(dir, 'pki'));
    const signer = await pki.issueOcspSigner({ name: 'bench OCSP signer', days: 30 });
    const ports = await Promise.all(Array.from({ length: RESPONDERS }, () => freePort()));
    const leaves = await issueLeaves(dir, pki.intermediate.configPath, pki.intermediateCertPem, ports);
    const startResponders = async (on: number[]): Promise<void> => {
      for (const port of on) {
        responders.push(await startOcspResponder({
          dir: join(dir, 'responders'), port, indexPath: pki.intermediateIndexPath, caCertPath: pki.intermediateCertPath,
          signerCertPath: signer.certPath, signerKeyPath: signer.keyPath, nextUpdateDays: 7, multi: MULTI,
        }));
      }
    };
    await startResponders(ports);
    // Locks on tmpfs, as recommended (/run/tlskeeper in production); /dev/shm here, since the bench may not run as root.
    lockDir = await mkdtemp('/dev/shm/tlskeeper-bench-locks-');
    const certificates = ['certificates:', ...leaves.map((l) => `  - {name: ${l.name}, cert: ${l.certPath}, key: ${l.keyPath}, ocsp_file: ${l.ocspPath}}`), ''];
    const config = join(dir, 'tlskeeper.yaml');
    await writeFile(config, [`state_dir: ${join(dir, 'state')}`, `lock_dir: ${lockDir}`, ...certificates].join('\n'));
    const configDiskLocks = join(dir, 'tlskeeper-disk-locks.yaml');
    await writeFile(configDiskLocks, [`state_dir: ${join(dir, 'state')}`, ...certificates].join('\n'));
    console.log(`setup: ${leaves.length} certificates, ${RESPONDERS} openssl ocsp responders × -multi ${MULTI}, ${cpus().length} CPUs (${Math.round(performance.now() - t0)} ms)`);

    // Warm-up (JIT, page cache, the responders' index) — not timed.
    await refresh(config);
    await refresh(config);
    await floor(leaves, pki.intermediateCertPem);

    const cli = await buildCli(dir);
    const measured = {
      fl: () => floor(leaves, pki.intermediateCertPem),
      tk: () => refresh(config),
      cold: () => refreshCold(cli, config),
    };
    const { fl, tk, cold, st, least, diskLocks } = await interleaved({
      ...measured,
      st: () => storeAlone(leaves, lockDir!),
      least: () => leastClient(leaves, pki.intermediateCertPem, lockDir!),
      diskLocks: () => refreshCold(cli, configDiskLocks),
    });
    const [tkMs, floorMs, leastMs, coldMs] = [tk, fl, least, cold].map(medianMs) as [number, number, number, number];
    const scriptSubset = leaves.slice(0, Math.min(200, leaves.length));
    const scriptSeq = (await scriptApproach(scriptSubset, pki.intermediateCertPath, 1)) * (leaves.length / scriptSubset.length);
    const scriptPar = await scriptApproach(leaves, pki.intermediateCertPath, OCSP_CONCURRENCY);

    const row = (label: string, ms: number, note = ''): void => console.log(`  ${label.padEnd(50)} ${String(Math.round(ms)).padStart(7)} ms  ${note}`);
    const timed = (label: string, runs: Timed[]): void => row(label, medianMs(runs), describeRuns(runs));
    console.log(`results (median of ${ROUNDS}; concurrency ${OCSP_CONCURRENCY}; CPU: ms of CPU time, whole machine / responders):`);
    timed('tlskeeper refresh ocsp --force (in process)', tk);
    timed('tlskeeper refresh ocsp --force (new process)', cold);
    timed('  the same, lock files on disk (default lock_dir)', diskLocks);
    timed('(a) floor: responders alone, same requests', fl);
    timed('(d) least: floor + signature check + (c) per cert', least);
    timed('(c) store alone: lock + atomic write per cert', st);
    row('(b) openssl ocsp per certificate, sequential', scriptSeq, `(extrapolated from ${scriptSubset.length})`);
    row(`(b') openssl ocsp per certificate, ${OCSP_CONCURRENCY} at a time`, scriptPar);
    console.log(`ratios:`);
    console.log(`  tlskeeper / floor            ${(tkMs / floorMs).toFixed(2)}× in process, ${(coldMs / floorMs).toFixed(2)}× new process   (target ≤ 1.3×)`);
    console.log(`  least (d) / floor            ${(leastMs / floorMs).toFixed(2)}×   (only the signature check, lock and durable replace the brief requires: the floor for any compliant client)`);
    console.log(`  script sequential / tlskeeper ${(scriptSeq / tkMs).toFixed(1)}× in process, ${(scriptSeq / coldMs).toFixed(1)}× new process   (target ≥ 10×)`);
    console.log(`  script ${OCSP_CONCURRENCY}-parallel / tlskeeper ${(scriptPar / tkMs).toFixed(1)}×`);

    if (RTT_MS > 0) {
      for (const r of responders.splice(0)) await r.stop().catch(() => undefined);
      const hidden = await Promise.all(ports.map(() => freePort()));
      await startResponders(hidden);
      proxy = await startDelayProxy(RTT_MS, ports.map((p, i) => [p, hidden[i]!]));
      await refresh(config);
      await floor(leaves, pki.intermediateCertPem);
      const latency = await interleaved(measured);
      const [lfl, ltk, lcold] = [latency.fl, latency.tk, latency.cold].map(medianMs) as [number, number, number];
      const latencySubset = leaves.slice(0, Math.min(100, leaves.length));
      const lscript = (await scriptApproach(latencySubset, pki.intermediateCertPath, 1)) * (leaves.length / latencySubset.length);
      console.log(`with ${RTT_MS} ms round trips (a delaying proxy in its own process before each responder; median of ${ROUNDS}):`);
      timed('tlskeeper refresh ocsp --force (in process)', latency.tk);
      timed('tlskeeper refresh ocsp --force (new process)', latency.cold);
      timed('(a) floor: responders alone, same requests', latency.fl);
      row('(b) openssl ocsp per certificate, sequential', lscript, `(extrapolated from ${latencySubset.length})`);
      console.log(`  tlskeeper / floor            ${(ltk / lfl).toFixed(2)}× in process, ${(lcold / lfl).toFixed(2)}× new process   (target ≤ 1.3×)`);
      console.log(`  script sequential / tlskeeper ${(lscript / ltk).toFixed(1)}× in process, ${(lscript / lcold).toFixed(1)}× new process   (target ≥ 10×)`);
    }
  } finally {
    if (process.env.OCSP_BENCH_KEEP) {
      console.log(`kept ${dir} (responders running until this process exits)`);
      await new Promise((r) => setTimeout(r, Number(process.env.OCSP_BENCH_KEEP) * 1000));
    }
    proxy?.kill('SIGKILL');
    for (const r of responders) await r.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
    if (lockDir) await rm(lockDir, { recursive: true, force: true });
  }
}

/** 1,000 leaves in a few `openssl ca -infiles` runs (one per responder URL), sharing one key and CSR (OCSP does not look at keys). */
async function issueLeaves(dir: string, caConfigPath: string, intermediatePem: string, ports: number[]): Promise<Leaf[]> {
  const work = join(dir, 'issue');
  await mkdir(work, { recursive: true });
  const keyPem = await generateKeyPem('ec');
  const keyPath = join(work, 'key.pem');
  await writeFile(keyPath, keyPem, { mode: 0o600 });
  const csrPath = join(work, 'csr.pem');
  await runChecked(['openssl', 'req', '-new', '-key', keyPath, '-subj', '/CN=bench.example.test', '-out', csrPath]);
  const leaves: Leaf[] = [];
  const perResponder = Math.ceil(CERTIFICATES / ports.length);
  const notBefore = opensslDate(new Date(Date.now() - 86_400_000));
  const notAfter = opensslDate(new Date(Date.now() + 90 * 86_400_000));
  for (const [r, port] of ports.entries()) {
    const count = Math.min(perResponder, CERTIFICATES - r * perResponder);
    if (count <= 0) break;
    const url = `http://127.0.0.1:${port}`;
    const ext = join(work, `ext-${r}.cnf`);
    await writeFile(ext, [
      '[ ext ]', 'basicConstraints = critical, CA:FALSE', 'keyUsage = critical, digitalSignature', 'extendedKeyUsage = serverAuth',
      'subjectAltName = DNS:bench.example.test', `authorityInfoAccess = OCSP;URI:${url}`, '',
    ].join('\n'));
    const outdir = join(work, `out-${r}`);
    await mkdir(outdir);
    await runChecked(['openssl', 'ca', '-batch', '-notext', '-rand_serial', '-config', caConfigPath, '-extfile', ext, '-extensions', 'ext',
      '-startdate', notBefore, '-enddate', notAfter, '-outdir', outdir,
      '-infiles', ...Array.from({ length: count }, () => csrPath)], { timeoutMs: 300_000 });
    // -outdir holds one <serial>.pem per certificate.
    for (const file of (await readdir(outdir)).sort()) {
      const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/.exec(await readFile(join(outdir, file), 'utf8'))![0];
      const name = `c${String(leaves.length).padStart(4, '0')}`;
      const live = join(dir, 'live', name);
      await mkdir(live, { recursive: true });
      const certPath = join(live, 'fullchain.pem');
      await writeFile(certPath, pem + intermediatePem);
      const leafKeyPath = join(live, 'privkey.pem');
      await writeFile(leafKeyPath, keyPem, { mode: 0o600 });
      leaves.push({ name, dir: live, certPath, keyPath: leafKeyPath, ocspPath: join(live, 'ocsp.der'), url });
    }
  }
  if (leaves.length !== CERTIFICATES) throw new Error(`issued ${leaves.length} certificates, wanted ${CERTIFICATES}`);
  return leaves;
}

/**
 * The compiled CLI, built into the bench's temporary directory (not dist/,
 * which bin/tlskeeper.js would then prefer over the sources), with a link to
 * node_modules so its imports resolve. Returns the entry to run with node.
 */
async function buildCli(dir: string): Promise<string> {
  const out = join(dir, 'cli-build');
  const repo = new URL('../', import.meta.url).pathname;
  await runChecked([process.execPath, join(repo, 'node_modules/typescript/bin/tsc'), '-p', join(repo, 'tsconfig.build.json'), '--outDir', join(out, 'dist')], { timeoutMs: 300_000 });
  await symlink(join(repo, 'node_modules'), join(out, 'node_modules'));
  await writeFile(join(out, 'package.json'), JSON.stringify({ type: 'module' }));
  const entry = join(out, 'cli.js');
  await writeFile(entry, "import { main } from './dist/cli/main.js';\nprocess.exitCode = await main(process.argv.slice(2));\n");
  return entry;
}

/** `node cli.js --json refresh ocsp --force` as a new process: what a systemd timer or a renewal hook runs. */
async function refreshCold(entry: string, config: string): Promise<number> {
  const t0 = performance.now();
  const r = await run([process.execPath, entry, '--config', config, '--log-level', 'warn', '--json', 'refresh', 'ocsp', '--force'], { timeoutMs: 300_000 });
  const ms = performance.now() - t0;
  const doc = JSON.parse(r.stdout) as { results?: Array<{ outcome: string }> };
  const changed = doc.results?.filter((x) => x.outcome === 'changed').length ?? 0;
  if (r.code !== 0 || changed !== CERTIFICATES) throw new Error(`cold refresh: exit ${r.code}, ${changed} changed\n${r.stderr.slice(0, 2000)}`);
  return ms;
}

async function refresh(config: string): Promise<number> {
  let stdout = '';
  let stderr = '';
  const t0 = performance.now();
  const code = await main(['--config', config, '--log-level', 'warn', '--json', 'refresh', 'ocsp', '--force'], {
    stdout: (s) => { stdout += s; }, stderr: (s) => { stderr += s; }, env: {}, now: () => new Date(),
  });
  const ms = performance.now() - t0;
  const doc = JSON.parse(stdout) as { results?: Array<{ outcome: string; message: string }>; error?: unknown };
  if (!doc.results) throw new Error(`refresh failed: ${stdout.slice(0, 2000)}\n${stderr.slice(0, 2000)}`);
  const changed = doc.results.filter((r) => r.outcome === 'changed').length;
  if (code !== 0 || changed !== CERTIFICATES) {
    throw new Error(`refresh: exit ${code}, ${changed} changed; ${doc.results.find((r) => r.outcome !== 'changed')?.message ?? ''}\n${stderr.slice(0, 2000)}`);
  }
  return ms;
}

/** The exact GET URLs tlskeeper sends, one per leaf, with the signer of each answer's key. */
async function requestUrls(leaves: Leaf[], intermediatePem: string): Promise<string[]> {
  return Promise.all(leaves.map(async (l) => {
    const [leaf, issuer] = parseCertificatePemChain(await readFile(l.certPath));
    return ocspGetUrl(l.url, buildOcspRequest(computeCertId(leaf!, issuer ?? parseCertificatePemChain(intermediatePem)[0]!, 'sha1')));
  }));
}

/** One GET, its body (HTTP 200 and non-empty, else an error). */
function get(url: string): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    http.get(url, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => (res.statusCode === 200 && chunks.length > 0 ? resolve(Buffer.concat(chunks)) : reject(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The responders alone: the same GET URLs, same concurrency, no parsing or writing. */
async function floor(leaves: Leaf[], intermediatePem: string): Promise<number> {
  const urls = await requestUrls(leaves, intermediatePem);
  const t0 = performance.now();
  await mapWithConcurrency(urls, OCSP_CONCURRENCY, get);
  return performance.now() - t0;
}

/**
 * (d): the floor's client plus the least the brief asks of any client, in
 * tlskeeper's shape (lock, fetch in one of OCSP_CONCURRENCY slots, check the
 * signature, replace the file atomically, unlock; more steps than fetches in
 * flight). None of the other RFC 6960 checks, no config, no state, no output.
 */
async function leastClient(leaves: Leaf[], intermediatePem: string, lockDir: string): Promise<number> {
  const urls = await requestUrls(leaves, intermediatePem);
  const fetchSlots = new Semaphore(OCSP_CONCURRENCY);
  const t0 = performance.now();
  await mapWithConcurrency(leaves, OCSP_STEP_CONCURRENCY, (l, i) => withLock(lockDir, `certificate/${l.name}`, async () => {
    const der = await fetchSlots.run(() => get(urls[i]!));
    const basic = parseOcspResponse(der).basic!;
    if (!verifySignedBytes(basic.tbs, basic.signatureAlgorithm, basic.signature, publicKeyOf(basic.certs[0]!))) throw new Error(`bad signature for ${l.name}`);
    await atomicWriteFile(join(l.dir, 'ocsp-least.der'), der, { mode: 0o644, owner: 'root', group: 'root' });
  }));
  return performance.now() - t0;
}

/** The store operations tlskeeper is bound to per certificate (lock, then an fsync'd atomic replace), nothing else. */
async function storeAlone(leaves: Leaf[], lockDir: string): Promise<number> {
  const bytes = await readFile(leaves[0]!.ocspPath);
  const t0 = performance.now();
  await mapWithConcurrency(leaves, OCSP_CONCURRENCY, (l) => withLock(lockDir, `certificate/${l.name}`, () =>
    atomicWriteFile(join(l.dir, 'ocsp-store.der'), bytes, { mode: 0o644, owner: 'root', group: 'root' })));
  return performance.now() - t0;
}

/** The usual cron script: `openssl ocsp` per certificate, verifying, writing -respout. */
async function scriptApproach(leaves: Leaf[], issuerPath: string, parallel: number): Promise<number> {
  const t0 = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < leaves.length) {
      const l = leaves[next++]!;
      await new Promise<void>((resolve, reject) => {
        const child = spawn('openssl', ['ocsp', '-no_nonce', '-issuer', issuerPath, '-cert', l.certPath, '-url', l.url,
          '-CAfile', issuerPath, '-partial_chain', '-respout', join(l.dir, 'ocsp-script.der')], { stdio: 'ignore' });
        child.on('error', reject);
        child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`openssl ocsp exit ${code} for ${l.name}`))));
      });
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));
  return performance.now() - t0;
}

interface Timed {
  ms: number;
  /** CPU time the whole machine used meanwhile (all processes, all cores). */
  machineCpuMs: number;
  /** Of that, the `openssl ocsp` responders' (with their -multi children). */
  responderCpuMs: number;
}

/** ROUNDS timings of each function, interleaved so that all see the same machine state. */
async function interleaved<K extends string>(fns: Record<K, () => Promise<number>>): Promise<Record<K, Timed[]>> {
  const out = Object.fromEntries(Object.keys(fns).map((k) => [k, [] as Timed[]])) as Record<K, Timed[]>;
  for (let i = 0; i < ROUNDS; i++) {
    for (const k of Object.keys(fns) as K[]) {
      const machine0 = machineCpuMs();
      const responders0 = processCpuMs('openssl');
      const ms = await fns[k]();
      out[k].push({ ms, machineCpuMs: machineCpuMs() - machine0, responderCpuMs: processCpuMs('openssl') - responders0 });
    }
  }
  return out;
}

function describeRuns(runs: Timed[]): string {
  const cpu = median(runs.map((r) => r.machineCpuMs));
  return `(runs: ${runs.map((r) => Math.round(r.ms)).join(', ')}; CPU ${Math.round(cpu)} / ${Math.round(median(runs.map((r) => r.responderCpuMs)))}, ` +
    `so ≥ ${Math.round(cpu / cpus().length)} ms on ${cpus().length} cores)`;
}

/** Busy CPU time of the whole machine so far (/proc/stat: all but idle and iowait), in ms. */
function machineCpuMs(): number {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - fields[3]! - fields[4]!) * 10; // USER_HZ is 100 on Linux
}

/** utime + stime of every live process whose command is `comm`, in ms. */
function processCpuMs(comm: string): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== comm) continue;
      const rest = stat.slice(close + 2).split(' '); // fields from 3 (state) on
      ticks += Number(rest[11]) + Number(rest[12]); // fields 14 utime, 15 stime
    } catch { /* exited meanwhile */ }
  }
  return ticks * 10;
}

/** ./delay-proxy.mjs listening on each pair's first port, forwarding to its second. */
function startDelayProxy(rttMs: number, pairs: Array<[number, number]>): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./delay-proxy.mjs', import.meta.url).pathname, String(rttMs), ...pairs.map(([a, b]) => `${a}:${b}`)],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`delay proxy exited with ${code}`)));
    child.stdout!.once('data', () => resolve(child));
  });
}

function medianMs(runs: Timed[]): number {
  return median(runs.map((r) => r.ms));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
