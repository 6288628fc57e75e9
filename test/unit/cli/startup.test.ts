// Every CLI start pays for the modules it imports. The heavy or rarely needed
// ones are loaded on first use: pkijs/asn1js (src/pki/lazy.ts), dns-packet
// (src/dns/wire/codec.ts) and node-cron (src/schedule). Checked in a child
// process, so nothing another test loaded counts: a loader hook records what
// goes through `import`, and require's cache what goes through require().
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runChecked } from '../../support/proc.js';

const HOOKS = 'let port; export function initialize(data) { port = data.port; } '
  + 'export async function load(url, context, next) { port.postMessage(url); return next(url, context); }';

const PROBE = `
import { createRequire, register } from 'node:module';
import { MessageChannel } from 'node:worker_threads';
const imported = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => imported.push(url));
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(HOOKS)}), { data: { port: port2 }, transferList: [port2] });
const { main } = await import(${JSON.stringify(new URL('../../../src/cli/main.ts', import.meta.url).href)});
await main(['version'], { stdout: () => {}, stderr: () => {}, env: {}, now: () => new Date() });
await new Promise((r) => setTimeout(r, 50)); // the hook's last messages
port1.close();
const all = [...imported, ...Object.keys(createRequire(import.meta.url).cache)];
const loaded = (pkg) => all.some((p) => p.includes('/node_modules/' + pkg + '/'));
console.log(JSON.stringify(Object.fromEntries(['pkijs', 'asn1js', 'dns-packet', 'node-cron', 'yaml', 'zod'].map((p) => [p, loaded(p)]))));
`;

describe('CLI start-up', () => {
  it('loads pkijs, asn1js, dns-packet and node-cron only when a command needs them', async () => {
    const r = await runChecked([process.execPath, '--import', 'tsx', '--input-type=module', '-e', PROBE]);
    const loaded = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Record<string, boolean>;
    // yaml and zod are there: the probe sees what is loaded.
    assert.deepEqual(loaded, { pkijs: false, asn1js: false, 'dns-packet': false, 'node-cron': false, yaml: true, zod: true });
  });
});
