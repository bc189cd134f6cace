import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { YOUNG_GENERATION_FLAG, youngGenerationSized } from './node-flags.ts';

const BIN = fileURLToPath(new URL('../bin/dakkio.mjs', import.meta.url));
const PACKAGE = fileURLToPath(new URL('../package.json', import.meta.url));

describe('node flags of the dakkio executable', () => {
  const shebang = readFileSync(BIN, 'utf8').split('\n', 1)[0]!;
  const m = /^#!\/usr\/bin\/env -S ((?:\S+=\S* )*)node (.+)$/.exec(shebang);
  const env = m?.[1] ?? '';
  const flags = m?.[2]?.split(' ') ?? [];
  const start = (JSON.parse(readFileSync(PACKAGE, 'utf8')) as { scripts: { start: string } }).scripts.start;

  it('sizes the young generation in the shebang, and npm start passes the same environment and flags', () => {
    expect(flags.some((f) => f.startsWith(`${YOUNG_GENERATION_FLAG}=`))).toBe(true);
    expect(start).toBe(`${env}node ${flags.join(' ')} bin/dakkio.mjs start`);
  });

  it("fixes glibc's malloc trim threshold in the shebang (read only at process start), so freed arena tops go back to the OS", () => {
    expect(env.split(' ')).toContain('MALLOC_TRIM_THRESHOLD_=131072');
  });

  it('runs as an executable with those flags (env -S passes them to node)', () => {
    const out = spawnSync(BIN, ['--help'], { encoding: 'utf8', timeout: 30_000 });
    expect(out.status).toBe(0);
    expect(out.stdout).toContain('dakkio start');
  });

  it('tells a sized young generation from node defaults', () => {
    expect(youngGenerationSized([], undefined)).toBe(false);
    expect(youngGenerationSized(['--enable-source-maps'], '--require x.cjs')).toBe(false);
    expect(youngGenerationSized(['--max-semi-space-size=64'], undefined)).toBe(true);
    expect(youngGenerationSized([], '--require x.cjs --max-semi-space-size=32')).toBe(true);
  });
});
