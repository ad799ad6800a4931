// The few printf conversions ipvsadm's listings use, so each view reads like its C format
// string: %-Ns pads on the right, %Ns and %Nu on the left, and none of them ever truncates.

/** `%-Ns`: left-justified in at least `width` characters. */
export function left(text: string | number | bigint, width: number): string {
  return String(text).padEnd(width, ' ');
}

/** `%Ns` / `%Nu`: right-justified in at least `width` characters. */
export function right(text: string | number | bigint, width: number): string {
  return String(text).padStart(width, ' ');
}

/** `%02d`. */
export function twoDigits(n: number): string {
  return String(n).padStart(2, '0');
}
