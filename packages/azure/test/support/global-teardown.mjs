export default async function globalTeardown() {
  await Promise.all((globalThis.__AZURITE__ ?? []).map((server) => server.stop()));
}
