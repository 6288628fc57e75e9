/**
 * Typed errors. Every error tlskeeper raises names the object it concerns,
 * says what went wrong, and carries a hint that tells the postmaster what to
 * do. Only `src/cli` turns them into exit codes and prints them.
 */

export interface ErrorOptions {
  /** Stable machine-readable code, e.g. `OCSP_SIGNER_EXPIRED`. */
  code: string;
  /** What to do about it, in one sentence. */
  hint?: string;
  /** The managed object concerned: `certificate mx`, `dhparams /var/spool/…`. */
  object?: string;
  cause?: unknown;
}

export class TlskeeperError extends Error {
  readonly code: string;
  readonly hint: string | undefined;
  readonly object: string | undefined;

  constructor(message: string, options: ErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = options.code;
    this.hint = options.hint;
    this.object = options.object;
  }

  /** A JSON-safe summary, for `--json` output and state files. */
  toJSON(): SerializedError {
    return {
      code: this.code,
      message: this.message,
      ...(this.object ? { object: this.object } : {}),
      ...(this.hint ? { hint: this.hint } : {}),
      ...(this.cause instanceof Error ? { cause: this.cause.message } : {}),
    };
  }
}

export interface SerializedError {
  code: string;
  message: string;
  object?: string;
  hint?: string;
  cause?: string;
}

/** One problem in the configuration file, located by its path in the file. */
export interface ConfigIssue {
  /** `certificates[1].cert` */
  path: string;
  message: string;
  hint?: string;
  /** 1-based line in the file, when known. */
  line?: number;
}

/** The configuration is invalid; `issues` lists every problem at once. Exit 2. */
export class ConfigError extends TlskeeperError {
  readonly issues: ConfigIssue[];
  readonly file: string;
  constructor(file: string, issues: ConfigIssue[], cause?: unknown) {
    super(`${file}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the configuration`, {
      code: 'CONFIG_INVALID',
      hint: 'Fix every problem listed, then run `tlskeeper status` again. Nothing was written.',
      object: file,
      cause,
    });
    this.issues = issues;
    this.file = file;
  }
  override toJSON(): SerializedError & { issues: ConfigIssue[] } {
    return { ...super.toJSON(), issues: this.issues };
  }
}

/** Wrong command-line usage. Exit 2. */
export class UsageError extends TlskeeperError {
  constructor(message: string, hint?: string) {
    super(message, { code: 'USAGE', ...(hint ? { hint } : {}) });
  }
}

/** An object (certificate, key, staple, DH file, DNS answer) failed validation. */
export class ValidationError extends TlskeeperError {}

/** A network operation failed: timeout, refused, bad HTTP status, too large. */
export class NetworkError extends TlskeeperError {}

/** Another tlskeeper process holds the lock on this object. */
export class LockBusyError extends TlskeeperError {}

/** A filesystem operation on a managed file failed. */
export class StoreError extends TlskeeperError {}

/** An external command (reload action, exec provider) failed or timed out. */
export class CommandError extends TlskeeperError {}

/** A DNS provider operation failed (auth, refused, not authoritative, timeout). */
export class DnsError extends TlskeeperError {}

/** Turn anything thrown into a TlskeeperError without losing the original. */
export function asTlskeeperError(err: unknown, fallback: Omit<ErrorOptions, 'cause'> & { message?: string }): TlskeeperError {
  if (err instanceof TlskeeperError) return err;
  const message = fallback.message ?? (err instanceof Error ? err.message : String(err));
  return new TlskeeperError(message, { ...fallback, cause: err });
}

export function describeError(err: unknown): SerializedError {
  if (err instanceof TlskeeperError) return err.toJSON();
  if (err instanceof Error) return { code: 'INTERNAL', message: err.message };
  return { code: 'INTERNAL', message: String(err) };
}
