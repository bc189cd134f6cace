/**
 * Alerts and webhooks in the running dakkio: rules are evaluated after each commit,
 * off the acknowledgement path, and their deliveries go through the durable outbox
 * that the dispatcher works off. Returns the HTTP route groups; registers its
 * closers on the composition root's shutdown stack (dispatcher before evaluator, so
 * the evaluator stops enqueueing first when the stack unwinds in reverse).
 */
import { createAlertEvaluator } from '../core/alerts/alert-evaluator.ts';
import { createAlertRuleService } from '../core/alerts/alert-rule-service.ts';
import type { Clock } from '../core/clock.ts';
import type { IdGenerator } from '../core/ids.ts';
import type { IngestPipeline } from '../core/ingest/ingest-pipeline.ts';
import type { Logger } from '../core/logger.ts';
import type { EventBus } from '../core/ports/event-bus.ts';
import type { MetadataDb } from '../core/store/metadata/sqlite-metadata-db.ts';
import { createWebhookDispatcher } from '../core/webhooks/webhook-dispatcher.ts';
import { createWebhookService } from '../core/webhooks/webhook-service.ts';
import { alertRoutes } from '../http/routes/alert-routes.ts';
import { webhookRoutes } from '../http/routes/webhook-routes.ts';
import type { ShutdownStack } from './shutdown-stack.ts';

export interface WireAlertsOptions {
  db: MetadataDb;
  clock: Clock;
  ids: IdGenerator;
  events: EventBus;
  logger: Logger;
  pipeline: Pick<IngestPipeline, 'onCommitted'>;
  /** DAKKIO_WEBHOOK_ALLOW_PRIVATE: webhook URLs may point at private addresses */
  allowPrivate: boolean;
  closers: ShutdownStack;
}

export function wireAlerts(o: WireAlertsOptions) {
  const { db, clock, ids, events, logger, allowPrivate } = o;
  const dispatcher = createWebhookDispatcher({
    db,
    clock,
    logger: logger.child({ component: 'webhooks' }),
    allowPrivate,
  });
  o.closers.push({ name: 'webhook-dispatcher', close: () => dispatcher.close() });
  const webhooks = createWebhookService({ db, clock, ids, events, allowPrivate, onEnqueued: () => dispatcher.wake() });
  const rules = createAlertRuleService({ db, clock, ids, events });
  const evaluator = createAlertEvaluator({
    db,
    clock,
    logger: logger.child({ component: 'alerts' }),
    events,
    ids,
    onDeliveriesEnqueued: () => dispatcher.wake(),
  });
  o.closers.push({ name: 'alert-evaluator', close: () => evaluator.close() });
  o.pipeline.onCommitted((points) => evaluator.onCommitted(points));
  return { routes: [alertRoutes({ rules, events: evaluator }), webhookRoutes(webhooks)] };
}
