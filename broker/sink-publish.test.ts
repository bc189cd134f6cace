import { Aedes, type PublishPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { answerSinkWithoutRouting } from './sink-publish.ts';

const SINK = '$dakkio/ingested';
const packet = (topic: string): PublishPacket => ({
  cmd: 'publish',
  topic,
  payload: Buffer.from('x'),
  qos: 1,
  retain: false,
  dup: false,
});

describe('sink publish', () => {
  let broker: Aedes | undefined;
  afterEach(async () => {
    await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
    broker = undefined;
  });

  async function routed() {
    broker = await Aedes.createBroker();
    const events: string[] = [];
    broker.on('publish', (p) => events.push(p.topic));
    return events;
  }

  it('unguarded, Aedes routes the sink topic like any other (what the guard saves)', async () => {
    const events = await routed();
    await new Promise<void>((resolve, reject) =>
      broker!.publish(packet(SINK), (err) => (err ? reject(err) : resolve())),
    );
    expect(events).toEqual([SINK]);
  });

  it('answers the sink topic at once without routing it, in both call shapes', async () => {
    const events = await routed();
    answerSinkWithoutRouting(broker!, SINK);
    let answered = 0;
    broker!.publish(packet(SINK), () => answered++);
    (broker!.publish as (p: PublishPacket, c: unknown, d: () => void) => void)(packet(SINK), null, () => answered++);
    expect(answered).toBe(2);
    expect(events).toEqual([]);
  });

  it('routes every other topic to subscribers as before', async () => {
    const events = await routed();
    answerSinkWithoutRouting(broker!, SINK);
    const got: string[] = [];
    await new Promise<void>((resolve) =>
      broker!.subscribe(
        'plant/#',
        (p, cb) => {
          got.push(p.topic);
          cb();
        },
        resolve,
      ),
    );
    await new Promise<void>((resolve, reject) =>
      broker!.publish(packet('plant/a'), (err) => (err ? reject(err) : resolve())),
    );
    expect(got).toEqual(['plant/a']);
    expect(events).toEqual(['plant/a']);
  });
});
