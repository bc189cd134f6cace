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
  /** Record that sources were heard from (coalesced; off the hot path). */
  markSourcesSeen(bucketId: string, dataSourceIds: Iterable<string>, at: number): void;
}
