export { parseDuration, formatDuration } from './duration.js';
export { Semaphore, mapWithConcurrency } from './concurrency.js';
