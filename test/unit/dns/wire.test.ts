// Wire format and presentation form: names, RDATA, canonical values,
// server specs, zone matching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalRRset, canonicalValue, parseServer, zoneForName, nameInZone, sameValues } from '../../../src/dns/index.js';
import { decodeMessage, encodeMessage, encodeName, formatRdataBytes, parseValue, RRClass, RRType } from '../../../src/dns/wire/index.js';
import { DnsError } from '../../../src/errors/index.js';

describe('names', () => {
  it('encodes uncompressed wire form, canonical lower case on request', () => {
    assert.equal(encodeName('Mx.Example.com.').toString('hex'), '024d78074578616d706c6503636f6d00');
    assert.equal(encodeName('Mx.Example.com', true).toString('hex'), '026d78076578616d706c6503636f6d00');
    assert.equal(encodeName('').toString('hex'), '00');
    assert.throws(() => encodeName(`${'a'.repeat(64)}.com`), /63/);
    assert.throws(() => encodeName(Array(130).fill('ab').join('.')), /255/);
    assert.throws(() => encodeName('a..b'), /empty label/);
  });

  it('round-trips a message, and decodes compressed names', () => {
    const m = encodeMessage({
      id: 7, flags: { qr: true, aa: true, opcode: 0, rcode: 3 },
      questions: [{ name: 'a.example', type: RRType.TLSA, class: RRClass.IN }],
      answers: [{ name: 'a.example', type: RRType.TLSA, class: RRClass.IN, ttl: 5, rdata: parseValue('TLSA', '3 1 1 00') }],
      authorities: [], additionals: [],
    });
    const d = decodeMessage(m);
    assert.equal(d.id, 7);
    assert.deepEqual([d.flags.qr, d.flags.aa, d.flags.rcode], [true, true, 3]);
    assert.equal(d.answers[0]!.name, 'a.example');
    // Replace the answer's owner name with a pointer to the question name (offset 12).
    const qlen = encodeName('a.example').length;
    const compressed = Buffer.concat([m.subarray(0, 12 + qlen + 4), Buffer.from([0xc0, 12]), m.subarray(12 + qlen + 4 + qlen)]);
    const d2 = decodeMessage(compressed);
    assert.equal(d2.answers[0]!.name, 'a.example');
    assert.equal(formatRdataBytes(RRType.TLSA, d2.answers[0]!.rdata), '3 1 1 00');
    assert.throws(() => decodeMessage(Buffer.concat([m, Buffer.from([0])])), /trailing/);
    assert.throws(() => decodeMessage(m.subarray(0, m.length - 1)), /truncated/);
  });
});

describe('presentation form', () => {
  it('TLSA: canonical is decimal fields and lower-case hex without spaces', () => {
    assert.equal(canonicalValue('TLSA', ' 3 1 1 AB CD\tEF '), '3 1 1 abcdef');
    assert.equal(canonicalValue('TLSA', '2 0 2 00'), '2 0 2 00');
    for (const bad of ['3 1 1', '3 1 1 abc', '3 1 x ab', '256 1 1 ab', '3 1 1 zz']) assert.throws(() => canonicalValue('TLSA', bad), new RegExp('TLSA|hex|0–255'));
  });

  it('TXT: quoted strings, escapes, \\DDD, several strings', () => {
    assert.equal(canonicalValue('TXT', 'hello'), '"hello"');
    assert.equal(canonicalValue('TXT', '"a b" "c\\"d" "e\\\\f"'), '"a b" "c\\"d" "e\\\\f"');
    assert.equal(canonicalValue('TXT', '"\\000\\255é"'), '"\\000\\255\\195\\169"');
    assert.throws(() => canonicalValue('TXT', '"open'), /unterminated/);
    assert.throws(() => canonicalValue('TXT', `"${'x'.repeat(256)}"`), /255 octets/);
  });

  it('canonicalRRset: lower-case name, no dot, sorted unique values; sameValues ignores order', () => {
    const r = canonicalRRset({ name: 'MX.Example.COM.', type: 'TLSA', ttl: 60, values: ['3 1 1 BB', '3 1 1 aa', '3 1 1 bb'] });
    assert.deepEqual(r, { name: 'mx.example.com', type: 'TLSA', ttl: 60, values: ['3 1 1 aa', '3 1 1 bb'] });
    assert.ok(sameValues(['b', 'a'], ['a', 'b']));
    assert.ok(!sameValues(['a'], ['a', 'b']));
    assert.throws(() => canonicalRRset({ name: 'x', type: 'TLSA', ttl: 1, values: ['nope'] }), DnsError);
  });
});

describe('servers and zones', () => {
  it('parses host[:port] and [v6]:port', () => {
    assert.deepEqual(parseServer('192.0.2.53'), { host: '192.0.2.53', port: 53 });
    assert.deepEqual(parseServer('192.0.2.53:5353'), { host: '192.0.2.53', port: 5353 });
    assert.deepEqual(parseServer('ns1.example.com:54'), { host: 'ns1.example.com', port: 54 });
    assert.deepEqual(parseServer('[2001:db8::1]:5300'), { host: '2001:db8::1', port: 5300 });
    assert.deepEqual(parseServer('2001:db8::1'), { host: '2001:db8::1', port: 53 });
    assert.throws(() => parseServer('host:99999'), /out of range/);
    assert.throws(() => parseServer('a b'), /not a server address/);
  });

  it('zoneForName: longest suffix on label boundaries', () => {
    const zones = [{ zone: 'example.com' }, { zone: 'mx.example.com' }, { zone: 'ample.com' }];
    assert.equal(zoneForName('_25._tcp.mx.example.com', zones)?.zone, 'mx.example.com');
    assert.equal(zoneForName('_25._tcp.smtp.example.com.', zones)?.zone, 'example.com');
    assert.equal(zoneForName('MX.EXAMPLE.COM', zones)?.zone, 'mx.example.com');
    assert.equal(zoneForName('x.badexample.com', [{ zone: 'example.com' }]), undefined);
    assert.equal(zoneForName('example.org', zones), undefined);
    assert.ok(nameInZone('example.com', 'example.com'));
  });
});
