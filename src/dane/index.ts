// Placeholder until the tlsa capability lands: reports nothing, does nothing.
import type { Job } from '../jobs/index.js';

export const tlsaJob: Job<null> = {
  name: 'tlsa',
  async read() { return null; },
  plan() { return { job: 'tlsa', steps: [] }; },
  async apply() { return []; },
  status() { return []; },
};
