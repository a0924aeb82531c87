import type { SuiteCase } from '../runner.js';
import { abortCases } from './abort.js';
import { backendCases } from './backend.js';
import { contentCases } from './content.js';
import { hiddenCases } from './hidden.js';
import { listingCases } from './listing.js';
import { miscCases } from './misc.js';
import { streamCases } from './streams.js';
import { treeCases } from './tree.js';
import { walkCases } from './walk.js';

/** Every conformance case, in the order they run. */
export const conformanceCases: readonly SuiteCase[] = [
  ...contentCases,
  ...streamCases,
  ...hiddenCases,
  ...treeCases,
  ...listingCases,
  ...walkCases,
  ...abortCases,
  ...miscCases,
  ...backendCases,
];
