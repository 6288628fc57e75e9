/** Pure status (src/ocsp/status.ts): severities follow what Exim (GnuTLS) does with the file. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ocspStatus } from '../../../src/ocsp/index.js';
import { at, DAY, examined, leafInfo, observed } from './fixtures.js';

const problems = (e: ReturnType<typeof ocspStatus>) => e.problems.map((p) => `${p.severity} ${p.message}`).join('\n');

describe('ocsp status', () => {
  it('a good, fresh proof is OK with every fact', () => {
    const e = ocspStatus(observed(), at(DAY));
    assert.equal(e.kind, 'ocsp');
    assert.equal(e.object, 'mx');
    assert.equal(e.severity, 'OK');
    assert.equal(e.facts.status, 'good');
    assert.equal((e.facts.thisUpdate as Date).getTime(), at(0).getTime());
    assert.equal((e.facts.nextUpdate as Date).getTime(), at(4 * DAY).getTime());
    assert.equal((e.facts.effectiveExpiry as Date).getTime(), at(4 * DAY).getTime());
    assert.equal(e.facts.expiryReason, 'nextUpdate');
    assert.equal((e.facts.nextRefresh as Date).getTime(), at(2 * DAY).getTime());
    assert.equal(e.facts.lastError, null);
    assert.equal(e.facts.responderUrl, 'http://ocsp.example.test');
    assert.equal(e.facts.file, '/etc/tls/mx.ocsp');
    assert.match(e.summary, /^good until .* \(nextUpdate\), refresh at/);
  });

  it('says why the proof ends early when its signer expires before nextUpdate', () => {
    const ex = examined({ nextUpdate: at(7 * DAY), effectiveExpiry: at(DAY), expiryReason: 'signer' });
    const e = ocspStatus(observed({ staple: { examined: ex } }), at(0));
    assert.equal(e.facts.expiryReason, 'signer');
    assert.match(e.summary, /its signer certificate expires then, before nextUpdate/);
  });

  it('WARNING past the refresh point and when expired (Exim then staples nothing); the last error is shown', () => {
    const state = { failures: 1, lastError: { code: 'OCSP_HTTP_STATUS', message: 'HTTP 500' }, nextRetry: at(3 * DAY).toISOString() };
    const past = ocspStatus(observed({ state }), at(3 * DAY));
    assert.equal(past.severity, 'WARNING');
    assert.match(problems(past), /past its refresh point.*Last refresh error: HTTP 500/);
    assert.equal((past.facts.lastError as { code: string }).code, 'OCSP_HTTP_STATUS');
    const expired = ocspStatus(observed(), at(5 * DAY));
    assert.equal(expired.severity, 'WARNING');
  });

  it('CRITICAL when the file is missing, empty, unparsable or for another certificate (GnuTLS refuses STARTTLS)', () => {
    for (const staple of ['missing', { problem: { code: 'OCSP_EMPTY', message: 'empty' } }, { problem: { code: 'OCSP_UNPARSABLE', message: 'junk' } },
      { problem: { code: 'OCSP_WRONG_CERTIFICATE', message: 'for another certificate' } }] as const) {
      const e = ocspStatus(observed({ staple }), at(0));
      assert.equal(e.severity, 'CRITICAL', JSON.stringify(staple));
      assert.match(problems(e), /STARTTLS/);
    }
    // A missing file the MTA tolerates (ocsp_missing_ok): only a WARNING.
    assert.equal(ocspStatus(observed({ staple: 'missing', config: 'ocsp_file: /x\nocsp_missing_ok: true' }), at(0)).severity, 'WARNING');
  });

  it('a proof that does not verify is CRITICAL; one without nextUpdate a WARNING', () => {
    assert.equal(ocspStatus(observed({ staple: { problem: { code: 'OCSP_BAD_SIGNATURE', message: 'bad' } } }), at(0)).severity, 'CRITICAL');
    assert.equal(ocspStatus(observed({ staple: { problem: { code: 'OCSP_NO_NEXT_UPDATE', message: 'no nextUpdate' } } }), at(0)).severity, 'WARNING');
  });

  it('Must-Staple without a valid proof is CRITICAL', () => {
    const ms = leafInfo({ mustStaple: true });
    assert.equal(ocspStatus(observed({ leaf: ms }), at(0)).severity, 'OK');
    assert.equal(ocspStatus(observed({ leaf: ms }), at(5 * DAY)).severity, 'CRITICAL');
    assert.equal(ocspStatus(observed({ leaf: ms, staple: 'missing', config: 'ocsp_file: /x\nocsp_missing_ok: true' }), at(0)).severity, 'CRITICAL');
    assert.equal(ocspStatus(observed({ leaf: ms, config: '' }), at(0)).severity, 'CRITICAL', 'no ocsp_file');
    const noUrl = ocspStatus(observed({ leaf: leafInfo({ mustStaple: true, ocspUrls: [] }), config: '' }), at(0));
    assert.equal(noUrl.severity, 'CRITICAL');
    assert.match(problems(noUrl), /Must-Staple .* names no OCSP responder/);
  });

  it('a validated "revoked" answer (remembered in the state) is CRITICAL', () => {
    const e = ocspStatus(observed({ state: { revoked: { detectedAt: at(0).toISOString(), revocationTime: at(-DAY).toISOString(), reason: 'keyCompromise' } } }), at(0));
    assert.equal(e.severity, 'CRITICAL');
    assert.equal(e.facts.status, 'revoked');
    assert.match(problems(e), /REVOKED .*keyCompromise/);
  });

  it('no OCSP URL: OK and not applicable; but a proof for an earlier certificate left in ocsp_file is CRITICAL, with the fix', () => {
    const le = leafInfo({ ocspUrls: [] });
    const fine = ocspStatus(observed({ leaf: le, config: '' }), at(0));
    assert.equal(fine.severity, 'OK');
    assert.equal(fine.facts.status, 'not-applicable');
    const stale = ocspStatus(observed({ leaf: le, staple: { problem: { code: 'OCSP_WRONG_CERTIFICATE', message: 'x' } } }), at(0));
    assert.equal(stale.severity, 'CRITICAL');
    assert.match(stale.problems[0]!.message, /proof for an earlier certificate/);
    assert.match(stale.problems[0]!.hint!, /unset tls_ocsp_file .*\$\{if exists\{\/etc\/tls\/mx\.ocsp\}\{\/etc\/tls\/mx\.ocsp\}\{\}\}.*ocsp_missing_ok: true/);
    const withOk = ocspStatus(observed({ leaf: le, staple: { problem: { code: 'OCSP_WRONG_CERTIFICATE', message: 'x' } }, config: 'ocsp_file: /etc/tls/mx.ocsp\nocsp_missing_ok: true' }), at(0));
    assert.match(withOk.problems[0]!.hint!, /refresh ocsp/);
    // The file configured but absent: GnuTLS refuses every STARTTLS unless the MTA tolerates its absence.
    assert.equal(ocspStatus(observed({ leaf: le, staple: 'missing' }), at(0)).severity, 'CRITICAL');
    assert.equal(ocspStatus(observed({ leaf: le, staple: 'missing', config: 'ocsp_file: /x\nocsp_missing_ok: true' }), at(0)).severity, 'OK');
  });

  it('an OCSP URL but no ocsp_file: not stapled by choice, OK', () => {
    const e = ocspStatus(observed({ config: '' }), at(0));
    assert.equal(e.severity, 'OK');
    assert.equal(e.facts.status, 'not-stapled');
  });

  it('an unreadable certificate: UNKNOWN (the certs job reports the certificate itself)', () => {
    assert.equal(ocspStatus(observed({ leaf: null }), at(0)).severity, 'UNKNOWN');
  });
});
