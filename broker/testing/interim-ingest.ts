/**
 * Stand-in for core's ingest service until it lands: the same real pieces (resource
 * directory, group-commit pipeline) composed the way API.md describes, so broker
 * tests already exercise real storage. Replace with createIngestService.
 */
import { type ApiKeyPrincipal, keyAllows } from '../../core/auth/principal.ts';
import { DakkioError, notFound } from '../../core/errors.ts';
import type { IngestPipeline } from '../../core/ingest/ingest-pipeline.ts';
import type { ResourceDirectory } from '../../core/ports/resource-directory.ts';
import type { ReadingPoint } from '../../core/readings.ts';
import type { BrokerIngest, BrokerIngestReading } from '../types.ts';

export function createInterimIngest(opts: { pipeline: IngestPipeline; directory: ResourceDirectory }): BrokerIngest {
  const { pipeline, directory } = opts;
  return {
    async ingest(principal: ApiKeyPrincipal, bucketId: string, readings: BrokerIngestReading[]) {
      if (!keyAllows(principal, bucketId, 'write')) throw new DakkioError('forbidden', 'key lacks write on bucket');
      if ((await directory.bucketOwner(bucketId)) !== principal.ownerId) throw notFound('bucket');
      const points: ReadingPoint[] = [];
      for (const r of readings) {
        if (!(await directory.sourceExists(bucketId, r.dataSourceId))) throw notFound('data source');
        const ts = typeof r.timestamp === 'number' ? r.timestamp : Date.parse(String(r.timestamp));
        for (const [metric, value] of Object.entries(r.values)) points.push({ bucketId, dataSourceId: r.dataSourceId, metric, ts, value });
      }
      await pipeline.submit(points);
      return { accepted: points.length, rejected: [] };
    },
  };
}
