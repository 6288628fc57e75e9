/**
 * The contract every maintenance job implements (certs, ocsp, dhparams, tlsa).
 *
 * A job works in three steps, changesets-style:
 *   1. `read(ctx)`         — look at the world (files, DNS, state); no writes.
 *   2. `plan(observed, now, options)` — pure: decide what is due and why.
 *      Takes an explicit `now` so tests inject a clock; `--dry-run` prints it.
 *   3. `apply(ctx, plan)`  — do it. Each step takes its object's lock,
 *      re-checks, then writes through `src/store`. A failed step does not stop
 *      the others; it is reported in its StepResult.
 * `status(observed, now)` is pure too: what `tlskeeper status` reports.
 */
import type { Config } from '../config/index.js';
import type { SerializedError } from '../errors/index.js';
import type { Logger } from '../log/index.js';

export const JOB_NAMES = ['certs', 'tlsa', 'ocsp', 'dhparams'] as const;
export type JobName = (typeof JOB_NAMES)[number];

/** Monitoring-plugin convention: exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
export type Severity = 'OK' | 'WARNING' | 'CRITICAL' | 'UNKNOWN';
export const SEVERITY_EXIT: Record<Severity, number> = { OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3 };
const RANK: Record<Severity, number> = { OK: 0, UNKNOWN: 1, WARNING: 2, CRITICAL: 3 };
export function worst(a: Severity, b: Severity): Severity {
  return RANK[a] >= RANK[b] ? a : b;
}

/** One line of `tlskeeper status`. */
export interface StatusEntry {
  /** 'certificate' | 'ocsp' | 'dhparams' | 'tlsa' */
  kind: string;
  /** The object: certificate name, file path, TLSA owner name. */
  object: string;
  severity: Severity;
  /** One line for the table. */
  summary: string;
  /** Every fact, JSON-safe (Dates become ISO strings when printed). */
  facts: Record<string, unknown>;
  /** What is wrong, each with what to do. */
  problems: Array<{ severity: Severity; message: string; hint?: string }>;
}

/** One thing a job intends to do. */
export interface PlannedStep {
  job: JobName;
  object: string;
  /** e.g. 'fetch-staple', 'regenerate', 'publish-tlsa', 'none' */
  action: string;
  /** Why it is (or is not) due, for humans. */
  reason: string;
  /** When it becomes due, if not now. */
  dueAt?: Date;
  /** Job-specific detail apply() needs. */
  detail?: unknown;
}

export interface Plan {
  job: JobName;
  steps: PlannedStep[];
}

export type StepOutcome = 'changed' | 'unchanged' | 'failed' | 'skipped';

export interface StepResult {
  job: JobName;
  object: string;
  action: string;
  outcome: StepOutcome;
  message: string;
  error?: SerializedError;
  /** Files whose served content changed; the runner reloads their owners. */
  changedFiles?: string[];
  /** Reload actions this step requires (argv arrays), run once each after the job. */
  reloads?: ReloadRequest[];
}

export interface ReloadRequest {
  /** Which object asked for it (for logs). */
  object: string;
  argv: string[];
  timeoutMs: number;
}

export interface PlanOptions {
  force: boolean;
  /** `--cert NAME` */
  certificate?: string;
}

export interface JobContext {
  config: Config;
  log: Logger;
  /** The run's clock; tests inject one. */
  now: () => Date;
  /** Aborted on SIGTERM/SIGINT: finish or abandon the current step cleanly. */
  signal: AbortSignal;
}

export interface Job<Observed = unknown> {
  readonly name: JobName;
  read(ctx: JobContext, options: PlanOptions): Promise<Observed>;
  plan(observed: Observed, now: Date, options: PlanOptions): Plan;
  apply(ctx: JobContext, plan: Plan): Promise<StepResult[]>;
  status(observed: Observed, now: Date): StatusEntry[];
}
