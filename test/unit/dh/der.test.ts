// The PKCS#3 DHParameter codec: round trip, and strict DER (X.690 §10).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bitLength, decodeDhParameter, DerError, encodeDhParameter } from '../../../src/dh/index.js';
import { modp } from './fixtures.js';

const hex = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

describe('DHParameter DER', () => {
  it('round-trips p and g, and the optional privateValueLength', () => {
    const p = modp('modp14');
    const der = encodeDhParameter({ p, g: 2n });
    assert.deepEqual(decodeDhParameter(der), { p, g: 2n });
    // 2048-bit p has its top bit set: a leading 0x00 keeps the INTEGER positive.
    assert.equal(der.subarray(0, 9).toString('hex'), '308201080282010100');
    const withLength = encodeDhParameter({ p, g: 2n, privateValueLength: 256n });
    assert.deepEqual(decodeDhParameter(withLength), { p, g: 2n, privateValueLength: 256n });
  });

  it('encodes and decodes a minimal example byte for byte', () => {
    // SEQUENCE { INTEGER 23, INTEGER 2 }
    const der = hex('3006 020117 020102');
    assert.deepEqual(decodeDhParameter(der), { p: 23n, g: 2n });
    assert.deepEqual(encodeDhParameter({ p: 23n, g: 2n }), der);
  });

  const reject = (name: string, der: string, pattern: RegExp, truncated = false) =>
    it(`rejects ${name}`, () => {
      assert.throws(() => decodeDhParameter(hex(der)), (err: unknown) => {
        assert.ok(err instanceof DerError);
        assert.match(err.message, pattern);
        assert.equal(err.truncated, truncated);
        return true;
      });
    });

  reject('trailing bytes after the SEQUENCE', '3006 020117 020102 00', /1 bytes after/);
  reject('a missing g', '3003 020117', /base g: data ends before the tag/, true);
  reject('a fourth field', '300c 020117 020102 020101 020101', /unexpected trailing bytes/);
  reject('an indefinite length', '3080 020117 020102 0000', /indefinite/);
  reject('a non-minimal length', '308106 020117 020102', /not minimally encoded/);
  reject('a negative INTEGER', '3006 020197 020102', /negative/);
  reject('a redundant leading zero', '3007 02020017 020102', /INTEGER is not minimally encoded/);
  reject('a wrong outer tag', '3106 020117 020102', /expected SEQUENCE/);
  reject('a wrong inner tag', '3006 040117 020102', /expected INTEGER/);
  reject('a length beyond the data (truncated)', '3008 020117 020102', /says 8 bytes but only 6 follow/, true);
  reject('an empty INTEGER', '3005 0200 020102', /empty INTEGER/);
  reject('empty input', '', /no data/, true);

  it('bitLength', () => {
    assert.equal(bitLength(0n), 0);
    assert.equal(bitLength(1n), 1);
    assert.equal(bitLength(255n), 8);
    assert.equal(bitLength(256n), 9);
    assert.equal(bitLength(modp('modp14')), 2048);
  });
});
