// Figures of a benchmark suite and how they are printed: a readable table, or one
// JSON object per line (--json). Every figure is a median beside its anchor.
import { execSync } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';

export interface Figure {
  name: string;
  unit: string;
  /** Median of the measured subject; null when it could not be measured here. */
  value: number | null;
  /** What the subject is compared with (measured in the same run). */
  anchor: string;
  anchor_value: number | null;
  /** Median of the per-repetition ratios subject / anchor (higher is better). */
  ratio: number | null;
  /**
   * Minimum ratio; for a `max-value` figure the most `value` may be, for a `min-value` one the
   * least. Infinity (a ceiling) or 0 (a floor): no target, the figure is shown for scale.
   */
  target: number;
  /** What `target` bounds: the ratio from below (default), or the value from above or below. */
  target_kind?: 'max-value' | 'min-value';
  pass: boolean | null;
  /** Which backend the figure was measured on (postgres, pglite), when a suite has several. */
  store?: string;
}

export function figure(fields: Omit<Figure, 'pass' | 'ratio'> & { ratios: number[] | null }): Figure {
  const { ratios, ...rest } = fields;
  const ratio = ratios && ratios.length > 0 ? median(ratios) : null;
  return { ...rest, ratio, pass: ratio === null ? null : ratio >= fields.target };
}

/**
 * A figure whose target is a ceiling on the value itself (a p99 latency); the anchor is
 * beside it for scale, with ratio anchor / value (higher is better, as everywhere).
 */
export function ceilingFigure(
  fields: Omit<Figure, 'pass' | 'ratio' | 'target_kind'> & { ratios: number[] | null },
): Figure {
  return boundFigure(fields, 'max-value');
}

/** A figure whose target is a floor on the value itself (requests/s that must be reached). */
export function floorFigure(
  fields: Omit<Figure, 'pass' | 'ratio' | 'target_kind'> & { ratios: number[] | null },
): Figure {
  return boundFigure(fields, 'min-value');
}

function boundFigure(
  fields: Omit<Figure, 'pass' | 'ratio' | 'target_kind'> & { ratios: number[] | null },
  kind: 'max-value' | 'min-value',
): Figure {
  const { ratios, ...rest } = fields;
  const ratio = ratios && ratios.length > 0 ? median(ratios) : null;
  const bounded = Number.isFinite(rest.target);
  const pass =
    rest.value === null || !bounded
      ? null
      : kind === 'max-value'
        ? rest.value <= rest.target
        : rest.value >= rest.target;
  return { ...rest, ratio, target_kind: kind, pass };
}

function formatTarget(f: Figure): string {
  if (!Number.isFinite(f.target)) return '—';
  const digits = f.unit === 'ms' ? 1 : 0;
  if (f.target_kind === 'max-value') return `<= ${formatNumber(f.target, digits)} ${f.unit}`;
  if (f.target_kind === 'min-value') return `>= ${formatNumber(f.target, digits)} ${f.unit}`;
  return `>= ${f.target}`;
}

export function median(values: number[]): number {
  if (values.length === 0) throw new Error('median of nothing');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface MachineInfo {
  date: string;
  nproc: number;
  memory: string;
  node: string;
  cpu: string;
}

export function machineInfo(): MachineInfo {
  let nproc = cpus().length;
  try {
    nproc = Number(execSync('nproc', { encoding: 'utf8' }).trim()) || nproc;
  } catch {
    // nproc is missing: os.cpus() is the next best thing
  }
  const gib = (bytes: number) => `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  return {
    date: new Date().toISOString(),
    nproc,
    memory: `${gib(totalmem())} total, ${gib(freemem())} free`,
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
  };
}

export function formatMachine(info: MachineInfo): string {
  return `date ${info.date} · nproc ${info.nproc} · memory ${info.memory} · node ${info.node} · cpu ${info.cpu}`;
}

function formatNumber(value: number | null, digits = 0): string {
  if (value === null) return 'n/a';
  if (Math.abs(value) >= 100 || digits === 0) return Math.round(value).toLocaleString('en-US');
  return value.toFixed(digits);
}

/** A plain-text table (also valid Markdown); a store column when figures carry one. */
export function formatTable(figures: Figure[]): string {
  const withStore = figures.some((f) => f.store !== undefined);
  const header = [
    ...(withStore ? ['store'] : []),
    ...['name', 'value', 'unit', 'anchor', 'anchor value', 'ratio', 'target', 'pass'],
  ];
  const rows = figures.map((f) => [
    ...(withStore ? [f.store ?? ''] : []),
    f.name,
    formatNumber(f.value, f.unit === 'ms' ? 1 : 0),
    f.unit,
    f.anchor,
    formatNumber(f.anchor_value, f.unit === 'ms' ? 1 : 0),
    f.ratio === null ? 'n/a' : f.ratio.toFixed(2),
    formatTarget(f),
    f.pass === null ? 'n/a' : f.pass ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = new Set(['value', 'anchor value', 'ratio']);
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (numeric.has(header[i]!) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

export function formatJsonLines(figures: Figure[]): string {
  return figures
    .map((f) => {
      const { name, unit, value, anchor, anchor_value, ratio, target, pass, store, target_kind } = f;
      return JSON.stringify({
        name,
        unit,
        value,
        anchor,
        anchor_value,
        ratio,
        target,
        pass,
        store,
        target_kind,
      });
    })
    .join('\n');
}
