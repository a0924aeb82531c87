/**
 * The StorageDriver interface, typed errors, path rules, the driver factory, the base wrapper every driver is, and helpers for driver authors.
 *
 * @module @storagedriver/core
 */
export type {
  BackendPutOptions,
  BackendWriter,
  Capabilities,
  CommitOptions,
  Content,
  ContentHeaders,
  Existence,
  FileInfo,
  FilePage,
  FileWriter,
  GetContentOptions,
  ListPageOptions,
  MetadataKind,
  OperationOptions,
  PendingUpload,
  PurgeUploadsOptions,
  PutOptions,
  ReadOptions,
  RedirectOptions,
  SignedMethod,
  SignedURL,
  SignedURLOptions,
  StorageBackend,
  StorageDriver,
  WalkDecision,
  WalkFn,
  WalkOptions,
  WriteConditions,
  WriteMetadata,
  WriterOptions,
} from './driver.js';
export { METADATA_KINDS, resolveCapabilities } from './capabilities.js';
export { decodeCursor, encodeCursor, genericListPage, type CursorState } from './listing.js';
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
  isSecretName,
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
export { SharedTask, untilAborted } from './abort.js';
export { ContentMd5, md5 } from './digest.js';
export { purgeUploads } from './uploads.js';
export { BaseDriver, directoryMoveError, type BaseDriverOptions } from './base.js';
export { create, register, registeredDrivers, unregister, type DriverFactory, type RegisterOptions } from './factory.js';
export { DEFAULT_ANSWER_TIMEOUT_MS, answerTimeoutMs, fetchWithinAnswerBound, knownBodyBytes, readResponse, type AnswerTimeoutOption } from './http.js';
export { HTTP_REQUEST_CHANNEL, HttpClient, HttpResponse, type HttpClientOptions, type HttpRequest, type HttpRequestStart, type SendOptions } from './http-client.js';
export { ConcurrencyLimiter } from './limiter.js';
export { DriverDelegate, applyMiddleware, registerMiddleware, registeredMiddleware, type MiddlewareEntry, type MiddlewareInit } from './middleware.js';
export { ObjectStoreTree, type ListPage, type ListPageRequest, type ObjectEntry, type ObjectStoreRequests, type ObjectStoreTreeOptions } from './objectstore.js';
export { ParameterReader, checkOptions, formatSize, millisecondsOption, parseDuration, parseSize, type DriverParameters, type OptionParameter } from './params.js';
export { xmlElementText, xmlElements, xmlText } from './xml.js';
export { DEFAULT_ATTEMPTS, pollUntil, resumableContent, resumableReader, retry, type OpenRange, type RangeResponse, type RetryOptions } from './retry.js';
export { contentChunks, guardedStream, isStreamContent, limitedStream, readAll, readerAtEnd, toBuffer } from './stream.js';
export { guardWalkFn, walkByListing, walkEntries, walkSortedKeys, type GuardedWalkFn } from './walk.js';
export { ManagedFileWriter, PartUploader, contiguousParts, putThroughWriter, type PartUploaderOptions } from './writer.js';
export { ATTRIBUTES as TRACE_ATTRIBUTES } from './tracing.js';
