/**
 * The `ocsp` job: keep a valid OCSP proof (RFC 6960) in each certificate's
 * `ocsp_file`, refreshed at half its real lifetime, replaced atomically, and
 * never replaced by anything that is not a valid proof for the certificate
 * in place.
 */
import type { Job, JobContext, Plan, PlanOptions, StatusEntry } from '../jobs/index.js';
import { applyOcspPlan } from './apply.js';
import { mapWithConcurrency } from '../util/index.js';
import { planStaple } from './plan.js';
import { readOcspEntry, type ObservedOcsp } from './read.js';
import { ocspStatus } from './status.js';

/** Files read at once (certificate, staple and state per entry). */
const READ_CONCURRENCY = 64;

export const ocspJob: Job<ObservedOcsp[]> = {
  name: 'ocsp',
  async read(ctx: JobContext, options: PlanOptions): Promise<ObservedOcsp[]> {
    const entries = ctx.config.certificates.filter((c) => !options.certificate || c.name === options.certificate);
    return mapWithConcurrency(entries, READ_CONCURRENCY, (c) => readOcspEntry(c, ctx.config.state_dir));
  },
  plan(observed: ObservedOcsp[], now: Date, options: PlanOptions): Plan {
    return { job: 'ocsp', steps: observed.map((o) => planStaple(o, now, options.force)) };
  },
  apply(ctx: JobContext, plan: Plan) {
    return applyOcspPlan(ctx, plan.steps);
  },
  status(observed: ObservedOcsp[], now: Date): StatusEntry[] {
    return observed.map((o) => ocspStatus(o, now));
  },
};
