/**
 * Runs one durable write path under power-loss simulation at many random cut points (power-loss.ts):
 * a dry run counts the calls the path makes inside its folder, then each cut runs the path afresh, cuts
 * the power at a random call, rebuilds the folder as the disk could hold it and hands it to the check.
 * Seeded and printed: FFCDB_POWER_SEED replays a run, FFCDB_POWER_CUTS sets how many cuts each path
 * runs (`npm run powerloss -- N`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type PowerLossRun, simulatePowerLoss } from './power-loss.js';
import { rng } from './workload.js';

export interface PathUnderTest<S> {
  name: string;
  /** Cuts when FFCDB_POWER_CUTS is not set. */
  cuts: number;
  /** Makes the folder's starting state (closed again: everything in it counts as durable). */
  setup?(root: string, random: () => number): Promise<void>;
  /** A fresh state to record acknowledgements in. */
  state(random: () => number): S;
  /** The work; records in `state` only what resolved while `run.cut` was false. */
  work(root: string, run: PowerLossRun, state: S): Promise<void>;
  /** Closes what the work left open (called with every call in the folder failing). */
  abandon(state: S): Promise<void>;
  /** Opens the rebuilt folder and returns the problems found (none: the cut passed). */
  check(image: string, state: S): Promise<string[]>;
}

export interface CutsSummary {
  seed: number;
  cuts: number;
  /** Calls the dry run made inside the folder. */
  calls: number;
  /** Entries of the folder made by calls the model does not see (worker threads, proper-lockfile). */
  unseen: Set<string>;
}

/** A folder for the runs: in memory where the machine has one (fsync costs nothing there, and the model simulates it). */
function baseDir(): string {
  const base = fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir();
  return fs.mkdtempSync(path.join(base, 'ffcdb-power-'));
}

export function powerSeed(): number {
  const env = process.env.FFCDB_POWER_SEED;
  return env ? Number(env) : Math.floor(Math.random() * 2 ** 31);
}

/** Runs the path at random cuts; throws on the first cut whose check finds problems, naming the seed and the cut. */
export async function runPowerCuts<S>(p: PathUnderTest<S>, seed = powerSeed()): Promise<CutsSummary> {
  const cuts = process.env.FFCDB_POWER_CUTS ? Number(process.env.FFCDB_POWER_CUTS) : p.cuts;
  console.log(`  power-loss ${p.name}: seed ${seed}, ${cuts} cuts (FFCDB_POWER_SEED=${seed} replays)`);
  const base = baseDir();
  const unseen = new Set<string>();
  try {
    const once = async (label: string, cutAt: number | undefined, random: () => number) => {
      const root = path.join(base, `${label}-root`);
      const image = path.join(base, `${label}-image`);
      fs.mkdirSync(root);
      await p.setup?.(root, random);
      const state = p.state(random);
      const result = await simulatePowerLoss({ root, cutAt, image, random, work: (run) => p.work(root, run, state), abandon: () => p.abandon(state) });
      if (result.unmodeled.length > 0) throw new Error(`power-loss ${p.name}: calls the disk model does not follow: ${result.unmodeled.join('; ')}`);
      for (const u of result.unseen) unseen.add(u.replace(/[0-9a-f]{2}\/[0-9a-f]{2}\//, '*/*/'));
      return { result, state, image, root };
    };
    const dry = await once('dry', undefined, rng(seed));
    fs.rmSync(dry.root, { recursive: true, force: true });
    const calls = dry.result.calls;
    for (let i = 0; i < cuts; i++) {
      const random = rng(seed + 7919 * (i + 1));
      // One cut in five falls after the work's last call: what it acknowledged at the very end must be durable too.
      const cutAt = random() < 0.2 ? undefined : 1 + Math.floor(random() * calls);
      const { state, image, root } = await once(`cut${i}`, cutAt, random);
      const problems = await p.check(image, state);
      if (problems.length > 0) {
        const shown = problems.slice(0, 20).map((x) => `  - ${x}`);
        throw new Error(`power-loss ${p.name}, seed ${seed}, cut #${i} at call ${cutAt ?? 'after the last'} of ${calls} (image kept in ${image}):\n${shown.join('\n')}`);
      }
      fs.rmSync(root, { recursive: true, force: true });
      fs.rmSync(image, { recursive: true, force: true });
    }
    fs.rmSync(base, { recursive: true, force: true });
    return { seed, cuts, calls, unseen };
  } catch (err) {
    // The failing cut's image stays for a look; everything else goes.
    for (const name of fs.readdirSync(base)) if (name.endsWith('-root')) fs.rmSync(path.join(base, name), { recursive: true, force: true });
    throw err;
  }
}
