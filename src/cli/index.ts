export { main, VERSION, type CliIo } from './main.js';
