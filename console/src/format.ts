// How figures are shown. Money arrives as integer micro-dollars and is only divided for display.
export function usd(micros: number): string {
  const dollars = Math.abs(micros) / 1_000_000;
  const digits = dollars < 0.01 && micros !== 0 ? 6 : 4;
  return `${micros < 0 ? '-' : ''}$${dollars.toFixed(digits)}`;
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function time(iso: string | null | undefined): string {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString(undefined, { hour12: false });
}

export function ratio(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

export function shortId(id: string): string {
  return id.slice(0, 8);
}
