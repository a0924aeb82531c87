/**
 * Purging abandoned uploads: what upstream's registry does on a schedule for its `_uploads`
 * directories, for the uploads a driver keeps itself (on S3 an abandoned multipart upload is billed).
 */
import type { PendingUpload, PurgeUploadsOptions, StorageDriver } from './driver.js';
import { InvalidParameterError } from './errors.js';
import { ROOT } from './path.js';

/**
 * Aborts every pending upload at or below `options.path` that started before `options.olderThan`
 * (or, with `dryRun`, only lists them), one at a time, and returns them. Uploads that end on their own
 * meanwhile are still in the list: aborting a finished upload is a no-op.
 */
export async function purgeUploads(driver: StorageDriver, options: PurgeUploadsOptions): Promise<PendingUpload[]> {
  const { olderThan, signal } = options;
  if (!(olderThan instanceof Date) || Number.isNaN(olderThan.getTime())) throw new InvalidParameterError('olderThan', olderThan, 'a valid Date');
  const purged: PendingUpload[] = [];
  for await (const upload of driver.uploads(options.path ?? ROOT, { signal })) {
    if (upload.startedAt.getTime() >= olderThan.getTime()) continue;
    if (options.dryRun !== true) await driver.abortUpload(upload.path, upload.id, { signal });
    purged.push(upload);
  }
  return purged;
}
