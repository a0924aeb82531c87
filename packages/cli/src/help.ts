/** Help texts: one for the tool, one per command, each with examples. */
const BACKEND = `Backend (every command):
  --driver NAME --param KEY=VALUE ...   a driver (filesystem, inmemory, s3, s3aws, azure, gcs) and its parameters
  --config FILE                         the storage: section of a registry config.yml; REGISTRY_STORAGE_<DRIVER>_<PARAM>
                                        environment variables override it, as in the registry
  (neither)                             the filesystem driver rooted at ./storage
  --json                                machine-readable output (one JSON document)
  --help                                this help`;

export const COMMANDS: Record<string, { usage: string; about: string; examples: string[] }> = {
  ls: { usage: 'ls [PATH]', about: 'list the direct children of a directory (default /)', examples: ['storagedriver ls /docker/registry/v2'] },
  stat: { usage: 'stat PATH', about: 'size, modification time and kind of a path', examples: ['storagedriver stat /blobs/data --json'] },
  cat: { usage: 'cat PATH', about: 'write an object to stdout (with --json: base64 in a document)', examples: ['storagedriver cat /notes.txt'] },
  get: { usage: 'get PATH [FILE|-]', about: 'download an object to a file (default: its base name) or stdout, streamed', examples: ['storagedriver get /images/big.tar big.tar', 'storagedriver get /notes.txt - | less'] },
  put: { usage: 'put FILE|- PATH', about: 'upload a file or stdin, streamed; the object appears when complete', examples: ['storagedriver put big.tar /images/big.tar', 'tar c dir | storagedriver put - /backups/dir.tar'] },
  mv: { usage: 'mv FROM TO', about: 'move an object (replacing TO)', examples: ['storagedriver mv /a/x /b/x'] },
  rm: { usage: 'rm PATH', about: 'delete an object or a whole directory', examples: ['storagedriver rm /tmp'] },
  tree: { usage: 'tree [PATH]', about: 'walk every file and directory below a path', examples: ['storagedriver tree /docker --json > tree.json'] },
  du: { usage: 'du [PATH]', about: 'total size and number of files below a path', examples: ['storagedriver --config /etc/docker/registry/config.yml du /'] },
  url: { usage: 'url PATH [--method GET|HEAD]', about: 'a redirect (presigned) URL for an object', examples: ['storagedriver --driver s3 --param bucket=b --param region=eu-west-1 url /blob'] },
  sync: {
    usage: 'sync [SRC-PATH] [DST-PATH] --from-driver|--from-config ... --to-driver|--to-config ... [--concurrency N]',
    about: 'copy a tree between backends, streamed, verified, resumable; skips objects already identical',
    examples: [
      'storagedriver sync --from-config old.yml --to-config new.yml',
      'storagedriver sync / /mirror --from-driver filesystem --from-param rootdirectory=/var/lib/registry --to-driver gcs --to-param bucket=reg --to-param keyfile=key.json',
    ],
  },
  conformance: {
    usage: 'conformance [--full] [--filter TEXT]',
    about: 'run the shared conformance suite against the backend, under a scratch prefix; exits 1 on a failure',
    examples: ['storagedriver conformance', 'storagedriver --config config.yml conformance --full'],
  },
  bench: {
    usage: 'bench [--size SIZE] [--iterations N]',
    about: 'run the benchmark set against the backend (throughput, operations per second, peak memory)',
    examples: ['storagedriver bench --size 64MiB'],
  },
};

export function toolHelp(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.split(' ')[0]!.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`);
  return `storagedriver — inspect, move and verify storage on any backend

Usage: storagedriver [backend options] COMMAND [arguments]

Commands:
${lines.join('\n')}

${BACKEND}

Examples:
  storagedriver conformance                      # the suite against ./storage
  storagedriver --config config.yml du /         # a registry's storage, unchanged config
  storagedriver COMMAND --help                   # a command's own help`;
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const extra = name === 'sync'
    ? `\nSync options:\n  --from-driver/--from-param/--from-config   the source backend (as --driver/--param/--config)\n  --to-driver/--to-param/--to-config         the destination backend\n  --concurrency N                            objects copied at once (default 8)\n`
    : '';
  return `storagedriver ${c.usage}\n\n${c.about}\n${extra}\n${BACKEND}\n\nExamples:\n${c.examples.map((e) => `  ${e}`).join('\n')}`;
}
