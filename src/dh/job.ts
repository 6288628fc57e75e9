/**
 * The `dhparams` job: keeps each configured DH parameter file valid and
 * fresh (see docs/dhparams.md for what the file is for, and when a named
 * RFC 7919 group is the better choice).
 *
 *   read   — stat, read and check every file (./observe.ts, ./check.ts)
 *   plan   — pure: regenerate what is missing, unreadable, failing a check,
 *            older than max_age, or everything with --force
 *   apply  — per file, under its lock: re-check, generate in workers
 *            (./generate.ts), verify, keep the old file (./preserve.ts),
 *            write atomically with owner/group/mode, ask for the reload
 *   status — pure: bits, age, next regeneration, check result
 */
import { LockBusyError, TlskeeperError, describeError } from '../errors/index.js';
import { lockDirOf, type DhparamsConfig } from '../config/index.js';
import type { Job, JobContext, Plan, PlanOptions, PlannedStep, StatusEntry, StepResult } from '../jobs/index.js';
import { atomicWriteFile, canRead, withLock, writeState } from '../store/index.js';
import { formatDuration } from '../util/index.js';
import { readFile, stat } from 'node:fs/promises';
import { generateDhParams } from './generate.js';
import { dhObjectId, identityOf, observeDhFile, type DhFileIdentity, type DhGenerationState, type ObservedDhFile } from './observe.js';
import { preserveOld } from './preserve.js';
import { checkDhBytes } from './check.js';

/**
 * Exim's default tls_dh_max_bits (Exim spec, main options; globals.c:
 * `int tls_dh_max_bits = 2236;`). Exim built with OpenSSL loads a larger
 * tls_dhparam file but does not use it (tls-openssl.c, init_dh: "we silently
 * return success"), so DHE suites silently disappear.
 */
export const EXIM_DEFAULT_DH_MAX_BITS = 2236;

/** The daemon runs dhparams once a day by default: a file this far past max_age means the runs stopped. */
export const OVERDUE_GRACE_MS = 2 * 86_400_000;

export type DhTrigger = 'missing' | 'check' | 'age' | 'forced' | 'permissions';

export interface DhStepDetail {
  trigger: DhTrigger;
  /** The check code or DH_DUE / DH_FORCED: why the file is replaced (also names the kept copy). */
  code: string;
  /** The file as planned (absent when missing): apply re-checks only when it changed since. */
  identity?: DhFileIdentity;
  kind: ObservedDhFile['kind'];
}

function nextRegeneration(o: ObservedDhFile): Date | undefined {
  return o.modifiedAt ? new Date(o.modifiedAt.getTime() + o.config.max_age) : undefined;
}

/** The decision for one file (pure). */
export function planFile(o: ObservedDhFile, now: Date, options: Pick<PlanOptions, 'force'>): PlannedStep {
  const base = { job: 'dhparams' as const, object: o.config.file };
  if (o.kind === 'other') {
    return { ...base, action: 'blocked', reason: `${o.check.message}; tlskeeper does not replace special files` };
  }
  const detail = (trigger: DhTrigger, code: string): DhStepDetail => ({ trigger, code, kind: o.kind, ...(o.identity ? { identity: o.identity } : {}) });
  if (o.kind === 'missing') {
    return { ...base, action: 'regenerate', reason: 'the file does not exist', detail: detail('missing', o.check.code) };
  }
  if (o.check.severity !== 'OK') {
    return { ...base, action: 'regenerate', reason: `${o.check.severity === 'WARNING' ? 'check warning' : 'check failed'}: ${o.check.message} (${o.check.code})`, detail: detail('check', o.check.code) };
  }
  if (options.force) {
    return { ...base, action: 'regenerate', reason: 'forced (--force)', detail: detail('forced', 'DH_FORCED') };
  }
  const due = nextRegeneration(o)!;
  if (now.getTime() >= due.getTime()) {
    return {
      ...base, action: 'regenerate',
      reason: `older than max_age: written ${formatDuration(now.getTime() - o.modifiedAt!.getTime())} ago, max_age ${formatDuration(o.config.max_age)}`,
      detail: detail('age', 'DH_DUE'),
    };
  }
  const drift = permissionDrift(o);
  if (drift) {
    return { ...base, action: 'fix-permissions', reason: `valid, but ${drift}`, detail: detail('permissions', 'DH_PERMISSIONS'), dueAt: due };
  }
  return { ...base, action: 'none', reason: `valid (${o.check.message}); next regeneration in ${formatDuration(due.getTime() - now.getTime())}`, dueAt: due };
}

/**
 * How the file's mode or ownership differs from the configuration, if it
 * does: a valid file is then rewritten with the same bytes (atomically) rather
 * than left unreadable for the MTA until its next regeneration.
 */
export function permissionDrift(o: Pick<ObservedDhFile, 'kind' | 'mode' | 'uid' | 'gid' | 'wanted' | 'config'>): string | undefined {
  if (o.kind !== 'file' || o.mode === undefined) return undefined;
  const diffs: string[] = [];
  if (o.mode !== o.config.mode) diffs.push(`mode is ${octalMode(o.mode)}, configured ${octalMode(o.config.mode)}`);
  if (o.wanted?.uid !== undefined && o.uid !== o.wanted.uid) diffs.push(`owner is uid ${o.uid}, configured uid ${o.wanted.uid}`);
  if (o.wanted?.gid !== undefined && o.gid !== o.wanted.gid) diffs.push(`group is gid ${o.gid}, configured gid ${o.wanted.gid}`);
  return diffs.length ? diffs.join('; ') : undefined;
}

/** 0o400 → "0400", as a postmaster writes it. */
function octalMode(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

function sameIdentity(a: DhFileIdentity | undefined, b: DhFileIdentity | undefined): boolean {
  if (!a || !b) return a === b;
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

async function applyStep(ctx: JobContext, step: PlannedStep): Promise<StepResult> {
  const base = { job: 'dhparams' as const, object: step.object, action: step.action };
  if (step.action === 'none') return { ...base, outcome: 'unchanged', message: step.reason };
  const config = ctx.config.dhparams.find((d) => d.file === step.object);
  if (!config) {
    return { ...base, outcome: 'skipped', message: 'no longer in the configuration' };
  }
  if (step.action === 'blocked') {
    const error = new TlskeeperError(`${step.object}: ${step.reason}`, {
      code: 'DH_NOT_A_FILE', object: step.object, hint: 'remove it or point the configuration at another path',
    });
    return { ...base, outcome: 'failed', message: error.message, error: error.toJSON() };
  }
  const detail = step.detail as DhStepDetail;
  const objectId = dhObjectId(config.file);
  try {
    return await withLock(lockDirOf(ctx.config), objectId, async (): Promise<StepResult> => {
      // Lock, then re-check: another run may have replaced the file meanwhile.
      // Unchanged identity (device, inode, size, mtime) means the same file as
      // planned, so the plan stands without checking it again (the primality
      // checks of a 4096-bit file take seconds).
      const now = ctx.now();
      const current = await stat(config.file).catch(() => undefined);
      const currentIdentity = current ? identityOf(current) : undefined;
      let again: PlannedStep;
      let kind: ObservedDhFile['kind'];
      if (sameIdentity(detail.identity, currentIdentity)) {
        again = step;
        kind = detail.kind;
      } else {
        const fresh = await observeDhFile(config, ctx.config);
        again = planFile(fresh, now, { force: detail.trigger === 'forced' });
        kind = fresh.kind;
        if (again.action === 'none' || (detail.trigger === 'forced' && fresh.check.severity === 'OK')) {
          return { ...base, outcome: 'unchanged', message: `replaced meanwhile by another run; ${again.reason}` };
        }
        if (again.action === 'blocked') return { ...base, outcome: 'failed', message: again.reason };
      }
      if (again.action === 'fix-permissions') return await rewriteWithPermissions(ctx, config, again);
      const why = (again.detail as DhStepDetail).code;
      ctx.log.info({ object: config.file, bits: config.bits, reason: again.reason }, 'generating DH parameters');
      const generated = await generateDhParams({
        bits: config.bits, timeoutMs: config.timeout, signal: ctx.signal, object: config.file, log: ctx.log,
      });
      // Keep what is there now (it may have changed during the search). A
      // symlink is followed, like the MTA does; the new file replaces the link.
      const before = await stat(config.file).catch(() => undefined);
      let savedAs: string | undefined;
      if (before) {
        const keepAs = before.isDirectory() ? 'directory' : before.isFile() ? (kind === 'unreadable' ? 'unreadable' : 'file') : undefined;
        if (!keepAs) throw new TlskeeperError(`${config.file} became a special file during generation`, { code: 'DH_NOT_A_FILE', object: config.file });
        savedAs = await preserveOld(config.file, keepAs, ctx.config.state_dir, now, why);
      }
      await atomicWriteFile(config.file, generated.pem, {
        mode: config.mode, owner: config.owner ?? ctx.config.owner, group: config.group ?? ctx.config.group,
      });
      const state: DhGenerationState = {
        generatedAt: ctx.now().toISOString(),
        durationMs: Math.round(generated.durationMs),
        workers: generated.workers,
        bits: config.bits,
        previous: { reason: again.reason, ...(savedAs ? { savedAs } : {}) },
      };
      await writeState(ctx.config.state_dir, objectId, state).catch((err: unknown) =>
        ctx.log.warn({ object: config.file, err: describeError(err) }, 'could not record the generation in the state directory'));
      const message = `regenerated: ${generated.check.message}, in ${(generated.durationMs / 1000).toFixed(1)} s with ${generated.workers} parallel searches; `
        + `why: ${again.reason}${savedAs ? `; previous kept as ${savedAs}` : ''}`;
      ctx.log.info({ object: config.file, ms: state.durationMs, workers: generated.workers, savedAs }, message);
      return {
        ...base, outcome: 'changed', message, changedFiles: [config.file],
        ...(config.reload ? { reloads: [{ object: config.file, argv: config.reload, timeoutMs: config.reload_timeout }] } : {}),
      };
    });
  } catch (err) {
    const error = describeError(err);
    if (err instanceof LockBusyError) return { ...base, outcome: 'skipped', message: error.message, error };
    ctx.log.error({ object: step.object, err: error }, `dhparams ${step.object}: ${error.message}`);
    return { ...base, outcome: 'failed', message: error.message, error };
  }
}

/**
 * The same (valid) bytes, rewritten through the atomic writer with the
 * configured mode, owner and group: the MTA never sees a file it cannot read
 * or a half-changed one. Runs under the file's lock; the bytes are checked
 * again first, so nothing unchecked is written.
 */
async function rewriteWithPermissions(ctx: JobContext, config: DhparamsConfig, step: PlannedStep): Promise<StepResult> {
  const base = { job: 'dhparams' as const, object: config.file, action: step.action };
  const bytes = await readFile(config.file);
  const check = await checkDhBytes(bytes, config.bits);
  if (check.severity !== 'OK') {
    return { ...base, outcome: 'unchanged', message: `not rewritten: the file changed and now fails its check (${check.code}); the next refresh replaces it` };
  }
  await atomicWriteFile(config.file, bytes, { mode: config.mode, owner: config.owner ?? ctx.config.owner, group: config.group ?? ctx.config.group });
  const message = `permissions corrected (same parameters): ${step.reason.replace(/^valid, but /, '')}`;
  ctx.log.info({ object: config.file }, message);
  return {
    ...base, outcome: 'changed', message, changedFiles: [config.file],
    ...(config.reload ? { reloads: [{ object: config.file, argv: config.reload, timeoutMs: config.reload_timeout }] } : {}),
  };
}

/**
 * Can the server that uses the file read it? Debian's Exim reads tls_dhparam
 * in every receiving process, as Debian-exim: a file only root can read (the
 * default mode 0400 with the default owner root) makes every STARTTLS fail
 * there, like a broken file (measured on Debian 12's exim4).
 */
export function readerProblems(o: Pick<ObservedDhFile, 'kind' | 'mode' | 'uid' | 'gid' | 'reader' | 'readerUnknown' | 'config'>): StatusEntry['problems'] {
  if (o.readerUnknown) {
    return [{
      severity: 'WARNING', message: `reader "${String(o.config.reader)}" is not a user on this host`,
      hint: 'set reader to the user your TLS server reads the file as (Debian-exim for Exim on Debian; root for nginx, Postfix and Dovecot)',
    }];
  }
  if (o.kind !== 'file' || !o.reader || o.mode === undefined || o.uid === undefined || o.gid === undefined) return [];
  if (canRead({ mode: o.mode, uid: o.uid, gid: o.gid }, o.reader)) return [];
  const mode = octalMode(o.mode);
  return [{
    severity: 'WARNING',
    message: `${o.reader.name} cannot read it (mode ${mode}, uid ${o.uid}, gid ${o.gid})`,
    hint: o.config.reader === undefined
      ? `Exim on Debian reads tls_dhparam as ${o.reader.name}, and a file it cannot read makes every STARTTLS fail: set owner: ${o.reader.name} on this entry (mode 0400 stays). If only servers that run as root read this file (nginx, Postfix, Dovecot), set reader: root`
      : `set owner or group (and mode) on this entry so that ${o.reader.name} can read the file; the next refresh writes it so`,
  }];
}

/** One status line per file (pure). */
export function dhStatus(o: ObservedDhFile, now: Date): StatusEntry {
  const { config, check } = o;
  const problems: StatusEntry['problems'] = [];
  let severity: StatusEntry['severity'] = check.severity;
  if (check.severity !== 'OK') problems.push({ severity: check.severity, message: `${check.code}: ${check.message}`, ...(check.hint ? { hint: check.hint } : {}) });
  const next = nextRegeneration(o);
  const ageMs = o.modifiedAt ? now.getTime() - o.modifiedAt.getTime() : undefined;
  if (check.severity === 'OK' && next && now.getTime() >= next.getTime()) {
    const overdue = now.getTime() - next.getTime() > OVERDUE_GRACE_MS;
    if (overdue) severity = 'WARNING';
    problems.push({
      severity: overdue ? 'WARNING' : 'OK',
      message: `due for regeneration since ${formatDuration(now.getTime() - next.getTime())} (older than max_age ${formatDuration(config.max_age)})`,
      hint: overdue
        ? 'scheduled runs seem to have stopped: check the tlskeeper daemon or timer, or run `tlskeeper refresh dhparams`'
        : 'the next scheduled `refresh dhparams` replaces it',
    });
  }
  problems.push(...readerProblems(o));
  if (problems.some((p) => p.severity === 'WARNING') && severity === 'OK') severity = 'WARNING';
  if (config.bits > EXIM_DEFAULT_DH_MAX_BITS) {
    // A note, not a WARNING: see docs/dhparams.md ("Sizes above 2236 bits").
    problems.push({
      severity: 'OK',
      message: `${config.bits} bits is above Exim's default tls_dh_max_bits (${EXIM_DEFAULT_DH_MAX_BITS})`,
      hint: `Exim built with OpenSSL ignores a larger file and silently offers no DHE suites: set tls_dh_max_bits = ${config.bits} there, or use 2048 bits. Exim built with GnuTLS (Debian's exim4), nginx, Dovecot and Postfix use the file as it is`,
    });
  }
  const f = check.facts;
  const facts: Record<string, unknown> = {
    file: config.file,
    requestedBits: config.bits,
    bits: f.bits,
    generator: f.generator,
    safePrime: f.safePrime,
    generatorOrder: f.generatorOrder,
    pMod24: f.pMod24,
    privateValueLength: f.privateValueLength,
    explanatoryText: f.explanatoryText,
    check: check.code,
    checkMessage: check.message,
    modifiedAt: o.modifiedAt,
    ageDays: ageMs === undefined ? undefined : Math.round((ageMs / 86_400_000) * 10) / 10,
    maxAgeDays: Math.round((config.max_age / 86_400_000) * 10) / 10,
    nextRegeneration: o.kind === 'file' && check.severity === 'OK' ? next : now,
    mode: o.mode === undefined ? undefined : octalMode(o.mode),
    uid: o.uid,
    gid: o.gid,
    lastGenerationSeconds: o.lastGeneration ? Math.round(o.lastGeneration.durationMs / 100) / 10 : undefined,
  };
  for (const k of Object.keys(facts)) if (facts[k] === undefined) delete facts[k];
  const summary = check.severity === 'OK'
    ? `${f.bits}-bit safe prime, g = ${f.generator}, ${ageMs === undefined ? '' : `${formatDuration(Math.max(0, ageMs))} old, `}${next && next.getTime() > now.getTime() ? `next regeneration in ${formatDuration(next.getTime() - now.getTime())}` : 'due for regeneration'}`
    : `${check.code}: ${check.message}${o.kind === 'other' ? '' : ' (replaced at the next refresh)'}`;
  return { kind: 'dhparams', object: config.file, severity, summary, facts, problems };
}

export const dhparamsJob: Job<ObservedDhFile[]> = {
  name: 'dhparams',
  async read(ctx: JobContext) {
    return Promise.all(ctx.config.dhparams.map((d) => observeDhFile(d, ctx.config)));
  },
  plan(observed, now, options): Plan {
    return { job: 'dhparams', steps: observed.map((o) => planFile(o, now, options)) };
  },
  async apply(ctx, plan): Promise<StepResult[]> {
    const results: StepResult[] = [];
    // One file at a time: each generation already uses every core.
    for (const step of plan.steps) {
      if (ctx.signal.aborted && step.action !== 'none') {
        results.push({ job: 'dhparams', object: step.object, action: step.action, outcome: 'skipped', message: 'tlskeeper is stopping' });
        continue;
      }
      results.push(await applyStep(ctx, step));
    }
    return results;
  },
  status(observed, now): StatusEntry[] {
    return observed.map((o) => dhStatus(o, now));
  },
};
