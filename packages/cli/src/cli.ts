/** Argument parsing and dispatch. Exit codes: 0 done, 1 an operation or check failed, 2 bad usage or configuration. */
import { parseArgs } from 'node:util';

import { InvalidParameterError, parseSize } from '@storagedriver/core';

import { UsageError, describeError, openBackend, resolveBackend, type BackendFlags } from './backend.js';
import * as files from './commands.js';
import { COMMANDS, commandHelp, toolHelp } from './help.js';
import { Output } from './output.js';
import { sync } from './sync.js';
import { bench, conformance } from './verify.js';

const OPTIONS = {
  driver: { type: 'string' },
  param: { type: 'string', multiple: true },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  method: { type: 'string' },
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
} as const;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed < 1) throw new UsageError(`--${name} ${value}: a positive integer`);
  return parsed;
}

function arity(command: string, positionals: string[], min: number, max: number): void {
  if (positionals.length < min || positionals.length > max) throw new UsageError(`usage: storagedriver ${COMMANDS[command]!.usage}`);
}

export async function main(argv: string[]): Promise<number> {
  let json = argv.includes('--json');
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
    json = values.json === true;
    const out = new Output(json);
    const [command, ...args] = positionals;
    if (command === undefined || command === 'help') {
      process.stdout.write(`${args[0] !== undefined && COMMANDS[args[0]] ? commandHelp(args[0]) : toolHelp()}\n`);
      return command === undefined && values.help !== true ? 2 : 0;
    }
    if (COMMANDS[command] === undefined) throw new UsageError(`unknown command ${JSON.stringify(command)}; see storagedriver --help`);
    if (values.help) {
      process.stdout.write(`${commandHelp(command)}\n`);
      return 0;
    }
    const backend: BackendFlags = { driver: values.driver, param: values.param, config: values.config };
    if (command === 'sync') {
      arity(command, args, 0, 2);
      const from = resolveBackend({ driver: values['from-driver'], param: values['from-param'], config: values['from-config'] });
      const to = resolveBackend({ driver: values['to-driver'], param: values['to-param'], config: values['to-config'] });
      const [source, destination] = [await openBackend(from), await openBackend(to)];
      const summary = await sync(source, destination, out, { from: args[0] ?? '/', to: args[1] ?? '/', concurrency: positiveInteger('concurrency', values.concurrency, 8) });
      return summary.failed.length === 0 ? 0 : 1;
    }
    const spec = resolveBackend(backend);
    if (command === 'conformance') {
      arity(command, args, 0, 0);
      const results = await conformance(spec, out, { full: values.full === true, filter: values.filter });
      return results.some((r) => r.status === 'failed') ? 1 : 0;
    }
    if (command === 'bench') {
      arity(command, args, 0, 0);
      const largeSize = values.size === undefined ? 256 * 1024 * 1024 : parseSize(values.size);
      if (largeSize === undefined) throw new UsageError(`--size ${values.size}: a size such as 64MiB or 1GiB`);
      await bench(spec, out, { largeSize, iterations: positiveInteger('iterations', values.iterations, 50) });
      return 0;
    }
    const driver = await openBackend(spec);
    switch (command) {
      case 'ls': arity(command, args, 0, 1); await files.ls(driver, out, args[0]); break;
      case 'stat': arity(command, args, 1, 1); await files.stat(driver, out, args[0]!); break;
      case 'cat': arity(command, args, 1, 1); await files.cat(driver, out, args[0]!); break;
      case 'get': arity(command, args, 1, 2); await files.get(driver, out, args[0]!, args[1]); break;
      case 'put': arity(command, args, 2, 2); await files.put(driver, out, args[0]!, args[1]!); break;
      case 'mv': arity(command, args, 2, 2); await files.mv(driver, out, args[0]!, args[1]!); break;
      case 'rm': arity(command, args, 1, 1); await files.rm(driver, out, args[0]!); break;
      case 'tree': arity(command, args, 0, 1); await files.tree(driver, out, args[0]); break;
      case 'du': arity(command, args, 0, 1); await files.du(driver, out, args[0]); break;
      case 'url': arity(command, args, 1, 1); await files.url(driver, out, args[0]!, values.method); break;
    }
    return 0;
  } catch (error) {
    const usage = error instanceof UsageError || error instanceof InvalidParameterError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    const described = describeError(error);
    if (json) process.stdout.write(`${JSON.stringify({ error: described })}\n`);
    else process.stderr.write(`storagedriver: ${described.message}\n`);
    return usage ? 2 : 1;
  }
}
