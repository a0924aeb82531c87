/**
 * `conformance` and `bench` against the configured backend. Both run under a fresh scratch prefix
 * below the configured root (`<root>/storagedriver-check-<random>`), so a bucket in use is never
 * touched outside it and the suite's empty-root checks hold; the scratch prefix is removed afterwards.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

import type { StorageDriver } from '@storagedriver/core';
import { figures, formatTable, runBenchmarks, runSuite, type CaseResult, type DriverAbove } from '@storagedriver/testsuite';

import { openBackend, type BackendSpec } from './backend.js';
import { UsageError } from './errors.js';
import type { Output } from './output.js';

interface Scratch {
  name: string;
  open: () => Promise<StorageDriver>;
  /** The backend as configured: its root lies just above the scratch root (the suite checks that nothing hidden shows through it). */
  above?: () => Promise<DriverAbove>;
}

/** Opens drivers on a scratch root; inmemory has no root and no shared storage, so it reuses one instance. */
function scratch(spec: BackendSpec): Scratch {
  const name = `storagedriver-check-${randomBytes(4).toString('hex')}`;
  if (spec.driver === 'inmemory') {
    let driver: Promise<StorageDriver> | undefined;
    return { name, open: () => (driver ??= openBackend(spec)) };
  }
  const root = typeof spec.parameters.rootdirectory === 'string' ? spec.parameters.rootdirectory : '';
  return {
    name,
    open: () => openBackend(spec, { override: { rootdirectory: root === '' ? name : join(root, name) } }),
    above: async () => ({ driver: await openBackend(spec), pathOfRoot: `/${name}` }),
  };
}

async function removeScratch(spec: BackendSpec, name: string): Promise<void> {
  if (spec.driver === 'inmemory') return;
  // The suite leaves the scratch root empty; object stores then hold nothing there and this is a no-op.
  await (await openBackend(spec)).delete(`/${name}`).catch(() => undefined);
}

export async function conformance(spec: BackendSpec, out: Output, options: { full: boolean; filter?: string }): Promise<CaseResult[]> {
  const { open, above, name } = scratch(spec);
  // Bad configuration fails here, before the suite starts. Redirect URLs are made offline, so asking
  // for one tells whether the backend, as configured, issues them.
  const redirect = (await (await open()).redirectURL('/probe', { method: 'GET' })) !== undefined;
  const progress = out.progress(`conformance (${spec.driver})`, { unit: 'items' });
  let results: CaseResult[];
  try {
    results = await runSuite({
      create: open,
      createAbove: above,
      mode: options.full ? 'full' : 'short',
      filter: options.filter,
      insecureTLS: spec.parameters.skipverify === true || spec.parameters.skipverify === 'true',
      capabilities: { redirect, walkOrder: spec.driver === 'filesystem' || spec.driver === 'inmemory' ? 'components' : 'bytes' },
      onCaseEnd: (result) => progress.advance(1, result.status === 'failed' ? `FAILED: ${result.name}` : ''),
    });
  } finally {
    progress.finish();
    await removeScratch(spec, name);
  }
  // A filter that matches nothing would pass vacuously: a typo in CI must not be green.
  if (results.length === 0) throw new UsageError(`--filter ${JSON.stringify(options.filter)} matches no conformance case`);
  const count = (status: CaseResult['status']) => results.filter((r) => r.status === status).length;
  const table = formatTable(results.map((r) => ({
    group: r.group,
    case: r.name.length > 90 ? `${r.name.slice(0, 87)}...` : r.name,
    status: r.status,
    ms: r.durationMs.toFixed(0),
    reason: (r.reason ?? '').split('\n')[0]!.slice(0, 120),
  })));
  out.result(`${table}\n\n${count('passed')} passed, ${count('failed')} failed, ${count('skipped')} skipped (${spec.driver}, ${options.full ? 'full' : 'short'} mode)`, {
    driver: spec.driver,
    mode: options.full ? 'full' : 'short',
    passed: count('passed'),
    failed: count('failed'),
    skipped: count('skipped'),
    results,
  });
  return results;
}

export async function bench(spec: BackendSpec, out: Output, options: { largeSize: number; iterations: number }): Promise<void> {
  const { open, name } = scratch(spec);
  await open();
  const progress = out.progress(`bench (${spec.driver})`, { unit: 'items' });
  let results;
  try {
    results = await runBenchmarks({ create: async () => {
      progress.advance(0, 'running');
      return open();
    }, largeSize: options.largeSize, iterations: options.iterations });
  } finally {
    progress.finish();
    await removeScratch(spec, name);
  }
  out.result(formatTable(results.map(figures)), { driver: spec.driver, results });
}
