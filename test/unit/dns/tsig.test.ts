// TSIG (RFC 8945) against the RFC's rules: the MAC's exact input (§4.3),
// response MAC chaining over the request MAC (§4.3.1), the fudge window
// (§5.2.3), server-reported errors (§5.2, §5.3.2), key files, and interop
// with BIND's own TSIG code (dig -y signs requests and verifies answers).
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import {
  computeMac, KeyFileError, keyFromSecret, parseKeyFile, signMessage, TsigKey, TsigVerificationError, verifyResponse, findTsig,
} from '../../../src/dns/index.js';
import { decodeMessage, encodeMessage, Opcode, Rcode, RRClass, RRType, TsigErrorCode } from '../../../src/dns/wire/index.js';
import { answer, startFakeDnsServer, tlsaRecord, type Captured } from '../../support/dns-kit.js';
import { run } from '../../support/proc.js';
import { unsignedPart } from '../../../src/dns/tsig.js';

const SECRET = Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1));
const key = new TsigKey('Test-Key.', 'hmac-sha256', SECRET);
const T0 = 1_700_000_000; // 0x6553F100

function query(id = 0x1234): Buffer {
  return encodeMessage({ id, flags: { opcode: Opcode.QUERY }, questions: [{ name: 'example.com', type: RRType.SOA, class: RRClass.IN }], answers: [], authorities: [], additionals: [] });
}

function asCaptured(raw: Buffer): Captured {
  return { raw, message: decodeMessage(raw) };
}

function expectTsigError(fn: () => unknown, reason: string): TsigVerificationError {
  let caught: unknown;
  try { fn(); } catch (err) { caught = err; }
  assert.ok(caught instanceof TsigVerificationError, `expected TsigVerificationError ${reason}, got ${String(caught)}`);
  assert.equal(caught.reason, reason, caught.message);
  return caught;
}

describe('TSIG MAC (RFC 8945 §4.3)', () => {
  it('digests the message, then the TSIG variables in canonical wire form', () => {
    const msg = query();
    // §4.3.3: key name (lower case), class ANY, TTL 0, algorithm name, time signed (48 bit), fudge, error, other len, other data.
    const vars = Buffer.concat([
      Buffer.from('08746573742d6b657900', 'hex'), // "test-key" lower-cased
      Buffer.from('00ff00000000', 'hex'),
      Buffer.from('0b686d61632d73686132353600', 'hex'), // "hmac-sha256"
      Buffer.from('00006553f100', 'hex'),
      Buffer.from('012c', 'hex'),
      Buffer.from('0000', 'hex'),
      Buffer.from('0000', 'hex'),
    ]);
    const expected = createHmac('sha256', SECRET).update(msg).update(vars).digest();
    assert.deepEqual(computeMac(key, { message: msg, timeSigned: T0, fudge: 300 }), expected);
    const signed = signMessage(msg, key, { now: () => T0 * 1000 + 999 });
    assert.deepEqual(signed.mac, expected);
    assert.equal(signed.tsig.timeSigned, T0);
  });

  it('appends the TSIG RR as the last additional record and bumps ARCOUNT (§5.1)', () => {
    const msg = query(0xbeef);
    const signed = signMessage(msg, key, { now: () => T0 * 1000 });
    assert.deepEqual(signed.message.subarray(0, 10), msg.subarray(0, 10));
    assert.equal(signed.message.readUInt16BE(10), 1);
    const dec = decodeMessage(signed.message);
    const rr = dec.additionals[0]!;
    assert.equal(rr.type, RRType.TSIG);
    assert.equal(rr.class, RRClass.ANY);
    assert.equal(rr.ttl, 0);
    assert.equal(rr.name, 'test-key');
    const { tsig } = findTsig(dec)!;
    assert.equal(tsig.algorithm, 'hmac-sha256');
    assert.equal(tsig.originalId, 0xbeef);
    assert.equal(tsig.fudge, 300);
    assert.equal(tsig.error, 0);
    assert.equal(tsig.mac.length, 32);
    assert.deepEqual(unsignedPart(dec, rr.offset, tsig.originalId), msg);
  });

  for (const [alg, len] of [['hmac-sha1', 20], ['hmac-sha224', 28], ['hmac-sha256', 32], ['hmac-sha384', 48], ['hmac-sha512', 64]] as const) {
    it(`${alg}: MAC of ${len} octets, as node:crypto computes it`, () => {
      const k = new TsigKey('k', alg, SECRET);
      const mac = signMessage(query(), k, { now: () => T0 * 1000 }).mac;
      assert.equal(mac.length, len);
      assert.equal(k.macLength, len);
    });
  }
});

describe('TSIG response verification (RFC 8945 §5.4)', () => {
  const now = () => T0 * 1000;
  const signedRequest = () => signMessage(query(), key, { now });
  const req = () => asCaptured(signedRequest().message);

  it('accepts an answer whose MAC chains the request MAC (§4.3.1)', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const res = decodeMessage(answer(r, { key, now, answers: [tlsaRecord('example.com', '3 1 1 aabb')] }));
    const tsig = verifyResponse(res, key, { requestMac, now });
    assert.equal(tsig.timeSigned, T0);
  });

  it('rejects an answer chained to another request MAC', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const res = decodeMessage(answer(r, { key, now, requestMac: Buffer.alloc(32, 7) }));
    expectTsigError(() => verifyResponse(res, key, { requestMac, now }), 'MAC_MISMATCH');
  });

  it('rejects an altered answer', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const res = decodeMessage(answer(r, { key, now, tamper: true }));
    expectTsigError(() => verifyResponse(res, key, { requestMac, now }), 'MAC_MISMATCH');
    // and one where the body changed but the MAC did not
    const good = answer(r, { key, now });
    const bad = Buffer.from(good);
    bad[3] = Rcode.REFUSED; // header rcode
    expectTsigError(() => verifyResponse(decodeMessage(bad), key, { requestMac, now }), 'MAC_MISMATCH');
  });

  it('rejects an answer signed with another secret', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const other = new TsigKey('test-key', 'hmac-sha256', Buffer.alloc(32, 9));
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, { key: other, now })), key, { requestMac, now }), 'MAC_MISMATCH');
  });

  it('rejects an answer signed with another key name or algorithm', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const other = new TsigKey('other-key', 'hmac-sha256', SECRET);
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, { key: other, now })), key, { requestMac, now }), 'WRONG_KEY');
  });

  it('rejects an unsigned answer', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, {})), key, { requestMac, now }), 'UNSIGNED');
  });

  it('fudge window: ±300 s accepted, 301 s rejected, either direction (§5.2.3)', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    for (const skew of [-300, 0, 300]) {
      const res = decodeMessage(answer(r, { key, now: () => (T0 + skew) * 1000 }));
      verifyResponse(res, key, { requestMac, now });
    }
    for (const skew of [-301, 301, 3600]) {
      const res = decodeMessage(answer(r, { key, now: () => (T0 + skew) * 1000 }));
      expectTsigError(() => verifyResponse(res, key, { requestMac, now }), 'TIME_SKEW');
    }
  });

  it('BADKEY and BADSIG come unsigned with NOTAUTH and are reported as such (§5.2.1, §5.2.2, §5.3.2)', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, { key, now, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADKEY })), key, { requestMac, now }), 'BADKEY');
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, { key, now, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADSIG })), key, { requestMac, now }), 'BADSIG');
  });

  it('BADTIME comes signed, with the server clock in Other Data (§5.2.3)', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const serverTime = Buffer.alloc(6);
    serverTime.writeUIntBE(T0 + 7200, 0, 6);
    const res = decodeMessage(answer(r, { key, now, rcode: Rcode.NOTAUTH, tsigError: TsigErrorCode.BADTIME, otherData: serverTime }));
    const err = expectTsigError(() => verifyResponse(res, key, { requestMac, now }), 'BADTIME');
    assert.equal(err.serverTime, T0 + 7200);
  });

  it('rejects a truncated MAC, another algorithm, and a TSIG RR that is not last', () => {
    const r = req();
    const requestMac = findTsig(r.message)!.tsig.mac;
    const k1 = new TsigKey('test-key', 'hmac-sha1', SECRET);
    expectTsigError(() => verifyResponse(decodeMessage(answer(r, { key: k1, now })), key, { requestMac, now }), 'WRONG_KEY');
    // Truncate the MAC to 16 octets (RFC 8945 §5.2.2.1 allows it only by policy; we send full MACs and want full ones).
    const good = answer(r, { key, now });
    const dec = decodeMessage(good);
    const rec = dec.additionals[0]!;
    const rdStart = rec.rdlengthOffset + 2;
    const macSizeAt = rdStart + 13 + 10 - 2; // algorithm "hmac-sha256." is 13 octets, then time(6) fudge(2), MAC size(2)
    const trunc = Buffer.concat([good.subarray(0, macSizeAt), Buffer.from([0, 16]), good.subarray(macSizeAt + 2, macSizeAt + 2 + 16), good.subarray(macSizeAt + 2 + 32)]);
    trunc.writeUInt16BE(rec.rdata.length - 16, rec.rdlengthOffset);
    expectTsigError(() => verifyResponse(decodeMessage(trunc), key, { requestMac, now }), 'BADTRUNC');
    // A record after the TSIG RR.
    const bad = Buffer.concat([good, Buffer.from('0000010001000000000000', 'hex')]);
    bad.writeUInt16BE(2, 10);
    expectTsigError(() => verifyResponse(decodeMessage(bad), key, { requestMac, now }), 'MALFORMED');
  });
});

describe('TSIG interop with BIND (dig -y)', () => {
  it('verifies the MAC of a request dig signed, and dig verifies our signed answer', async () => {
    const b64 = SECRET.toString('base64');
    let serverNow = Date.now;
    let tamper = false;
    const srv = await startFakeDnsServer((req) => {
      const { tsig, record } = findTsig(req.message)!;
      // Server side of §5.2.2: recompute dig's MAC over what it sent.
      const expected = computeMac(key, { message: unsignedPart(req.message, record.offset, tsig.originalId), timeSigned: tsig.timeSigned, fudge: tsig.fudge });
      assert.deepEqual(tsig.mac, expected, 'dig\'s request MAC matches ours');
      return answer(req, { key, now: serverNow, tamper, answers: [tlsaRecord('_25._tcp.mx.example.com', '3 1 1 00ff')] });
    });
    try {
      const dig = () => run(['dig', '@127.0.0.1', '-p', String(srv.port), '+tcp', '+time=2', '+tries=1', '-y', `hmac-sha256:test-key:${b64}`, '_25._tcp.mx.example.com', 'TLSA'], { timeoutMs: 10_000 });
      const ok = await dig();
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /status: NOERROR/);
      assert.match(ok.stdout, /TLSA\s+3 1 1 00FF/);
      assert.doesNotMatch(ok.stdout + ok.stderr, /verify|failure|WARNING/i);
      tamper = true;
      const bad = await dig();
      assert.match(bad.stdout + bad.stderr, /Couldn't verify signature: tsig verify failure/, 'dig notices a bad MAC, so the check above means something');
      tamper = false;
      serverNow = () => Date.now() + 3600_000;
      const skew = await dig();
      assert.match(skew.stdout + skew.stderr, /Couldn't verify signature: clocks are unsynchronized/, 'dig applies the same fudge rule to our time signed');
    } finally {
      await srv.close();
    }
  });
});

describe('TSIG key files', () => {
  const b64 = SECRET.toString('base64');

  it('parses tsig-keygen output', async () => {
    const r = await run(['tsig-keygen', '-a', 'hmac-sha512', 'tlskeeper.example.'], { timeoutMs: 10_000, check: true });
    const [k] = parseKeyFile(r.stdout);
    assert.equal(k!.name, 'tlskeeper.example');
    assert.equal(k!.algorithm, 'hmac-sha512');
    const secret = /secret "([^"]+)"/.exec(r.stdout)![1]!;
    assert.deepEqual(signMessage(query(), k!, { now: () => T0 * 1000 }).mac, signMessage(query(), keyFromSecret('tlskeeper.example', 'hmac-sha512', secret), { now: () => T0 * 1000 }).mac);
  });

  it('parses comments, several keys and other statements; BIND and Knot syntax', () => {
    const keys = parseKeyFile(`
      // a comment
      # another
      /* block
         comment */
      options { directory "/x"; };
      key "a" { algorithm hmac-sha256; secret "${b64}"; };
      key b { algorithm "HMAC-SHA1"; secret "${b64}"; };
    `);
    assert.deepEqual(keys.map((k) => [k.name, k.algorithm]), [['a', 'hmac-sha256'], ['b', 'hmac-sha1']]);
    const knot = parseKeyFile(`# hmac-sha384:knot-key:${b64}\nkey:\n  - id: knot-key\n    algorithm: hmac-sha384\n    secret: ${b64}\n`);
    assert.deepEqual(knot.map((k) => [k.name, k.algorithm]), [['knot-key', 'hmac-sha384']]);
  });

  it('rejects unsupported algorithms, bad base64 and garbage, without quoting the secret', () => {
    assert.throws(() => parseKeyFile(`key "a" { algorithm hmac-md5; secret "${b64}"; };`), (e: Error) => e instanceof KeyFileError && /hmac-md5 is not supported/.test(e.message) && !e.message.includes(b64));
    assert.throws(() => parseKeyFile('key "a" { algorithm hmac-sha256; secret "not*base64"; };'), (e: Error) => e instanceof KeyFileError && /not valid base64/.test(e.message) && !e.message.includes('not*base64'));
    assert.throws(() => parseKeyFile('nothing here;'), KeyFileError);
    assert.throws(() => parseKeyFile(`key "a" { secret "${b64}"; };`), /no algorithm/);
  });

  it('never shows the secret: JSON, inspect, String', () => {
    const k = keyFromSecret('k', 'hmac-sha256', b64);
    for (const text of [JSON.stringify(k), inspect(k, { showHidden: true, depth: 5 }), String(k), JSON.stringify({ k })]) {
      assert.ok(!text.includes(b64), text);
      assert.ok(!text.includes(SECRET.toString('hex')), text);
    }
  });
});
