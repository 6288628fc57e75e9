import { createTestPki } from '../pki.js';
import { run, startProcess, freePort, waitForListeningPort } from '../proc.js';
import os from 'node:os'; import fs from 'node:fs/promises'; import path from 'node:path';
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'pki-'));
const pki = await createTestPki(dir);
const leaf = await pki.issueLeaf({name:'a.test', sans:['a.test']});
const signer = await pki.issueOcspSigner({name:'signer'});
for (const multi of [false, true]) {
  const port = await freePort();
  const argv = ['openssl','ocsp','-index',pki.intermediateIndexPath,'-CA',pki.intermediateCertPath,'-rsigner',signer.certPath,'-rkey',signer.keyPath,'-port',String(port),'-nmin','60','-ignore_err'];
  if (multi) argv.push('-multi','1');
  const p = startProcess(argv, {logFile: path.join(dir, `ocsp-${multi}.log`), detached: !multi});
  await waitForListeningPort(port, 5000, p);
  const q = async () => (await run(['openssl','ocsp','-issuer',pki.intermediateCertPath,'-cert',leaf.certPath,'-url',`http://127.0.0.1:${port}`,'-no_nonce','-noverify'])).stdout.split('\n')[0] + (await 0);
  console.log(multi, await q());
  await pki.revoke(leaf);
  for (let i=0;i<3;i++) console.log(multi, i, await q());
  await fs.writeFile(pki.intermediateIndexPath, (await fs.readFile(pki.intermediateIndexPath,'utf8')).replace(/^R\t(\S+)\t\S+\t/mg, 'V\t$1\t\t'));
  for (let i=0;i<2;i++) console.log(multi, 'unrevoked', i, await q());
  const t = performance.now(); await p.stop(); console.log('stop ms', performance.now()-t, p.logTail(3));
}
