/** The memory breakdown the quiet-time release logs (cli/memory-at-rest.ts), read by bench:qos0-storm. */
import { describe, expect, it } from 'vitest';
import { type Logger, silentLogger } from '../core/logger.ts';
import { memoryAtRest } from './memory-at-rest.ts';
import {
  createQuietRelease,
  RELEASE_LOG_MESSAGE,
  WORKER_HEAP_TIMEOUT_MS,
  type WorkerHeapsProbe,
} from './young-generation-release.ts';

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

  /** One release (RSS grew by 100 MiB since start-up: a quiet moment after a busy one runs it); its line. */
  async function releaseLine(workerHeaps?: WorkerHeapsProbe) {
    const lines: { obj: Record<string, unknown>; msg?: string | undefined }[] = [];
    const logger: Logger = {
      ...silentLogger,
      debug: (obj, msg) => lines.push({ obj: obj as Record<string, unknown>, msg }),
    };
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
      workerHeaps,
      quietSamples: 1,
    });
    sample(0.9);
    await sample(0.01);
    return lines.find((l) => l.msg === RELEASE_LOG_MESSAGE);
  }

  it("is in the release's log line, taken after the trim", async () => {
    const line = await releaseLine();
    expect(line?.obj.after).toMatchObject({ rssMiB: expect.any(Number), heapCommittedMiB: expect.any(Number) });
  });

  it("the release's line carries the store workers' committed heaps, asked with a short timeout", async () => {
    const asked: number[] = [];
    const statsReader = { heapMiB: 5.2, newMiB: 1, oldMiB: 3.1, largeMiB: 0 };
    const line = await releaseLine(async (timeoutMs) => {
      asked.push(timeoutMs);
      return { statsReader };
    });
    expect(asked).toEqual([WORKER_HEAP_TIMEOUT_MS]);
    expect(WORKER_HEAP_TIMEOUT_MS).toBeLessThanOrEqual(250);
    expect(line?.obj.workers).toEqual({ statsReader });
  });

  it("a failed ask for the workers' heaps leaves the figures out, not the line", async () => {
    const line = await releaseLine(() => Promise.reject(new Error('gone')));
    expect(line?.obj.after).toBeDefined();
    expect(line?.obj).not.toHaveProperty('workers');
  });
});
