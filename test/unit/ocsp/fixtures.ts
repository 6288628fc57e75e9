/** Hand-built observations for the pure plan/status logic (no files, no network). */
import { parseConfig, type CertificateConfig } from '../../../src/config/index.js';
import type { ExaminedStaple, ObservedOcsp, OcspRefreshState, StapleVerdict } from '../../../src/ocsp/index.js';
import type { CertificateInfo } from '../../../src/pki/index.js';

export type { ExaminedStaple };
export const DAY = 86_400_000;
export const T = Date.UTC(2030, 0, 10, 12, 0, 0);
export const at = (offsetMs: number): Date => new Date(T + offsetMs);

/** A certificate entry as the config loader makes it (defaults applied). */
export function certConfig(extra = ''): CertificateConfig {
  const cfg = parseConfig(`certificates:\n  - name: mx\n    cert: /etc/tls/mx.pem\n    key: /etc/tls/mx.key\n${extra.split('\n').filter(Boolean).map((l) => `    ${l}`).join('\n')}\n`);
  return cfg.certificates[0]!;
}

export function leafInfo(o: { mustStaple?: boolean; ocspUrls?: string[]; notAfter?: Date } = {}): CertificateInfo {
  return {
    fingerprintSha256: 'ab'.repeat(32),
    mustStaple: o.mustStaple ?? false,
    ocspUrls: o.ocspUrls ?? ['http://ocsp.example.test'],
    caIssuersUrls: [],
    notBefore: at(-30 * DAY),
    notAfter: o.notAfter ?? at(60 * DAY),
    serialHex: '1234',
    subject: 'CN=mx',
    issuer: 'CN=CA',
  } as unknown as CertificateInfo;
}

/** A good proof: thisUpdate T, nextUpdate T+4d, delegated signer valid for 30 days. */
export function examined(o: Partial<ExaminedStaple> = {}): ExaminedStaple {
  const thisUpdate = o.thisUpdate ?? at(0);
  const nextUpdate = o.nextUpdate ?? at(4 * DAY);
  const effectiveExpiry = o.effectiveExpiry ?? nextUpdate;
  return {
    certStatus: 'good',
    thisUpdate,
    nextUpdate,
    producedAt: thisUpdate,
    responderId: 'byName CN=signer',
    signer: { role: 'delegated', subject: 'CN=signer', serialHex: '01', notBefore: at(-DAY), notAfter: at(30 * DAY) },
    effectiveExpiry,
    expiryReason: 'nextUpdate',
    refreshAt: new Date(thisUpdate.getTime() + (effectiveExpiry.getTime() - thisUpdate.getTime()) / 2),
    ...o,
  };
}

export interface ObservedSpec {
  config?: string;
  leaf?: CertificateInfo | null;
  url?: string | null;
  /** 'missing', or the verdict on the bytes. */
  staple?: 'none' | 'missing' | StapleVerdict;
  state?: Partial<OcspRefreshState>;
}

export function observed(spec: ObservedSpec = {}): ObservedOcsp {
  const config = certConfig(spec.config ?? 'ocsp_file: /etc/tls/mx.ocsp');
  const leaf = spec.leaf === null ? undefined : spec.leaf ?? leafInfo();
  const url = spec.url === null ? undefined : spec.url ?? leaf?.ocspUrls[0];
  const o: ObservedOcsp = {
    config,
    ...(leaf ? { leaf } : { certError: { code: 'CERT_UNREADABLE', message: 'certificate mx (/etc/tls/mx.pem): file does not exist' } }),
    ...(url && !config.ocsp.disabled ? { responderUrl: url, responderUrlSource: 'certificate' as const } : {}),
    stateExists: spec.state !== undefined,
    ...(spec.state ? { state: { version: 1, certificate: 'ab'.repeat(32), failures: 0, ...spec.state } as OcspRefreshState } : {}),
  };
  if (config.ocsp_file && spec.staple !== 'none') {
    const verdict = spec.staple === undefined ? { examined: examined() } : spec.staple;
    o.staple = verdict === 'missing'
      ? { path: config.ocsp_file, bytes: undefined, missing: true, verdict: () => ({}) }
      : { path: config.ocsp_file, bytes: Buffer.from([0x30]), missing: false, verdict: () => verdict };
  }
  return o;
}
