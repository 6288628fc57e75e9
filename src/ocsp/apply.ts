/**
 * Doing the planned steps: per certificate, take its lock, re-read and
 * re-check, fetch, validate everything, and only then replace the staple
 * atomically. A failure leaves the file byte-identical (except where
 * `ocsp_missing_ok` allows removing a file that breaks TLS) and is recorded
 * for backoff.
 */
import { setMaxListeners } from 'node:events';
import { lockDirOf, type CertificateConfig, type Config } from '../config/index.js';
import { describeError, LockBusyError } from '../errors/index.js';
import type { JobContext, PlannedStep, ReloadRequest, StepResult } from '../jobs/index.js';
import { buildOcspRequest, computeCertId, isIssuedBy, type CertificateInfo } from '../pki/index.js';
import { atomicRemoveFile, atomicWriteFile, resolveOwner, withLock, writeState } from '../store/index.js';
import { mapWithConcurrency, Semaphore } from '../util/index.js';
import { fetchIssuerFromAia, fetchOcspResponse } from './fetch.js';
import { assessStaple, BREAKS_GNUTLS, observedOf, planStaple, type OcspStepDetail } from './plan.js';
import { readOcspEntry, reobserveOcspEntry, type ObservedOcsp } from './read.js';
import { afterFailure, afterSuccess, sameState, stateObjectId, type OcspRefreshState } from './state.js';
import { OcspCertStatusError, validateFetchedStaple, type ExaminedStaple } from './validate.js';

/**
 * Parallel fetches. The responders, not tlskeeper, set the pace: a CDN-fronted
 * CA answers many requests at once, and OpenSSL's responder one per process.
 */
export const OCSP_CONCURRENCY = 24;

/**
 * Steps in progress at once (each holds its certificate's lock). More than
 * the fetches, so that steps waiting for their write to reach the disk (two
 * fsyncs, store/writer-threads.ts) do not hold back fetching: the fetch slots
 * stay busy while earlier staples are being written.
 */
export const OCSP_STEP_CONCURRENCY = OCSP_CONCURRENCY * 8;

/** Shared by the steps of one apply. */
interface ApplyRun {
  ctx: JobContext;
  /** Issuers fetched from AIA, by URL list. */
  issuerFetches: Map<string, Promise<CertificateInfo>>;
  /** At most OCSP_CONCURRENCY network requests at once. */
  fetchSlots: Semaphore;
}

export async function applyOcspPlan(outerCtx: JobContext, steps: PlannedStep[]): Promise<StepResult[]> {
  // One signal of our own for the concurrent fetches and locks (each adds an
  // abort listener; the default limit of 10 would warn), following the run's.
  const controller = new AbortController();
  setMaxListeners(OCSP_STEP_CONCURRENCY * 4, controller.signal);
  const forward = (): void => controller.abort(outerCtx.signal.reason);
  if (outerCtx.signal.aborted) forward();
  else outerCtx.signal.addEventListener('abort', forward, { once: true });
  try {
    return await applySteps({ ...outerCtx, signal: controller.signal }, steps);
  } finally {
    outerCtx.signal.removeEventListener('abort', forward);
  }
}

async function applySteps(ctx: JobContext, steps: PlannedStep[]): Promise<StepResult[]> {
  const run: ApplyRun = { ctx, issuerFetches: new Map(), fetchSlots: new Semaphore(OCSP_CONCURRENCY) };
  const byName = new Map(ctx.config.certificates.map((c) => [c.name, c]));
  // Resolve owner/group names once (getent), not once per concurrent write.
  const owners = new Map<string, { owner: string | number; group: string | number }>();
  for (const s of steps) {
    const cfg = byName.get(s.object);
    if (s.action !== 'none' && cfg) {
      const o = ownership(ctx.config, cfg);
      owners.set(`${o.owner}\0${o.group}`, o);
    }
  }
  await Promise.all([...owners.values()].map((o) => resolveOwner(o).catch(() => undefined)));

  const results = await mapWithConcurrency(steps, OCSP_STEP_CONCURRENCY, async (s): Promise<StepResult[]> => {
    if (ctx.signal.aborted) return [result(s, 'skipped', 'stopped before this step (shutting down)')];
    if (s.action === 'none') return [result(s, 'unchanged', s.reason)];
    const cfg = byName.get(s.object);
    if (!cfg) return [result(s, 'skipped', 'no longer in the configuration')];
    try {
      return await withLock(lockDirOf(ctx.config), `certificate/${cfg.name}`, () => applyLocked(run, s, cfg), { signal: ctx.signal });
    } catch (err) {
      if (err instanceof LockBusyError) return [result(s, 'skipped', err.message)];
      const error = describeError(err);
      return [{ ...result(s, 'failed', error.message), error }];
    }
  });
  return results.flat();
}

async function applyLocked(run: ApplyRun, s: PlannedStep, cfg: CertificateConfig): Promise<StepResult[]> {
  const { ctx } = run;
  const detail = s.detail as OcspStepDetail;
  // Lock, then re-check (another run may have done the work meanwhile).
  const previous = observedOf(s);
  const o = previous ? await reobserveOcspEntry(previous, ctx.config.state_dir) : await readOcspEntry(cfg, ctx.config.state_dir);
  const now = ctx.now();
  const again = planStaple(o, now, detail.force);
  if (again.action !== s.action) return [result(s, 'unchanged', `no longer due: ${again.reason}`)];
  if (s.action === 'remove-staple') return [await removeStaple(run, s, o, again.reason)];
  return fetchAndInstall(run, s, o);
}

async function fetchAndInstall(run: ApplyRun, s: PlannedStep, o: ObservedOcsp): Promise<StepResult[]> {
  const { ctx } = run;
  const cfg = o.config;
  const leaf = o.leaf!;
  const file = o.staple!.path;
  let issuerFetched: CertificateInfo | undefined;
  try {
    let issuer = o.issuer;
    if (!issuer) {
      issuerFetched = await issuerFromAia(run, leaf, cfg);
      issuer = issuerFetched;
    }
    const request = buildOcspRequest(computeCertId(leaf, issuer, cfg.ocsp.hash));
    const fetched = await run.fetchSlots.run(() => fetchOcspResponse({
      name: cfg.name, url: o.responderUrl!, request, timeoutMs: cfg.ocsp.timeout, signal: ctx.signal,
    }));
    const examined = validateFetchedStaple(fetched.body, {
      name: cfg.name, leaf, issuer, source: `the OCSP response from ${o.responderUrl}`,
    }, ctx.now());

    const issuerDer = issuerFetched ? issuerFetched.der.toString('base64') : o.issuerSource === 'state' ? o.state?.issuerDer : undefined;
    let outcome: StepResult;
    if (o.staple!.bytes?.equals(fetched.body)) {
      outcome = result(s, 'unchanged', `the responder's proof is the one already in ${file}`);
    } else {
      await atomicWriteFile(file, fetched.body, { mode: cfg.ocsp.mode, ...ownership(ctx.config, cfg) });
      const message = `installed a good proof in ${file} from ${o.responderUrl} (${fetched.method}): ${describeValidity(examined)}`;
      ctx.log.info({ object: cfg.name, file, responder: o.responderUrl, thisUpdate: examined.thisUpdate, effectiveExpiry: examined.effectiveExpiry, expiryReason: examined.expiryReason }, message);
      outcome = { ...result(s, 'changed', message), changedFiles: [file], reloads: reloadsOf(cfg) };
    }
    try {
      await recordSuccess(ctx, o, issuerDer);
    } catch (stateErr) {
      // The proof is in place; a lost state only costs retry timing.
      ctx.log.warn({ object: cfg.name, error: describeError(stateErr) }, 'cannot record the OCSP refresh state');
    }
    return [outcome];
  } catch (err) {
    const error = describeError(err);
    const revoked = err instanceof OcspCertStatusError && err.code === 'OCSP_CERT_REVOKED'
      ? { revoked: {
        detectedAt: ctx.now().toISOString(),
        ...(err.examined.revocationTime ? { revocationTime: err.examined.revocationTime.toISOString() } : {}),
        ...(err.examined.revocationReason ? { reason: err.examined.revocationReason } : {}),
      } }
      : {};
    const next = afterFailure(o.state, leaf.fingerprintSha256, ctx.now(), error, {
      ...revoked,
      ...(issuerFetched ? { issuerDer: issuerFetched.der.toString('base64') } : {}),
    });
    const results: StepResult[] = [];
    try {
      await writeState(ctx.config.state_dir, stateObjectId(cfg.name), next);
    } catch (stateErr) {
      ctx.log.warn({ object: cfg.name, error: describeError(stateErr) }, 'cannot record the OCSP refresh state');
    }
    // The last good proof stays, even past its expiry (Exim then staples nothing, which is safe).
    // A file that makes GnuTLS refuse every STARTTLS goes, where the MTA tolerates its absence.
    const onDisk = assessStaple(o, ctx.now());
    let fileOutcome = `${file} unchanged`;
    if (cfg.ocsp_missing_ok && BREAKS_GNUTLS.has(onDisk.fileState)) {
      const removal = await removeStaple(run, s, o, `${file} holds ${onDisk.fileState === 'other-certificate' ? 'a proof for another certificate' : 'no usable proof'} and no valid proof could be fetched; ocsp_missing_ok allows removing it`);
      results.push(removal);
      if (removal.outcome === 'changed') fileOutcome = `${file} removed (ocsp_missing_ok)`;
    }
    ctx.log.warn({ object: cfg.name, error, failures: next.failures, nextRetry: next.nextRetry }, error.message);
    results.push({ ...result(s, 'failed', `${error.message}; ${fileOutcome}, next try after ${next.nextRetry}`), error });
    return results;
  }
}

async function recordSuccess(ctx: JobContext, o: ObservedOcsp, issuerDer: string | undefined): Promise<void> {
  const next: OcspRefreshState = afterSuccess(o.leaf!.fingerprintSha256, issuerDer);
  // Write only when something changed: a clean state need not exist at all.
  const needed = o.state ? !sameState(o.state, next) : o.stateExists || next.issuerDer !== undefined;
  if (needed) await writeState(ctx.config.state_dir, stateObjectId(o.config.name), next);
}

async function removeStaple(run: ApplyRun, s: PlannedStep, o: ObservedOcsp, why: string): Promise<StepResult> {
  const file = o.staple!.path;
  const step: PlannedStep = { ...s, action: 'remove-staple' };
  try {
    const removed = await atomicRemoveFile(file);
    if (!removed) return result(step, 'unchanged', `${file} is already gone`);
    run.ctx.log.warn({ object: o.config.name, file }, `removed ${file}: ${why}`);
    return { ...result(step, 'changed', `removed ${file}: ${why}`), changedFiles: [file], reloads: reloadsOf(o.config) };
  } catch (err) {
    const error = describeError(err);
    return { ...result(step, 'failed', error.message), error };
  }
}

async function issuerFromAia(run: ApplyRun, leaf: CertificateInfo, cfg: CertificateConfig): Promise<CertificateInfo> {
  // Many leaves share one intermediate: fetch each caIssuers URL once per run.
  const key = leaf.caIssuersUrls.join(' ');
  let pending = run.issuerFetches.get(key);
  if (!pending) {
    pending = run.fetchSlots.run(() => fetchIssuerFromAia(leaf, { name: cfg.name, timeoutMs: cfg.ocsp.timeout, signal: run.ctx.signal }));
    pending.catch(() => run.issuerFetches.delete(key));
    run.issuerFetches.set(key, pending);
  }
  const issuer = await pending;
  return isIssuedBy(leaf, issuer) ? issuer : run.fetchSlots.run(() => fetchIssuerFromAia(leaf, { name: cfg.name, timeoutMs: cfg.ocsp.timeout, signal: run.ctx.signal }));
}

function describeValidity(ex: ExaminedStaple): string {
  const why = ex.expiryReason === 'nextUpdate' ? 'its nextUpdate'
    : ex.expiryReason === 'signer' ? `its signer's certificate expires then, before nextUpdate ${ex.nextUpdate.toISOString()}`
      : `the certificate expires then, before nextUpdate ${ex.nextUpdate.toISOString()}`;
  return `${ex.certStatus}, thisUpdate ${ex.thisUpdate.toISOString()}, valid until ${ex.effectiveExpiry.toISOString()} (${why}), refresh at ${ex.refreshAt.toISOString()}`;
}

/** Per-certificate owner/group, else the top-level ones. */
function ownership(config: Config, cfg: CertificateConfig): { owner: string | number; group: string | number } {
  return { owner: cfg.owner ?? config.owner, group: cfg.group ?? config.group };
}

function reloadsOf(cfg: CertificateConfig): ReloadRequest[] {
  return cfg.reload ? [{ object: cfg.name, argv: cfg.reload, timeoutMs: cfg.reload_timeout }] : [];
}

function result(s: PlannedStep, outcome: StepResult['outcome'], message: string): StepResult {
  return { job: 'ocsp', object: s.object, action: s.action, outcome, message };
}
