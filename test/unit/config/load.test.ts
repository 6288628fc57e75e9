import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../../src/errors/index.js';
import { lockDirOf, parseConfig, resolveConfigPath } from '../../../src/config/index.js';

function issuesOf(yaml: string) {
  try {
    parseConfig(yaml, 'test.yaml');
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.issues;
  }
  assert.fail('expected the configuration to be rejected');
}

describe('config', () => {
  it('accepts the README example and fills defaults', () => {
    const cfg = parseConfig(`
state_dir: /var/lib/tlskeeper
owner: Debian-exim
group: Debian-exim
certificates:
  - name: mx
    cert: /etc/exim4/tls/mx.crt
    key: /etc/exim4/tls/mx.key
    ocsp_file: /etc/exim4/tls/mx.ocsp.der
    reload: [systemctl, reload, exim4]
dhparams:
  - file: /var/spool/exim4/gnutls-params-2236
    bits: 2236
    max_age: 30d
    mode: "0400"
`);
    assert.equal(cfg.certificates[0]!.name, 'mx');
    assert.equal(cfg.certificates[0]!.ocsp.hash, 'sha1');
    assert.equal(cfg.certificates[0]!.ocsp.mode, 0o644);
    assert.deepEqual(cfg.certificates[0]!.reload, ['systemctl', 'reload', 'exim4']);
    assert.equal(cfg.dhparams[0]!.max_age, 30 * 86_400_000);
    assert.equal(cfg.dhparams[0]!.mode, 0o400);
    assert.equal(cfg.schedule.ocsp, '*/10 * * * *');
  });

  it('puts locks in state_dir/locks unless lock_dir names another directory', () => {
    assert.equal(lockDirOf(parseConfig('state_dir: /var/lib/tk')), '/var/lib/tk/locks');
    assert.equal(lockDirOf(parseConfig('state_dir: /var/lib/tk\nlock_dir: /run/tlskeeper')), '/run/tlskeeper');
    assert.deepEqual(issuesOf('lock_dir: run/tlskeeper').map((i) => i.path), ['lock_dir']);
  });

  it('reads an unquoted YAML mode like 0640 as octal, as a postmaster means it', () => {
    const cfg = parseConfig('dhparams: [{file: /x, bits: 2048, mode: 0640}]');
    assert.equal(cfg.dhparams[0]!.mode, 0o640);
  });

  it('reports every problem at once, each with its path, line and hint', () => {
    const issues = issuesOf(`state_dir: var/lib/tlskeeper
certificates:
  - name: mx
    cert: /etc/mx.crt
    key: mx.key
    colour: red
  - name: mx
    cert: 5
    key: /etc/other.key
dhparams:
  - file: /var/spool/exim4/gnutls-params-1024
    bits: 1024
    max_age: 3 weeks
dns:
  - zone: example.com
    provider: rfc2136
    server: 192.0.2.53
`);
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.deepEqual([...byPath.keys()].sort(), [
      'certificates[0].colour', 'certificates[0].key', 'certificates[1].cert', 'certificates[1].name',
      'dhparams[0].bits', 'dhparams[0].max_age', 'dns[0].tsig_key_file', 'state_dir',
    ]);
    assert.equal(byPath.get('state_dir')!.line, 1);
    assert.equal(byPath.get('certificates[0].colour')!.line, 6);
    assert.match(byPath.get('certificates[0].colour')!.message, /unknown key "colour"/);
    assert.match(byPath.get('certificates[1].name')!.message, /duplicate name "mx"/);
    assert.match(byPath.get('dhparams[0].bits')!.hint!, /allow_weak/);
    assert.match(byPath.get('dns[0].tsig_key_file')!.hint!, /never written inline/);
    for (const i of issues) assert.ok(i.line, `${i.path} has a line`);
  });

  it('rejects names outside [a-z0-9-] and a file claimed twice', () => {
    const issues = issuesOf(`certificates:
  - {name: MX_1, cert: /a.crt, key: /a.key, ocsp_file: /s.der}
dhparams:
  - {file: /s.der, bits: 2048}
`);
    assert.deepEqual(issues.map((i) => i.path).sort(), ['certificates[0].name', 'dhparams[0].file']);
  });

  it('reports YAML syntax errors with their line', () => {
    const issues = issuesOf('certificates:\n  - name: mx\n   cert: /x\n');
    assert.equal(issues[0]!.path, '(yaml)');
    assert.ok(issues[0]!.line);
  });

  it('requires DANE-TA (usage 2) to be opted into, and TLSA names to be in a zone', () => {
    const issues = issuesOf(`certificates:
  - name: mx
    cert: /a
    key: /b
    tlsa:
      - {name: _25._tcp.mx.example.com, usage: 2}
      - {name: _25._tcp.mx.example.org}
dns:
  - {zone: example.com, provider: exec, command: [/usr/local/bin/dns-hook]}
`);
    assert.deepEqual(issues.map((i) => i.path).sort(), ['certificates[0].tlsa[0].usage', 'certificates[0].tlsa[1].name']);
  });

  it('finds the config: --config, then $TLSKEEPER_CONFIG, then /etc/tlskeeper/config.yaml', () => {
    assert.equal(resolveConfigPath('/a.yaml', { TLSKEEPER_CONFIG: '/b.yaml' }), '/a.yaml');
    assert.equal(resolveConfigPath(undefined, { TLSKEEPER_CONFIG: '/b.yaml' }), '/b.yaml');
    assert.equal(resolveConfigPath(undefined, {}), '/etc/tlskeeper/config.yaml');
  });
});
