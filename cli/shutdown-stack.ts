import type { Logger } from '../core/logger.ts';

/**
 * Components register their close() as they start; closeAll() runs them in reverse
 * order, so what started last (the listeners) stops first and the stores close
 * last, after the pipeline has flushed. One failing close doesn't stop the rest.
 */
export interface ShutdownStack {
  push(entry: { name: string; close: () => Promise<void> | void }): void;
  closeAll(): Promise<void>;
}

export function createShutdownStack(logger: Logger): ShutdownStack {
  const entries: { name: string; close: () => Promise<void> | void }[] = [];
  return {
    push: (entry) => {
      entries.push(entry);
    },
    async closeAll() {
      for (const c of entries.splice(0).reverse()) {
        try {
          await c.close();
        } catch (err) {
          logger.error({ err, component: c.name }, 'close failed');
        }
      }
    },
  };
}
