import type { DakkioEvent, DakkioEventType, EventBus, EventOf } from './ports/event-bus.ts';
import type { Logger } from './logger.ts';

/** The single-node EventBus: handlers run in this process, in subscription order. */
export function createLocalEventBus(logger?: Logger): EventBus {
  const handlers = new Map<DakkioEventType, Set<(event: DakkioEvent) => void | Promise<void>>>();
  return {
    async publish(event) {
      const set = handlers.get(event.type);
      if (!set) return;
      for (const handler of [...set]) {
        try {
          await handler(event);
        } catch (err) {
          logger?.error({ err, event: event.type }, 'event handler failed');
        }
      }
    },
    subscribe<T extends DakkioEventType>(type: T, handler: (event: EventOf<T>) => void | Promise<void>) {
      let set = handlers.get(type);
      if (!set) {
        set = new Set();
        handlers.set(type, set);
      }
      const h = handler as (event: DakkioEvent) => void | Promise<void>;
      set.add(h);
      return () => {
        set.delete(h);
      };
    },
    async close() {
      handlers.clear();
    },
  };
}
