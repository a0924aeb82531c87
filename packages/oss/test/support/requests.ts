/**
 * Every HTTP request this test process makes (node:http's `http.client.request.start` channel, which
 * the AWS SDK and the testsuite's plain client go through, and core's `HTTP_REQUEST_CHANNEL`, which
 * the driver's small-object path goes through), named by the S3 operation it is, so a test can require OSS's S3-compatible operation list and
 * virtual-hosted addressing for all of them, and the private ACL on every new object.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import type { ClientRequest } from 'node:http';

import { HTTP_REQUEST_CHANNEL, type HttpRequestStart } from '@storagedriver/core';

/** OSS's documented S3-compatible operations (seed-drivers.md §3.3): no ListMultipartUploads. */
export const OSS_S3_OPERATIONS = new Set([
  'PutBucket', 'DeleteBucket', 'GetBucket', 'GetBucketV2', 'HeadBucket', 'GetBucketLocation',
  'DeleteObject', 'DeleteObjects', 'GetObject', 'HeadObject', 'PutObject', 'PutObjectCopy', 'PostObject',
  'InitiateMultipartUpload', 'UploadPart', 'UploadPartCopy', 'CompleteMultipartUpload', 'AbortMultipartUpload', 'ListParts',
]);

export interface RecordedRequest {
  method: string;
  host: string;
  path: string;
  /** The S3 operation, or a description of what it is not. */
  operation: string;
  /** Why this request breaks OSS's rules; undefined when it keeps them. */
  violation: string | undefined;
}

/** Query parameters that only select, page, sign or carry a presigned URL's headers (any other is a subresource, i.e. another operation). */
const PLAIN_QUERY = /^(x-id|x-amz-[a-z0-9-]+|response-[a-z-]+|prefix|delimiter|marker|max-keys|encoding-type|list-type|continuation-token|start-after|fetch-owner|uploadId|partNumber|part-number-marker|max-parts)$/i;

export function operationOf(method: string, path: string, header: (name: string) => string | undefined): string {
  const url = new URL(path, 'http://host');
  const query = url.searchParams;
  const key = url.pathname.slice(1);
  const has = (name: string) => query.has(name);
  const extra = [...query.keys()].filter((name) => !PLAIN_QUERY.test(name) && !['uploads', 'delete', 'location'].includes(name));
  if (extra.length > 0) return `${method} ?${extra.join('&')}`;
  if (has('uploads') && method === 'GET') return 'ListMultipartUploads';
  if (key === '') {
    if (method === 'GET') return has('location') ? 'GetBucketLocation' : query.get('list-type') === '2' ? 'GetBucketV2' : 'GetBucket';
    if (method === 'POST' && has('delete')) return 'DeleteObjects';
    return ({ PUT: 'PutBucket', DELETE: 'DeleteBucket', HEAD: 'HeadBucket' } as Record<string, string>)[method] ?? `${method} bucket`;
  }
  const copy = header('x-amz-copy-source') !== undefined;
  if (method === 'GET') return has('uploadId') ? 'ListParts' : 'GetObject';
  if (method === 'HEAD') return 'HeadObject';
  if (method === 'PUT') return has('uploadId') ? (copy ? 'UploadPartCopy' : 'UploadPart') : copy ? 'PutObjectCopy' : 'PutObject';
  if (method === 'DELETE') return has('uploadId') ? 'AbortMultipartUpload' : 'DeleteObject';
  if (method === 'POST') return has('uploads') ? 'InitiateMultipartUpload' : has('uploadId') ? 'CompleteMultipartUpload' : 'POST object';
  return `${method} object`;
}

/** The operations that make an object, which OSS gives its bucket's ACL unless the request names one. */
const NEW_OBJECT = new Set(['PutObject', 'PutObjectCopy', 'InitiateMultipartUpload']);

/**
 * What breaks OSS's rules in one request: an operation off the list, path-style addressing, an
 * aws-chunked body, a new object without the private ACL (in the header, or a presigned URL's query).
 */
export function violation(operation: string, host: string, path: string, header: (name: string) => string | undefined, dnsName: string): string | undefined {
  if (!OSS_S3_OPERATIONS.has(operation)) return `${operation} is not in OSS's S3-compatible operations`;
  const hostname = host.replace(/:\d+$/, '');
  if (!hostname.endsWith(`.${dnsName}`)) return `path-style (Host ${host}, not <bucket>.${dnsName})`;
  if (/aws-chunked/i.test(header('content-encoding') ?? '') || /^STREAMING-/i.test(header('x-amz-content-sha256') ?? '')) return 'an aws-chunked body';
  const acl = header('x-amz-acl') ?? new URL(path, 'http://host').searchParams.get('x-amz-acl') ?? undefined;
  if (NEW_OBJECT.has(operation) && acl !== 'private') return `a new object with ACL ${acl ?? 'none'} (the bucket's would apply), not private`;
  return undefined;
}

/** Records every request until `stop()`, but the node:http ones `ignore` names (the test's own look at the server). */
export function recordRequests(dnsName: string, ignore: (request: ClientRequest) => boolean = () => false): { requests: RecordedRequest[]; stop: () => void } {
  const requests: RecordedRequest[] = [];
  const record = (method: string, host: string, path: string, header: (name: string) => string | undefined) => {
    const operation = operationOf(method, path, header);
    requests.push({ method, host, path, operation, violation: violation(operation, host, path, header, dnsName) });
  };
  const onNodeStart = (message: unknown) => {
    const request = (message as { request: ClientRequest }).request;
    if (ignore(request)) return;
    const header = (name: string) => {
      const value = request.getHeader(name);
      return value === undefined ? undefined : String(value);
    };
    record(request.method, header('host') ?? request.host, request.path, header);
  };
  const onCoreStart = (message: unknown) => {
    const request = message as HttpRequestStart;
    const header = (name: string) => request.headers[name];
    record(request.method, header('host') ?? request.host, request.path, header);
  };
  subscribe('http.client.request.start', onNodeStart);
  subscribe(HTTP_REQUEST_CHANNEL, onCoreStart);
  return {
    requests,
    stop: () => {
      unsubscribe('http.client.request.start', onNodeStart);
      unsubscribe(HTTP_REQUEST_CHANNEL, onCoreStart);
    },
  };
}
