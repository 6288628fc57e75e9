/**
 * The atomic-replace sequence (./atomic.ts) run whole in a small pool of
 * worker threads, one message per file.
 *
 * Why: done with node:fs promises, one replacement is eleven trips through
 * the 4-thread libuv pool (lstat, open, write, chmod, chown, fsync, close,
 * rename, open, fsync, close), each with its promise and callback on the main
 * thread; done synchronously on the main thread, the creates and renames
 * stall it whenever ext4 is committing its journal for another file's fsync
 * (measured with a thousand staples: `open` alone took 0.4 s of the main
 * thread per run). Here each thread runs the sequence with synchronous calls,
 * so the stalls happen off the main thread, which only posts the bytes and
 * awaits one answer.
 *
 * The thread code is plain JavaScript evaluated from a string: it needs
 * nothing but node:fs, and so loads the same way from src/ (under tsx) and
 * from dist/.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

/** Parallel replacements (each ends in two fsyncs; more threads let ext4 group more of them into one commit). */
export const WRITER_THREADS = Math.max(4, Math.min(8, availableParallelism() * 2));

const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { O_WRONLY, O_CREAT, O_EXCL, O_RDONLY, O_DIRECTORY } = fs.constants;
parentPort.on('message', (m) => {
  let created = false;
  try {
    const st = fs.lstatSync(m.target, { throwIfNoEntry: false });
    if (st && st.isDirectory()) {
      parentPort.postMessage({ id: m.id, error: { code: 'EISDIR_TARGET', message: m.target + ' is a directory' } });
      return;
    }
    const fd = fs.openSync(m.tmp, O_WRONLY | O_CREAT | O_EXCL, m.mode);
    created = true;
    try {
      const data = m.data;
      for (let off = 0; off < data.length;) off += fs.writeSync(fd, data, off, data.length - off);
      fs.fchmodSync(fd, m.mode);
      if (m.uid !== -1 || m.gid !== -1) fs.fchownSync(fd, m.uid, m.gid);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(m.tmp, m.target);
    created = false;
    const dfd = fs.openSync(m.dir, O_RDONLY | O_DIRECTORY);
    try { fs.fsyncSync(dfd); } finally { fs.closeSync(dfd); }
    parentPort.postMessage({ id: m.id });
  } catch (err) {
    if (created) { try { fs.unlinkSync(m.tmp); } catch {} }
    parentPort.postMessage({ id: m.id, error: { code: err.code, message: err.message } });
  }
});
`;

export interface ReplaceRequest {
  target: string;
  tmp: string;
  dir: string;
  data: Uint8Array;
  mode: number;
  uid: number;
  gid: number;
}

export interface ReplaceFailure {
  code?: string;
  message: string;
}

interface Pending {
  resolve: () => void;
  reject: (e: ReplaceFailure) => void;
}

class WriterPool {
  private readonly threads: Array<{ worker: Worker; busy: number }> = [];
  private readonly pending = new Map<number, Pending & { thread: { worker: Worker; busy: number } }>();
  private nextId = 1;

  replace(req: ReplaceRequest): Promise<void> {
    const thread = this.pick();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, thread });
      if (thread.busy++ === 0) thread.worker.ref();
      // A copy, not a transfer: the caller may still hold the buffer.
      thread.worker.postMessage({ id, ...req });
    });
  }

  /** The least busy thread; a new one while fewer than WRITER_THREADS exist and all are busy. */
  private pick(): { worker: Worker; busy: number } {
    let best = this.threads[0];
    for (const t of this.threads) if (t.busy < best!.busy) best = t;
    if (best && (best.busy === 0 || this.threads.length >= WRITER_THREADS)) return best;
    const worker = new Worker(THREAD_SOURCE, { eval: true, execArgv: [], stdout: false, stderr: false });
    const thread = { worker, busy: 0 };
    worker.unref(); // idle threads never keep tlskeeper alive
    worker.on('message', (m: { id: number; error?: ReplaceFailure }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (--p.thread.busy === 0) p.thread.worker.unref();
      if (m.error) p.reject(m.error);
      else p.resolve();
    });
    const fail = (err: Error) => {
      // A crashed thread: fail what it held, and forget it (the next write starts another).
      const i = this.threads.indexOf(thread);
      if (i >= 0) this.threads.splice(i, 1);
      for (const [id, p] of this.pending) {
        if (p.thread !== thread) continue;
        this.pending.delete(id);
        p.reject({ code: 'EWRITER', message: `writer thread failed: ${err.message}` });
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`exited with code ${code}`)));
    this.threads.push(thread);
    return thread;
  }
}

let pool: WriterPool | undefined;

/** Run the whole replace sequence for one file in a writer thread. */
export function replaceInThread(req: ReplaceRequest): Promise<void> {
  pool ??= new WriterPool();
  return pool.replace(req);
}
