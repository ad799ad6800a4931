// ipvsadm's print_largenum(): how a 64-bit counter is printed in the --stats and --rate views.
// Below 100 million the value is printed as is in 9 columns; from there on it is divided
// (truncating, never rounding) and suffixed K, M, G or T in 8+1 columns. Note the uneven
// thresholds: K covers [1e8, 1e9), M [1e9, 1e11), G [1e11, 1e14), T everything above.
// With --exact the value is printed whole, in 9 columns or one column wider than its digits.
import { right } from './printf.js';

const HUNDRED_MILLION = 100_000_000n;
const BILLION = 1_000_000_000n;
const HUNDRED_BILLION = 100_000_000_000n;
const HUNDRED_TRILLION = 100_000_000_000_000n;

export function formatLargeNumber(value: bigint, exact: boolean): string {
  if (exact) {
    const digits = value.toString();
    return right(digits, digits.length <= 8 ? 9 : digits.length + 1);
  }
  if (value < HUNDRED_MILLION) return right(value, 9);
  if (value < BILLION) return `${right(value / 1_000n, 8)}K`;
  if (value < HUNDRED_BILLION) return `${right(value / 1_000_000n, 8)}M`;
  if (value < HUNDRED_TRILLION) return `${right(value / BILLION, 8)}G`;
  return `${right(value / 1_000_000_000_000n, 8)}T`;
}
