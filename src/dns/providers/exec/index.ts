/**
 * The `exec` provider: runs a user command for DNS services tlskeeper does
 * not speak. The command gets the change in environment variables (never on
 * the command line, never through a shell) and reports by exit status.
 */
import type { DnsZoneConfig } from '../../../config/index.js';
import { runCommand } from '../../../reload/index.js';
import { dnsError, type DnsErrorCode } from '../../errors.js';
import { assertInZone, canonicalRRset, canonicalValues, isRecordType } from '../../rrset.js';
import type { DnsOperationOptions, DnsProvider, DnsProviderDeps, DnsProviderMetadata, RecordType, RRset } from '../../types.js';
import { normalizeName } from '../../wire/message.js';

export type ExecZoneConfig = Extract<DnsZoneConfig, { provider: 'exec' }>;

export type ExecAction = 'get' | 'replace' | 'add' | 'remove';

/** Exit statuses the command may use to say what went wrong; any other non-zero status is DNS_FAILED. */
export const EXEC_EXIT_CODES: Readonly<Record<number, DnsErrorCode>> = {
  10: 'DNS_AUTH_FAILED',
  11: 'DNS_REFUSED',
  12: 'DNS_NOT_AUTHORITATIVE',
  13: 'DNS_TIMEOUT',
};

export const metadata: DnsProviderMetadata = {
  id: 'exec',
  title: 'External command',
  description:
    'Runs a command of yours (an argv list, no shell) for every change, with the change in environment variables; for DNS ' +
    'services tlskeeper does not speak. The command must apply a replace atomically and be idempotent, like every provider.',
  configKeys: {
    command: 'the command and its arguments, e.g. ["/usr/local/bin/dns-hook"]',
    timeout: 'how long one run may take before it is killed (default 10s)',
  },
  details: [
    'Environment of every run (besides tlskeeper\'s own):',
    '  TLSKEEPER_DNS_ACTION  get | replace | add | remove',
    '  TLSKEEPER_DNS_ZONE    the zone, no trailing dot (example.com)',
    '  TLSKEEPER_DNS_NAME    the owner name, lower case, no trailing dot (_25._tcp.mx.example.com)',
    '  TLSKEEPER_DNS_TYPE    TLSA or TXT',
    '  TLSKEEPER_DNS_TTL     the TTL in seconds (empty for get)',
    '  TLSKEEPER_DNS_VALUES  the records in presentation form, one per line (TLSA "3 1 1 <hex>", TXT "\\"text\\"");',
    '                        replace: the whole new RRset (empty: delete it); add/remove: the records to add/remove; get: empty',
    'get: print the RRset\'s values on stdout, one per line (nothing when there is none); an optional line "$TTL <seconds>" gives its TTL.',
    'Exit status 0: done. 10: authentication failed, 11: refused, 12: not authoritative for the zone, 13: timed out;',
    'anything else: failed. The last lines of stderr appear in the error; never print secrets there.',
  ].join('\n'),
};

export function create(config: ExecZoneConfig, deps: DnsProviderDeps = {}): DnsProvider {
  const zone = normalizeName(config.zone);
  const object = `dns zone ${zone}`;
  const log = deps.log;

  const run = async (action: ExecAction, name: string, type: RecordType, ttl: number | undefined, values: string[], options: DnsOperationOptions): Promise<string> => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      TLSKEEPER_DNS_ACTION: action,
      TLSKEEPER_DNS_ZONE: zone,
      TLSKEEPER_DNS_NAME: name,
      TLSKEEPER_DNS_TYPE: type,
      TLSKEEPER_DNS_TTL: ttl === undefined ? '' : String(ttl),
      TLSKEEPER_DNS_VALUES: values.join('\n'),
    };
    const what = `${config.command[0]} (${action} ${name} ${type})`;
    const outcome = await runCommand(config.command, { timeoutMs: config.timeout, env, ...(options.signal ? { signal: options.signal } : {}) });
    if (outcome.ok) return outcome.stdout;
    const tail = outcome.stderr.trim().split('\n').filter(Boolean).slice(-3).join(' | ');
    const message = `${what}: ${outcome.reason}${tail ? `: ${tail}` : ''}`;
    if (outcome.reason === 'aborted') throw dnsError('DNS_ABORTED', message, { object });
    if (outcome.code === null && outcome.reason.startsWith('timed out')) {
      throw dnsError('DNS_TIMEOUT', message, { object, hint: 'the command was killed; make it finish within timeout or raise timeout' });
    }
    const code = (outcome.code !== null && EXEC_EXIT_CODES[outcome.code]) || 'DNS_FAILED';
    throw dnsError(code, message, {
      object,
      hint: outcome.code === null ? 'check that the command exists and is executable' : 'see the command\'s stderr above; it must exit 0 once the change is made',
    });
  };

  const change = async (action: Exclude<ExecAction, 'get'>, input: RRset, options: DnsOperationOptions) => {
    const rrset = canonicalRRset(input, object);
    assertInZone(rrset.name, zone, object);
    if (action !== 'replace' && rrset.values.length === 0) return;
    await run(action, rrset.name, rrset.type, rrset.ttl, rrset.values, options);
    log?.info({ zone, name: rrset.name, type: rrset.type, action, records: rrset.values.length }, `dns ${action} ${rrset.name} ${rrset.type}`);
  };

  return {
    id: 'exec',
    zone,
    async getRRset(name, type, options = {}) {
      if (!isRecordType(type)) throw dnsError('DNS_FAILED', `record type ${String(type)} is not supported`, { object });
      const qname = normalizeName(name);
      assertInZone(qname, zone, object);
      const out = await run('get', qname, type, undefined, [], options);
      let ttl = 0;
      const values: string[] = [];
      for (const line of out.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const m = /^\$TTL\s+(\d+)$/i.exec(line);
        if (m) ttl = Number(m[1]);
        else values.push(line);
      }
      if (values.length === 0) return undefined;
      return { name: qname, type, ttl, values: canonicalValues(type, values, object) };
    },
    replaceRRset: (rrset, options = {}) => change('replace', rrset, options),
    addRecords: (rrset, options = {}) => change('add', rrset, options),
    removeRecords: (rrset, options = {}) => change('remove', rrset, options),
  };
}
