// exec provider with a small shell script that keeps RRsets in files: the
// change arrives in TLSKEEPER_DNS_* variables (never argv, never a shell
// tlskeeper builds), `get` prints values one per line with an optional
// $TTL line, exit statuses 10–13 map to typed errors, a hung command is
// killed at the timeout.
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { DnsZoneConfig } from '../../src/config/index.js';
import { createDnsProvider, providerMetadata, type DnsProvider } from '../../src/dns/index.js';
import { expectDnsError, h } from '../support/dns-rfc2136-suite.js';

const ZONE = 'exec.example.test';
const NAME = `_25._tcp.mx.${ZONE}`;

const SCRIPT = `#!/bin/bash
# Test DNS hook: one file per RRset in $1, first line "$TTL n", then values.
set -euo pipefail
state="$1"
printf '%s %s %s %s %s\\n' "$TLSKEEPER_DNS_ACTION" "$TLSKEEPER_DNS_ZONE" "$TLSKEEPER_DNS_NAME" "$TLSKEEPER_DNS_TYPE" "\${TLSKEEPER_DNS_TTL:-}" >> "$state/calls.log"
[ -e "$state/fail" ] && { echo "simulated failure" >&2; exit "$(cat "$state/fail")"; }
[ -e "$state/hang" ] && sleep 30
f="$state/$TLSKEEPER_DNS_NAME.$TLSKEEPER_DNS_TYPE"
values() { [ -e "$f" ] && tail -n +2 "$f" || true; }
write() { # stdin: values
  local v; v="$(grep -v '^$' || true)"
  if [ -z "$v" ]; then rm -f "$f"; else { echo "\\$TTL $TLSKEEPER_DNS_TTL"; echo "$v"; } > "$f.tmp" && mv "$f.tmp" "$f"; fi
}
case "$TLSKEEPER_DNS_ACTION" in
  get) [ -e "$f" ] && cat "$f" || true ;;
  replace) printf '%s\\n' "$TLSKEEPER_DNS_VALUES" | write ;;
  add) { values; printf '%s\\n' "$TLSKEEPER_DNS_VALUES"; } | sort -u | write ;;
  remove) values | grep -vxF -f <(printf '%s\\n' "$TLSKEEPER_DNS_VALUES") | write ;;
  *) echo "unknown action" >&2; exit 64 ;;
esac
`;

describe('exec provider with a shell script', () => {
  let dir: string;
  let state: string;
  let cfg: Extract<DnsZoneConfig, { provider: 'exec' }>;
  let p: DnsProvider;
  const file = () => path.join(state, `${NAME}.TLSA`);

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'tlskeeper-dns-exec-'));
    state = path.join(dir, 'state');
    await writeFile(path.join(dir, 'hook.sh'), SCRIPT);
    await chmod(path.join(dir, 'hook.sh'), 0o755);
    await mkdir(state);
    cfg = { provider: 'exec', zone: ZONE, command: [path.join(dir, 'hook.sh'), state], timeout: 5000, propagation_timeout: 1000 };
    p = createDnsProvider(cfg);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('replace / get / add / remove through environment variables', async () => {
    assert.equal(await p.getRRset(NAME, 'TLSA'), undefined);
    await p.replaceRRset({ name: `${NAME.toUpperCase()}.`, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('B')}`, `3 1 1 ${h('a')}`] });
    assert.equal(await readFile(file(), 'utf8'), `$TTL 300\n3 1 1 ${h('a')}\n3 1 1 ${h('b')}\n`, 'canonical values, one per line');
    assert.deepEqual(await p.getRRset(NAME, 'TLSA'), { name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`, `3 1 1 ${h('b')}`] });
    await p.addRecords({ name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('c')}`] });
    await p.removeRecords({ name: NAME, type: 'TLSA', ttl: 300, values: [`3 1 1 ${h('a')}`] });
    assert.deepEqual((await p.getRRset(NAME, 'TLSA'))?.values, [`3 1 1 ${h('b')}`, `3 1 1 ${h('c')}`]);
    await p.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] });
    assert.equal(await p.getRRset(NAME, 'TLSA'), undefined);
    const calls = (await readFile(path.join(state, 'calls.log'), 'utf8')).trim().split('\n');
    assert.deepEqual(calls.slice(0, 3), [`get ${ZONE} ${NAME} TLSA `, `replace ${ZONE} ${NAME} TLSA 300`, `get ${ZONE} ${NAME} TLSA `]);
  });

  it('exit statuses map to typed errors, with the stderr tail', async () => {
    for (const [status, code] of [['10', 'DNS_AUTH_FAILED'], ['11', 'DNS_REFUSED'], ['12', 'DNS_NOT_AUTHORITATIVE'], ['13', 'DNS_TIMEOUT'], ['1', 'DNS_FAILED']] as const) {
      await writeFile(path.join(state, 'fail'), status);
      await expectDnsError(p.replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] }), code, new RegExp(`exit status ${status}: simulated failure`));
    }
    await rm(path.join(state, 'fail'));
  });

  it('a hung command is killed at the timeout → DNS_TIMEOUT; a missing command → DNS_FAILED', async () => {
    await writeFile(path.join(state, 'hang'), '');
    const t0 = Date.now();
    await expectDnsError(createDnsProvider({ ...cfg, timeout: 500 }).replaceRRset({ name: NAME, type: 'TLSA', ttl: 300, values: [] }), 'DNS_TIMEOUT', /timed out after 500 ms/);
    assert.ok(Date.now() - t0 < 3000);
    await rm(path.join(state, 'hang'));
    await expectDnsError(createDnsProvider({ ...cfg, command: [path.join(dir, 'nope')] }).getRRset(NAME, 'TLSA'), 'DNS_FAILED', /ENOENT/);
  });

  it('documents its protocol in its metadata', () => {
    const m = providerMetadata.find((x) => x.id === 'exec')!;
    for (const v of ['TLSKEEPER_DNS_ACTION', 'TLSKEEPER_DNS_ZONE', 'TLSKEEPER_DNS_NAME', 'TLSKEEPER_DNS_TYPE', 'TLSKEEPER_DNS_TTL', 'TLSKEEPER_DNS_VALUES', '$TTL']) {
      assert.ok(m.details?.includes(v), v);
    }
  });
});
