/** Human tables and the stable JSON documents of `status` and `refresh`. */
import type { RefreshReport, Severity, StatusEntry } from '../jobs/index.js';
import { formatDuration } from '../util/index.js';

/** JSON with Dates as ISO 8601 UTC strings. */
export function toJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Date ? v.toISOString() : v), 2);
}

export interface StatusDocument {
  tlskeeper: string;
  generatedAt: Date;
  severity: Severity;
  exitCode: number;
  entries: StatusEntry[];
}

export function renderStatusTable(doc: StatusDocument, now: Date): string {
  const lines: string[] = [];
  const rows = doc.entries.map((e) => [e.severity, e.kind, e.object, e.summary]);
  const header = ['STATE', 'KIND', 'OBJECT', 'SUMMARY'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  lines.push(fmt(header));
  for (const r of rows) lines.push(fmt(r));
  for (const e of doc.entries) {
    const details = Object.entries(e.facts).filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0));
    lines.push('', `${e.kind} ${e.object}: ${e.severity}`);
    for (const [k, v] of details) lines.push(`  ${k}: ${formatFact(v, now)}`);
    for (const p of e.problems) lines.push(`  ${p.severity}: ${p.message}${p.hint ? `\n    hint: ${p.hint}` : ''}`);
  }
  if (doc.entries.length === 0) lines.push('(nothing configured)');
  lines.push('', `overall: ${doc.severity}`);
  return `${lines.join('\n')}\n`;
}

function formatFact(v: unknown, now: Date): string {
  if (v instanceof Date) {
    const delta = v.getTime() - now.getTime();
    return `${v.toISOString()} (${delta >= 0 ? 'in ' : ''}${formatDuration(Math.abs(delta))}${delta < 0 ? ' ago' : ''})`;
  }
  if (Array.isArray(v)) return v.join(', ');
  if (v && typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderRefresh(report: RefreshReport): string {
  const lines: string[] = [];
  if (report.dryRun) {
    lines.push('Plan (dry run, nothing written):');
    for (const plan of report.plans) {
      if (plan.steps.length === 0) lines.push(`  ${plan.job}: nothing configured`);
      for (const s of plan.steps) {
        lines.push(`  ${plan.job} ${s.object}: ${s.action === 'none' ? 'nothing to do' : s.action} — ${s.reason}${s.dueAt ? ` (due ${s.dueAt.toISOString()})` : ''}`);
      }
    }
  } else {
    for (const r of report.results) {
      lines.push(`${r.outcome.toUpperCase().padEnd(9)} ${r.job} ${r.object}: ${r.message}${r.error?.hint ? `\n          hint: ${r.error.hint}` : ''}`);
    }
    for (const r of report.reloads) lines.push(`${(r.ok ? 'RELOADED' : 'FAILED').padEnd(9)} ${r.object}: ${r.message}`);
    if (report.results.length === 0) lines.push('nothing to do');
  }
  return `${lines.join('\n')}\n`;
}
