/** Pure: what `tlskeeper status` says about one certificate entry. */
import type { Severity, StatusEntry } from '../jobs/index.js';
import { worst } from '../jobs/index.js';
import type { ObservedCertificate } from './read.js';

const DAY = 86_400_000;

export function certificateStatus(o: ObservedCertificate, now: Date): StatusEntry {
  const problems: StatusEntry['problems'] = [];
  let severity: Severity = 'OK';
  const flag = (s: Severity, message: string, hint?: string) => {
    severity = worst(severity, s);
    problems.push({ severity: s, message, ...(hint ? { hint } : {}) });
  };
  if (o.certError) flag('CRITICAL', o.certError.message, o.certError.hint);
  if (o.keyError) flag('CRITICAL', o.keyError.message, o.keyError.hint);
  const leaf = o.leaf;
  let daysLeft: number | undefined;
  if (leaf) {
    const lifetime = leaf.notAfter.getTime() - leaf.notBefore.getTime();
    const left = leaf.notAfter.getTime() - now.getTime();
    daysLeft = Math.floor(left / DAY);
    if (left <= 0) flag('CRITICAL', `expired on ${leaf.notAfter.toISOString()}`, 'renew it now: every TLS client rejects it');
    else if (now < leaf.notBefore) flag('CRITICAL', `not valid before ${leaf.notBefore.toISOString()}`, 'check the system clock, or install a certificate that is valid now');
    else if (left < lifetime / 3) flag('WARNING', `${daysLeft} days left, less than a third of its ${Math.round(lifetime / DAY)}-day lifetime`, 'renew it; ACME clients renew at two thirds of the lifetime');
    if (o.keyMatches === false) flag('CRITICAL', `the key in ${o.config.key} does not belong to the certificate`, 'install the key the certificate was issued for; TLS handshakes fail');
    if (!o.chainInOrder) for (const p of o.orderProblems) flag('WARNING', `chain out of order: ${p}`, 'put the leaf first, then each issuer in turn (RFC 8446 §4.4.2)');
    if (o.chain.length === 1 && !leaf.isCa && leaf.subject !== leaf.issuer) {
      flag('WARNING', 'the file holds only the leaf, no intermediate', 'append the intermediate certificate(s): many clients cannot build the chain themselves');
    }
  }
  const summary = leaf
    ? `${leaf.sans[0] ?? leaf.subject}: ${daysLeft! >= 0 ? `${daysLeft} days left` : 'EXPIRED'}, ${leaf.keyType}${leaf.keySize ? ` ${leaf.keySize}` : ''}${o.keyMatches === false ? ', KEY MISMATCH' : ''}`
    : problems[0]?.message ?? 'unreadable';
  return {
    kind: 'certificate',
    object: o.config.name,
    severity,
    summary,
    facts: {
      certFile: o.config.cert,
      keyFile: o.config.key,
      ...(leaf ? {
        subject: leaf.subject, sans: leaf.sans, issuer: leaf.issuer, serial: leaf.serialHex,
        keyType: leaf.keyType, keySize: leaf.keySize ?? null, notBefore: leaf.notBefore, notAfter: leaf.notAfter,
        daysLeft, ocspUrl: leaf.ocspUrls[0] ?? 'none', mustStaple: leaf.mustStaple, fingerprintSha256: leaf.fingerprintSha256,
        chainLength: o.chain.length, chainInOrder: o.chainInOrder,
      } : {}),
      keyMatches: o.keyMatches ?? null,
    },
    problems,
  };
}
