/**
 * The `dakkio` command. `dakkio start` (what `npm start` runs) boots the platform
 * from environment settings; start-up problems end in one clear line naming the
 * setting to change, and exit code 1.
 */
import { quietPacketDebug } from '../broker/quiet-packet-debug.ts';
import { createLogger } from './logger.ts';
import { ConfigError, loadConfig, settingsHelp } from './config.ts';
import { YOUNG_GENERATION_FLAG, youngGenerationSized } from './node-flags.ts';
import { describeStartupError } from './startup-errors.ts';

/** Under systemd's default 90 s stop timeout, so dakkio names what hung before SIGKILL would. */
const STOP_DEADLINE_MS = 60_000;

const USAGE = `dakkio — MQTT-first IoT data platform

Usage:
  dakkio start                     start the HTTP API and the MQTT broker (what npm start runs)
  dakkio mosquitto import --password-file F [--acl-file F] --owner EMAIL
                                   import a Mosquitto password_file / acl_file for a user
  dakkio --help                    this help

Settings (environment variables, all optional):
${settingsHelp()}
`;

export async function main(argv: string[]): Promise<number> {
  const [command = 'start', ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help' || rest.includes('--help')) {
    process.stdout.write(USAGE);
    return 0;
  }
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`dakkio: invalid setting ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (command === 'start') return start(config);
  if (command === 'mosquitto') {
    const { runMosquittoCommand } = await import('./mosquitto-command.ts');
    return runMosquittoCommand(rest, config);
  }
  process.stderr.write(`dakkio: unknown command "${command}"\n\n${USAGE}`);
  return 1;
}

async function start(config: ReturnType<typeof loadConfig>): Promise<number> {
  const logger = createLogger(config.logLevel);
  if (!youngGenerationSized(process.execArgv, process.env.NODE_OPTIONS)) {
    logger.info(
      {},
      `node runs without ${YOUNG_GENERATION_FLAG}: MQTT ingest costs up to twice the CPU per message (start with npm start or bin/dakkio.mjs)`,
    );
  }
  // before anything loads mqtt-packet (create-dakkio.ts pulls in Aedes)
  const packetDebugQuiet = quietPacketDebug();
  logger.debug({ packetDebugQuiet }, 'mqtt-packet debug loggers');
  const { createDakkio } = await import('./create-dakkio.ts');
  let dakkio: Awaited<ReturnType<typeof createDakkio>>;
  try {
    dakkio = await createDakkio(config, logger);
  } catch (err) {
    process.stderr.write(`dakkio: ${describeStartupError(err)}\n`);
    logger.flush?.();
    return 1;
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'stopping');
      // A close that never finishes, or a handle left open after it, must not keep the
      // process (and its ports) forever: everything acknowledged is already durable, so
      // after the deadline the process exits. Unref'd: a clean stop exits long before.
      let code: number | undefined;
      setTimeout(() => {
        if (code === undefined) logger.error({ ms: STOP_DEADLINE_MS }, 'stop did not finish in time; exiting');
        else logger.warn({ ms: STOP_DEADLINE_MS }, 'stopped, but an open handle kept the process alive; exiting');
        logger.flush?.();
        process.exit(code ?? 1);
      }, STOP_DEADLINE_MS).unref();
      dakkio
        .close()
        .then(() => {
          logger.info({}, 'stopped');
          code = 0;
          resolve(0);
        })
        .catch((err: unknown) => {
          logger.error({ err }, 'unclean stop');
          code = 1;
          resolve(1);
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
