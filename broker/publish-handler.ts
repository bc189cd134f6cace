/**
 * What happens to one PUBLISH from a device: ACL, payload limit, rate limit, parse,
 * ingest through the same core pipeline as HTTP, and the error topic. Returns what
 * Aedes should do with the packet; create-broker.ts turns that into the
 * authorizePublish callback, which is what delays the PUBACK until the commit.
 */
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { keyAllows } from '../core/auth/principal.ts';
import { type ErrorDetail, isDakkioError } from '../core/errors.ts';
import type { BrokerCounters } from './counters.ts';
import { COUNTER } from './counters.ts';
import { isPayloadError } from './error-mapping.ts';
import type { Session } from './sessions.ts';
import { createPublishTopicCache } from './topics.ts';
import type { BrokerDeps, BrokerIngestReading, BrokerOptions, MqttParsedReading } from './types.ts';

export type PublishOutcome =
  /** acknowledge (QoS 1) and do not forward: the committed readings reach subscribers via onCommitted */
  | { action: 'ack'; retained?: { bucketId: string; dataSourceId: string; reading: MqttParsedReading } }
  /** let Aedes route the packet as is (topics outside dakkio/ allowed by otherTopics) */
  | { action: 'forward' }
  /** close the connection without acknowledging */
  | { action: 'disconnect'; reason: string };

export interface PublishPacketLike {
  topic: string;
  payload: Buffer | string;
  retain: boolean;
}

export interface PublishHandlerContext {
  deps: BrokerDeps;
  options: BrokerOptions;
  counters: BrokerCounters;
  /** Publish `{topic, code, message, details?}` on the client's error topic (and count it). */
  reportError(session: Session, topic: string, code: string, message: string, details?: readonly ErrorDetail[]): void;
}

const MAX_REPORTED_REJECTIONS = 10;

export function createPublishHandler(ctx: PublishHandlerContext) {
  const { deps, options, counters, reportError } = ctx;
  const parsePublishTopic = createPublishTopicCache();
  const limiter =
    options.publishRatePerKey > 0
      ? new RateLimiterMemory({ keyPrefix: 'mqtt-pub', points: options.publishRatePerKey, duration: 1 })
      : null;

  const refuse = (
    session: Session,
    topic: string,
    code: string,
    message: string,
    details?: readonly ErrorDetail[],
  ): PublishOutcome => {
    reportError(session, topic, code, message, details);
    return { action: 'ack' };
  };

  /** Denied publish: API keys are disconnected (API.md); Mosquitto-style credentials get Mosquitto's ack-and-drop. */
  const deny = (session: Session, reason: string): PublishOutcome => {
    counters.rejected(reason);
    if (session.principal?.kind === 'mqtt-credential') return { action: 'ack' };
    return { action: 'disconnect', reason };
  };

  return async function handlePublish(session: Session, packet: PublishPacketLike): Promise<PublishOutcome> {
    const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
    counters.inc(COUNTER.messagesIn);
    counters.inc(COUNTER.bytesIn, payload.length);
    const { topic } = packet;
    const principal = session.principal;

    if (session.dropped) return { action: 'disconnect', reason: 'session_dropped' };
    if (principal?.kind === 'api-key' && principal.expiresAt !== null && principal.expiresAt <= deps.clock.now()) {
      return { action: 'disconnect', reason: 'expired' };
    }

    const target = parsePublishTopic(topic);
    if (target.kind === 'other') {
      const other = deps.otherTopics;
      if (!other || !(await other.canPublish(principal, session.clientId, topic))) return deny(session, 'forbidden');
      if (limiter) {
        try {
          await limiter.consume(principal?.kind === 'api-key' ? principal.keyId : `client:${session.clientId}`);
        } catch {
          return refuse(session, topic, 'rate_limited', `more than ${options.publishRatePerKey} publishes per second`);
        }
      }
      if (!principal || !other.ingest) return { action: 'forward' };
      try {
        const stored = await other.ingest(principal, topic, payload, deps.clock.now());
        if (stored > 0) counters.inc(COUNTER.readingsAccepted, stored);
      } catch (err) {
        if (!isDakkioError(err)) throw err;
        // subscribers still get the message, as on Mosquitto; only the reading is refused
        if (isPayloadError(err.code)) reportError(session, topic, err.code, err.message, err.details);
        else {
          counters.rejected(err.code);
          return { action: 'disconnect', reason: err.code };
        }
      }
      return { action: 'forward' };
    }
    if (target.kind === 'reserved' || principal?.kind !== 'api-key') return deny(session, 'forbidden');

    const { bucketId, dataSourceId } = target;
    // Ownership before rights: another owner's (or no) bucket is the same answer as no write right
    if (!keyAllows(principal, bucketId, 'write')) return deny(session, 'forbidden');
    // the cache's synchronous answer spares every message of a known bucket an await
    const owner = deps.directory.cachedBucketOwner?.(bucketId) ?? (await deps.directory.bucketOwner(bucketId));
    if (owner !== principal.ownerId) return deny(session, 'forbidden');

    if (payload.length > options.maxPayloadBytes) {
      return refuse(session, topic, 'payload_too_large', `payload is ${payload.length} bytes; the limit is ${options.maxPayloadBytes}`);
    }
    if (limiter) {
      try {
        await limiter.consume(principal.keyId);
      } catch {
        return refuse(session, topic, 'rate_limited', `more than ${options.publishRatePerKey} publishes per second with this key`);
      }
    }

    const receivedAt = deps.clock.now();
    let parsed: MqttParsedReading[];
    try {
      const out =
        target.kind === 'data'
          ? deps.parseDataPayload(payload, receivedAt)
          : deps.parseMetricPayload(target.metric, payload, receivedAt);
      parsed = Array.isArray(out) ? out : [out];
    } catch (err) {
      if (isDakkioError(err)) return refuse(session, topic, err.code, err.message, err.details);
      throw err;
    }
    if (parsed.length === 0) return refuse(session, topic, 'validation_failed', 'the payload holds no reading');

    const readings: BrokerIngestReading[] = parsed.map((r) => ({ dataSourceId, values: r.values, timestamp: r.timestamp }));
    let result: Awaited<ReturnType<BrokerDeps['ingest']['ingest']>>;
    try {
      result = await deps.ingest.ingest(principal, bucketId, readings);
    } catch (err) {
      if (isDakkioError(err)) {
        if (isPayloadError(err.code)) return refuse(session, topic, err.code, err.message, err.details);
        if (err.code === 'unauthorized' || err.code === 'forbidden') return deny(session, err.code);
        // store down or spool full: no PUBACK, so the device resends after reconnecting
        counters.rejected(err.code);
        return { action: 'disconnect', reason: err.code };
      }
      throw err;
    }

    for (const r of result.rejected.slice(0, MAX_REPORTED_REJECTIONS)) {
      const where = r.index !== undefined && readings.length > 1 ? `reading ${r.index}: ` : '';
      reportError(session, topic, r.code, `${where}${r.message}`);
    }
    if (result.accepted === 0) return { action: 'ack' };
    counters.inc(COUNTER.readingsAccepted, result.accepted);
    const last = parsed[parsed.length - 1];
    if (packet.retain && last) return { action: 'ack', retained: { bucketId, dataSourceId, reading: last } };
    return { action: 'ack' };
  };
}
