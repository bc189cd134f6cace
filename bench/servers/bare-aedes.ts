/**
 * Baseline broker: Aedes as installed (1.2.0), no auth, no storage, one TCP
 * listener on a free port. Prints {"msg":"listening","mqtt":PORT} and runs until SIGTERM.
 */
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

const aedes = await Aedes.createBroker();
// errors from clients torn down mid-benchmark are expected noise here
aedes.on('clientError', () => {});
aedes.on('connectionError', () => {});
const server = createServer(aedes.handle);
server.listen(0, '127.0.0.1', () => {
  const addr = server.address();
  process.stdout.write(`${JSON.stringify({ msg: 'listening', mqtt: typeof addr === 'object' && addr ? addr.port : 0 })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  aedes.close(() => process.exit(0));
});
