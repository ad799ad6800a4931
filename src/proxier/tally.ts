// What one pass of the proxier counts as it goes (kernel writes, errors, whether the kernel's
// state is in doubt, foreign objects met, phase times), and the helpers that add to it.
import { isStateInDoubt } from '../native/errors.js';
import { messageOf } from '../util/errors.js';
import { codeOf } from './apply.js';
import type { ForeignObject, ObjectError } from './types.js';

export interface PassTally {
  writes: number;
  errors: ObjectError[];
  needsVerification: boolean;
  foreign: ForeignObject[];
  phasesMs?: Record<string, number>;
}

export function tally(): PassTally {
  return { writes: 0, errors: [], needsVerification: false, foreign: [] };
}

/** Records how long each phase of a pass took: `lap('diff')` closes the phase begun at the last lap. */
export function phaseTimer(clock: { now(): number }, into: Record<string, number>): (phase: string) => void {
  let last = clock.now();
  return (phase) => {
    const now = clock.now();
    into[phase] = (into[phase] ?? 0) + (now - last);
    last = now;
  };
}

/** Runs `fn`; a failure becomes an error of the pass on `object`, and doubt when the kernel's state is unknown. */
export async function guard(t: PassTally, object: string, operation: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    t.errors.push({ object, operation, code: codeOf(err), message: messageOf(err) });
    if (isStateInDoubt(err)) t.needsVerification = true;
  }
}

/** Adds a stage's outcome (writes, errors, doubt) to the pass. */
export function absorb(t: PassTally, o: { writes: number; errors: ObjectError[]; needsVerification: boolean }): void {
  t.writes += o.writes;
  t.errors.push(...o.errors);
  t.needsVerification ||= o.needsVerification;
}
