#!/usr/bin/env node
/**
 * The command line. The one place that turns errors into exit codes and
 * prints them; everything below it throws typed errors.
 *
 * Exit codes:
 *   status   0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (monitoring-plugin convention)
 *   refresh  0 all jobs succeeded or had nothing to do, 1 any failed
 *   any      2 usage or configuration error
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { loadConfig, resolveConfigPath, type Config } from '../config/index.js';
import { listTlsaRecords } from '../dane/index.js';
import { ConfigError, TlskeeperError, UsageError, describeError } from '../errors/index.js';
import { JOB_NAMES, SEVERITY_EXIT, collectStatus, runRefresh, worst, type JobContext, type JobName, type Severity } from '../jobs/index.js';
import { createLogger, LOG_LEVELS, type LogLevel, type Logger } from '../log/index.js';
import { Scheduler } from '../schedule/index.js';
import { ALL_JOBS } from './jobs.js';
import { renderRefresh, renderStatusTable, toJson, type StatusDocument } from './output.js';

export const VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0.0.0';
  }
})();

interface GlobalOptions {
  config?: string;
  logLevel: LogLevel;
  json: boolean;
}

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  /** The clock; tests inject one (also settable with TLSKEEPER_NOW for demos). */
  now: () => Date;
}

const defaultIo = (): CliIo => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  now: process.env.TLSKEEPER_NOW ? () => new Date(process.env.TLSKEEPER_NOW!) : () => new Date(),
});

/** Runs the CLI and returns the exit code (never calls process.exit itself). */
export async function main(args: string[], io: CliIo = defaultIo()): Promise<number> {
  let exitCode = 0;
  const program = new Command('tlskeeper')
    .description("keeps a mail server's TLS material valid: certificates, OCSP staples, DH parameters, TLSA records")
    .option('-c, --config <file>', 'configuration file (default: $TLSKEEPER_CONFIG or /etc/tlskeeper/config.yaml)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(LOG_LEVELS as string[]).default('info'))
    .option('--json', 'print one JSON document on stdout (status, refresh)', false)
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError();

  const globals = (): GlobalOptions => program.opts<GlobalOptions>();
  const setup = async (): Promise<{ config: Config; log: Logger; ctx: JobContext }> => {
    const g = globals();
    const log = createLogger({ level: g.logLevel, write: io.stderr, journald: Boolean(io.env.JOURNAL_STREAM) });
    const config = await loadConfig(resolveConfigPath(g.config, io.env));
    const ctx: JobContext = { config, log, now: io.now, signal: new AbortController().signal };
    return { config, log, ctx };
  };

  program.command('status')
    .description('report every managed object; exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN')
    .option('--cert <name>', 'only this certificate')
    .action(async (opts: { cert?: string }) => {
      const { ctx, config } = await setup();
      checkCertName(config, opts.cert);
      const entries = await collectStatus(ctx, ALL_JOBS, { force: false, ...(opts.cert ? { certificate: opts.cert } : {}) });
      const severity = entries.reduce<Severity>((s, e) => worst(s, e.severity), 'OK');
      const doc: StatusDocument = { tlskeeper: VERSION, generatedAt: ctx.now(), severity, exitCode: SEVERITY_EXIT[severity], entries };
      io.stdout(globals().json ? `${toJson(doc)}\n` : renderStatusTable(doc, ctx.now()));
      exitCode = doc.exitCode;
    });

  program.command('refresh')
    .description(`run the due jobs once (${JOB_NAMES.join(', ')}); exit 0 all succeeded, 1 any failed`)
    .argument('[jobs...]', 'jobs to run (default: all)')
    .option('--force', 'ignore due-ness: redo every job now', false)
    .option('--dry-run', 'print the plan only; write nothing', false)
    .option('--cert <name>', 'only this certificate')
    .action(async (jobs: string[], opts: { force: boolean; dryRun: boolean; cert?: string }) => {
      const unknown = jobs.filter((j) => !(JOB_NAMES as readonly string[]).includes(j));
      if (unknown.length > 0) throw new UsageError(`unknown job ${unknown.join(', ')}`, `jobs are: ${JOB_NAMES.join(', ')}`);
      const { ctx, config } = await setup();
      checkCertName(config, opts.cert);
      const report = await runRefresh(ctx, ALL_JOBS, {
        force: opts.force, dryRun: opts.dryRun, only: jobs as JobName[], ...(opts.cert ? { certificate: opts.cert } : {}),
      });
      exitCode = report.ok ? 0 : 1;
      io.stdout(globals().json ? `${toJson({ tlskeeper: VERSION, ...report, exitCode })}\n` : renderRefresh(report));
    });

  program.command('run')
    .description('daemon: run the jobs on their schedules until SIGTERM/SIGINT')
    .action(async () => {
      const { ctx, config, log } = await setup();
      const controller = new AbortController();
      const runCtx: JobContext = { ...ctx, signal: controller.signal };
      const scheduler = new Scheduler();
      for (const job of ALL_JOBS) {
        scheduler.schedule({
          name: job.name,
          expression: config.schedule[job.name],
          run: async () => {
            const report = await runRefresh(runCtx, ALL_JOBS, { force: false, dryRun: false, only: [job.name] });
            log.info({ job: job.name, ok: report.ok, changed: report.results.filter((r) => r.outcome === 'changed').length }, `${job.name} run finished`);
          },
        });
      }
      // Signal handlers first: a SIGTERM that arrives during start-up must also
      // mean "finish the running job, then exit 0". The run's signal is aborted
      // so a long step (a DH search can take minutes) is abandoned cleanly:
      // every write is atomic, so an abandoned step leaves the old file and is
      // redone at the next run; network steps stop at their next await.
      const stopped = new Promise<void>((resolve) => {
        const stop = (sig: string) => {
          log.info({ signal: sig }, 'stopping after the running job');
          controller.abort(new Error(`stopped by ${sig}`));
          process.off('SIGTERM', onTerm);
          process.off('SIGINT', onInt);
          scheduler.stop().then(resolve, resolve);
        };
        const onTerm = () => stop('SIGTERM');
        const onInt = () => stop('SIGINT');
        process.on('SIGTERM', onTerm);
        process.on('SIGINT', onInt);
      });
      log.info({ schedule: config.schedule }, 'tlskeeper daemon started');
      // A first pass at start-up, so a restarted daemon catches up at once.
      void scheduler.enqueue({ name: 'startup', expression: '', run: async () => { await runRefresh(runCtx, ALL_JOBS, { force: false, dryRun: false }); } });
      await stopped;
      exitCode = 0;
    });

  program.command('hook')
    .description('after an external ACME client renewed a certificate (not available yet)')
    .allowUnknownOption()
    .action(() => {
      throw new TlskeeperError('the hook command is not available in this version', {
        code: 'NOT_IMPLEMENTED', hint: 'run `tlskeeper refresh` after your ACME client renewed, then reload the MTA',
      });
    });

  program.command('check')
    .description('probe the live endpoints (not available yet)')
    .action(() => {
      throw new TlskeeperError('the check command is not available in this version', { code: 'NOT_IMPLEMENTED', hint: 'use `tlskeeper status` for now' });
    });

  program.command('tlsa')
    .description('print the TLSA records of the current key(s) in zone-file form; exit 1 when one cannot be computed')
    .option('--cert <name>', 'only this certificate')
    .action(async (opts: { cert?: string }) => {
      const { config } = await setup();
      checkCertName(config, opts.cert);
      const listing = await listTlsaRecords(config, opts.cert);
      exitCode = listing.errors.length > 0 ? 1 : 0;
      if (globals().json) {
        io.stdout(`${toJson({ tlskeeper: VERSION, ...listing, exitCode })}\n`);
        return;
      }
      // Warnings as zone-file comments, so the output stays pasteable.
      const out = [
        ...listing.warnings.map((w) => `; WARNING ${w.name}: ${w.message}${w.hint ? ` (${w.hint})` : ''}`),
        ...listing.records.map((r) => r.line),
      ];
      if (listing.records.length === 0 && listing.errors.length === 0) out.push(`; no tlsa records configured${opts.cert ? ` for certificate ${opts.cert}` : ''}`);
      if (out.length > 0) io.stdout(`${out.join('\n')}\n`);
      for (const e of listing.errors) io.stderr(`tlskeeper: ${e.name}: ${e.message}\n${e.hint ? `  hint: ${e.hint}\n` : ''}`);
    });

  program.command('version')
    .description('print the version')
    .action(() => { io.stdout(`tlskeeper ${VERSION}\n`); });

  try {
    if (args.length === 0) {
      program.outputHelp();
      return 2;
    }
    await program.parseAsync(args, { from: 'user' });
    return exitCode;
  } catch (err) {
    return reportError(err, io, globals().json);
  }
}

function checkCertName(config: Config, name: string | undefined): void {
  if (name && !config.certificates.some((c) => c.name === name)) {
    throw new UsageError(`no certificate named "${name}"`, `configured: ${config.certificates.map((c) => c.name).join(', ') || '(none)'}`);
  }
}

/** The single error boundary: typed error → message, hint, exit code. */
function reportError(err: unknown, io: CliIo, json: boolean): number {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0;
    return 2; // commander already printed the message
  }
  const code = err instanceof ConfigError || err instanceof UsageError ? 2 : err instanceof TlskeeperError && err.code === 'NOT_IMPLEMENTED' ? 3 : 1;
  if (json) {
    io.stdout(`${toJson({ tlskeeper: VERSION, error: err instanceof TlskeeperError ? err.toJSON() : describeError(err), exitCode: code })}\n`);
  }
  if (err instanceof ConfigError) {
    io.stderr(`tlskeeper: ${err.message}:\n`);
    for (const i of err.issues) {
      io.stderr(`  ${i.path}${i.line ? ` (line ${i.line})` : ''}: ${i.message}\n${i.hint ? `      hint: ${i.hint}\n` : ''}`);
    }
    io.stderr(`  ${err.hint}\n`);
  } else if (err instanceof TlskeeperError) {
    io.stderr(`tlskeeper: ${err.message}\n${err.hint ? `  hint: ${err.hint}\n` : ''}`);
  } else {
    io.stderr(`tlskeeper: internal error: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  }
  return code;
}

const invokedDirectly = process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
}
