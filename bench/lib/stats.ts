// Small statistics and output helpers shared by the benchmark scripts.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

export const median = (xs: readonly number[]): number => percentile(xs, 50);

export function elapsedMs(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

/** Write one JSON result file (the report step merges them). */
export function writeJson(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}
