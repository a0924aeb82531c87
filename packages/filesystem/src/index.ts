/**
 * The local filesystem driver: atomic writes, resumable uploads, root confinement. Importing the package registers `filesystem` with core's `create`.
 *
 * @module @storagedriver/filesystem
 */
import { register } from '@storagedriver/core';

import { FilesystemDriver } from './driver.js';
import { parseFilesystemParameters } from './params.js';

export { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, FilesystemDriver, type FilesystemOptions } from './driver.js';
export { resolveInRoot } from './layout.js';
export { parseFilesystemParameters } from './params.js';

register('filesystem', (parameters) => new FilesystemDriver(parseFilesystemParameters(parameters)), { owner: '@storagedriver/filesystem' });
