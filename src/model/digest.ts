// A fixed-size stand-in for a long text that is only ever compared for equality. The change
// trackers and the manifest source keep, per object, the text an update is compared against: at
// 10,000 services with their EndpointSlices those texts held tens of megabytes for the agent's
// whole life, where their digests hold under two.
import { createHash } from 'node:crypto';

/** SHA-256 of the text, base64: equal texts give equal digests; different ones, in practice never. */
export function textDigest(text: string): string {
  return createHash('sha256').update(text).digest('base64');
}
