export default async function globalTeardown() {
  await Promise.all((globalThis.__SWIFT_SERVERS__ ?? []).map((server) => server.stop()));
}
