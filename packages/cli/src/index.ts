/**
 * The `storagedriver` command line (inspect, copy, sync and verify storage on any backend), and its parts for embedding.
 *
 * @module @storagedriver/cli
 */
export { main } from './cli.js';
export { resolveBackend, openBackend, type BackendSpec } from './backend.js';
