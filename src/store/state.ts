/**
 * tlskeeper's own memory between runs (last error, retry backoff, last good
 * object), one JSON file per object in `state_dir/state`, written atomically.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { atomicWriteFile } from './atomic.js';
import { lockFileName } from './lock.js';

export function stateFilePath(stateDir: string, objectId: string): string {
  return join(stateDir, 'state', lockFileName(objectId).replace(/\.lock$/, '.json'));
}

export async function readState<T extends object>(stateDir: string, objectId: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(stateFilePath(stateDir, objectId), 'utf8')) as T;
  } catch {
    return undefined; // missing or corrupt state only loses retry timing, never data
  }
}

export async function writeState(stateDir: string, objectId: string, state: object): Promise<void> {
  await mkdir(join(stateDir, 'state'), { recursive: true, mode: 0o700 });
  await atomicWriteFile(stateFilePath(stateDir, objectId), `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}
