/** Help texts: one for the tool, one per command, each with examples; and which options each command takes. */
const BACKEND = `Backend:
  --driver NAME --param KEY=VALUE ...   a driver (filesystem, inmemory, s3, s3aws, azure, gcs, swift, rados, oss)
                                        and its parameters
  --config FILE                         the storage: section of a registry config.yml; REGISTRY_STORAGE_<DRIVER>_<PARAM>
                                        environment variables override it, as in the registry
  (neither)                             the filesystem driver rooted at ./storage`;

const GENERAL = `General:
  --json                                machine-readable output: one JSON document on stdout (errors too)
  --debug                               a stack trace with an error
  -h, --help                            help; storagedriver help COMMAND is the same
  -v, --version                         the version`;

/** Options every command takes. */
export const GENERAL_OPTIONS = ['json', 'debug', 'help', 'version'] as const;
/** Options choosing one backend (every command but sync, which chooses two). */
export const BACKEND_OPTIONS = ['driver', 'param', 'config'] as const;

export interface CommandInfo {
  usage: string;
  about: string;
  /** The command's own options, without dashes, and their help lines. */
  options?: string[];
  optionHelp?: string[];
  examples: string[];
}

export const COMMANDS: Record<string, CommandInfo> = {
  ls: { usage: 'ls [PATH]', about: 'list the direct children of a directory (default /)', examples: ['storagedriver ls /docker/registry/v2'] },
  stat: { usage: 'stat PATH', about: 'size, modification time and kind of a path, and the etag, version and metadata the backend keeps', examples: ['storagedriver stat /blobs/data --json'] },
  cat: { usage: 'cat PATH', about: 'write an object to stdout (with --json: base64 in a document)', examples: ['storagedriver cat /notes.txt'] },
  get: {
    usage: 'get PATH [FILE|DIR|-] [--force]',
    about: 'download an object to a file (default: its base name; into DIR if a directory) or stdout, streamed; an existing file is kept unless --force',
    options: ['force'],
    optionHelp: ['--force    replace FILE if it exists (only once the download is complete)'],
    examples: ['storagedriver get /images/big.tar big.tar', 'storagedriver get /notes.txt - | less'],
  },
  put: {
    usage: 'put FILE|- PATH [--content-type TYPE] [--meta KEY=VALUE ...]',
    about: 'upload a file or stdin, streamed; the object appears when complete; Ctrl-C cancels the upload',
    options: ['content-type', 'meta'],
    optionHelp: ['--content-type TYPE    the Content-Type the object is served with', '--meta KEY=VALUE       user metadata kept with the object (repeatable)'],
    examples: ['storagedriver put big.tar /images/big.tar', 'tar c dir | storagedriver put - /backups/dir.tar', 'storagedriver put logo.png /site/logo.png --content-type image/png'],
  },
  mv: { usage: 'mv FROM TO', about: 'move an object (replacing TO)', examples: ['storagedriver mv /a/x /b/x'] },
  cp: { usage: 'cp FROM TO', about: 'copy an object server-side with its metadata (replacing TO)', examples: ['storagedriver cp /a/x /b/x'] },
  rm: { usage: 'rm PATH', about: 'delete an object or a whole directory', examples: ['storagedriver rm /tmp'] },
  tree: { usage: 'tree [PATH]', about: 'walk every file and directory below a path', examples: ['storagedriver tree /docker --json > tree.json', 'storagedriver tree | head'] },
  du: { usage: 'du [PATH]', about: 'total size and number of files below a path', examples: ['storagedriver --config /etc/docker/registry/config.yml du /'] },
  url: {
    usage: 'url PATH [--method GET|HEAD]',
    about: 'a redirect (presigned) URL for an object',
    options: ['method'],
    optionHelp: ['--method GET|HEAD    the HTTP method the URL is for (default GET)'],
    examples: ['storagedriver --driver s3 --param bucket=b --param region=eu-west-1 url /blob'],
  },
  sign: {
    usage: 'sign PATH [--method GET|HEAD|PUT] [--expires SECONDS] [--content-type TYPE]',
    about: 'a signed URL for one request (a PUT lets a browser upload directly), with the headers it must send',
    options: ['method', 'expires', 'content-type'],
    optionHelp: [
      '--method GET|HEAD|PUT    the request the URL is for (default GET)',
      '--expires SECONDS        how long the URL stays valid (default 900)',
      '--content-type TYPE      PUT only: the Content-Type the upload must declare',
    ],
    examples: ['storagedriver sign /uploads/photo.jpg --method PUT --content-type image/jpeg --expires 600'],
  },
  caps: { usage: 'caps', about: "what the driver does natively (its capabilities)", examples: ['storagedriver --driver s3 --param bucket=b --param region=eu-west-1 caps --json'] },
  uploads: {
    usage: 'uploads ls [PATH] | uploads purge [PATH] --older-than AGE [--dry-run]',
    about: 'list the uploads the driver keeps that were never committed (path, id, started, size; tab-separated), or abort those older than AGE; committed objects are never touched',
    options: ['older-than', 'dry-run'],
    optionHelp: [
      '--older-than AGE    purge: abort the uploads started more than AGE ago: 7d, 12h, 30m, 90s, 1d12h (required; 0s: all started before now)',
      '--dry-run           purge: list what would be aborted, abort nothing',
      '--json              ls: a JSON array of {path, id, startedAt, size}; purge: one document {path, olderThan, dryRun, uploads, bytes}',
    ],
    examples: ['storagedriver --config /etc/docker/registry/config.yml uploads ls', 'storagedriver uploads purge --older-than 7d --dry-run', 'storagedriver uploads purge /docker/registry/v2 --older-than 12h --json'],
  },
  sync: {
    usage: 'sync [SRC-PATH] [DST-PATH] --from-driver|--from-config ... --to-driver|--to-config ... [--concurrency N]',
    about:
      'copy a tree between backends, streamed, verified, resumable; skips objects already identical. A registry layout (docker/registry/v2) is copied blobs first, then layer links, then revisions, the rest, and tags last, so a registry serving the destination meanwhile never resolves a tag whose content has not arrived',
    options: ['from-driver', 'from-param', 'from-config', 'to-driver', 'to-param', 'to-config', 'concurrency'],
    optionHelp: [
      '--from-driver/--from-param/--from-config   the source backend (as --driver/--param/--config)',
      '--to-driver/--to-param/--to-config         the destination backend',
      '--concurrency N                            objects copied at once (default 8)',
    ],
    examples: [
      'storagedriver sync --from-config old.yml --to-config new.yml',
      'storagedriver sync / /mirror --from-driver filesystem --from-param rootdirectory=/var/lib/registry --to-driver gcs --to-param bucket=reg --to-param keyfile=key.json',
    ],
  },
  conformance: {
    usage: 'conformance [--full] [--filter TEXT]',
    about: 'run the shared conformance suite against the backend, under a scratch prefix; exits 1 on a failure',
    options: ['full', 'filter'],
    optionHelp: ['--full           the large and concurrent cases at full size (default: shrunk)', '--filter TEXT    only the cases whose name contains TEXT (no match is an error)'],
    examples: ['storagedriver conformance', 'storagedriver --config config.yml conformance --full'],
  },
  bench: {
    usage: 'bench [--size SIZE] [--iterations N]',
    about: 'run the benchmark set against the backend (throughput, operations per second, peak memory)',
    options: ['size', 'iterations'],
    optionHelp: ['--size SIZE        the large object (default 256MiB)', '--iterations N     operations per small benchmark (default 50)'],
    examples: ['storagedriver bench --size 64MiB'],
  },
};

/** The options `command` accepts, without dashes. */
export function optionsOf(command: string): string[] {
  return [...GENERAL_OPTIONS, ...(command === 'sync' ? [] : BACKEND_OPTIONS), ...(COMMANDS[command]?.options ?? [])];
}

/** The short form shown after a usage error. */
export function usageLine(command: string | undefined): string {
  const info = command === undefined ? undefined : COMMANDS[command];
  return info === undefined
    ? 'usage: storagedriver [backend options] COMMAND [arguments]; storagedriver --help lists the commands'
    : `usage: storagedriver ${info.usage}; storagedriver help ${command} for more`;
}

export function toolHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.about}`);
  return `storagedriver — inspect, move and verify storage on any backend

Usage: storagedriver [backend options] COMMAND [arguments]

Commands:
${lines.join('\n')}

${BACKEND}

${GENERAL}

Exit status: 0 done, 1 an operation or check failed (also: the driver cannot do it, e.g. uploads or sign),
2 bad usage or configuration, 130 interrupted (Ctrl-C).

Examples:
  storagedriver conformance                      # the suite against ./storage
  storagedriver --config config.yml du /         # a registry's storage, unchanged config
  storagedriver help COMMAND                     # a command's own help`;
}

export function commandHelp(name: string): string {
  const c = COMMANDS[name]!;
  const options = c.optionHelp === undefined ? '' : `\nOptions:\n${c.optionHelp.map((line) => `  ${line}`).join('\n')}\n`;
  const backend = name === 'sync' ? '' : `\n${BACKEND}\n`;
  return `storagedriver ${c.usage}\n\n${c.about}\n${options}${backend}\n${GENERAL}\n\nExamples:\n${c.examples.map((e) => `  ${e}`).join('\n')}`;
}
