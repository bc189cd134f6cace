/**
 * Everything that must reach every dakkio node goes through here (DESIGN.md):
 * a key revoked or rotated, a rule changed, a client to disconnect. In-process by
 * default (core/event-bus-local.ts); Redis or NATS when clustered.
 */
export type DakkioEvent =
  /**
   * Drop every live session that authenticated with this key; forget cached verifications.
   * With `secretFingerprint`, only the sessions that authenticated with that secret
   * (ApiKeyPrincipal.secretFingerprint) end: a rotated-away secret whose grace is over.
   */
  | { type: 'key.revoked'; keyId: string; ownerId: string; secretFingerprint?: string }
  /** A key's secret, rights or expiry changed: cached verifications must be dropped. */
  | { type: 'key.changed'; keyId: string; ownerId: string }
  /** A user was deleted or all their credentials were invalidated. */
  | { type: 'owner.deleted'; ownerId: string }
  | { type: 'bucket.deleted'; bucketId: string; ownerId: string }
  | { type: 'data-source.deleted'; bucketId: string; dataSourceId: string }
  | { type: 'alert-rules.changed'; bucketId: string }
  /** An alert state change, for the broker to publish on dakkio/<bucketId>/alerts. */
  | { type: 'alert.event'; bucketId: string; payload: Record<string, unknown> }
  | { type: 'mqtt-credential.changed'; credentialId: string; ownerId: string }
  /** An owner's topic mappings (mosquitto-compat) changed: every node rebuilds its lookup. */
  | { type: 'mqtt-topic-mappings.changed'; ownerId: string };

export type DakkioEventType = DakkioEvent['type'];
export type EventOf<T extends DakkioEventType> = Extract<DakkioEvent, { type: T }>;

export interface EventBus {
  publish(event: DakkioEvent): Promise<void>;
  /** Returns an unsubscribe function. Handlers must not throw; errors are logged by the bus. */
  subscribe<T extends DakkioEventType>(type: T, handler: (event: EventOf<T>) => void | Promise<void>): () => void;
  close(): Promise<void>;
}
