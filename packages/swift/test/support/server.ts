/** The two servers globalSetup started (Ceph RGW's Swift API and OpenStack Swift): a fresh container per test file and drivers on it. */
import type { Capabilities } from '@storagedriver/core';
import type { DriverConstruction, ErrorResponder } from '@storagedriver/testsuite';

import { SwiftClient, SwiftDriver, parseSwiftParameters, type SwiftOptions } from '../../src/index.js';

export type ServerName = 'rgw' | 'swift';
export const SERVERS: ServerName[] = ['rgw', 'swift'];

interface Connection {
  authurl: string;
  username: string;
  password: string;
}

export function connection(server: ServerName): Connection {
  const servers = process.env.SWIFT_TEST_SERVERS;
  if (servers === undefined) throw new Error('SWIFT_TEST_SERVERS is not set: run through jest (globalSetup starts Ceph RGW and OpenStack Swift)');
  return (JSON.parse(servers) as Record<ServerName, Connection>)[server];
}

/** A container name unique to this run and file. */
export function containerName(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}

export function driverOptions(server: ServerName, container: string, extra: Record<string, unknown> = {}): SwiftOptions {
  return parseSwiftParameters({ ...connection(server), container, chunksize: '1MiB', ...extra });
}

export function newDriver(server: ServerName, container: string, extra: Record<string, unknown> = {}): SwiftDriver {
  return new SwiftDriver(driverOptions(server, container, extra));
}

/** A raw client on the same account, for checks behind the driver's back. */
export function rawClient(server: ServerName, container = 'unused'): SwiftClient {
  return new SwiftClient(driverOptions(server, container));
}

/** Every object name in a container (paged until an empty page). */
export async function allNames(server: ServerName, container: string, prefix = ''): Promise<string[]> {
  const client = rawClient(server, container);
  const names: string[] = [];
  let marker = '';
  for (;;) {
    const response = await client.send({ method: 'GET', container, query: { format: 'json', prefix, marker } });
    const page = (await response.json()) as Array<{ name: string }>;
    if (page.length === 0) return names;
    names.push(...page.map((entry) => entry.name));
    marker = page.at(-1)!.name;
  }
}

/** Swift's own 500/503 answers (its proxy's HTML error pages). */
export const swiftErrors: ErrorResponder = (status) => ({
  headers: { 'content-type': 'text/html; charset=UTF-8' },
  body: status === 503
    ? '<html><h1>Service Unavailable</h1><p>The server is currently unavailable. Please try again at a later time.</p></html>'
    : '<html><h1>Internal Error</h1><p>The server has either erred or is incapable of performing the requested operation.</p></html>',
});

/**
 * What the driver claims, the same on both servers (the conformance suite fails when it changes).
 * No write conditions on either: Ceph ignores If-None-Match and If-Match on PUT; Swift checks
 * If-None-Match per request before the body arrives (8 concurrent create-only PUTs: two winners seen).
 */
export const CLAIMS: Capabilities = {
  redirectURL: true,
  signedURL: ['GET', 'HEAD', 'PUT'],
  signedURLMaxExpiresIn: 604_800,
  writeIfNoneMatch: false,
  writeIfMatch: false,
  metadata: ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'metadata'],
  etag: true,
  copy: true,
  appendToCommitted: false,
  rangedRead: true,
  listPage: true,
  uploads: true,
};

/** The suite's construction case: the constructor, and options like the suite driver's (no I/O happens). */
export function construction(server: ServerName): DriverConstruction {
  return { make: (options) => new SwiftDriver(options as unknown as SwiftOptions), options: { ...driverOptions(server, 'construction'), prefix: 'suite/files/root' } };
}
