/**
 * Test helper: a stock Aedes on a free loopback port, for tests that check how
 * dakkio's patches and wrappers change Aedes itself. `close` ends the clients it
 * connected that are still open, then the listener, then the broker. Not imported by library code.
 */
import { createServer } from 'node:net';
import { Aedes, type AedesOptions } from 'aedes';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

export interface BareAedes {
  broker: Aedes;
  url: string;
  /** connects a client that is ended by `close` */
  connect(opts?: IClientOptions): Promise<MqttClient>;
  close(): Promise<void>;
}

export async function startBareAedes(options: Partial<AedesOptions> = {}): Promise<BareAedes> {
  const broker = await Aedes.createBroker(options);
  const server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const url = `mqtt://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const clients: MqttClient[] = [];
  return {
    broker,
    url,
    async connect(opts = {}) {
      const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, ...opts });
      clients.push(client);
      return client;
    },
    async close() {
      for (const c of clients.splice(0)) if (!c.disconnected) await c.endAsync(true);
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    },
  };
}
