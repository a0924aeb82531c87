/**
 * 500/503 answers in each service's own format, so a driver under test parses the error document its
 * SDK would meet in production (and its retry rules see the real codes).
 */
import { randomUUID } from 'node:crypto';

import type { ErrorResponder } from './proxy.js';

const s3: ErrorResponder = (status) => {
  const requestId = randomUUID();
  const [code, message] = status === 503 ? ['SlowDown', 'Please reduce your request rate.'] : ['InternalError', 'We encountered an internal error. Please try again.'];
  return {
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': requestId },
    body: `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>${requestId}</RequestId></Error>`,
  };
};

const azure: ErrorResponder = (status) => {
  const requestId = randomUUID();
  const [code, message] = status === 503
    ? ['ServerBusy', 'The server is currently unable to receive requests. Please retry your request.']
    : ['InternalError', 'The server encountered an internal error. Please retry the request.'];
  return {
    headers: { 'content-type': 'application/xml', 'x-ms-error-code': code, 'x-ms-request-id': requestId, 'x-ms-version': '2025-01-05' },
    body: `<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`,
  };
};

const gcs: ErrorResponder = (status) => {
  const [message, reason] = status === 503 ? ['Service Unavailable', 'backendError'] : ['Internal Error', 'internalError'];
  return {
    headers: { 'content-type': 'application/json; charset=UTF-8' },
    body: JSON.stringify({ error: { code: status, message, errors: [{ message, domain: 'global', reason }] } }),
  };
};

/** Error answers of S3, Azure Blob Storage and Google Cloud Storage (JSON API). */
export const serviceErrors = {
  /** S3's XML error document. */
  s3,
  /** Azure Blob Storage's XML error document. */
  azure,
  /** Google Cloud Storage's JSON error. */
  gcs,
} as const;
