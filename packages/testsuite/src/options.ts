/** What a driver package tells the suite about its driver. */
import type { Capabilities, StorageDriver } from '@storagedriver/core';

/** A driver on the same storage as the suite's, rooted at an ancestor of the suite driver's root. */
export interface DriverAbove {
  /** The driver rooted above. */
  driver: StorageDriver;
  /** Where the suite driver's root appears in `driver`: `/root` when the suite is rooted at `suite/root` and this one at `suite`. */
  pathOfRoot: string;
}

/** What the suite should expect of the driver beyond `driver.capabilities`. */
export interface SuiteCapabilities {
  /**
   * The driver returns redirect URLs for GET and HEAD (the suite fetches them with a plain HTTP
   * client). Default: the driver's `capabilities.redirectURL`.
   */
  redirect?: boolean;
  /**
   * The order `walk` yields entries in: `components` (depth first, each directory's children in
   * byte order: the generic walk) or `bytes` (byte order of full paths: flat object-store listings).
   */
  walkOrder?: 'components' | 'bytes';
}

/** Behaviours the package's test server lacks, each with the reason: the cases needing them are skipped and say why. */
export interface TestServerGaps {
  /** The server accepts signed URLs without checking their signature (fake-gcs-server): the tampering case cannot run. */
  signedURLVerification?: string;
}

/** Options of `testDriver` and `runSuite`: the driver to test and what to expect of it. */
export interface SuiteOptions {
  /** Label for the suite; defaults to the driver's name. */
  name?: string;
  /**
   * Makes a new driver instance on the same storage. Called once for the suite and again by the
   * cases that prove behaviour across instances (resuming an upload from a fresh driver).
   */
  create: () => StorageDriver | Promise<StorageDriver>;
  /** Runs once after the suite (stop servers, remove temporary roots). */
  teardown?: () => void | Promise<void>;
  /** `short` shrinks the large and concurrent cases; `full` runs them at size. Default: `full`. */
  mode?: 'short' | 'full';
  /** Bytes streamed by the large-stream case in full mode. Default 1 GiB. */
  largeStreamSize?: number;
  /** Chunk size for the large append case (upstream uses 10 MiB; 4 MiB for Azure). Default 10 MiB. */
  appendChunkSize?: number;
  /**
   * The driver's part (chunk, block) size: the writer cases write whole parts plus a tail and
   * appends that end mid-part and on a part boundary. Default 5 MiB.
   */
  partSize?: number;
  /**
   * Makes a driver whose root lies above this one's, on the same storage, so the suite can check
   * that nothing this driver keeps for itself (uploads, staging) shows through it. Without it, that
   * case is skipped.
   */
  createAbove?: () => DriverAbove | Promise<DriverAbove>;
  /** What the suite expects beyond `driver.capabilities` (redirects, walk order). */
  capabilities?: SuiteCapabilities;
  /**
   * What the package claims its driver does: `driver.capabilities` must equal it, so a claim lost
   * (or gained) by accident fails the suite. The claims case lists them in its name.
   */
  claims?: Capabilities;
  /**
   * What the package's test server does not do that the real service does, each with the reason
   * (an emulator's documented gap). The cases that need it are skipped with that reason in their
   * name, so the report shows what was not proven and why.
   */
  testServerGaps?: TestServerGaps;
  /** Accept self-signed certificates when fetching redirect URLs (test servers over HTTPS). */
  insecureTLS?: boolean;
  /**
   * The driver's constructor and options it accepts (those the suite's driver was made with): the
   * construction case checks that options left out, misnamed or of the wrong type fail at
   * construction as InvalidParameterError naming the option. Without it that case is skipped.
   */
  construct?: DriverConstruction;
}

/** How the package constructs its driver directly (`new XDriver(options)`). */
export interface DriverConstruction {
  /** Constructs a driver (no I/O happens at construction). */
  make: (options: Record<string, unknown>) => StorageDriver;
  /** Options `make` accepts. */
  options: Record<string, unknown>;
}
