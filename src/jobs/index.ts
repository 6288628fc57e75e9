export * from './types.js';
export { runRefresh, collectStatus, type RefreshReport } from './runner.js';
