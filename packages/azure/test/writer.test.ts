/**
 * The writer's Content-MD5 with a fake block blob (no server): the order and count of the blocks
 * that feed it cannot be steered on Azurite, so a block sent again is staged here.
 */
import { createHash } from 'node:crypto';

import type { BlockBlobClient } from '@azure/storage-blob';
import { patternBytes } from '@storagedriver/testsuite';

import { BlockWriter, blockId } from '../src/writer.js';

const MiB = 1024 * 1024;

test('the Content-MD5 a writer commits is that of its content when a block is sent again by a commit tried again', async () => {
  const content = patternBytes(3 * MiB + 5, 3);
  const staged = new Map<string, Buffer>();
  let refuseTail = true;
  const commits: Array<{ blocks: string[]; md5: Uint8Array | undefined }> = [];
  const blob = {
    stageBlock: async (id: string, body: Buffer) => {
      // The short tail, staged by the commit's flush, is refused once: that commit fails.
      if (body.length < MiB && refuseTail) {
        refuseTail = false;
        throw new Error('the service refused the block');
      }
      staged.set(id, Buffer.from(body));
      return {};
    },
    commitBlockList: async (blocks: string[], options: { blobHTTPHeaders?: { blobContentMD5?: Uint8Array } }) => {
      commits.push({ blocks, md5: options.blobHTTPHeaders?.blobContentMD5 });
      return {};
    },
  } as unknown as BlockBlobClient;
  const writer = new BlockWriter('/x', blob, { uploadId: 'u', prefix: [], size: 0, nextIndex: 0, metadata: {} }, { blockSize: MiB, concurrency: 2 });
  await writer.write(content);
  await expect(writer.commit()).rejects.toThrow('the service refused the block');
  expect(commits).toHaveLength(0);
  await writer.commit();
  expect(commits).toHaveLength(1);
  const ids = [0, 1, 2, 3].map((index) => blockId('u', index));
  expect(commits[0]!.blocks).toEqual(ids);
  expect(Buffer.concat(ids.map((id) => staged.get(id)!)).equals(content)).toBe(true);
  expect(Buffer.from(commits[0]!.md5!).toString('hex')).toBe(createHash('md5').update(content).digest('hex'));
});
