/** Durations in the config are written like `30d`, `12h`, `90m`, `45s`, `500ms`. */
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$/.exec(text);
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNITS[m[2]!]!);
}

export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let rest = Math.abs(ms);
  const d = Math.floor(rest / 86_400_000); rest -= d * 86_400_000;
  const h = Math.floor(rest / 3_600_000); rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000); rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  if (d > 0) return `${sign}${d}d${h ? `${h}h` : ''}`;
  if (h > 0) return `${sign}${h}h${m ? `${m}m` : ''}`;
  if (m > 0) return `${sign}${m}m${s ? `${s}s` : ''}`;
  return `${sign}${s}s`;
}
