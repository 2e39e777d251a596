import fc from 'fast-check';

/**
 * Shared fast-check settings for the property tests:
 * - the failing assertion's message goes into the report (uvu prints the
 *   message, not the error's cause);
 * - seeds are random, and a failure prints `{ seed, path }`: pass both to that
 *   `fc.assert(..., { seed, path })` to replay the shrunk case, or set
 *   FC_SEED=<seed> to rerun a whole file with that seed.
 */
fc.configureGlobal({
  includeErrorInReport: true,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});

export default fc;
