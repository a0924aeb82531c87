import type { SuiteCase } from '../runner.js';
import { abortCases } from './abort.js';
import { apiClaimCases } from './api-claims.js';
import { apiConditionalCases } from './api-conditional.js';
import { apiCopyCases } from './api-copy.js';
import { apiListingCases } from './api-listing.js';
import { apiMetadataCases } from './api-metadata.js';
import { apiRangeCases } from './api-ranges.js';
import { apiSignedCases } from './api-signed.js';
import { apiStreamCases } from './api-streams.js';
import { apiUploadCases, apiUploadRefusalCases } from './api-uploads.js';
import { backendCases } from './backend.js';
import { constructionCases } from './construction.js';
import { contentCases } from './content.js';
import { hiddenCases } from './hidden.js';
import { listingCases } from './listing.js';
import { miscCases } from './misc.js';
import { streamCases } from './streams.js';
import { treeCases } from './tree.js';
import { walkCases } from './walk.js';

/** Every conformance case, in the order they run. */
export const conformanceCases: readonly SuiteCase[] = [
  // First, so a report opens with what the driver claims.
  ...apiClaimCases,
  ...constructionCases,
  ...contentCases,
  ...streamCases,
  ...hiddenCases,
  ...treeCases,
  ...listingCases,
  ...walkCases,
  ...abortCases,
  ...miscCases,
  ...backendCases,
  ...apiMetadataCases,
  ...apiConditionalCases,
  ...apiSignedCases,
  ...apiCopyCases,
  ...apiListingCases,
  ...apiRangeCases,
  ...apiStreamCases,
  ...apiUploadCases,
  ...apiUploadRefusalCases,
];
