import type { SuiteCase } from '../runner.js';
import { contentCases } from './content.js';
import { miscCases } from './misc.js';
import { streamCases } from './streams.js';
import { treeCases } from './tree.js';
import { walkCases } from './walk.js';

/** Every conformance case, in the order they run. */
export const conformanceCases: readonly SuiteCase[] = [...contentCases, ...streamCases, ...treeCases, ...walkCases, ...miscCases];
