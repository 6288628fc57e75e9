/**
 * Checks across keys (duplicate names, files claimed twice, weak sizes, TLSA
 * names outside every zone). They run on the raw YAML data even when the
 * schema found problems elsewhere, so one run reports every problem.
 */
import type { ConfigIssue } from '../errors/index.js';
import { formatPath } from './schema.js';

type Raw = Record<string, unknown>;
const list = (v: unknown): Raw[] => (Array.isArray(v) ? v.map((x) => (x && typeof x === 'object' ? (x as Raw) : {})) : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function crossCheck(raw: unknown): Array<ConfigIssue & { pathParts: (string | number)[] }> {
  const issues: Array<ConfigIssue & { pathParts: (string | number)[] }> = [];
  const add = (pathParts: (string | number)[], message: string, hint?: string) =>
    issues.push({ path: formatPath(pathParts), pathParts, message, ...(hint ? { hint } : {}) });
  const cfg = raw && typeof raw === 'object' ? (raw as Raw) : {};
  const certs = list(cfg.certificates);
  const dhs = list(cfg.dhparams);
  const dns = list(cfg.dns);

  const names = new Map<string, number>();
  certs.forEach((c, i) => {
    const name = str(c.name);
    if (name === undefined) return;
    const first = names.get(name);
    if (first !== undefined) add(['certificates', i, 'name'], `duplicate name "${name}" (also certificates[${first}])`, 'every certificate needs its own name');
    else names.set(name, i);
  });

  const files = new Map<string, string>();
  const claim = (file: string | undefined, where: (string | number)[]) => {
    if (!file) return;
    const other = files.get(file);
    if (other) add(where, `${file} is also managed as ${other}`, 'each file must have exactly one owner in the configuration');
    else files.set(file, formatPath(where));
  };
  certs.forEach((c, i) => {
    claim(str(c.cert), ['certificates', i, 'cert']);
    claim(str(c.key), ['certificates', i, 'key']);
    claim(str(c.ocsp_file), ['certificates', i, 'ocsp_file']);
  });
  dhs.forEach((d, i) => {
    claim(str(d.file), ['dhparams', i, 'file']);
    if (typeof d.bits === 'number' && d.bits < 2048 && d.allow_weak !== true) {
      add(['dhparams', i, 'bits'], `${d.bits} bits is too weak (at least 2048)`, 'use 2048 or more; for tests only, set allow_weak: true');
    }
  });

  const zones = new Map<string, number>();
  dns.forEach((d, i) => {
    const zone = str(d.zone)?.replace(/\.$/, '').toLowerCase();
    if (zone === undefined) return;
    if (zones.has(zone)) add(['dns', i, 'zone'], `zone ${zone} is configured twice (also dns[${zones.get(zone)}])`);
    else zones.set(zone, i);
    if (d.provider === 'rfc2136' && !d.tsig_key_file && !(d.tsig_key_name && d.secret_file)) {
      add(['dns', i, 'tsig_key_file'], 'a TSIG key is required',
        'set tsig_key_file to a tsig-keygen key file, or tsig_key_name + tsig_algorithm + secret_file (secrets are never written inline)');
    }
  });

  certs.forEach((c, i) =>
    list(c.tlsa).forEach((t, j) => {
      if (t.usage === 2 && t.allow_trust_anchor !== true) {
        add(['certificates', i, 'tlsa', j, 'usage'], 'usage 2 (DANE-TA) pins the issuing CA',
          "public CAs rotate intermediates (Let's Encrypt picks among several): use usage 3, or set allow_trust_anchor: true if you run the CA");
      }
      const name = str(t.name)?.replace(/\.$/, '').toLowerCase();
      if (name === undefined) return;
      if (zones.size === 0) {
        add(['certificates', i, 'tlsa', j, 'name'], `${name} is in no configured dns zone`, 'add its zone under dns:, so tlskeeper can publish it');
      } else if (![...zones.keys()].some((z) => name === z || name.endsWith(`.${z}`))) {
        add(['certificates', i, 'tlsa', j, 'name'], `${name} is in no configured dns zone`, 'add its zone under dns:');
      }
    }),
  );
  return issues;
}
