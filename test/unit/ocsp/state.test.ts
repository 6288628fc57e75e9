/** Refresh state and backoff (src/ocsp/state.ts), and the GET/POST choice (src/ocsp/fetch.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  afterFailure, afterSuccess, backoffDelayMs, BACKOFF_MAX_MS, GET_URL_MAX_BYTES, ocspGetUrl, ocspRequestMethod, stateForLeaf,
} from '../../../src/ocsp/index.js';

describe('ocsp refresh state', () => {
  it('backs off 1 min, doubling, capped at 1 h', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 50].map((n) => backoffDelayMs(n) / 60_000), [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    assert.equal(backoffDelayMs(0), 0);
    assert.equal(backoffDelayMs(1000), BACKOFF_MAX_MS);
  });

  it('records failures for one leaf, keeps what it learnt, and starts afresh for a new leaf', () => {
    const now = new Date(Date.UTC(2030, 0, 1));
    const err = { code: 'OCSP_TRY_LATER', message: 'busy' };
    const s1 = afterFailure(undefined, 'aa', now, err, { issuerDer: 'MII' });
    assert.equal(s1.failures, 1);
    assert.equal(s1.nextRetry, new Date(now.getTime() + 60_000).toISOString());
    const s2 = afterFailure(s1, 'aa', now, err, { revoked: { detectedAt: now.toISOString() } });
    assert.equal(s2.failures, 2);
    assert.equal(s2.nextRetry, new Date(now.getTime() + 120_000).toISOString());
    assert.equal(s2.issuerDer, 'MII');
    assert.ok(s2.revoked);
    assert.equal(afterFailure(s2, 'aa', now, err).revoked?.detectedAt, now.toISOString(), 'still revoked');
    assert.deepEqual(stateForLeaf(JSON.parse(JSON.stringify(s2)), 'aa'), s2);
    assert.equal(stateForLeaf(s2, 'bb'), undefined, 'a renewed certificate inherits no backoff');
    assert.equal(stateForLeaf({ ...s2, version: 9 }, 'aa'), undefined);
    assert.equal(stateForLeaf('garbage', 'aa'), undefined);
    assert.deepEqual(afterSuccess('aa', undefined), { version: 1, certificate: 'aa', failures: 0 });
  });
});

describe('OCSP over HTTP (RFC 6960 Appendix A.1, RFC 5019 §5)', () => {
  it('GET URL: responder URL, a slash, the URL-encoded base64 of the request', () => {
    const der = Buffer.from([0xfb, 0xff, 0xfe, 0x00]); // base64 "+//+AA==": every character that needs encoding
    assert.equal(ocspGetUrl('http://ocsp.example.test', der), 'http://ocsp.example.test/%2B%2F%2F%2BAA%3D%3D');
    assert.equal(ocspGetUrl('http://ocsp.example.test/', der), 'http://ocsp.example.test/%2B%2F%2F%2BAA%3D%3D');
    assert.equal(ocspGetUrl('http://ocsp.pki.goog/gts1c3', der), 'http://ocsp.pki.goog/gts1c3/%2B%2F%2F%2BAA%3D%3D');
  });

  it('GET up to 255 bytes, POST beyond', () => {
    const der = Buffer.alloc(100, 1); // 136 base64 characters
    const base = 'http://o.example.test';
    const fits = `${base}/${'p'.repeat(GET_URL_MAX_BYTES - ocspGetUrl(base, der).length - 1)}`;
    assert.equal(ocspGetUrl(fits, der).length, GET_URL_MAX_BYTES);
    assert.equal(ocspRequestMethod(fits, der), 'GET');
    assert.equal(ocspRequestMethod(`${fits}p`, der), 'POST');
  });
});
