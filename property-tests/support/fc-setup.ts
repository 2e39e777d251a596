import fc from 'fast-check';

/**
 * Shared fast-check settings for the property tests:
 * - the failing assertion's message goes into the report (uvu prints the
 *   message, not the error's cause);
 * - seeds are random, and a failure prints `{ seed, path }`: pass both to that
 *   `fc.assert(..., { seed, path })` to replay the shrunk case, or set
 *   FC_SEED=<seed> (and FC_PATH=<path>) to rerun a whole file with that seed.
 */
fc.configureGlobal({
  includeErrorInReport: true,
  ...(process.env.FC_SEED ? { seed: Number(process.env.FC_SEED) } : {}),
});

/**
 * Cases per reader property (the properties that feed random and damaged bytes
 * to a reader, property-tests/readers/): 1,000 in `npm test`; FFCDB_FUZZ_RUNS
 * when set (`npm run fuzz` sets 100,000).
 */
export const readerRuns = runsFrom(process.env.FFCDB_FUZZ_RUNS);

function runsFrom(value: string | undefined): number {
  if (value === undefined || value === '') return 1000;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`FFCDB_FUZZ_RUNS must be a positive integer, not ${JSON.stringify(value)}`);
  return n;
}

export default fc;
