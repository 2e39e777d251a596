/**
 * The figures of the chat-* scenarios: p50, p99 and mean latency of the chat
 * API beside the SQLite chat peer from the same run and the original plan's
 * target (issue 3). Goals, judged on p50: at least 10× inside the plan's
 * target, and no slower than SQLite; p99 and mean are shown beside the same
 * peers for comparison.
 */
import type { LatencySummary } from './measure.js';
import type { PeerFigure, Results } from './report.js';

export const PLAN_TARGET = 'plan target (issue 3)';
export const SQLITE_PEER = 'SQLite (WAL, synchronous=FULL)';

export interface LatencyComparison {
  /** What is timed, e.g. "create a session"; the metrics are "<what> p50" and so on. */
  what: string;
  subject?: string;
  ours: LatencySummary;
  sqlite: LatencySummary;
  sqliteName?: string;
  /** The plan's target in ms (absent: the plan sets none for this figure). */
  targetMs?: number;
  /** More measured peers (informational, no goal). */
  others?: { name: string; lat: LatencySummary }[];
  /** Goals judged on p50 (default true). */
  goals?: boolean;
}

export function compareLatencies(r: Results, c: LatencyComparison): void {
  const goals = c.goals ?? true;
  for (const stat of ['p50', 'p99', 'mean'] as const) {
    const judged = goals && stat === 'p50';
    const peers: PeerFigure[] = [
      { name: c.sqliteName ?? SQLITE_PEER, value: c.sqlite[stat], ...(judged ? { goal: { text: 'no slower than SQLite', atLeast: 1 } } : {}) },
      ...(c.others ?? []).map((o) => ({ name: o.name, value: o.lat[stat] })),
    ];
    if (c.targetMs !== undefined) {
      peers.push({
        name: PLAN_TARGET,
        value: c.targetMs,
        target: PLAN_TARGET,
        ...(judged ? { goal: { text: `≥ 10× inside the plan's < ${c.targetMs} ms (≤ ${c.targetMs / 10} ms)`, atLeast: 10 } } : {}),
      });
    }
    r.compare({ metric: `${c.what} ${stat}`, kind: 'time', unit: 'ms', ...(c.subject ? { subject: c.subject } : {}), value: c.ours[stat], peers });
  }
  if (c.targetMs === undefined && goals) r.note(`${c.what}: the plan sets no target for this figure; the goal is SQLite's`);
}
