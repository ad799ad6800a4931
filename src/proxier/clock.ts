// The real clock (the tests' fake one is test/support/fake-clock.ts).
import { performance } from 'node:perf_hooks';
import type { Clock } from './types.js';

export const systemClock: Clock = {
  now: () => performance.now(),
  wall: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};
