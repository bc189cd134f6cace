/**
 * `--sqlite-synchronous=normal,full` (bench:mqtt-ingest, bench:http-ingest): one dakkio SQLite
 * target per listed level (DAKKIO_SQLITE_SYNCHRONOUS), all started in the same run and
 * alternated like the other targets, for a same-run A/B of what power-cut-safe
 * acknowledgements cost. Unset: one target named "dakkio sqlite" with dakkio's default.
 */
const LEVELS = ['normal', 'full'];

export interface SqliteSynchronousTarget {
  /** appended to the target's name, e.g. " synchronous=full"; '' when the option is unset */
  suffix: string;
  env: Record<string, string>;
}

export function sqliteSynchronousTargets(arg: string | undefined): SqliteSynchronousTarget[] {
  if (arg === undefined || arg === '') return [{ suffix: '', env: {} }];
  return arg.split(',').map((level) => {
    if (!LEVELS.includes(level)) throw new Error(`--sqlite-synchronous takes ${LEVELS.join(' and/or ')}, not ${level}`);
    return { suffix: ` synchronous=${level}`, env: { DAKKIO_SQLITE_SYNCHRONOUS: level } };
  });
}
