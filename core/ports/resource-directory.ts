/**
 * The lookups the hot paths (ingest, queries, broker ACL) make about buckets and
 * data sources. Implemented over the metadata store with an in-memory cache that
 * bucket/source deletion invalidates through the EventBus.
 */
export interface ResourceDirectory {
  /** The owner of the bucket, or null when it does not exist. */
  bucketOwner(bucketId: string): Promise<string | null>;
  /** Does the data source exist in this bucket? */
  sourceExists(bucketId: string, dataSourceId: string): Promise<boolean>;
  /**
   * Synchronous cache answers for the ingest hot path (optional; additive): the owner
   * when the bucket is known to exist, undefined when only bucketOwner() can tell.
   */
  cachedBucketOwner?(bucketId: string): string | undefined;
  /** True when the source is known to exist; false means "ask sourceExists()", not "absent". */
  knownSource?(bucketId: string, dataSourceId: string): boolean;
  /** Record that sources were heard from (coalesced; off the hot path). */
  markSourcesSeen(bucketId: string, dataSourceIds: Iterable<string>, at: number): void;
}
