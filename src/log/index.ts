/**
 * Structured logs on stderr (stdout belongs to `--json` documents).
 *
 * Under systemd (JOURNAL_STREAM set) every line starts with its syslog
 * priority, `<3>` for errors, so journald keeps the levels (sd-daemon(3),
 * "SD_ERR"). Key material and secrets never reach a log line: the redaction
 * list below censors the fields that could hold them, and the code never puts
 * PEM or TSIG secrets in log fields in the first place.
 */
import pino from 'pino';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export type Logger = pino.Logger;

/** pino numeric level → syslog priority (RFC 5424 §6.2.1). */
export function syslogPriority(pinoLevel: number): number {
  if (pinoLevel >= 60) return 2; // crit
  if (pinoLevel >= 50) return 3; // err
  if (pinoLevel >= 40) return 4; // warning
  if (pinoLevel >= 30) return 6; // info
  return 7; // debug
}

const REDACT = [
  'secret', '*.secret', 'key', '*.key', 'privateKey', '*.privateKey', 'tsigSecret', '*.tsigSecret',
  'apiKey', '*.apiKey', 'hmac', '*.hmac', 'password', '*.password',
];

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; stderr by default. */
  write?: (line: string) => void;
  journald?: boolean;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const journald = options.journald ?? Boolean(process.env.JOURNAL_STREAM);
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const stream = {
    write(line: string): void {
      if (!journald) return write(line);
      const level = /"level":(\d+)/.exec(line);
      write(`<${syslogPriority(level ? Number(level[1]) : 30)}>${line}`);
    },
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: { app: 'tlskeeper' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT, censor: '[redacted]' },
      formatters: { level: (label, number) => ({ level: number, severity: label }) },
    },
    stream,
  );
}

/** A logger that drops everything (tests, library use). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
