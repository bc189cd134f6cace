/**
 * The `dakkio_mqtt_*` counters operators scrape (issue 3, item 8). Names follow
 * Prometheus conventions with labels inline so the HTTP layer can print them as-is.
 */
export interface BrokerCounters {
  inc(name: string, by?: number): void;
  /** `dakkio_mqtt_messages_rejected_total{reason="<reason>"}` */
  rejected(reason: string): void;
  /** `dakkio_mqtt_connections_refused_total{reason="<reason>"}` */
  refused(reason: string): void;
  snapshot(): Record<string, number>;
}

export const COUNTER = {
  messagesIn: 'dakkio_mqtt_messages_in_total',
  bytesIn: 'dakkio_mqtt_bytes_in_total',
  readingsAccepted: 'dakkio_mqtt_readings_accepted_total',
  messagesForwarded: 'dakkio_mqtt_messages_forwarded_total',
  connectionsAccepted: 'dakkio_mqtt_connections_total',
  sessionsDropped: 'dakkio_mqtt_sessions_dropped_total',
  subscriptionsRefused: 'dakkio_mqtt_subscriptions_refused_total',
} as const;

export function createBrokerCounters(): BrokerCounters {
  const values = new Map<string, number>([
    [COUNTER.messagesIn, 0],
    [COUNTER.bytesIn, 0],
    [COUNTER.readingsAccepted, 0],
    [COUNTER.messagesForwarded, 0],
    [COUNTER.connectionsAccepted, 0],
    [COUNTER.sessionsDropped, 0],
    [COUNTER.subscriptionsRefused, 0],
  ]);
  const inc = (name: string, by = 1) => {
    values.set(name, (values.get(name) ?? 0) + by);
  };
  return {
    inc,
    rejected: (reason) => inc(`dakkio_mqtt_messages_rejected_total{reason="${reason}"}`),
    refused: (reason) => inc(`dakkio_mqtt_connections_refused_total{reason="${reason}"}`),
    snapshot: () => Object.fromEntries(values),
  };
}
