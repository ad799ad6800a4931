// What every log line and error report says of a failure: its message when it is an Error, else
// the thrown value as text (a library may throw a string).
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
