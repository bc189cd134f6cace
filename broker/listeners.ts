/**
 * TCP, WebSocket, TLS and WSS listeners feeding one Aedes instance. Wired by hand
 * rather than with aedes-server-factory (0.2.x, little maintenance, adds nothing
 * over net/tls/http + ws for four listeners).
 */
import { once } from 'node:events';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { BrokerOptions, BrokerPorts } from './types.ts';

/** A listener could not bind; `setting` names the configuration to change. */
export class ListenError extends Error {
  readonly code: string;
  readonly setting: string;
  readonly port: number;
  constructor(setting: string, port: number, host: string, cause: NodeJS.ErrnoException) {
    const why = cause.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${cause.code ?? cause.message})`;
    super(`MQTT listener: port ${port} on ${host} ${why}; set ${setting} to a free port (0 picks one)`, { cause });
    this.name = 'ListenError';
    this.code = cause.code ?? 'ELISTEN';
    this.setting = setting;
    this.port = port;
  }
}

export const LISTENER_SETTINGS = {
  mqtt: 'DAKKIO_MQTT_PORT',
  mqttWs: 'DAKKIO_MQTT_WS_PORT',
  mqtts: 'DAKKIO_MQTTS_PORT',
  wss: 'DAKKIO_MQTT_WSS_PORT',
} as const;

export type HandleConnection = (stream: Duplex, req?: IncomingMessage) => void;

export interface Listeners {
  ports: BrokerPorts;
  /** Stop accepting new connections (existing ones stay until Aedes closes them). */
  stopAccepting(): void;
  /** Resolves when every server has fully closed; call after the sessions are gone. */
  closed(): Promise<void>;
}

type AnyServer = NetServer | HttpServer;

async function listen(server: AnyServer, port: number, host: string, setting: string): Promise<number> {
  try {
    server.listen(port, host);
    await once(server, 'listening');
  } catch (err) {
    throw new ListenError(setting, port, host, err as NodeJS.ErrnoException);
  }
  const address = server.address();
  return typeof address === 'object' && address ? address.port : port;
}

function attachWebSocket(server: HttpServer, path: string, maxFrameBytes: number, handle: HandleConnection) {
  const wss = new WebSocketServer({ server, path, maxPayload: maxFrameBytes });
  wss.on('error', () => {}); // only re-emitted server errors, already handled by listen()
  wss.on('connection', (ws, req) => {
    const stream = createWebSocketStream(ws);
    // a peer that vanishes mid-frame surfaces as a stream error Aedes already handles via close
    stream.on('error', () => stream.destroy());
    handle(stream, req);
  });
  server.on('request', (_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('MQTT over WebSocket: connect to this path with the "mqtt" subprotocol\n');
  });
  return wss;
}

export async function startListeners(
  options: BrokerOptions,
  handle: HandleConnection,
  maxFrameBytes: number,
): Promise<Listeners> {
  const servers: AnyServer[] = [];
  const sockets = new Set<Socket>();
  // one listener function for every socket, `this` being the socket: a closure and once()'s
  // wrapper per connection were garbage on every CONNECT (a socket closes once)
  const untrack = function (this: Socket) {
    sockets.delete(this);
  };
  const track = (server: AnyServer) => {
    servers.push(server);
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', untrack);
    });
    return server;
  };
  const wsServers: WebSocketServer[] = [];

  let closing: Promise<unknown> | undefined;
  const closeAll = () => {
    closing ??= Promise.all([
      ...servers.map((s) => new Promise((resolve) => (s.listening ? s.close(resolve) : resolve(undefined)))),
      ...wsServers.map((w) => new Promise((resolve) => w.close(resolve))),
    ]);
    return closing;
  };

  try {
    const tcp = track(createNetServer((socket) => handle(socket)));
    const mqtt = await listen(tcp, options.mqttPort, options.host, LISTENER_SETTINGS.mqtt);

    const http = createHttpServer();
    track(http);
    // ws re-emits its server's errors on itself: attach only once listening, so a bind error stays ours
    const mqttWs = await listen(http, options.wsPort, options.host, LISTENER_SETTINGS.mqttWs);
    wsServers.push(attachWebSocket(http, options.wsPath, maxFrameBytes, handle));

    const ports: BrokerPorts = { mqtt, mqttWs };
    if (options.tls) {
      const { cert, key } = options.tls;
      const tls = track(createTlsServer({ cert, key }, (socket) => handle(socket)));
      ports.mqtts = await listen(tls, options.tls.mqttsPort, options.host, LISTENER_SETTINGS.mqtts);
      const https = createHttpsServer({ cert, key });
      track(https);
      ports.wss = await listen(https, options.tls.wssPort, options.host, LISTENER_SETTINGS.wss);
      wsServers.push(attachWebSocket(https, options.wsPath, maxFrameBytes, handle));
    }

    return {
      ports,
      stopAccepting() {
        void closeAll();
      },
      async closed() {
        const done = closeAll();
        // Aedes destroyed its sessions; anything left is a half-open handshake
        for (const socket of sockets) socket.destroy();
        await done;
      },
    };
  } catch (err) {
    void closeAll();
    for (const socket of sockets) socket.destroy();
    throw err;
  }
}
