import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it("starts tsx's loader thread with a small young generation, not the shebang's 64 MiB semi-spaces", () => {
    // preloaded in every thread: in the loader's, a burst of short-lived objects, then its new space's size
    const dir = mkdtempSync(join(tmpdir(), 'dakkio-loader-probe-'));
    try {
      const probe = join(dir, 'probe.cjs');
      writeFileSync(
        probe,
        `const { isMainThread } = require('node:worker_threads');
if (!isMainThread) {
  let keep = [];
  for (let i = 0; i < 2e6; i++) { keep.push({ a: i, b: 'x' + i, c: [i] }); if (keep.length > 20000) keep = keep.slice(10000); }
  const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space');
  require('node:fs').writeSync(2, 'loader new space MiB ' + s.physical_space_size / 2 ** 20 + '\\n');
}
`,
      );
      const out = spawnSync(process.execPath, [...flags, '--require', probe, BIN, '--help'], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      expect(out.status).toBe(0);
      const mib = /loader new space MiB ([\d.]+)/.exec(out.stderr)?.[1];
      expect(mib).toBeDefined();
      expect(Number(mib)).toBeLessThanOrEqual(8);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('tells a sized young generation from node defaults', () => {
    expect(youngGenerationSized([], undefined)).toBe(false);
    expect(youngGenerationSized(['--enable-source-maps'], '--require x.cjs')).toBe(false);
    expect(youngGenerationSized(['--max-semi-space-size=64'], undefined)).toBe(true);
    expect(youngGenerationSized([], '--require x.cjs --max-semi-space-size=32')).toBe(true);
  });
});
