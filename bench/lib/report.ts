/**
 * Figures and how they are shown: every figure sits beside its peers from the
 * same run, as a ratio; the issues' goals are checked on those ratios.
 */

/** rate: higher is better (ops/s); time and size: lower is better. */
export type Kind = 'rate' | 'time' | 'size';

/** One row of `--json` output. `ratio` is always value / peerValue; `better` says which way is good. */
export interface FigureRow {
  name: string;
  value: number;
  unit: string;
  peer: string | null;
  peerValue: number | null;
  ratio: number | null;
  better: 'higher' | 'lower';
  kind: Kind;
  scenario: string;
  subject: string;
  /** The goal (from issue 2 or 3) judged on this row, and whether it was met. */
  goal?: string;
  goalMet?: boolean;
  /** The peer is a target figure (a goal to beat), not a measured contender. */
  target?: boolean;
}

export interface ScenarioReport {
  scenario: string;
  title: string;
  subject: string;
  params: string;
  rows: FigureRow[];
  notes: string[];
  elapsedMs: number;
  error?: string;
}

export interface PeerFigure {
  name: string;
  value: number;
  /**
   * The peer is a target figure, not a measured contender: `true` for issue 2's
   * (shown as "target (issue 2)"), or the label to show (e.g. "plan target (issue 3)").
   */
  target?: boolean | string;
  /** A goal on this comparison: ffcdb must be at least `atLeast` times better than the peer (1/1.3 = "within 1.3x"). */
  goal?: { text: string; atLeast: number };
}

export interface Comparison {
  metric: string;
  kind: Kind;
  unit: string;
  value: number;
  /** Defaults to the scenario's subject. */
  subject?: string;
  peers: PeerFigure[];
}

/** The peer name of a target figure from the issue. */
export const TARGET = 'target (issue 2)';

/** How many times better the subject is than the peer (> 1: better). */
export function advantage(row: Pick<FigureRow, 'value' | 'peerValue' | 'better'>): number | null {
  if (row.peerValue === null || row.peerValue === 0 || row.value === 0) return null;
  return row.better === 'higher' ? row.value / row.peerValue : row.peerValue / row.value;
}

/** Collects one scenario's figures; the runner prints them. */
export class Results {
  readonly rows: FigureRow[] = [];
  readonly notes: string[] = [];
  params = '';

  constructor(
    readonly scenario: string,
    readonly subject: string,
  ) {}

  compare(c: Comparison): FigureRow[] {
    const better = c.kind === 'rate' ? 'higher' : 'lower';
    const subject = c.subject ?? this.subject;
    const row = (peer: string | null, peerValue: number | null): FigureRow => ({
      name: `${this.scenario}/${c.metric}`,
      value: c.value,
      unit: c.unit,
      peer,
      peerValue,
      ratio: peerValue === null || peerValue === 0 ? null : c.value / peerValue,
      better,
      kind: c.kind,
      scenario: this.scenario,
      subject,
    });
    const added: FigureRow[] = [];
    if (c.peers.length === 0) added.push(row(null, null));
    for (const p of c.peers) {
      const r = row(typeof p.target === 'string' ? p.target : p.target ? TARGET : p.name, p.value);
      if (p.target) r.target = true;
      if (p.goal) {
        const adv = advantage(r);
        r.goal = p.goal.text;
        r.goalMet = adv !== null && Number.isFinite(adv) && adv >= p.goal.atLeast - 1e-12;
      }
      added.push(r);
    }
    this.rows.push(...added);
    return added;
  }

  note(text: string): void {
    this.notes.push(text);
  }
}

// ---------- formatting ----------

const sig3 = new Intl.NumberFormat('en-US', { maximumSignificantDigits: 3 });
const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Math.abs(v) >= 1000 ? whole.format(v) : sig3.format(v);
}

export function formatValue(v: number, unit: string): string {
  return `${formatNumber(v)} ${unit}`;
}

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function verdict(row: FigureRow): string {
  const adv = advantage(row);
  if (adv === null) return '';
  const size = row.kind === 'size';
  if (row.target || row.peer === TARGET) return adv >= 1 ? `${adv.toFixed(2)}× inside the target` : `${(1 / adv).toFixed(2)}× over the target`;
  if (adv >= 1) return `${adv.toFixed(2)}× ${size ? 'smaller' : 'faster'}`;
  return `${(1 / adv).toFixed(2)}× ${size ? 'larger' : 'slower'}`;
}

export function goalMark(row: FigureRow): string {
  if (row.goal === undefined) return '';
  return `${row.goalMet ? '✓ goal met' : '✗ goal NOT met'}: ${row.goal}`;
}

function table(header: string[], lines: string[][], indent = '  '): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    indent +
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmt(header), fmt(widths.map((w) => '─'.repeat(w))), ...lines.map(fmt)].join('\n');
}

export function formatScenario(r: ScenarioReport): string {
  const out: string[] = [];
  out.push(`■ ${r.scenario} — ${r.title}`);
  out.push(`  subject: ${r.subject}${r.params ? ` · ${r.params}` : ''} · took ${formatMs(r.elapsedMs)}`);
  if (r.error) {
    out.push(`  ✗ FAILED: ${r.error}`);
    return out.join('\n');
  }
  const lines: string[][] = [];
  let last = '';
  for (const row of r.rows) {
    const first = row.name !== last;
    last = row.name;
    const metric = row.name.slice(r.scenario.length + 1);
    lines.push([
      first ? metric : '',
      first ? formatValue(row.value, row.unit) : '',
      row.peer ?? '—',
      row.peerValue === null ? '' : formatValue(row.peerValue, row.unit),
      row.ratio === null ? '' : row.ratio.toPrecision(3),
      verdict(row),
      goalMark(row),
    ]);
  }
  out.push(table(['figure', 'ffcdb', 'peer (same run)', 'peer value', 'ratio', 'verdict', 'goal'], lines));
  const goals = r.rows.filter((row) => row.goal !== undefined);
  if (goals.length === 0) out.push('  goal: none set in the issues for this scenario (figures are for comparison)');
  for (const n of r.notes) out.push(`  note: ${n}`);
  return out.join('\n');
}

export function formatSummary(reports: readonly ScenarioReport[]): string {
  const out: string[] = ['■ goals'];
  for (const r of reports) {
    if (r.error) {
      out.push(`  ✗ ${r.scenario}: failed (${r.error.split('\n')[0]})`);
      continue;
    }
    const goals = r.rows.filter((row) => row.goal !== undefined);
    if (goals.length === 0) out.push(`  · ${r.scenario}: no goal set (informational)`);
    for (const g of goals) {
      out.push(
        `  ${g.goalMet ? '✓ met    ' : '✗ NOT met'} ${g.name}: ${g.goal} — ${formatValue(g.value, g.unit)} vs ${g.peer} ${formatValue(g.peerValue ?? 0, g.unit)} (${verdict(g)})`,
      );
    }
  }
  return out.join('\n');
}
