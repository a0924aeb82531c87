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
  /** Bytes [0, size) of the source are copied, in parts of `partSize` (the last may be shorter), as parts 1, 2, … */
  size: number;
  partSize: number;
  concurrency: number;
  signal?: AbortSignal;
}

/** The source's S3 name for CopySource: bucket and key, the key's characters URL-encoded but `/`. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${encodeURIComponent(key).replace(/%2F/g, '/')}`;
}

/** Copies the parts with at most `concurrency` requests in flight; returns their ETags in part order. */
export async function copyParts(c: PartCopy): Promise<string[]> {
  const count = Math.ceil(c.size / c.partSize);
  const etags = new Array<string>(count);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const index = next++;
      const first = index * c.partSize;
      const last = Math.min(c.size, first + c.partSize) - 1;
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
