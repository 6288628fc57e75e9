// BIND 9 (Debian's named, 9.18) as a loopback authoritative server for tests:
// primary zones with TSIG-authorized dynamic update, and optionally a second
// named as a secondary of the first (for "one authoritative server lags").
//
// `named -g -4 -n 1 -c <dir>/named.conf` runs in the foreground as root, logs
// to stderr (our log file). Every path (pid, lock, session key, journals,
// managed keys) is inside the test dir so several instances can coexist; the
// default lock file /run/named/named.lock would otherwise make a second
// instance refuse to start.
//
// Making a secondary lag: the primary has `notify no`, zone SOA refresh/retry
// are large (default 86400/7200), so the secondary keeps its first copy until
// `retransfer()` (rndc retransfer) or `refresh()` (rndc refresh) is called.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { assertAlive, freePort, isTcpListening, run, startProcess, waitFor, type ManagedProcess } from './proc.js';

export type TsigAlgorithm = 'hmac-sha256' | 'hmac-sha512' | 'hmac-sha1' | 'hmac-sha384' | 'hmac-sha224' | 'hmac-md5';

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secretBase64: string;
}

export interface TsigKeyWithFile extends TsigKey {
  /** The `key "name" { ... };` text tsig-keygen printed. */
  keyFileText: string;
}

export interface ZoneSpec {
  /** Zone name without trailing dot, e.g. "example.test". */
  name: string;
  /** Zone-file lines appended after the generated SOA/NS/A records (relative names are fine). */
  records?: string[];
  /** Keys defined in named.conf; with allowUpdate they may update this zone. */
  tsigKeys?: TsigKey[];
  /** Default: true when tsigKeys are given. */
  allowUpdate?: boolean;
  /** Make this zone a secondary of another named on 127.0.0.1. */
  secondaryOf?: { primaryPort: number };
  /** SOA serial / timers (defaults 1 / 86400 / 7200 / 1209600 / 60). */
  serial?: number;
  refresh?: number;
  retry?: number;
  expire?: number;
  minimum?: number;
  /** Default TTL of generated records (default 60). */
  ttl?: number;
  /** Extra lines inside this zone's `zone { }` block. */
  extraZoneConfig?: string;
}

export interface BindOptions {
  dir: string;
  zones: ZoneSpec[];
  port?: number;
  /** Extra lines for the options { } block. */
  extraOptions?: string;
  /** Readiness timeout (default 15 s). */
  startTimeoutMs?: number;
}

export interface BindServer {
  port: number;
  /** Port of the rndc control channel. */
  controlPort: number;
  dir: string;
  configPath: string;
  logFile: string;
  /** Milliseconds from spawn to "running" + port listening + zones answering. */
  startupMs: number;
  /** `dig @127.0.0.1 -p PORT +tcp +short NAME TYPE`, answer lines (empty if none). */
  dig(name: string, type?: string): Promise<string[]>;
  /** SOA serial of a zone as this server sees it, or null. */
  soaSerial(zone: string): Promise<number | null>;
  /** Runs nsupdate against this server with the given key and update lines (no "send" needed). */
  nsupdate(lines: string[], key?: TsigKey, opts?: { zone?: string }): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** `rndc <args>` against this server. */
  rndc(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Secondary zones: force a full transfer now and wait until the serial matches the primary's. */
  retransfer(zone: string, primary?: BindServer): Promise<void>;
  /** Secondary zones: `rndc refresh` (SOA check, transfer if newer). */
  refresh(zone: string): Promise<void>;
  stop(): Promise<void>;
  process(): ManagedProcess;
  logTail(n?: number): string;
}

/** Runs `tsig-keygen -a ALG NAME` and parses the secret. */
export async function tsigKeygen(name: string, algorithm: TsigAlgorithm = 'hmac-sha256'): Promise<TsigKeyWithFile> {
  const r = await run(['tsig-keygen', '-a', algorithm, name], { timeoutMs: 10_000, check: true });
  const m = /secret\s+"([^"]+)"/.exec(r.stdout);
  if (!m || !m[1]) throw new Error(`tsig-keygen output not understood: ${r.stdout}`);
  return { name, algorithm, secretBase64: m[1], keyFileText: r.stdout };
}

function q(s: string): string {
  return `"${s.replace(/["\\]/g, '\\$&')}"`;
}

function keyBlock(k: TsigKey): string {
  return `key ${q(k.name)} {\n\talgorithm ${k.algorithm};\n\tsecret ${q(k.secretBase64)};\n};\n`;
}

function zoneFile(z: ZoneSpec): string {
  const ttl = z.ttl ?? 60;
  const lines = [
    `$ORIGIN ${z.name}.`,
    `$TTL ${ttl}`,
    `@ IN SOA ns1.${z.name}. hostmaster.${z.name}. ( ${z.serial ?? 1} ${z.refresh ?? 86400} ${z.retry ?? 7200} ${z.expire ?? 1209600} ${z.minimum ?? 60} )`,
    `@ IN NS ns1.${z.name}.`,
    `ns1 IN A 127.0.0.1`,
    ...(z.records ?? []),
    '',
  ];
  return lines.join('\n');
}

export async function startBind(opts: BindOptions): Promise<BindServer> {
  const dir = path.resolve(opts.dir);
  await mkdir(path.join(dir, 'zones'), { recursive: true });
  const port = opts.port ?? (await freePort());
  const controlPort = await freePort();
  const rndcKey: TsigKey = (await tsigKeygen('rndc-key', 'hmac-sha256'));
  const keys = new Map<string, TsigKey>();
  for (const z of opts.zones) {
    for (const k of z.tsigKeys ?? []) {
      const prev = keys.get(k.name);
      if (prev && (prev.secretBase64 !== k.secretBase64 || prev.algorithm !== k.algorithm)) {
        throw new Error(`TSIG key ${k.name} given twice with different secrets`);
      }
      keys.set(k.name, k);
    }
  }
  const conf: string[] = [
    '// generated by test/support/bind.ts',
    'options {',
    `\tdirectory ${q(dir)};`,
    `\tpid-file ${q(path.join(dir, 'named.pid'))};`,
    `\tlock-file ${q(path.join(dir, 'named.lock'))};`,
    `\tsession-keyfile ${q(path.join(dir, 'session.key'))};`,
    `\tmanaged-keys-directory ${q(dir)};`,
    `\tdump-file ${q(path.join(dir, 'named_dump.db'))};`,
    `\tstatistics-file ${q(path.join(dir, 'named.stats'))};`,
    `\tlisten-on port ${port} { 127.0.0.1; };`,
    '\tlisten-on-v6 { none; };',
    '\trecursion no;',
    '\tdnssec-validation no;',
    '\tallow-transfer { 127.0.0.1; };',
    '\tnotify no;',
    '\tminimal-responses yes;',
    // Secondaries: do not delay the first refresh.
    '\tmin-refresh-time 1;',
    '\tmin-retry-time 1;',
    ...(opts.extraOptions ? [opts.extraOptions] : []),
    '};',
    keyBlock(rndcKey),
    `controls { inet 127.0.0.1 port ${controlPort} allow { 127.0.0.1; } keys { ${q(rndcKey.name)}; }; };`,
    ...[...keys.values()].map(keyBlock),
  ];
  for (const z of opts.zones) {
    const file = path.join(dir, 'zones', `${z.name}.${z.secondaryOf ? 'sec' : 'db'}`);
    const block = [`zone ${q(z.name)} {`];
    if (z.secondaryOf) {
      block.push('\ttype secondary;', `\tprimaries { 127.0.0.1 port ${z.secondaryOf.primaryPort}; };`, `\tfile ${q(file)};`);
    } else {
      await writeFile(file, zoneFile(z));
      block.push('\ttype primary;', `\tfile ${q(file)};`, '\tnotify no;');
      const allow = z.allowUpdate ?? (z.tsigKeys?.length ?? 0) > 0;
      if (allow) {
        const ks = (z.tsigKeys ?? []).map((k) => `key ${q(k.name)};`).join(' ');
        block.push(`\tallow-update { ${ks || 'none;'} };`);
      }
    }
    if (z.extraZoneConfig) block.push(z.extraZoneConfig);
    block.push('};');
    conf.push(block.join('\n'));
  }
  const configPath = path.join(dir, 'named.conf');
  await writeFile(configPath, conf.join('\n') + '\n');
  const rndcConf = path.join(dir, 'rndc.conf');
  await writeFile(
    rndcConf,
    `${keyBlock(rndcKey)}options { default-key ${q(rndcKey.name)}; default-server 127.0.0.1; default-port ${controlPort}; };\n`,
  );

  const chk = await run(['named-checkconf', configPath], { timeoutMs: 10_000 });
  if (chk.code !== 0) throw new Error(`named-checkconf failed for ${configPath}:\n${chk.stdout}${chk.stderr}`);

  const logFile = path.join(dir, 'named.log');
  const t0 = performance.now();
  const proc = startProcess(['named', '-g', '-4', '-n', '1', '-c', configPath], { logFile, cwd: dir });
  const logTail = (n = 40): string => proc.logTail(n);

  const digLines = async (name: string, type = 'A'): Promise<string[]> => {
    const r = await run(['dig', '@127.0.0.1', '-p', String(port), '+tcp', '+short', '+time=2', '+tries=1', name, type], { timeoutMs: 10_000 });
    if (r.code !== 0) throw new Error(`dig ${name} ${type} failed (${r.code}): ${r.stdout}${r.stderr}`);
    return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l.length > 0 && !l.startsWith(';'));
  };
  const soaSerial = async (zone: string): Promise<number | null> => {
    const lines = await digLines(zone, 'SOA');
    const f = lines[0]?.split(/\s+/);
    const s = f?.[2];
    return s !== undefined ? Number(s) : null;
  };

  try {
    await waitFor(
      async () => {
        assertAlive(proc, 'named was running');
        const log = await readFile(logFile, 'utf8').catch(() => '');
        return /\brunning\b/.test(log) && (await isTcpListening(port));
      },
      { timeoutMs: opts.startTimeoutMs ?? 15_000, intervalMs: 50, what: `named on port ${port}`, onTimeout: () => logTail() },
    );
    // Every zone answers with its SOA (secondaries: first transfer done).
    for (const z of opts.zones) {
      await waitFor(async () => (await soaSerial(z.name)) !== null, {
        timeoutMs: opts.startTimeoutMs ?? 15_000,
        intervalMs: 50,
        what: `zone ${z.name} on named port ${port}`,
        onTimeout: () => logTail(),
      });
    }
  } catch (e) {
    await proc.stop('SIGKILL');
    throw new Error(`named did not start: ${(e as Error).message}`);
  }
  const startupMs = Math.round(performance.now() - t0);

  const rndc = async (...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const r = await run(['rndc', '-c', rndcConf, ...args], { timeoutMs: 15_000 });
    return { code: r.code, stdout: r.stdout, stderr: r.stderr };
  };

  const server: BindServer = {
    port,
    controlPort,
    dir,
    configPath,
    logFile,
    startupMs,
    dig: digLines,
    soaSerial,
    async nsupdate(lines, key, o) {
      const input = [`server 127.0.0.1 ${port}`, ...(o?.zone ? [`zone ${o.zone}`] : []), ...lines, 'send', ''].join('\n');
      const argv = ['nsupdate', '-v'];
      if (key) argv.push('-y', `${key.algorithm}:${key.name}:${key.secretBase64}`);
      const r = await run(argv, { input, timeoutMs: 15_000 });
      return { code: r.code, stdout: r.stdout, stderr: r.stderr };
    },
    rndc,
    async retransfer(zone, primary) {
      const r = await rndc('retransfer', zone);
      if (r.code !== 0) throw new Error(`rndc retransfer ${zone} failed: ${r.stdout}${r.stderr}`);
      if (primary) {
        const want = await primary.soaSerial(zone);
        await waitFor(async () => (await soaSerial(zone)) === want, {
          timeoutMs: 10_000,
          what: `secondary ${zone} to reach serial ${want}`,
          onTimeout: () => logTail(),
        });
      }
    },
    async refresh(zone) {
      const r = await rndc('refresh', zone);
      if (r.code !== 0) throw new Error(`rndc refresh ${zone} failed: ${r.stdout}${r.stderr}`);
    },
    async stop() {
      await proc.stop('SIGTERM', 10_000);
    },
    process: () => proc,
    logTail,
  };
  return server;
}
