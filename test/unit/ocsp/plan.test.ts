/** Pure due-ness decisions (src/ocsp/plan.ts): what `refresh` and `--dry-run` do, for a given `now`. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assessStaple, planStaple } from '../../../src/ocsp/index.js';
import { at, DAY, examined, leafInfo, observed } from './fixtures.js';

describe('ocsp plan', () => {
  it('a fresh proof is left alone until its refresh point (half of thisUpdate → effective expiry)', () => {
    const o = observed();
    const s = planStaple(o, at(DAY), false);
    assert.equal(s.action, 'none');
    assert.equal(s.dueAt?.toISOString(), at(2 * DAY).toISOString());
    assert.match(s.reason, /fresh for 1d more/);
    assert.equal(planStaple(o, at(2 * DAY), false).action, 'fetch-staple');
    assert.match(planStaple(o, at(2 * DAY + 1), false).reason, /past its refresh point/);
  });

  it('the refresh point follows the effective expiry (signer expiring before nextUpdate)', () => {
    const ex = examined({ nextUpdate: at(7 * DAY), effectiveExpiry: at(DAY), expiryReason: 'signer' });
    const s = planStaple(observed({ staple: { examined: ex } }), at(0), false);
    assert.equal(s.dueAt?.getTime(), at(DAY / 2).getTime());
    assert.match(s.reason, /set by signer/);
  });

  it('--force fetches whatever the state of the file', () => {
    assert.equal(planStaple(observed(), at(0), true).action, 'fetch-staple');
    assert.equal(planStaple(observed({ state: { failures: 3, nextRetry: at(DAY).toISOString() } }), at(0), true).action, 'fetch-staple');
  });

  it('a missing, empty, foreign or invalid file is due at once', () => {
    for (const staple of ['missing', { problem: { code: 'OCSP_EMPTY', message: 'empty' } }, { problem: { code: 'OCSP_WRONG_CERTIFICATE', message: 'x' } },
      { problem: { code: 'OCSP_BAD_SIGNATURE', message: 'x' } }] as const) {
      assert.equal(planStaple(observed({ staple }), at(0), false).action, 'fetch-staple', JSON.stringify(staple));
    }
    // An expired or revoked/unknown proof too.
    assert.equal(planStaple(observed(), at(5 * DAY), false).action, 'fetch-staple');
    assert.equal(planStaple(observed({ staple: { examined: examined({ certStatus: 'unknown' }) } }), at(0), false).action, 'fetch-staple');
  });

  it('backoff: a due refresh waits for nextRetry after failures', () => {
    const o = observed({ staple: 'missing', state: { failures: 2, nextRetry: at(120_000).toISOString(), lastError: { code: 'OCSP_TRY_LATER', message: 'busy' } } });
    const s = planStaple(o, at(60_000), false);
    assert.equal(s.action, 'none');
    assert.equal(s.dueAt?.getTime(), at(120_000).getTime());
    assert.match(s.reason, /retrying at .* after 2 failed attempts \(last error: OCSP_TRY_LATER\)/);
    assert.equal(planStaple(o, at(120_000), false).action, 'fetch-staple');
  });

  it('no OCSP URL: not applicable; a file that breaks GnuTLS is removed only with ocsp_missing_ok', () => {
    const le = leafInfo({ ocspUrls: [] });
    assert.match(planStaple(observed({ leaf: le, staple: 'none', config: '' }), at(0), false).reason, /not applicable/);
    const foreign = { problem: { code: 'OCSP_WRONG_CERTIFICATE', message: 'for another certificate' } };
    assert.equal(planStaple(observed({ leaf: le, staple: foreign }), at(0), false).action, 'none');
    const removable = observed({ leaf: le, staple: foreign, config: 'ocsp_file: /etc/tls/mx.ocsp\nocsp_missing_ok: true' });
    const s = planStaple(removable, at(0), false);
    assert.equal(s.action, 'remove-staple');
    assert.match(s.reason, /proof for an earlier certificate/);
    // Missing already, or a proof for this very certificate: nothing to remove.
    assert.equal(planStaple(observed({ leaf: le, staple: 'missing', config: 'ocsp_file: /x\nocsp_missing_ok: true' }), at(0), false).action, 'none');
    assert.equal(planStaple(observed({ leaf: le, config: 'ocsp_file: /x\nocsp_missing_ok: true' }), at(0), false).action, 'none');
  });

  it('disabled, unreadable certificate, and no ocsp_file: nothing to do', () => {
    assert.match(planStaple(observed({ config: 'ocsp_file: /x\nocsp: {disabled: true}' }), at(0), true).reason, /disabled/);
    assert.match(planStaple(observed({ leaf: null }), at(0), true).reason, /cannot be read/);
    assert.match(planStaple(observed({ config: '' }), at(0), true).reason, /no ocsp_file/);
  });

  it('the plan detail is small and JSON-safe; the observation is carried along but not printed', () => {
    const s = planStaple(observed(), at(0), true);
    assert.deepEqual(JSON.parse(JSON.stringify(s.detail)), { force: true, certificate: 'ab'.repeat(32), responderUrl: 'http://ocsp.example.test' });
    assert.ok((s.detail as { observed?: unknown }).observed, 'apply re-checks against it');
  });

  it('assessStaple classifies the file the way GnuTLS and Exim treat it', () => {
    const cases: Array<[Parameters<typeof observed>[0], string]> = [
      [{ staple: 'missing' }, 'missing'],
      [{ staple: { problem: { code: 'OCSP_EMPTY', message: '' } } }, 'empty'],
      [{ staple: { problem: { code: 'OCSP_UNPARSABLE', message: '' } } }, 'unparsable'],
      [{ staple: { problem: { code: 'OCSP_TRY_LATER', message: '' } } }, 'unparsable'],
      [{ staple: { problem: { code: 'OCSP_MATCH_NOT_FIRST', message: '' } } }, 'other-certificate'],
      [{ staple: { problem: { code: 'OCSP_SIGNER_WRONG_ISSUER', message: '' } } }, 'invalid'],
      [{ staple: { examined: examined({ certStatus: 'revoked' }) } }, 'revoked'],
      [{}, 'good'],
    ];
    for (const [spec, state] of cases) assert.equal(assessStaple(observed(spec), at(0)).fileState, state, JSON.stringify(spec));
    assert.equal(assessStaple(observed(), at(5 * DAY)).fileState, 'expired');
    assert.equal(assessStaple(observed(), at(-DAY)).fileState, 'not-yet-valid');
  });
});
