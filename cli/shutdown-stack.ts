import type { Logger } from '../core/logger.ts';

/**
 * Components register their close() as they start; closeAll() runs them in reverse
 * order, so what started last (the listeners) stops first and the stores close
 * last, after the pipeline has flushed. One failing close doesn't stop the rest.
 * A close still running after `slowCloseMs` is named in a warning, so a stop that
 * hangs says where (cli/main.ts gives up on a stop after STOP_DEADLINE_MS).
 */
export interface ShutdownStack {
  push(entry: { name: string; close: () => Promise<void> | void }): void;
  closeAll(): Promise<void>;
}

export function createShutdownStack(logger: Logger, slowCloseMs = 10_000): ShutdownStack {
  const entries: { name: string; close: () => Promise<void> | void }[] = [];
  return {
    push: (entry) => {
      entries.push(entry);
    },
    async closeAll() {
      for (const c of entries.splice(0).reverse()) {
        const slow = setTimeout(() => logger.warn({ component: c.name, ms: slowCloseMs }, 'still closing'), slowCloseMs);
        slow.unref();
        try {
          await c.close();
        } catch (err) {
          logger.error({ err, component: c.name }, 'close failed');
        } finally {
          clearTimeout(slow);
        }
      }
    },
  };
}
