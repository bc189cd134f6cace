/**
 * The V8 flag dakkio's executable starts node with (bin/dakkio.mjs shebang, `npm start`):
 * a 64 MiB semi-space, so in-flight QoS 1 publishes die young instead of being promoted
 * (bench/RESULTS.md, "MQTT QoS 1 hot path, round 2"). It cannot be set from inside the process.
 */
export const YOUNG_GENERATION_FLAG = '--max-semi-space-size';

/** Whether node was started with a semi-space size of its own (command line or NODE_OPTIONS). */
export function youngGenerationSized(execArgv: readonly string[], nodeOptions: string | undefined): boolean {
  return [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].some((a) => a.startsWith(YOUNG_GENERATION_FLAG));
}
