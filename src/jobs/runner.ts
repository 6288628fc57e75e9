/**
 * Runs jobs: read → plan → apply, then the reload actions the applied steps
 * asked for, each once, in the order first asked. The single error boundary
 * for job failures: a job that throws becomes a failed StepResult, and the
 * other jobs still run.
 */
import { describeError } from '../errors/index.js';
import { runReload } from '../reload/index.js';
import type { Job, JobContext, JobName, Plan, PlanOptions, ReloadRequest, StatusEntry, StepResult } from './types.js';

export interface RefreshReport {
  startedAt: Date;
  finishedAt: Date;
  dryRun: boolean;
  plans: Plan[];
  results: StepResult[];
  reloads: Array<ReloadRequest & { ok: boolean; message: string }>;
  ok: boolean;
}

export async function runRefresh(
  ctx: JobContext, jobs: Job[], options: PlanOptions & { dryRun: boolean; only?: JobName[] },
): Promise<RefreshReport> {
  const startedAt = ctx.now();
  const selected = options.only && options.only.length > 0 ? jobs.filter((j) => options.only!.includes(j.name)) : jobs;
  const plans: Plan[] = [];
  const results: StepResult[] = [];
  const reloads: RefreshReport['reloads'] = [];
  for (const job of selected) {
    if (ctx.signal.aborted) break;
    let plan: Plan;
    try {
      const observed = await job.read(ctx, options);
      plan = job.plan(observed, ctx.now(), options);
    } catch (err) {
      const error = describeError(err);
      ctx.log.error({ job: job.name, err: error }, `${job.name}: ${error.message}`);
      results.push({ job: job.name, object: job.name, action: 'read', outcome: 'failed', message: error.message, error });
      continue;
    }
    plans.push(plan);
    if (options.dryRun) continue;
    let jobResults: StepResult[];
    try {
      jobResults = await job.apply(ctx, plan);
    } catch (err) {
      const error = describeError(err);
      ctx.log.error({ job: job.name, err: error }, `${job.name}: ${error.message}`);
      jobResults = [{ job: job.name, object: job.name, action: 'apply', outcome: 'failed', message: error.message, error }];
    }
    results.push(...jobResults);
    // Reload after each job, so the next job (e.g. ocsp after certs) works on
    // what the server now serves.
    const seen = new Set<string>();
    for (const req of jobResults.flatMap((r) => (r.outcome === 'changed' ? r.reloads ?? [] : []))) {
      const key = JSON.stringify(req.argv);
      if (seen.has(key)) continue;
      seen.add(key);
      const outcome = await runReload(req, { signal: ctx.signal, log: ctx.log });
      reloads.push({ ...req, ...outcome });
    }
  }
  const ok = results.every((r) => r.outcome !== 'failed') && reloads.every((r) => r.ok);
  return { startedAt, finishedAt: ctx.now(), dryRun: options.dryRun, plans, results, reloads, ok };
}

export async function collectStatus(ctx: JobContext, jobs: Job[], options: PlanOptions): Promise<StatusEntry[]> {
  const entries: StatusEntry[] = [];
  for (const job of jobs) {
    try {
      const observed = await job.read(ctx, options);
      entries.push(...job.status(observed, ctx.now()));
    } catch (err) {
      const error = describeError(err);
      entries.push({
        kind: job.name, object: job.name, severity: 'UNKNOWN', summary: error.message, facts: {},
        problems: [{ severity: 'UNKNOWN', message: error.message, ...(error.hint ? { hint: error.hint } : {}) }],
      });
    }
  }
  return entries;
}
