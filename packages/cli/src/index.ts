export { main } from './cli.js';
export { resolveBackend, openBackend, type BackendSpec } from './backend.js';
