/**
 * CSV export lines (RFC 4180 quoting): `timestamp,dataSourceId,metric,value`, ISO
 * times. Hand-written because it is one quoting rule over four known columns;
 * a CSV library would add a stream layer for no gain.
 */
import type { ReadingValue } from '../readings.ts';

export const CSV_HEADER = 'timestamp,dataSourceId,metric,value\n';

export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export function csvLine(ts: number, dataSourceId: string, metric: string, value: ReadingValue): string {
  return `${new Date(ts).toISOString()},${csvField(dataSourceId)},${csvField(metric)},${csvField(String(value))}\n`;
}
