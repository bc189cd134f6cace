/** Prints a result table and appends it, dated, to bench/RESULTS.md. */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadavg } from 'node:os';
import { machineInfo } from './machine.ts';

// this machine is shared: the load around the run says how much to trust absolute figures
const loadAtStart = loadavg()[0]!;

/** BENCH_RESULTS_PATH redirects trial runs away from the recorded results. */
export const RESULTS_PATH = process.env.BENCH_RESULTS_PATH ?? fileURLToPath(new URL('../RESULTS.md', import.meta.url));

export interface Table {
  title?: string;
  columns: string[];
  rows: (string | number)[][];
}

export function markdownTable(t: Table): string {
  const lines = [`| ${t.columns.join(' | ')} |`, `|${t.columns.map(() => '---').join('|')}|`];
  for (const r of t.rows) lines.push(`| ${r.map(String).join(' | ')} |`);
  return (t.title ? `**${t.title}**\n\n` : '') + lines.join('\n');
}

export interface Report {
  bench: string;
  /** how it was run: options, durations, runs */
  method: string;
  tables: Table[];
  notes?: string[];
}

export function recordResults(r: Report): void {
  const m = machineInfo();
  const when = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const body = [
    `## ${r.bench} — ${when}`,
    '',
    `Machine: ${m.cores} cores, ${m.cpuModel}; Node ${m.node}; commit ${m.commit}; 1-min load average ${loadAtStart.toFixed(1)} at start, ${loadavg()[0]!.toFixed(1)} at end (shared machine).`,
    '',
    r.method,
    '',
    ...r.tables.flatMap((t) => [markdownTable(t), '']),
    ...(r.notes?.length ? [...r.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  process.stdout.write(`\n${body}\n`);
  if (!existsSync(RESULTS_PATH)) {
    writeFileSync(
      RESULTS_PATH,
      '# Benchmark results\n\nAppended by `npm run bench:<name>` (see bench/README.md). Newest at the bottom.\n\n',
    );
  }
  // a section starts after a blank line even when the file was last edited by hand (a note line at its end)
  const end = readFileSync(RESULTS_PATH, 'utf8').slice(-2);
  const gap = end === '\n\n' ? '' : end.endsWith('\n') ? '\n' : '\n\n';
  appendFileSync(RESULTS_PATH, `${gap}${body}\n`);
}
