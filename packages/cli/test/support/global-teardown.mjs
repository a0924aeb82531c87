export default async function globalTeardown() {
  await Promise.all((globalThis.__CLI_SERVERS__ ?? []).map((server) => server.stop()));
}
