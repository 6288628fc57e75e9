/** Every job, in the order a refresh runs them: certificates first, then what depends on them. */
import { certsJob } from '../certs/index.js';
import { tlsaJob } from '../dane/index.js';
import { dhparamsJob } from '../dh/index.js';
import type { Job } from '../jobs/index.js';
import { ocspJob } from '../ocsp/index.js';

export const ALL_JOBS: Job[] = [certsJob, tlsaJob, ocspJob, dhparamsJob] as Job[];
