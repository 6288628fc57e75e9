/**
 * The configuration schema: every key tlskeeper reads, with its type, default
 * and a hint shown when it is wrong. README.md documents each key.
 */
import { isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { parseDuration } from '../util/duration.js';

const NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export const absolutePath = z
  .string({ invalid_type_error: 'must be a path (string)' })
  .min(1, 'must not be empty')
  .refine((p) => isAbsolute(p), { message: 'must be an absolute path' });

/** `30d`, `12h`, `10m`, `30s`, `500ms` → milliseconds. */
export const duration = z
  .union([z.string(), z.number().int().nonnegative()])
  .transform((v, ctx) => {
    if (typeof v === 'number') return v * 1000; // bare numbers are seconds
    const ms = parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not a duration`, params: { hint: 'write it like 30d, 12h, 10m, 30s or 500ms' } });
      return z.NEVER;
    }
    return ms;
  });

/** File modes are written as octal strings ("0644"); YAML would read 0644 as a number. */
export const fileMode = z
  .union([z.string(), z.number().int()])
  .transform((v, ctx) => {
    // YAML 1.2 reads 0640 as the decimal number 640: take its digits as octal.
    const text = String(v);
    if (!/^0?[0-7]{3}$/.test(text)) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `"${v}" is not a file mode`, params: { hint: 'quote it as an octal string, e.g. "0640"' } });
      return z.NEVER;
    }
    return parseInt(text, 8);
  });

/** An argv array run without a shell: ["systemctl", "reload", "exim4"]. */
export const argv = z
  .array(z.string().min(1), { invalid_type_error: 'must be a list of arguments' })
  .min(1, 'must name a command')
  .refine((a) => isAbsolute(a[0]!) || !a[0]!.includes('/'), { message: 'the command must be a bare name (looked up in PATH) or an absolute path' });

const owner = z.union([z.string().min(1), z.number().int().nonnegative()]);

export const tlsaRecordSpec = z
  .object({
    /** `_25._tcp.mx.example.com` */
    name: z.string().regex(/^_\d{1,5}\._(tcp|udp|sctp)\.[A-Za-z0-9._-]+\.?$/, 'must look like _25._tcp.mx.example.com'),
    usage: z.union([z.literal(2), z.literal(3)]).default(3),
    selector: z.union([z.literal(0), z.literal(1)]).default(1),
    matching: z.union([z.literal(0), z.literal(1), z.literal(2)]).default(1),
    /** Usage 2 pins an issuing CA; public CAs rotate intermediates, so it needs an explicit opt-in. */
    allow_trust_anchor: z.boolean().default(false),
  })
  .strict();

export const ocspSettings = z
  .object({
    /** Overrides the responder URL from the certificate's AIA extension. */
    url: z.string().url().optional(),
    /** Do not fetch staples for this certificate at all. */
    disabled: z.boolean().default(false),
    /** CertID hash algorithm (RFC 6960 §4.1.1); SHA-1 is what every responder supports. */
    hash: z.enum(['sha1', 'sha256']).default('sha1'),
    timeout: duration.default('10s'),
    mode: fileMode.default('0644'),
  })
  .strict();

export const certificateSchema = z
  .object({
    name: z.string().regex(NAME_RE, 'must be lowercase letters, digits and dashes ([a-z0-9-])'),
    cert: absolutePath,
    key: absolutePath,
    ocsp_file: absolutePath.optional(),
    ocsp: ocspSettings.default({}),
    /** The MTA tolerates a missing staple file (Exim: `${if exists{…}}`), so tlskeeper may remove a stale one. */
    ocsp_missing_ok: z.boolean().default(false),
    owner: owner.optional(),
    group: owner.optional(),
    key_mode: fileMode.default('0640'),
    cert_mode: fileMode.default('0644'),
    reload: argv.optional(),
    reload_timeout: duration.default('60s'),
    tlsa_ttl: z.number().int().min(0).max(2_147_483_647).default(300),
    tlsa: z.array(tlsaRecordSpec).default([]),
  })
  .strict();

export const dhparamsSchema = z
  .object({
    file: absolutePath,
    bits: z.number().int().min(512).max(8192),
    allow_weak: z.boolean().default(false),
    max_age: duration.default('30d'),
    owner: owner.optional(),
    group: owner.optional(),
    mode: fileMode.default('0400'),
    /**
     * The user whose server reads the file (checked by `status`). Default:
     * Debian-exim when that user exists (Debian's Exim reads tls_dhparam in
     * every receiving process, as Debian-exim); `root` for servers that read
     * it as root (nginx, Postfix, Dovecot).
     */
    reader: owner.optional(),
    reload: argv.optional(),
    reload_timeout: duration.default('60s'),
    /** Hard limit for one generation. */
    timeout: duration.default('15m'),
  })
  .strict();

const dnsCommon = {
  zone: z.string().min(1).transform((z) => z.replace(/\.$/, '').toLowerCase()),
  timeout: duration.default('10s'),
  /** How long verification waits for every authoritative server to serve the new RRset. */
  propagation_timeout: duration.default('120s'),
  /**
   * Servers to verify against instead of the zone's NS records (host[:port]);
   * for hidden primaries, split horizons and tests.
   */
  authoritative_servers: z.array(z.string().min(1)).optional(),
};

export const dnsRfc2136Schema = z
  .object({
    provider: z.literal('rfc2136'),
    ...dnsCommon,
    server: z.string().min(1),
    /** A BIND key file as written by `tsig-keygen` (name, algorithm and secret). */
    tsig_key_file: absolutePath.optional(),
    /** Or: key name + algorithm here, secret (base64) in its own file. */
    tsig_key_name: z.string().min(1).optional(),
    tsig_algorithm: z.enum(['hmac-sha256', 'hmac-sha512', 'hmac-sha1', 'hmac-sha384', 'hmac-sha224']).optional(),
    secret_file: absolutePath.optional(),
  })
  .strict();

export const dnsPowerdnsSchema = z
  .object({
    provider: z.literal('powerdns'),
    ...dnsCommon,
    api_url: z.string().url(),
    api_key_file: absolutePath,
    server_id: z.string().default('localhost'),
  })
  .strict();

export const dnsExecSchema = z
  .object({
    provider: z.literal('exec'),
    ...dnsCommon,
    command: argv,
  })
  .strict();

export const dnsZoneSchema = z.discriminatedUnion('provider', [dnsRfc2136Schema, dnsPowerdnsSchema, dnsExecSchema], {
  errorMap: (issue, ctx) =>
    issue.code === z.ZodIssueCode.invalid_union_discriminator
      ? { message: `provider must be one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}` }
      : { message: ctx.defaultError },
});

export const scheduleSchema = z
  .object({
    /** node-cron expressions (with seconds optional) for `tlskeeper run`. */
    certs: z.string().default('23 */6 * * *'),
    ocsp: z.string().default('*/10 * * * *'),
    dhparams: z.string().default('41 3 * * *'),
    tlsa: z.string().default('37 * * * *'),
  })
  .strict();

export const configSchema = z
  .object({
    state_dir: absolutePath.default('/var/lib/tlskeeper'),
    /**
     * Where the per-object lock files live (default: state_dir/locks). A
     * tmpfs such as /run/tlskeeper is recommended with many certificates:
     * creating a file on a journalling disk waits for the journal commits that
     * the staple writes' fsyncs start (one profiled 1,000-staple run: 0.55 s
     * with the main thread blocked), and locks on tmpfs cannot outlive a reboot. Every process that shares
     * state_dir must use the same lock_dir; it comes from the configuration
     * file, so they do.
     */
    lock_dir: absolutePath.optional(),
    owner: owner.default('root'),
    group: owner.default('root'),
    schedule: scheduleSchema.default({}),
    certificates: z.array(certificateSchema).default([]),
    dhparams: z.array(dhparamsSchema).default([]),
    dns: z.array(dnsZoneSchema).default([]),
  })
  .strict();

export type Config = z.output<typeof configSchema>;
export type CertificateConfig = Config['certificates'][number];
export type DhparamsConfig = Config['dhparams'][number];
export type DnsZoneConfig = Config['dns'][number];
export type TlsaRecordConfig = CertificateConfig['tlsa'][number];

/** The directory holding the lock files: `lock_dir`, else `state_dir/locks`. */
export function lockDirOf(config: Pick<Config, 'state_dir' | 'lock_dir'>): string {
  return config.lock_dir ?? join(config.state_dir, 'locks');
}

/** `['certificates', 1, 'cert']` → `certificates[1].cert` */
export function formatPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const part of path) out += typeof part === 'number' ? `[${part}]` : out ? `.${part}` : part;
  return out || '(top level)';
}
