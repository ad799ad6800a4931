// Durations in Go's time.ParseDuration syntax, which both our flags ('30s', '1m', '500ms') and
// kube-proxy's configuration file ('1m0s', '0s') use: a sequence of decimal numbers, each with a
// unit (ns, us, µs, ms, s, m, h), or a bare '0'. Negative durations have no use here and are refused.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A whole duration: also the chart's check (Go's RE2 reads it the same way). */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h)(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))*$/u;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gu;

export const DURATION_ALLOWED = 'a duration such as 500ms, 30s, 1m, 1m30s or 0s';

/** Milliseconds (possibly fractional below 1 ms), or undefined when the text is not a duration. */
export function parseDurationMs(text: string): number | undefined {
  const trimmed = text.trim();
  if (trimmed === '0') return 0;
  if (!DURATION_PATTERN.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(PART)) {
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  return Number.isFinite(total) ? total : undefined;
}

/** The shortest exact rendering in our own syntax: 30000 -> '30s', 90000 -> '1m30s', 0 -> '0s'. */
export function formatDurationMs(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (rest >= size) {
      const count = Math.floor(rest / size);
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  if (rest > 0) out += `${rest}ms`;
  return out;
}
