/** Presigned URLs a plain HTTP client (a browser) can use as they are. */
import type { GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { SignedMethod, SignedURL } from '@storagedriver/core';

/**
 * The SDK's flexible checksums (the default on AWS) would put a CRC32 of the EMPTY body and its
 * algorithm into a presigned PUT, so any real upload fails its checksum, and `x-amz-checksum-mode`
 * into a GET. Removed before signing, whatever the client's checksum settings.
 */
const CHECKSUM_HEADER = /^x-amz-(checksum-|sdk-checksum-algorithm$)/i;

/** The one shape of a command's middleware stack used here (the commands' own types do not unify). */
type Handler = (args: { request: unknown }) => Promise<unknown>;
type BuildStack = { add(middleware: (next: Handler) => Handler, options: { step: 'build'; priority: 'low'; name: string }): void };

export async function presign(
  client: S3Client,
  command: GetObjectCommand | HeadObjectCommand | PutObjectCommand,
  method: SignedMethod,
  expiresIn: number,
  contentType: string | undefined,
): Promise<SignedURL> {
  (command.middlewareStack as unknown as BuildStack).add(
    (next) => (args) => {
      const headers = (args.request as { headers?: Record<string, string> }).headers ?? {};
      for (const name of Object.keys(headers)) if (CHECKSUM_HEADER.test(name)) delete headers[name];
      return next(args);
    },
    // After the checksum middleware (build step), before signing (finalizeRequest).
    { step: 'build', priority: 'low', name: 'storagedriverPresignWithoutChecksums' },
  );
  // SigV4 dates are whole seconds: the URL expires `expiresIn` seconds after the signing second.
  const signingDate = new Date(Math.floor(Date.now() / 1000) * 1000);
  // A signed content-type makes the service refuse an upload that declares another.
  const signableHeaders = contentType === undefined ? undefined : new Set(['content-type']);
  const url = await getSignedUrl(client, command, { expiresIn, signingDate, ...(signableHeaders === undefined ? {} : { signableHeaders }) });
  return { url, method, headers: contentType === undefined ? {} : { 'content-type': contentType }, expiresAt: new Date(signingDate.getTime() + expiresIn * 1000) };
}
