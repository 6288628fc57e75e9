// Pebble (Debian package 2.4.0, /usr/bin/pebble), Let's Encrypt's test ACME
// server, on loopback.
//
// The package ships no HTTPS certificate (only an example config pointing at
// test/certs/localhost/*.pem, not installed), so startPebble() makes a small
// CA + "localhost"/127.0.0.1 certificate with pki.ts; clients must trust
// `caCertPem` (e.g. https.Agent({ca}) or NODE_EXTRA_CA_CERTS) to talk to it.
// Pebble's own issuing root/intermediate are random per start; get them from
// the management API (rootCertPem() etc.).
//
// Environment: PEBBLE_VA_NOSLEEP=1 always (no random validation delays);
// alwaysValid → PEBBLE_VA_ALWAYS_VALID=1 (no challenge is checked);
// authzReuse → PEBBLE_AUTHZREUSE (default 0 here so tests are deterministic
// about fresh authorizations; pebble's own default is 50);
// nonceReject → PEBBLE_WFE_NONCEREJECT (default 0 here; pebble's default 5%
// of good nonces are rejected with badNonce!). dnsServer → `-dnsserver`
// (e.g. a startBind() port) for DNS-01 / HTTP-01 name resolution.
import https from 'node:https';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTestPki } from './pki.js';
import { assertAlive, freePort, startProcess, waitFor, type ManagedProcess } from './proc.js';

export const PEBBLE_BIN = '/usr/bin/pebble';

export interface PebbleOptions {
  dir: string;
  port?: number;
  managementPort?: number;
  /** Port pebble's VA connects to for HTTP-01 (default 5002 as pebble; set to your challenge server). */
  httpChallengePort?: number;
  /** Port for TLS-ALPN-01 (default 5001). */
  tlsChallengePort?: number;
  /** PEBBLE_VA_ALWAYS_VALID=1: authorizations succeed without any check. */
  alwaysValid?: boolean;
  /** `-dnsserver HOST:PORT`, e.g. "127.0.0.1:5353". */
  dnsServer?: string;
  /** PEBBLE_AUTHZREUSE percentage (default 0). */
  authzReuse?: number;
  /** PEBBLE_WFE_NONCEREJECT percentage (default 0). */
  nonceReject?: number;
  /** PEBBLE_CHAIN_LENGTH (default pebble's: 1 intermediate). */
  chainLength?: number;
  /** Issued certificate validity in seconds (certificateValidityPeriod). */
  certificateValidityPeriodSeconds?: number;
  /** OCSP URL put into issued certificates (ocspResponderURL). */
  ocspResponderUrl?: string;
  /** External account binding: required and the MAC keys (kid → base64url key). */
  externalAccountMacKeys?: Record<string, string>;
  extraEnv?: Record<string, string>;
  startTimeoutMs?: number;
}

export interface PebbleServer {
  /** https://127.0.0.1:PORT/dir */
  directoryUrl: string;
  /** https://127.0.0.1:MPORT */
  managementUrl: string;
  port: number;
  managementPort: number;
  /** CA that signed pebble's HTTPS certificate (trust it in clients). */
  caCertPem: string;
  caCertPath: string;
  logFile: string;
  configPath: string;
  startupMs: number;
  /** GET an https URL of this pebble (ACME or management) with caCertPem trusted. */
  get(url: string): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }>;
  rootCertPem(n?: number): Promise<string>;
  rootKeyPem(n?: number): Promise<string>;
  intermediateCertPem(n?: number): Promise<string>;
  intermediateKeyPem(n?: number): Promise<string>;
  /** Management API: status + PEM of a certificate by hex serial. */
  certStatusBySerial(serialHex: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
  process(): ManagedProcess;
  logTail(n?: number): string;
}

export function httpsGet(
  url: string,
  ca: string,
  timeoutMs = 10_000,
): Promise<{ status: number; body: string; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'GET', ca, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }),
      );
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

export async function startPebble(opts: PebbleOptions): Promise<PebbleServer> {
  const dir = path.resolve(opts.dir);
  await mkdir(dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const managementPort = opts.managementPort ?? (await freePort());

  // HTTPS certificate for pebble's listeners.
  const tlsPki = await createTestPki(path.join(dir, 'https-pki'), { namePrefix: 'pebble https' });
  const tlsLeaf = await tlsPki.issueLeaf({ name: 'localhost', sans: ['localhost', '127.0.0.1', '::1'], days: 30 });
  const caCertPath = path.join(dir, 'pebble-https-ca.pem');
  await writeFile(caCertPath, tlsPki.rootCertPem);

  const pebbleCfg: Record<string, unknown> = {
    listenAddress: `127.0.0.1:${port}`,
    managementListenAddress: `127.0.0.1:${managementPort}`,
    certificate: tlsLeaf.chainPath,
    privateKey: tlsLeaf.keyPath,
    httpPort: opts.httpChallengePort ?? 5002,
    tlsPort: opts.tlsChallengePort ?? 5001,
    ocspResponderURL: opts.ocspResponderUrl ?? '',
    externalAccountBindingRequired: opts.externalAccountMacKeys !== undefined,
  };
  if (opts.externalAccountMacKeys) pebbleCfg.externalAccountMACKeys = opts.externalAccountMacKeys;
  if (opts.certificateValidityPeriodSeconds !== undefined) pebbleCfg.certificateValidityPeriod = opts.certificateValidityPeriodSeconds;
  const configPath = path.join(dir, 'pebble-config.json');
  await writeFile(configPath, JSON.stringify({ pebble: pebbleCfg }, null, 2));

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PEBBLE_VA_NOSLEEP: '1',
    PEBBLE_AUTHZREUSE: String(opts.authzReuse ?? 0),
    PEBBLE_WFE_NONCEREJECT: String(opts.nonceReject ?? 0),
    ...(opts.alwaysValid ? { PEBBLE_VA_ALWAYS_VALID: '1' } : {}),
    ...(opts.chainLength !== undefined ? { PEBBLE_CHAIN_LENGTH: String(opts.chainLength) } : {}),
    ...(opts.extraEnv ?? {}),
  };
  const argv = [PEBBLE_BIN, '-config', configPath];
  if (opts.dnsServer) argv.push('-dnsserver', opts.dnsServer);
  const logFile = path.join(dir, 'pebble.log');
  const t0 = performance.now();
  const proc = startProcess(argv, { logFile, cwd: dir, env });
  const ca = tlsPki.rootCertPem;
  const directoryUrl = `https://127.0.0.1:${port}/dir`;
  const managementUrl = `https://127.0.0.1:${managementPort}`;
  const get = (url: string): ReturnType<PebbleServer['get']> => httpsGet(url, ca);
  try {
    await waitFor(
      async () => {
        assertAlive(proc, 'pebble answered');
        const d = await get(directoryUrl);
        if (d.status !== 200 || !d.body.includes('newAccount')) return false;
        const m = await get(`${managementUrl}/roots/0`);
        return m.status === 200;
      },
      { timeoutMs: opts.startTimeoutMs ?? 15_000, intervalMs: 50, what: `pebble on ${port}`, onTimeout: () => proc.logTail() },
    );
  } catch (e) {
    await proc.stop('SIGKILL');
    throw new Error(`pebble did not start: ${(e as Error).message}`);
  }
  const startupMs = Math.round(performance.now() - t0);

  const mgmt = async (p: string): Promise<string> => {
    const r = await get(`${managementUrl}${p}`);
    if (r.status !== 200) throw new Error(`pebble management ${p}: HTTP ${r.status} ${r.body}`);
    return r.body;
  };
  return {
    directoryUrl,
    managementUrl,
    port,
    managementPort,
    caCertPem: ca,
    caCertPath,
    logFile,
    configPath,
    startupMs,
    get,
    rootCertPem: (n = 0) => mgmt(`/roots/${n}`),
    rootKeyPem: (n = 0) => mgmt(`/root-keys/${n}`),
    intermediateCertPem: (n = 0) => mgmt(`/intermediates/${n}`),
    intermediateKeyPem: (n = 0) => mgmt(`/intermediate-keys/${n}`),
    async certStatusBySerial(serialHex) {
      const r = await get(`${managementUrl}/cert-status-by-serial/${serialHex}`);
      return { status: r.status, body: r.body };
    },
    async stop() {
      await proc.stop();
    },
    process: () => proc,
    logTail: (n = 40) => proc.logTail(n),
  };
}
