import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Logger } from '../core/logger.ts';
import { createShutdownStack } from './shutdown-stack.ts';

function recordingLogger() {
  const warned: unknown[] = [];
  const logger = { warn: (o: unknown) => warned.push(o), error: () => {} } as unknown as Logger;
  return { logger, warned };
}

describe('shutdown stack', () => {
  afterEach(() => vi.useRealTimers());

  it('closes in reverse order and names a close that is still running after the slow mark', async () => {
    vi.useFakeTimers();
    const { logger, warned } = recordingLogger();
    const stack = createShutdownStack(logger, 10_000);
    const order: string[] = [];
    let finishStore!: () => void;
    const storeClosed = new Promise<void>((resolve) => {
      finishStore = () => {
        order.push('store');
        resolve();
      };
    });
    stack.push({ name: 'store', close: () => storeClosed });
    stack.push({ name: 'http', close: () => void order.push('http') });
    const done = stack.closeAll();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(warned).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(warned).toEqual([{ component: 'store', ms: 10_000 }]);
    finishStore();
    await done;
    expect(order).toEqual(['http', 'store']);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(warned).toHaveLength(1);
  });
});
