/**
 * The per rule × source state machine, pure so it can be tested and reasoned about
 * without a database: `ok → (pending →) firing → ok`. Threshold rules move on
 * readings (and, while pending, on the timer once `forSeconds` has elapsed);
 * absence rules fire on the timer and resolve on the next reading.
 *
 * Time bases: threshold rules use reading timestamps (so a replayed or late older
 * point never flips a newer state); absence rules use the server's receive time
 * (a device with a wrong clock must not look silent or alive).
 */
import type { ReadingValue } from '../readings.ts';
import type { AlertRule, ThresholdOp } from './schemas.ts';

export interface RuleState {
  state: 'ok' | 'pending' | 'firing';
  /** reading time the threshold condition started holding */
  pendingSince: number | null;
  /** newest reading time evaluated */
  lastTs: number | null;
  /** newest receive time (absence countdown start) */
  lastSeenAt: number | null;
  lastValue: ReadingValue | null;
}

export interface Transition {
  state: 'firing' | 'resolved';
  value: ReadingValue | null;
  at: number;
}

export const initialState = (lastSeenAt: number | null = null): RuleState => ({
  state: 'ok',
  pendingSince: null,
  lastTs: null,
  lastSeenAt,
  lastValue: null,
});

/** What a state was computed against; when it differs the state starts over. `enabled` is handled separately. */
export const ruleFingerprint = (rule: AlertRule): string =>
  JSON.stringify([rule.dataSourceId, rule.metric, rule.condition, rule.forSeconds]);

/** Booleans compare as 1/0 (a door sensor `open == 1`); strings never match a threshold. */
export function numericValue(value: ReadingValue): number | null {
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  return null;
}

export function compare(x: number, op: ThresholdOp, threshold: number): boolean {
  switch (op) {
    case '>':
      return x > threshold;
    case '>=':
      return x >= threshold;
    case '<':
      return x < threshold;
    case '<=':
      return x <= threshold;
    case '==':
      return x === threshold;
    case '!=':
      return x !== threshold;
  }
}

/** Applies one reading; mutates `s` and returns the transition it caused, if any. */
export function applyReading(rule: AlertRule, s: RuleState, ts: number, value: ReadingValue, receivedAt: number): Transition | null {
  const cond = rule.condition;
  if (cond.op === 'absent') {
    s.lastSeenAt = Math.max(s.lastSeenAt ?? receivedAt, receivedAt);
    s.lastValue = value;
    s.lastTs = Math.max(s.lastTs ?? ts, ts);
    if (s.state === 'firing') {
      s.state = 'ok';
      return { state: 'resolved', value, at: receivedAt };
    }
    return null;
  }
  const x = numericValue(value);
  if (x === null) return null;
  if (s.lastTs !== null && ts < s.lastTs) return null;
  s.lastTs = ts;
  s.lastSeenAt = receivedAt;
  s.lastValue = value;
  const forMs = rule.forSeconds * 1000;
  if (compare(x, cond.op, cond.value)) {
    if (s.state === 'firing') return null;
    if (s.state === 'ok') {
      s.pendingSince = ts;
      s.state = 'pending';
    }
    if (ts - (s.pendingSince ?? ts) >= forMs) {
      s.state = 'firing';
      s.pendingSince = null;
      return { state: 'firing', value, at: ts };
    }
    return null;
  }
  s.pendingSince = null;
  if (s.state === 'firing') {
    s.state = 'ok';
    return { state: 'resolved', value, at: ts };
  }
  s.state = 'ok';
  return null;
}

/** The timer's view: absence deadlines and forSeconds that elapsed without a new reading. */
export function applyTimer(rule: AlertRule, s: RuleState, now: number): Transition | null {
  const cond = rule.condition;
  if (cond.op === 'absent') {
    if (s.state === 'firing' || s.lastSeenAt === null) return null;
    const deadline = s.lastSeenAt + cond.seconds * 1000;
    if (now < deadline) return null;
    s.state = 'firing';
    return { state: 'firing', value: null, at: deadline };
  }
  if (s.state !== 'pending' || s.pendingSince === null) return null;
  const due = s.pendingSince + rule.forSeconds * 1000;
  if (now < due) return null;
  s.state = 'firing';
  s.pendingSince = null;
  return { state: 'firing', value: s.lastValue, at: due };
}
