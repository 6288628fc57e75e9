// A real OCSP responder for tests: `openssl ocsp -index ... -port ...`.
//
// Quirks of OpenSSL 3.0's responder (measured on Debian 12, 3.0.x):
//  - It binds [::]:PORT (all addresses, dual stack); there is no bind-address
//    option. Clients should use http://127.0.0.1:PORT.
//  - A client that connects and closes without sending a request makes it
//    spin at 100% CPU and stop answering for good. So readiness is checked with
//    `ss -ltnH "sport = :PORT"`, never by connecting. Do not port-probe it.
//  - It serves one request at a time (clients queue in the listen backlog).
//    `-multi N` exists in 3.0 (forks N children, respawns dead ones), but:
//      * it calls setpgid(0,0), which fails for a session leader, so it exits
//        at once (status 1, message only to syslog) when spawned with setsid /
//        Node's detached:true. We spawn it with detached:false in that mode;
//        it then makes its own process group (pgid = its pid) and stop() still
//        kills the group;
//      * all its logging goes to syslog (nothing in our log file);
//      * a connect-and-close still wedges one child at 100% CPU; the others
//        keep serving, -timeout does not rescue the wedged one;
//      * SIGTERM takes ~1-2 s (the parent sleeps before exiting).
//  - The index is re-read lazily: a change to index.txt (revocation) is seen
//    only from the second request after it (the check runs before waiting for
//    the next connection), and only if the file's mtime/ctime/inode changed
//    (one-second resolution). `openssl ca -revoke` replaces the file, so it is
//    seen eventually; for a deterministic answer call `restart()` after
//    changing the index (same port, ~20 ms).
//  - Without -ndays/-nmin, responses carry no nextUpdate.
//  - `-ignore_err` keeps it running after a malformed request.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Ca } from './pki.js';
import { freePort, run, startProcess, waitForListeningPort, type ManagedProcess } from './proc.js';

export interface OcspResponderOptions {
  /** Directory for the log file (created if missing). */
  dir: string;
  /** The issuing CA's openssl-ca index.txt. */
  indexPath: string;
  /** The issuing CA certificate (whose certificates this responder answers for). */
  caCertPath: string;
  /** Responder certificate: a delegated signer, or the CA certificate itself. */
  signerCertPath: string;
  signerKeyPath: string;
  port?: number;
  /** nextUpdate = thisUpdate + N days (-ndays). */
  nextUpdateDays?: number;
  /** nextUpdate = thisUpdate + N minutes (-nmin). Default 60 unless noNextUpdate or nextUpdateDays. */
  nextUpdateMinutes?: number;
  /** Omit nextUpdate from responses. */
  noNextUpdate?: boolean;
  /** Extra certificates to put in responses (-rother), e.g. the intermediate. */
  otherCertsPath?: string;
  /** Do not include the signer certificate in responses (-resp_no_certs). */
  noCerts?: boolean;
  /** ResponderID by key hash instead of name (-resp_key_id). */
  respKeyId?: boolean;
  /** Corrupt the signature of every response (-badsig). */
  badSignature?: boolean;
  /** Signature digest (-rmd), e.g. 'sha256'. */
  digest?: string;
  /** Run N responder processes (-multi N). See the quirks above. */
  multi?: number;
  /** Extra arguments appended to the command line. */
  extraArgs?: string[];
  /** Readiness timeout (default 10 s). */
  startTimeoutMs?: number;
}

export interface OcspResponder {
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  logFile: string;
  argv: string[];
  /** Milliseconds from spawn to listening, last (re)start. */
  startupMs: number;
  process(): ManagedProcess;
  /** Stop and start again on the same port (re-reads index.txt and the signer files). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOcspResponder(opts: OcspResponderOptions): Promise<OcspResponder> {
  await mkdir(opts.dir, { recursive: true });
  const port = opts.port ?? (await freePort());
  const argv = [
    'openssl', 'ocsp',
    '-index', opts.indexPath,
    '-CA', opts.caCertPath,
    '-rsigner', opts.signerCertPath,
    '-rkey', opts.signerKeyPath,
    '-port', String(port),
    '-ignore_err',
  ];
  if (!opts.noNextUpdate) {
    if (opts.nextUpdateDays !== undefined) argv.push('-ndays', String(opts.nextUpdateDays));
    else argv.push('-nmin', String(opts.nextUpdateMinutes ?? 60));
  }
  if (opts.otherCertsPath) argv.push('-rother', opts.otherCertsPath);
  if (opts.noCerts) argv.push('-resp_no_certs');
  if (opts.respKeyId) argv.push('-resp_key_id');
  if (opts.badSignature) argv.push('-badsig');
  if (opts.digest) argv.push('-rmd', opts.digest);
  if (opts.multi !== undefined) argv.push('-multi', String(opts.multi));
  if (opts.extraArgs) argv.push(...opts.extraArgs);
  const logFile = path.join(opts.dir, `ocsp-responder-${port}.log`);
  const timeout = opts.startTimeoutMs ?? 10_000;

  let proc: ManagedProcess;
  const start = async (): Promise<number> => {
    const t0 = performance.now();
    proc = startProcess(argv, { logFile, detached: opts.multi === undefined });
    try {
      await waitForListeningPort(port, timeout, proc);
    } catch (e) {
      await proc.stop('SIGKILL');
      throw new Error(`openssl ocsp responder did not start on port ${port}: ${(e as Error).message}`);
    }
    return Math.round(performance.now() - t0);
  };
  const waitPortFree = async (): Promise<void> => {
    // The listening socket goes away with the process; wait until ss agrees.
    for (let i = 0; i < 100; i++) {
      const r = await run(['ss', '-ltnH', `sport = :${port}`], { timeoutMs: 5000 });
      if (r.stdout.trim() === '') return;
      await new Promise((res) => setTimeout(res, 20));
    }
  };

  const responder: OcspResponder = {
    url: `http://127.0.0.1:${port}`,
    port,
    logFile,
    argv,
    startupMs: 0,
    process: () => proc,
    async restart() {
      await proc.stop();
      await waitPortFree();
      responder.startupMs = await start();
    },
    async stop() {
      await proc.stop();
    },
  };
  responder.startupMs = await start();
  return responder;
}

/** `openssl ocsp -respin FILE -resp_text -noverify` output (for assertions and debugging). */
export async function ocspResponseText(derPath: string): Promise<string> {
  const r = await run(['openssl', 'ocsp', '-respin', derPath, '-resp_text', '-noverify'], { timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`openssl ocsp -respin ${derPath} failed: ${r.stderr}`);
  return r.stdout;
}

/** Reads a DER OCSP response file (convenience for tests). */
export function readOcspDer(derPath: string): Promise<Buffer> {
  return readFile(derPath);
}

/** startOcspResponder for a pki.ts CA (its index and certificate) and a signer (default: the CA itself). */
export function startOcspResponderForCa(
  ca: Ca,
  signer: { certPath: string; keyPath: string } | null,
  opts: Omit<OcspResponderOptions, 'indexPath' | 'caCertPath' | 'signerCertPath' | 'signerKeyPath'>,
): Promise<OcspResponder> {
  return startOcspResponder({
    ...opts,
    indexPath: ca.indexPath,
    caCertPath: ca.certPath,
    signerCertPath: signer?.certPath ?? ca.certPath,
    signerKeyPath: signer?.keyPath ?? ca.keyPath,
  });
}
