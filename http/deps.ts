/**
 * What the HTTP adapter needs from core, as structural types: the composition root
 * (cli/create-dakkio.ts) passes the real services, and TypeScript checks they fit.
 * http/ never imports broker/ (DESIGN.md dependency rule); what it needs of the
 * broker (connected clients, counters) arrives here as plain functions.
 */
import type { ApiKeyPrincipal, UserPrincipal } from '../core/auth/principal.ts';
import type { Clock } from '../core/clock.ts';
import type { Logger } from '../core/logger.ts';
import type { Page, PageRequest } from '../core/pagination.ts';
import type { ParsedBatch } from '../core/ingest/batch-import-parsers.ts';
import type { QueryService } from '../core/query/query-service.ts';
import type { BucketStats } from '../core/readings.ts';

export type Views = Record<string, unknown>;
type Session = {
  user: Views;
  token: string;
  refreshToken: string;
  expiresAt: number;
};
type Tokens = { token: string; refreshToken: string; expiresAt: number };

export interface HttpDeps {
  logger: Logger;
  /** the composition root's clock, so "last 24 h" follows a test's manual clock (default: system time) */
  clock?: Clock;
  allowSignup: boolean;
  publicOrigin: string | undefined;
  corsOrigins: string[];
  users: {
    register(input: { email: string; password: string; name?: string }, ctx: { ip: string }): Promise<Session>;
    login(input: { email: string; password: string }, ctx: { ip: string }): Promise<Session>;
    refresh(refreshToken: string): Promise<Tokens>;
    logout(principal: UserPrincipal): Promise<void>;
    getMe(userId: string): Promise<Views>;
    updateMe(principal: UserPrincipal, patch: never): Promise<Views>;
    deleteMe(principal: UserPrincipal, password: string): Promise<void>;
  };
  verifyAccessToken(token: string): Promise<UserPrincipal>;
  apiKeys: {
    create(ownerId: string, input: never): Promise<{ key: Views; secret: string }>;
    list(ownerId: string, page: PageRequest): Promise<Page<Views>>;
    get(ownerId: string, keyId: string): Promise<Views>;
    revoke(ownerId: string, keyId: string): Promise<void>;
    rotate(ownerId: string, keyId: string, input: { graceSeconds?: number }): Promise<{ key: Views; secret: string }>;
    verify(secret: string): Promise<ApiKeyPrincipal>;
    countByOwner?(ownerId: string): Promise<number>;
  };
  buckets: {
    list(ownerId: string, page: PageRequest): Promise<Page<Views>>;
    create(ownerId: string, input: never): Promise<Views>;
    get(ownerId: string, id: string): Promise<Views>;
    update(ownerId: string, id: string, patch: never): Promise<Views>;
    delete(ownerId: string, id: string): Promise<void>;
    countByOwner(ownerId: string): Promise<number>;
    listIdsByOwner(ownerId: string): Promise<string[]>;
  };
  dataSources: {
    list(ownerId: string, bucketId: string, page: PageRequest): Promise<Page<Views>>;
    create(ownerId: string, bucketId: string, input: never): Promise<Views>;
    get(ownerId: string, bucketId: string, id: string): Promise<Views>;
    update(ownerId: string, bucketId: string, id: string, patch: never): Promise<Views>;
    delete(ownerId: string, bucketId: string, id: string): Promise<void>;
    countByOwner(ownerId: string): Promise<number>;
  };
  ingest: {
    ingest(
      principal: ApiKeyPrincipal,
      bucketId: string,
      readings: {
        dataSourceId: string;
        values: unknown;
        timestamp?: unknown;
      }[],
      options?: { partial?: boolean },
    ): Promise<{
      accepted: number;
      rejected: { index: number; code: string; message: string }[];
    }>;
    ingestBatch(
      principal: ApiKeyPrincipal,
      batch: ParsedBatch,
      options?: { partial?: boolean },
    ): Promise<{
      accepted: number;
      rejected: { line: number; code: string; message: string }[];
    }>;
  };
  query: QueryService;
  readingStats(ownerId: string, bucketId: string): Promise<BucketStats>;
  countReadings(bucketIds: readonly string[], sinceMs: number): Promise<{ total: number; since: number }>;
  ingestRatePerSecond(bucketIds: readonly string[]): number;
  /** live MQTT clients of one owner (analytics overview); server-wide counters are operator-only (metrics-routes.ts) */
  mqtt: { connectedClients(ownerId: string): number };
  health(): Promise<{ ok: boolean; detail: Record<string, unknown> }>;
}
