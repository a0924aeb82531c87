/** Argument parsing, dispatch and error reporting; exit statuses are listed in errors.ts and the README. */
import { inspect, parseArgs } from 'node:util';

import { parseSize, type WriteMetadata } from '@storagedriver/core';

import { openBackend, resolveBackend, type BackendFlags } from './backend.js';
import * as files from './commands.js';
import { LocalFileError, UsageError, describeError, exitCodeOf } from './errors.js';
import { COMMANDS, commandHelp, optionsOf, toolHelp, usageLine } from './help.js';
import { Output } from './output.js';
import { sync } from './sync.js';
import * as uploads from './uploads.js';
import { bench, conformance } from './verify.js';
import { version } from './version.js';

const OPTIONS = {
  driver: { type: 'string' },
  param: { type: 'string', multiple: true },
  config: { type: 'string' },
  json: { type: 'boolean' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
  force: { type: 'boolean' },
  method: { type: 'string' },
  expires: { type: 'string' },
  'content-type': { type: 'string' },
  meta: { type: 'string', multiple: true },
  concurrency: { type: 'string' },
  full: { type: 'boolean' },
  filter: { type: 'string' },
  size: { type: 'string' },
  iterations: { type: 'string' },
  'from-driver': { type: 'string' },
  'from-param': { type: 'string', multiple: true },
  'from-config': { type: 'string' },
  'to-driver': { type: 'string' },
  'to-param': { type: 'string', multiple: true },
  'to-config': { type: 'string' },
  'older-than': { type: 'string' },
  'dry-run': { type: 'boolean' },
} as const;

const usageError = (message: string): UsageError => new UsageError(message, { showUsage: true });

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw usageError(`--${name} ${value}: a positive integer`);
  return parsed;
}

/** `--content-type` and `--meta KEY=VALUE` flags as writer metadata (the driver validates the values). */
function writeMetadata(contentType: string | undefined, pairs: string[] | undefined): WriteMetadata {
  const metadata: Record<string, string> = {};
  for (const pair of pairs ?? []) {
    const equals = pair.indexOf('=');
    if (equals < 1) throw usageError(`--meta ${pair}: KEY=VALUE`);
    metadata[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return { ...(contentType === undefined ? {} : { contentType }), ...(pairs === undefined ? {} : { metadata }) };
}

function arity(command: string, positionals: string[], min: number, max: number): void {
  if (positionals.length < min) throw usageError(`${command}: missing argument`);
  if (positionals.length > max) throw usageError(`${command}: unexpected argument ${JSON.stringify(positionals[max])}`);
}

/** parseArgs's errors in a line: which option, and what is wrong with it. */
function parseArgsMessage(error: Error & { code?: string }): string {
  const option = /--[\w-]+/.exec(error.message)?.[0] ?? /'(-\w)/.exec(error.message)?.[1] ?? 'an option';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (error.message.includes('argument missing')) return `option ${option} needs a value`;
    // The next argument starts with a dash: another option, or a value that must be attached.
    if (error.message.includes('ambiguous')) return `option ${option} needs a value (one starting with a dash as ${option}=-VALUE)`;
    return `option ${option} takes no value`;
  }
  return error.message.split('\n')[0]!;
}

function parseStrict(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    if ((error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') !== true) throw error;
    throw usageError(parseArgsMessage(error as Error));
  }
}

/**
 * Runs the `storagedriver` command line on `argv` (without node and the script) and resolves to its exit code:
 * 0 on success, 2 for a usage error or an invalid parameter, 1 for any other failure. Output goes to stdout and stderr.
 */
export async function main(argv: string[]): Promise<number> {
  // Read leniently first, so that a bad command line is still reported the way it asked (--json) for the command it named.
  const lenient = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: false });
  const out = new Output(lenient.values.json === true);
  const command = lenient.positionals[0];
  let code: number;
  try {
    code = await dispatch(argv, out);
  } catch (error) {
    await out.settle();
    // The reader of stdout went away (`| head`): nothing is wrong, and nobody is listening.
    if (out.closed) return 0;
    const described = describeError(error);
    const usage = error instanceof UsageError && error.showUsage ? usageLine(command !== undefined && COMMANDS[command] !== undefined ? command : undefined) : undefined;
    if (out.json) out.write(`${JSON.stringify({ error: { ...described, ...(usage === undefined ? {} : { usage }) } })}\n`);
    else process.stderr.write(`storagedriver: ${described.message}\n${usage === undefined ? '' : `${usage}\n`}`);
    if (lenient.values.debug === true) process.stderr.write(`${inspect(error, { depth: 6 })}\n`);
    return exitCodeOf(error);
  }
  await out.settle();
  if (out.closed) return 0;
  if (out.failure !== undefined) {
    process.stderr.write(`storagedriver: ${new LocalFileError('stdout', out.failure).message}\n`);
    return 1;
  }
  return code;
}

async function dispatch(argv: string[], out: Output): Promise<number> {
  const { values, positionals } = parseStrict(argv);
  const [command, ...args] = positionals;
  if (values.version === true) {
    const current = version();
    out.result(current, { version: current });
    return 0;
  }
  if (command === 'help' || (command === undefined && values.help === true)) {
    const topic = command === 'help' ? args[0] : undefined;
    if (topic !== undefined && COMMANDS[topic] === undefined) throw usageError(`unknown command ${JSON.stringify(topic)}`);
    out.write(`${topic === undefined ? toolHelp() : commandHelp(topic)}\n`);
    return 0;
  }
  if (command === undefined) throw usageError('no command given');
  if (COMMANDS[command] === undefined) throw usageError(`unknown command ${JSON.stringify(command)}`);
  if (values.help === true) {
    out.write(`${commandHelp(command)}\n`);
    return 0;
  }
  const accepted = optionsOf(command);
  const foreign = Object.keys(values).find((name) => !accepted.includes(name));
  if (foreign !== undefined) throw usageError(`${command} does not take --${foreign}`);

  if (command === 'sync') {
    arity(command, args, 0, 2);
    const from = resolveBackend({ driver: values['from-driver'], param: values['from-param'], config: values['from-config'] });
    const to = resolveBackend({ driver: values['to-driver'], param: values['to-param'], config: values['to-config'] });
    const concurrency = positiveInteger('concurrency', values.concurrency, 8);
    const [source, destination] = [await openBackend(from), await openBackend(to)];
    const summary = await sync(source, destination, out, { from: args[0] ?? '/', to: args[1] ?? '/', concurrency });
    return summary.failed.length === 0 ? 0 : 1;
  }
  const backend: BackendFlags = { driver: values.driver, param: values.param, config: values.config };
  if (command === 'conformance') {
    arity(command, args, 0, 0);
    const results = await conformance(resolveBackend(backend), out, { full: values.full === true, filter: values.filter });
    return results.some((r) => r.status === 'failed') ? 1 : 0;
  }
  if (command === 'bench') {
    arity(command, args, 0, 0);
    const largeSize = values.size === undefined ? 256 * 1024 * 1024 : parseSize(values.size);
    if (largeSize === undefined) throw usageError(`--size ${values.size}: a size such as 64MiB or 1GiB`);
    await bench(resolveBackend(backend), out, { largeSize, iterations: positiveInteger('iterations', values.iterations, 50) });
    return 0;
  }
  if (command === 'uploads') {
    const [action, ...rest] = args;
    if (action !== 'ls' && action !== 'purge') throw usageError(action === undefined ? 'uploads: missing subcommand (ls or purge)' : `uploads: unknown subcommand ${JSON.stringify(action)} (ls or purge)`);
    arity(`uploads ${action}`, rest, 0, 1);
    if (action === 'ls') {
      const misplaced = (['older-than', 'dry-run'] as const).find((name) => values[name] !== undefined);
      if (misplaced !== undefined) throw usageError(`uploads ls does not take --${misplaced}`);
      await uploads.ls(await openBackend(resolveBackend(backend)), out, rest[0]);
      return 0;
    }
    if (values['older-than'] === undefined) throw usageError('uploads purge: --older-than is required (e.g. --older-than 7d; 0s for every upload)');
    const ageMs = uploads.parseAge(values['older-than']);
    if (ageMs === undefined) throw usageError(`--older-than ${values['older-than']}: an age such as 7d, 12h, 30m or 90s (or 1d12h)`);
    await uploads.purge(await openBackend(resolveBackend(backend)), out, rest[0] ?? '/', { ageMs, dryRun: values['dry-run'] === true });
    return 0;
  }
  const limits: Record<string, [number, number]> = { ls: [0, 1], stat: [1, 1], cat: [1, 1], get: [1, 2], put: [2, 2], mv: [2, 2], cp: [2, 2], rm: [1, 1], tree: [0, 1], du: [0, 1], url: [1, 1], sign: [1, 1], caps: [0, 0] };
  arity(command, args, ...limits[command]!);
  const driver = await openBackend(resolveBackend(backend));
  switch (command) {
    case 'ls': await files.ls(driver, out, args[0]); break;
    case 'stat': await files.stat(driver, out, args[0]!); break;
    case 'cat': await files.cat(driver, out, args[0]!); break;
    case 'get': await files.get(driver, out, args[0]!, args[1], { force: values.force === true }); break;
    case 'put': await files.put(driver, out, args[0]!, args[1]!, writeMetadata(values['content-type'], values.meta)); break;
    case 'mv': await files.mv(driver, out, args[0]!, args[1]!); break;
    case 'cp': await files.cp(driver, out, args[0]!, args[1]!); break;
    case 'rm': await files.rm(driver, out, args[0]!); break;
    case 'tree': await files.tree(driver, out, args[0]); break;
    case 'du': await files.du(driver, out, args[0]); break;
    case 'url': await files.url(driver, out, args[0]!, values.method); break;
    case 'sign':
      await files.sign(driver, out, args[0]!, { method: values.method, expiresIn: values.expires === undefined ? undefined : positiveInteger('expires', values.expires, 0), contentType: values['content-type'] });
      break;
    case 'caps': files.caps(driver, out); break;
  }
  return 0;
}
