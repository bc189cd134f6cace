/**
 * What an unmodified Mosquitto 2.0 bridge sends when it connects to dakkio
 * (observed against the Debian 2.0.11 binary; see bridge-notifications.test.ts):
 * - CONNECT with protocol level 4|0x80 ("bridge mode", try_private true),
 *   clean session false, client id `<hostname>.<connection name>` unless
 *   `remote_clientid` is set, username/password = remote_username/remote_password;
 * - a will on `$SYS/broker/connection/<client id>/state`, payload "0", QoS 1, retained;
 * - right after CONNACK a PUBLISH of "1" to the same topic, QoS 1, retained;
 * - UNSUBSCRIBEs of its `out` topics (to clear stale remote subscriptions), for
 *   filters it never subscribed to here: they must simply be acknowledged.
 * A plain Aedes refuses the `$SYS` publish and drops the bridge; the broker should
 * accept exactly this notification (and this will) from that client.
 */

export const bridgeStateTopic = (clientId: string): string => `$SYS/broker/connection/${clientId}/state`;

/** Is this the bridge's own connection-state notification (or will), which must be accepted? */
export function isBridgeStateNotification(clientId: string, topic: string, payload?: Buffer | string): boolean {
  if (topic !== bridgeStateTopic(clientId)) return false;
  if (payload === undefined) return true;
  const text = payload.toString();
  return text === '0' || text === '1';
}
