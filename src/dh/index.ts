// Placeholder until the dhparams capability lands: reports nothing, does nothing.
import type { Job } from '../jobs/index.js';

export const dhparamsJob: Job<null> = {
  name: 'dhparams',
  async read() { return null; },
  plan() { return { job: 'dhparams', steps: [] }; },
  async apply() { return []; },
  status() { return []; },
};
