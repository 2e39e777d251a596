/** What a scenario file exports, and what it gets to work with. */
import type { DurabilityMode } from '../../src/kernel/types.js';
import type { Results } from './report.js';

export interface ScenarioContext {
  name: string;
  /** `--quick`: a short smoke run; sizes come from `size(full, quick)`. */
  quick: boolean;
  /** Seed of every generated data set. */
  seed: number;
  /** `--sessions N`: the size asked for, for a scenario that takes one (search-scale). */
  sessions?: number;
  /** A fresh scratch folder for this scenario, removed after it. */
  dir: string;
  /** The run's scratch folder, shared by the scenarios of one run (cached data sets), removed at the end. */
  runDir: string;
  results: Results;
  size<T>(full: T, quick: T): T;
  /** A progress line. */
  log(message: string): void;
}

export interface Scenario {
  /** One line: what is measured. */
  title: string;
  /** The durability mode of the store under test, for the report's subject line. */
  durability?: DurabilityMode;
  run(ctx: ScenarioContext): Promise<void>;
}

export function defineScenario(s: Scenario): Scenario {
  return s;
}
