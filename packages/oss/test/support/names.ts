/**
 * Name resolution for the test gateway's virtual-hosted names: `<bucket>.s3.test` (and `s3.test`)
 * resolve to 127.0.0.1, anything else as usual. No DNS server or hosts file is changed.
 */
import dns, { type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';

export function isTestName(hostname: string): boolean {
  const name = process.env.OSS_TEST_DNS_NAME;
  return name !== undefined && (hostname === name || hostname.endsWith(`.${name}`));
}

type Callback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** Answers a test name as dns.lookup would (one address, or a list with `all`). */
function answer(options: unknown, callback: Callback): void {
  const all = typeof options === 'object' && options !== null && (options as { all?: boolean }).all === true;
  process.nextTick(() => (all ? callback(null, [{ address: '127.0.0.1', family: 4 }]) : callback(null, '127.0.0.1', 4)));
}

/** The lookup the drivers under test get on their HTTP agents (OssOptions.lookup). */
export const lookup = ((hostname: string, options: unknown, callback: Callback) => {
  if (isTestName(hostname)) return answer(options, callback);
  return dns.lookup(hostname, options as dns.LookupOptions, callback as never);
}) as LookupFunction;

/**
 * The testsuite's plain HTTP client (signed and redirect URLs, as a browser would fetch them) takes
 * no agent: dns.lookup itself answers the test names in this test process.
 */
export function resolveTestNamesEverywhere(): void {
  const original = dns.lookup;
  const patched = (hostname: string, options: unknown, callback?: Callback) => {
    if (typeof options === 'function') return patched(hostname, {}, options as Callback);
    if (isTestName(hostname)) return answer(options, callback!);
    return (original as (...args: unknown[]) => void).call(dns, hostname, options, callback);
  };
  (dns as { lookup: unknown }).lookup = patched;
}
