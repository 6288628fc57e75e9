export { parseDuration, formatDuration } from './duration.js';
