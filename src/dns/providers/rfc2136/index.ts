/**
 * The `rfc2136` provider: DNS UPDATE (RFC 2136) over TCP, signed with TSIG
 * (RFC 8945), to the zone's primary. Reads are TSIG-signed queries to the
 * same server (RD=0), so they see what the primary holds, not a cache.
 */
import { readFile } from 'node:fs/promises';
import type { DnsZoneConfig } from '../../../config/index.js';
import { exchange, newMessageId } from '../../client.js';
import { dnsError, rcodeError } from '../../errors.js';
import { queryRRset } from '../../query.js';
import { assertInZone, canonicalRRset, isRecordType } from '../../rrset.js';
import { KeyFileError, keyFromSecret, parseKeyFile, type TsigKey } from '../../tsig.js';
import type { DnsOperationOptions, DnsProvider, DnsProviderDeps, DnsProviderMetadata, RecordType, RRset } from '../../types.js';
import { normalizeName, Rcode } from '../../wire/message.js';
import { formatServer, parseServer } from '../../wire/tcp.js';
import { buildUpdate, type UpdateAction } from './update.js';

export type Rfc2136ZoneConfig = Extract<DnsZoneConfig, { provider: 'rfc2136' }>;

export const metadata: DnsProviderMetadata = {
  id: 'rfc2136',
  title: 'DNS UPDATE with TSIG (RFC 2136, RFC 8945)',
  description:
    'Changes the zone with signed DNS UPDATE messages sent over TCP to its primary server (BIND, Knot, PowerDNS with dnsupdate, ' +
    'NSD behind a primary, Windows DNS with TSIG…). Every change is one UPDATE message, so the server applies it atomically. ' +
    'Requests are signed with a TSIG key (hmac-sha256, hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1) and the server\'s ' +
    'answers must carry a valid signature too. Reads are signed queries to the same server.',
  configKeys: {
    server: 'the primary server, host[:port] (port 53 by default); updates and reads go here over TCP',
    tsig_key_file: 'a key file as written by `tsig-keygen NAME` (BIND) or `keymgr -t NAME` (Knot): name, algorithm and secret',
    tsig_key_name: 'the key\'s name; selects one key from tsig_key_file, or names the key whose secret is in secret_file',
    tsig_algorithm: 'hmac-sha256 (default), hmac-sha512, hmac-sha384, hmac-sha224 or hmac-sha1; with secret_file',
    secret_file: 'a file holding only the base64 secret (with tsig_key_name)',
    timeout: 'how long one request may take (default 10s)',
  },
};

/** Loads the TSIG key named by the configuration. Errors never contain the secret. */
export async function loadTsigKey(cfg: Rfc2136ZoneConfig): Promise<TsigKey> {
  const object = `dns zone ${cfg.zone}`;
  const read = async (file: string) => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw dnsError('DNS_AUTH_FAILED', `cannot read TSIG key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, {
        object, cause: err, hint: 'check the path and that tlskeeper may read it (mode 0600/0640, owned by its user or group)',
      });
    }
  };
  const pick = (keys: TsigKey[], file: string): TsigKey => {
    const wanted = cfg.tsig_key_name ? normalizeName(cfg.tsig_key_name) : undefined;
    const key = wanted ? keys.find((k) => k.name === wanted) : keys.length === 1 ? keys[0] : undefined;
    if (!key) {
      throw dnsError('DNS_AUTH_FAILED', wanted ? `${file} has no key named ${wanted} (it has ${keys.map((k) => k.name).join(', ')})` : `${file} holds ${keys.length} keys`, {
        object, hint: 'set tsig_key_name to the key to use',
      });
    }
    if (cfg.tsig_algorithm && cfg.tsig_algorithm !== key.algorithm) {
      throw dnsError('DNS_AUTH_FAILED', `key ${key.name} in ${file} is ${key.algorithm}, but tsig_algorithm says ${cfg.tsig_algorithm}`, {
        object, hint: 'drop tsig_algorithm (the key file names the algorithm) or make them agree',
      });
    }
    return key;
  };
  const parse = (text: string, file: string): TsigKey[] => {
    try {
      return parseKeyFile(text);
    } catch (err) {
      if (!(err instanceof KeyFileError)) throw err;
      throw dnsError('DNS_AUTH_FAILED', `${file} is not a usable TSIG key file: ${err.message}`, {
        object, hint: 'generate one with `tsig-keygen -a hmac-sha256 NAME > FILE` and configure the same key on the server',
      });
    }
  };
  if (cfg.tsig_key_file) return pick(parse(await read(cfg.tsig_key_file), cfg.tsig_key_file), cfg.tsig_key_file);
  if (cfg.tsig_key_name && cfg.secret_file) {
    const text = await read(cfg.secret_file);
    // A key file given as secret_file works too.
    if (/\bkey\b[\s\S]*\{|^\s*key\s*:/m.test(text)) return pick(parse(text, cfg.secret_file), cfg.secret_file);
    try {
      return keyFromSecret(cfg.tsig_key_name, cfg.tsig_algorithm ?? 'hmac-sha256', text.trim());
    } catch (err) {
      throw dnsError('DNS_AUTH_FAILED', `${cfg.secret_file}: ${(err as Error).message}`, {
        object, hint: 'the file must hold the base64 secret only (the `secret` of a tsig-keygen key)',
      });
    }
  }
  throw dnsError('DNS_AUTH_FAILED', `zone ${cfg.zone}: no TSIG key configured`, {
    object, hint: 'set tsig_key_file, or tsig_key_name and secret_file',
  });
}

export function create(config: Rfc2136ZoneConfig, deps: DnsProviderDeps = {}): DnsProvider {
  const zone = normalizeName(config.zone);
  const object = `dns zone ${zone}`;
  const server = parseServer(config.server);
  const where = formatServer(server);
  const timeoutMs = config.timeout;
  const now = deps.now ?? Date.now;
  const log = deps.log;

  const update = async (action: UpdateAction, input: RRset, options: DnsOperationOptions = {}): Promise<void> => {
    const rrset = canonicalRRset(input, object);
    assertInZone(rrset.name, zone, object);
    if (action !== 'replace' && rrset.values.length === 0) return;
    const key = await loadTsigKey(config);
    const what = `UPDATE (${action}) of ${rrset.name} ${rrset.type} in zone ${zone}`;
    const id = newMessageId();
    const result = await exchange(buildUpdate(id, zone, action, rrset), {
      server, timeoutMs, key, now, what, object,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const rcode = result.response.flags.rcode;
    if (rcode !== Rcode.NOERROR) {
      const note = result.unauthenticated ? ` (the answer was not authenticated: ${result.unauthenticated.message})` : '';
      throw rcodeError(rcode, { what, server: where, zone, update: true }, note);
    }
    log?.info({ zone, name: rrset.name, type: rrset.type, action, records: rrset.values.length, server: where }, `dns ${action} ${rrset.name} ${rrset.type}`);
  };

  return {
    id: 'rfc2136',
    zone,
    async getRRset(name: string, type: RecordType, options: DnsOperationOptions = {}): Promise<RRset | undefined> {
      if (!isRecordType(type)) throw dnsError('DNS_FAILED', `record type ${String(type)} is not supported`, { object });
      const qname = normalizeName(name);
      assertInZone(qname, zone, object);
      const key = await loadTsigKey(config);
      const answer = await queryRRset(server, qname, type, {
        timeoutMs, key, now, zone,
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (!answer.authoritative) {
        throw dnsError('DNS_NOT_AUTHORITATIVE', `query for ${qname} ${type}: ${where} answered without authority (AA bit clear)`, {
          object, hint: `"server" must be the primary of zone ${zone}, not a resolver`,
        });
      }
      return answer.rrset;
    },
    replaceRRset: (rrset, options) => update('replace', rrset, options),
    addRecords: (rrset, options) => update('add', rrset, options),
    removeRecords: (rrset, options) => update('remove', rrset, options),
  };
}
