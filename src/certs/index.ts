export { certsJob } from './job.js';
export { readCertificateEntry, type ObservedCertificate } from './read.js';
export { certificateStatus } from './status.js';
