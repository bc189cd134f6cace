import { describe, expect, it } from 'vitest';
import { bucketOfTopic, createPublishTopicCache, parsePublishTopic, parseSubscribeFilter } from './topics.ts';

const B = '507f1f77bcf86cd799439011';
const S = '507f1f77bcf86cd799439012';

describe('parsePublishTopic', () => {
  it('recognises data and single-metric topics', () => {
    expect(parsePublishTopic(`dakkio/${B}/${S}/data`)).toEqual({ kind: 'data', bucketId: B, dataSourceId: S });
    expect(parsePublishTopic(`dakkio/${B}/${S}/data/temperature`)).toEqual({
      kind: 'metric',
      bucketId: B,
      dataSourceId: S,
      metric: 'temperature',
    });
  });

  it('treats every other dakkio/ topic as reserved and the rest as other', () => {
    for (const t of [`dakkio/${B}/alerts`, 'dakkio/clients/x/errors', `dakkio/${B}/${S}/data/a/b`, 'dakkio/nope/x/data', 'dakkio']) {
      expect(parsePublishTopic(t).kind).toBe('reserved');
    }
    expect(parsePublishTopic('home/kitchen/temp').kind).toBe('other');
    expect(parsePublishTopic('$SYS/x').kind).toBe('other');
  });
});

describe('parseSubscribeFilter', () => {
  it('refuses root wildcards, $ topics and dakkio/ wildcards', () => {
    for (const f of ['#', '+/x', '$SYS/#', '$dakkio/ingested', 'dakkio/#', 'dakkio/+/x/data', 'dakkio', 'dakkio/clients/+/errors', 'dakkio/clients/#']) {
      expect(parseSubscribeFilter(f)).toEqual({ kind: 'refused' });
    }
  });

  it('names the bucket or the error topic', () => {
    expect(parseSubscribeFilter(`dakkio/${B}/+/data`)).toEqual({ kind: 'bucket', bucketId: B });
    expect(parseSubscribeFilter(`dakkio/${B}/#`)).toEqual({ kind: 'bucket', bucketId: B });
    expect(parseSubscribeFilter('dakkio/clients/dev-1/errors')).toEqual({ kind: 'errors', clientId: 'dev-1' });
    expect(parseSubscribeFilter('home/#')).toEqual({ kind: 'other' });
  });
});

describe('bucketOfTopic', () => {
  it('extracts the bucket of a concrete topic', () => {
    expect(bucketOfTopic(`dakkio/${B}/${S}/data`)).toBe(B);
    expect(bucketOfTopic(`dakkio/${B}/alerts`)).toBe(B);
    expect(bucketOfTopic('dakkio/clients/x/errors')).toBeNull();
    expect(bucketOfTopic('other/x')).toBeNull();
  });
});

describe('createPublishTopicCache', () => {
  it('answers as parsePublishTopic, the same object for a repeated topic, and stays bounded', () => {
    const parse = createPublishTopicCache(2);
    const t = `dakkio/${B}/${S}/data`;
    const first = parse(t);
    expect(first).toEqual(parsePublishTopic(t));
    expect(parse(`${t}`)).toBe(first);
    expect(parse('home/x')).toEqual({ kind: 'other' });
    expect(parse(`dakkio/${B}/${S}/data/temperature`)).toEqual(parsePublishTopic(`dakkio/${B}/${S}/data/temperature`));
    // the third distinct topic started the cache over: the first is parsed again
    expect(parse(t)).not.toBe(first);
    expect(parse(t)).toEqual(first);
  });
});
