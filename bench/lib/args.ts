/** `--name=value` / `--flag` command-line options for the bench scripts. */
import { parseArgs } from 'node:util';

export function benchArgs<T extends Record<string, { type: 'string' | 'boolean'; default?: string | boolean }>>(spec: T) {
  const { values } = parseArgs({ options: spec, strict: true, allowPositionals: false });
  return values as unknown as { [K in keyof T]: T[K]['type'] extends 'boolean' ? boolean : string };
}

export const numList = (s: string) => s.split(',').map(Number);
