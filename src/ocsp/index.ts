// Placeholder until the ocsp capability lands: reports nothing, does nothing.
import type { Job } from '../jobs/index.js';

export const ocspJob: Job<null> = {
  name: 'ocsp',
  async read() { return null; },
  plan() { return { job: 'ocsp', steps: [] }; },
  async apply() { return []; },
  status() { return []; },
};
