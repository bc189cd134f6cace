/**
 * The MQTT broker as dakkio's config asks for it: listeners (TCP, WebSocket, and their TLS
 * twins when a certificate is configured), limits and the broker's dependencies on core.
 * Part of the composition root (cli/create-dakkio.ts), which closes it first on shutdown.
 */
import { readFileSync } from 'node:fs';
import { createBroker } from '../broker/create-broker.ts';
import type { Broker, BrokerDeps } from '../broker/types.ts';
import type { Config } from './config.ts';

export function startBroker(config: Config, deps: BrokerDeps): Promise<Broker> {
  const tls = config.tlsCert && config.tlsKey ? { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } : undefined;
  return createBroker(deps, {
    host: config.host,
    mqttPort: config.mqttPort,
    wsPort: config.mqttWsPort,
    wsPath: '/mqtt',
    tls: tls ? { ...tls, mqttsPort: config.mqttsPort, wssPort: config.mqttWssPort } : undefined,
    allowAnonymous: config.mqttAllowAnonymous,
    maxPayloadBytes: 256 * 1024,
    publishRatePerKey: config.mqttPublishRatePerKey,
    connectRatePerIp: config.mqttConnectRatePerIp,
  });
}
