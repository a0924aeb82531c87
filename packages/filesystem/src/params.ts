import { type DriverParameters, ParameterReader, checkOptions } from '@storagedriver/core';

import { DEFAULT_MAX_THREADS, DEFAULT_ROOT_DIRECTORY, type FilesystemOptions, MIN_MAX_THREADS } from './driver.js';

/** Upstream's parameters: `rootdirectory` and `maxthreads` (at least 25; smaller values mean 25, as upstream). */
export function parseFilesystemParameters(parameters: DriverParameters | undefined): FilesystemOptions {
  const reader = new ParameterReader('filesystem', parameters, ['rootdirectory', 'maxthreads']);
  const rootDirectory = reader.string('rootdirectory', DEFAULT_ROOT_DIRECTORY);
  if (rootDirectory === '') throw reader.invalid('rootdirectory', 'a directory path');
  return { rootDirectory, maxThreads: reader.concurrencyLimit('maxthreads', DEFAULT_MAX_THREADS, MIN_MAX_THREADS) };
}

/** `new FilesystemDriver`'s options checked as the factory checks parameters: InvalidParameterError at construction, naming the option. */
export function checkFilesystemOptions(options: FilesystemOptions): FilesystemOptions {
  return checkOptions('filesystem', options, { rootDirectory: 'rootdirectory', maxThreads: 'maxthreads' }, parseFilesystemParameters);
}
