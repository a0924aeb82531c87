#!/usr/bin/env node
import { inspect } from 'node:util';

import { main } from './cli.js';
import { describeError } from './errors.js';

// A last resort: whatever escapes main (a bug) is still one line, with its stack trace only under --debug.
function fatal(error: unknown): void {
  process.stderr.write(`storagedriver: ${describeError(error).message}\n`);
  if (process.argv.includes('--debug')) process.stderr.write(`${inspect(error, { depth: 6 })}\n`);
  process.exit(1);
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
