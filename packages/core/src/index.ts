export type {
  BackendWriter,
  FileInfo,
  FileWriter,
  OperationOptions,
  RedirectOptions,
  StorageBackend,
  StorageDriver,
  WalkDecision,
  WalkFn,
  WalkOptions,
  WriterOptions,
} from './driver.js';
export {
  DriverError,
  DriverNotRegisteredError,
  InvalidOffsetError,
  InvalidParameterError,
  InvalidPathError,
  PathNotFoundError,
  PreconditionFailedError,
  StorageDriverError,
  UnsupportedMethodError,
  isAbortError,
  isTransientError,
  type ErrorCode,
  type ErrorDetails,
} from './errors.js';
export {
  KeyMapper,
  MAX_PATH_LENGTH,
  PATH_PATTERN,
  ROOT,
  baseName,
  compareWalkOrder,
  firstComponent,
  isValidPath,
  isWithin,
  joinPath,
  parentPath,
  pathProblem,
  validatePath,
} from './path.js';
export { untilAborted } from './abort.js';
export { BaseDriver, directoryMoveError, type BaseDriverOptions } from './base.js';
export { create, register, registeredDrivers, unregister, type DriverFactory, type RegisterOptions } from './factory.js';
export { ConcurrencyLimiter } from './limiter.js';
export { DriverDelegate, applyMiddleware, registerMiddleware, registeredMiddleware, type MiddlewareEntry, type MiddlewareInit } from './middleware.js';
export { ObjectStoreTree, type ListPage, type ListPageRequest, type ObjectEntry, type ObjectStoreRequests, type ObjectStoreTreeOptions } from './objectstore.js';
export { ParameterReader, formatSize, parseDuration, parseSize, type DriverParameters } from './params.js';
export { DEFAULT_ATTEMPTS, resumableContent, resumableReader, retry, type OpenRange, type RangeResponse, type RetryOptions } from './retry.js';
export { guardedStream, readAll, readerAtEnd, toBuffer } from './stream.js';
export { guardWalkFn, walkByListing, walkEntries, walkSortedKeys, type GuardedWalkFn } from './walk.js';
export { ManagedFileWriter, PartUploader, contiguousParts, putThroughWriter, type PartUploaderOptions } from './writer.js';
export { ATTRIBUTES as TRACE_ATTRIBUTES } from './tracing.js';
