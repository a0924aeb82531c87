/** UploadPartCopy of a byte range of an existing object into parts of an upload (move, append to committed content). */
import { UploadPartCopyCommand } from '@aws-sdk/client-s3';

import type { Send } from './client.js';

export interface PartCopy {
  send: Send;
  bucket: string;
  key: string;
  uploadId: string;
  /** `<bucket>/<encoded key>` of the source object. */
  copySource: string;
  /** The source's ETag: a server that honours it refuses a source that changed meanwhile. */
  ifMatch?: string;
  /** Bytes [0, size) of the source are copied, in parts of `partSize` (see `planParts`), as parts 1, 2, … */
  size: number;
  partSize: number;
  concurrency: number;
  signal?: AbortSignal;
}

/** The source's S3 name for CopySource: bucket and key, the key's characters URL-encoded but `/`. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/** S3's most parts in one upload. */
export const MAX_PARTS = 10_000;

/**
 * The byte ranges (inclusive) of the parts copying `size` bytes: `partSize` each but the last, the
 * part size grown (to a whole MiB) where `size` would need more than S3's 10 000 parts.
 */
export function planParts(size: number, partSize: number): { first: number; last: number }[] {
  const MiB = 1024 * 1024;
  const step = size > partSize * MAX_PARTS ? Math.ceil(size / MAX_PARTS / MiB) * MiB : partSize;
  const parts: { first: number; last: number }[] = [];
  for (let first = 0; first < size; first += step) parts.push({ first, last: Math.min(size, first + step) - 1 });
  return parts;
}

/** Copies the parts with at most `concurrency` requests in flight; returns their ETags in part order. */
export async function copyParts(c: PartCopy): Promise<string[]> {
  const parts = planParts(c.size, c.partSize);
  const count = parts.length;
  const etags = new Array<string>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const { first, last } = parts[index]!;
      const out = await c.send(
        new UploadPartCopyCommand({
          Bucket: c.bucket,
          Key: c.key,
          UploadId: c.uploadId,
          PartNumber: index + 1,
          CopySource: c.copySource,
          CopySourceRange: `bytes=${first}-${last}`,
          CopySourceIfMatch: c.ifMatch,
        }),
        c.signal,
      );
      etags[index] = out.CopyPartResult!.ETag!;
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, c.concurrency) }, worker));
  return etags;
}
