/**
 * The daemon's scheduler (`tlskeeper run`). node-cron fires each job on its
 * configured schedule; runs are serialised through one queue, so two jobs
 * never work at once and a slow job delays rather than overlaps the next.
 * On stop() the queue is closed and the running job is awaited.
 */
import { createRequire } from 'node:module';
import type cronModule from 'node-cron';

// Loaded on first use (~14 ms at every start otherwise): only `tlskeeper run` schedules.
// require() resolves node-cron's CommonJS build, the same API as its ESM one.
const load = createRequire(import.meta.url);
let loaded: typeof cronModule | undefined;
const cron = (): typeof cronModule => (loaded ??= load('node-cron') as typeof cronModule);

export interface ScheduledTask {
  name: string;
  expression: string;
  run: () => Promise<void>;
}

export function validateCronExpression(expression: string): boolean {
  return cron().validate(expression);
}

export class Scheduler {
  private readonly tasks: Array<{ stop: () => void | Promise<void> }> = [];
  private queue: Promise<void> = Promise.resolve();
  private readonly pending = new Set<string>();
  private stopped = false;

  schedule(task: ScheduledTask): void {
    const t = cron().schedule(task.expression, () => this.enqueue(task), { noOverlap: true, name: task.name });
    this.tasks.push(t);
  }

  /** Queue a task unless it is already waiting (a backlog collapses to one run). */
  enqueue(task: ScheduledTask): Promise<void> {
    if (this.stopped || this.pending.has(task.name)) return this.queue;
    this.pending.add(task.name);
    this.queue = this.queue.then(async () => {
      this.pending.delete(task.name);
      if (!this.stopped) await task.run().catch(() => undefined);
    });
    return this.queue;
  }

  /** Stop firing; resolve once the running job is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.tasks) await t.stop();
    await this.queue;
  }
}
