// Propagation check logic with kit servers: authority required, absent
// addresses and lookup failures become named laggards. Real servers lagging
// for real: test/integration/dns-verify.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { authoritativeServers, verifyPropagation, type NsResolver } from '../../../src/dns/index.js';
import { answer, startFakeDnsServer, tlsaRecord } from '../../support/dns-kit.js';

const NAME = '_25._tcp.mx.example.com';
const V = `3 1 1 ${'ab'.repeat(32)}`;

describe('verifyPropagation', () => {
  it('an answer without the AA bit is a laggard, with the reason', async () => {
    const good = await startFakeDnsServer((c) => answer(c, { answers: [tlsaRecord(NAME, V, 300)] }));
    const cache = await startFakeDnsServer((c) => answer(c, { aa: false, answers: [tlsaRecord(NAME, V, 300)] }));
    try {
      const r = await verifyPropagation({ zone: 'example.com', authoritative_servers: [good.spec, cache.spec] }, { name: NAME, type: 'TLSA', ttl: 300, values: [V] }, { timeoutMs: 300, intervalMs: 100 });
      assert.equal(r.ok, false);
      assert.deepEqual(r.laggards, [cache.spec]);
      assert.match(r.servers[1]!.error!, /without authority/);
      // Queries go out without recursion.
      assert.equal(good.received[0]!.message.flags.rd, false);
    } finally {
      await good.close();
      await cache.close();
    }
  });

  it('NS names without an address, or whose lookup fails, are laggards by name', async () => {
    const resolver: NsResolver = {
      resolveNs: async () => ['ns2.example.com.', 'NS1.example.com'],
      resolveAddresses: async (h) => {
        if (h === 'ns1.example.com') return ['192.0.2.1', '2001:db8::1'];
        throw new Error('SERVFAIL');
      },
    };
    const servers = await authoritativeServers({ zone: 'example.com' }, { resolver });
    assert.deepEqual(servers.map((s) => s.label), ['ns1.example.com (192.0.2.1)', 'ns1.example.com (2001:db8::1)', 'ns2.example.com (no address)']);
    const r = await verifyPropagation({ zone: 'example.com' }, { name: NAME, type: 'TLSA', ttl: 300, values: [] }, { servers: servers.slice(2), timeoutMs: 100 });
    assert.deepEqual(r.laggards, ['ns2.example.com (no address)']);
    await assert.rejects(authoritativeServers({ zone: 'example.com' }, { resolver: { ...resolver, resolveNs: async () => [] } }), /no NS records/);
  });
});
