import type { Migration } from 'kysely';
import * as m001 from './001-initial.ts';
import * as m002 from './002-alerts-webhooks.ts';
import * as m003 from './003-mqtt-compat.ts';

/**
 * Every migration, in order. Listed statically (not read from disk) so the same
 * set runs under tsx, in tests and in a bundle. Never edit a migration that has
 * shipped: add the next one.
 */
export const migrations: Record<string, Migration> = {
  '001-initial': m001,
  '002-alerts-webhooks': m002,
  '003-mqtt-compat': m003,
};
