/** The memory breakdown the quiet-time release logs (cli/memory-at-rest.ts), read by bench:qos0-storm. */
import { describe, expect, it } from 'vitest';
import { type Logger, silentLogger } from '../core/logger.ts';
import { memoryAtRest } from './memory-at-rest.ts';
import { createQuietRelease, RELEASE_LOG_MESSAGE } from './young-generation-release.ts';

const MiB = 2 ** 20;

describe('memory at rest', () => {
  it('splits RSS into the committed heap by space, external memory and the native rest', () => {
    const m = memoryAtRest();
    for (const k of ['rssMiB', 'heapCommittedMiB', 'newSpaceMiB', 'oldSpaceMiB', 'externalMiB', 'nativeRestMiB']) {
      expect(m[k], k).toBeTypeOf('number');
    }
    expect(m.heapCommittedMiB).toBeGreaterThanOrEqual(m.oldSpaceMiB! + m.newSpaceMiB!);
    expect(m.nativeRestMiB).toBeCloseTo(m.rssMiB! - m.heapCommittedMiB! - m.externalMiB!, 0);
  });

  it("is in the release's log line, taken after the trim", async () => {
    const lines: { obj: Record<string, unknown>; msg?: string | undefined }[] = [];
    const logger: Logger = {
      ...silentLogger,
      debug: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    };
    // RSS grew by 100 MiB since start-up: a quiet moment after a busy one runs the (native) release
    const rss = [100 * MiB, 200 * MiB];
    const sample = createQuietRelease({
      gc: () => {},
      logger,
      gauges: {
        newSpace: () => 0,
        oldGenerationUsed: () => 0,
        oldSpaceFree: () => 0,
        rss: () => rss.shift() ?? 200 * MiB,
      },
      mallocTrim: () => {},
      quietSamples: 1,
    });
    sample(0.9);
    await sample(0.01);
    const line = lines.find((l) => l.msg === RELEASE_LOG_MESSAGE);
    expect(line?.obj.after).toMatchObject({ rssMiB: expect.any(Number), heapCommittedMiB: expect.any(Number) });
  });
});
