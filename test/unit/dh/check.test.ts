// Every check a DH file must pass, one failure at a time, each with its code.
// Files are built at test time (node:crypto primes, tlskeeper's DER writer).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { checkDhBytes, parseDhFile, type DhCheck } from '../../../src/dh/index.js';
import { toPem } from '../../../src/pki/index.js';
import { bytes, modp, nonSafePrime, pemOf, safePrime } from './fixtures.js';

async function check(pem: string | Buffer, bits: number): Promise<DhCheck> {
  return checkDhBytes(typeof pem === 'string' ? bytes(pem) : pem, bits);
}

function expectFailure(c: DhCheck, code: string, severity: 'WARNING' | 'CRITICAL' = 'CRITICAL') {
  assert.equal(c.code, code, `${c.code}: ${c.message}`);
  assert.equal(c.severity, severity);
  assert.ok(c.hint && c.hint.length > 20, 'every failure says what to do');
}

describe('DH file checks', () => {
  let p512: bigint;
  let good512: string;
  before(() => {
    p512 = safePrime(512);
    good512 = pemOf({ p: p512, g: 2n });
  });

  it('accepts a safe prime of exactly the configured size with g = 2 of order q', async () => {
    const c = await check(good512, 512);
    assert.equal(c.severity, 'OK');
    assert.equal(c.code, 'DH_OK');
    assert.deepEqual(c.facts, { bits: 512, generator: '2', pMod24: 23, safePrime: true, generatorOrder: 'q' });
  });

  it('accepts the RFC 3526 groups (2048 and 3072 bits), with CRLF line ends too', async () => {
    assert.equal((await check(pemOf({ p: modp('modp14'), g: 2n }), 2048)).code, 'DH_OK');
    assert.equal((await check(pemOf({ p: modp('modp15'), g: 2n }).replace(/\n/g, '\r\n'), 3072)).code, 'DH_OK');
  });

  it('accepts a privateValueLength and reports it', async () => {
    const c = await check(pemOf({ p: p512, g: 2n, privateValueLength: 256n }), 512);
    assert.equal(c.code, 'DH_OK');
    assert.equal(c.facts.privateValueLength, 256);
  });

  it('tolerates explanatory text before the block (RFC 7468 §5.2, as certtool writes) and reports it', async () => {
    const c = await check(`\nRecommended key length: 160 bits\n\ngenerator:\n\t02\n\n${good512}`, 512);
    assert.equal(c.code, 'DH_OK');
    assert.equal(c.facts.explanatoryText, true);
  });

  it('rejects a prime larger than configured (overshoot: 513 bits for 512)', async () => {
    const c = await check(pemOf({ p: safePrime(513), g: 2n }), 512);
    expectFailure(c, 'DH_TOO_LARGE');
    assert.equal(c.facts.bits, 513);
    assert.match(c.message, /513 bits, more than the 512 configured/);
  });

  it('rejects a prime smaller than configured (512 bits for 1024)', async () => {
    expectFailure(await check(good512, 1024), 'DH_TOO_SMALL');
  });

  it('rejects a composite p of the right size', async () => {
    // 2^511 + 1 is divisible by 3.
    const c = await check(pemOf({ p: (1n << 511n) + 1n, g: 2n }), 512);
    expectFailure(c, 'DH_P_NOT_PRIME');
    expectFailure(await check(pemOf({ p: 1n << 511n, g: 2n }), 512), 'DH_P_NOT_PRIME');
  });

  it('rejects g = 1, g = 0 and g = p−1', async () => {
    const one = await check(pemOf({ p: p512, g: 1n }), 512);
    expectFailure(one, 'DH_BAD_GENERATOR');
    assert.match(one.message, /g = 1/);
    assert.match(one.hint!, /every shared secret is 1/);
    expectFailure(await check(pemOf({ p: p512, g: 0n }), 512), 'DH_BAD_GENERATOR');
    expectFailure(await check(pemOf({ p: p512, g: p512 - 1n }), 512), 'DH_BAD_GENERATOR');
  });

  it('warns about a DSA-style prime ((p−1)/2 composite)', async () => {
    const c = await check(pemOf({ p: nonSafePrime(512), g: 2n }), 512);
    expectFailure(c, 'DH_NOT_SAFE_PRIME', 'WARNING');
    assert.equal(c.facts.safePrime, false);
  });

  it('warns about g = 2 of order 2q (p ≡ 11 mod 24, as OpenSSL before 1.1.0 wrote)', async () => {
    const p = safePrime(512, 11n);
    const c = await check(pemOf({ p, g: 2n }), 512);
    expectFailure(c, 'DH_GENERATOR_FULL_GROUP', 'WARNING');
    assert.equal(c.facts.generatorOrder, '2q');
    assert.equal(c.facts.pMod24, 11);
    // g = 4 = 2² is a square, so of order q, in the same group.
    assert.equal((await check(pemOf({ p, g: 4n }), 512)).code, 'DH_OK');
  });

  it('rejects an empty file and one of only whitespace', async () => {
    expectFailure(await check('', 512), 'DH_EMPTY');
    expectFailure(await check(' \n\n\t\n', 512), 'DH_EMPTY');
  });

  it('rejects a truncated PEM (no END line), wherever it was cut', async () => {
    for (const cut of [40, good512.length - 30, good512.length - 10]) {
      const c = await check(good512.slice(0, cut), 512);
      assert.ok(['DH_PEM_TRUNCATED', 'DH_PEM_INVALID'].includes(c.code), `cut at ${cut}: ${c.code}`);
      assert.equal(c.severity, 'CRITICAL');
    }
    expectFailure(await check(good512.slice(0, 60), 512), 'DH_PEM_TRUNCATED');
  });

  it('rejects a PEM whose body lost lines (DER truncated)', async () => {
    const lines = good512.split('\n');
    const damaged = [...lines.slice(0, 2), ...lines.slice(3)].join('\n');
    const c = await check(damaged, 512);
    expectFailure(c, 'DH_DER_TRUNCATED');
  });

  it('rejects X9.42 DH PARAMETERS, EC PARAMETERS and other labels', async () => {
    expectFailure(await check(pemOf({ p: p512, g: 2n }, 'X9.42 DH PARAMETERS'), 512), 'DH_X942_PARAMETERS');
    // prime256v1 as `openssl ecparam -name prime256v1` writes it.
    expectFailure(await check('-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n', 512), 'DH_EC_PARAMETERS');
    expectFailure(await check(good512.replace(/DH PARAMETERS/g, 'PARAMETERS'), 512), 'DH_WRONG_PEM_LABEL');
  });

  it('rejects several blocks, even two valid DH blocks', async () => {
    const c = await check(good512 + good512, 512);
    expectFailure(c, 'DH_MULTIPLE_BLOCKS');
    assert.match(c.message, /2 PEM blocks/);
    expectFailure(await check(`-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n${good512}`, 512), 'DH_MULTIPLE_BLOCKS');
  });

  it('rejects trailing garbage after the END line, accepts trailing blank lines', async () => {
    const c = await check(`${good512}garbage\n`, 512);
    expectFailure(c, 'DH_TRAILING_GARBAGE');
    assert.equal((await check(`${good512}\n\n  \n`, 512)).code, 'DH_OK');
  });

  it('rejects PEM headers, bad base64, mismatched END label, stray END', async () => {
    const [head, ...rest] = good512.split('\n');
    expectFailure(await check([head, 'Proc-Type: 4,ENCRYPTED', '', ...rest].join('\n'), 512), 'DH_PEM_INVALID');
    expectFailure(await check(good512.replace(/^(-----BEGIN DH PARAMETERS-----\n)(.)/, '$1!'), 512), 'DH_PEM_BASE64');
    expectFailure(await check(good512.replace('-----END DH PARAMETERS-----', '-----END X9.42 DH PARAMETERS-----'), 512), 'DH_PEM_INVALID');
    expectFailure(await check(`-----END DH PARAMETERS-----\n${good512}`, 512), 'DH_PEM_INVALID');
  });

  it('rejects DER and binary junk (not PEM)', async () => {
    const der = Buffer.from(good512.split('\n').slice(1, -2).join(''), 'base64');
    expectFailure(await check(der, 512), 'DH_NOT_PEM');
    expectFailure(await check(Buffer.concat([Buffer.from([0, 1, 2, 0x0a]), bytes(good512)]), 512), 'DH_NOT_PEM');
    expectFailure(await check('just some words\n', 512), 'DH_NOT_PEM');
  });

  it('rejects DER with trailing bytes inside the PEM', async () => {
    const der = Buffer.from(good512.split('\n').slice(1, -2).join(''), 'base64');
    expectFailure(await check(toPem('DH PARAMETERS', Buffer.concat([der, Buffer.from([0])])), 512), 'DH_DER_INVALID');
  });

  it('rejects an oversized file without parsing it', () => {
    const r = parseDhFile(Buffer.alloc(70 * 1024, 0x41));
    assert.ok('problem' in r);
    assert.equal(r.problem.code, 'DH_FILE_TOO_LARGE');
  });
});
