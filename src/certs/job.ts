/**
 * The `certs` job. For now it reports on certificates installed by other
 * means (an external ACME client); issuing and renewing through ACME is added
 * by the ACME capability.
 */
import type { Job, JobContext, Plan, PlanOptions, StatusEntry, StepResult } from '../jobs/index.js';
import { readCertificateEntry, type ObservedCertificate } from './read.js';
import { certificateStatus } from './status.js';

export const certsJob: Job<ObservedCertificate[]> = {
  name: 'certs',
  async read(ctx: JobContext, options: PlanOptions) {
    const entries = ctx.config.certificates.filter((c) => !options.certificate || c.name === options.certificate);
    return Promise.all(entries.map((c) => readCertificateEntry(c)));
  },
  plan(observed, _now, _options): Plan {
    return {
      job: 'certs',
      steps: observed.map((o) => ({
        job: 'certs', object: o.config.name, action: 'none',
        reason: 'managed outside tlskeeper (no ACME account configured): only reported',
      })),
    };
  },
  async apply(_ctx, plan): Promise<StepResult[]> {
    return plan.steps.map((s) => ({ job: 'certs', object: s.object, action: s.action, outcome: 'unchanged', message: s.reason }));
  },
  status(observed, now): StatusEntry[] {
    return observed.map((o) => certificateStatus(o, now));
  },
};
