// IPv6 text as glibc's inet_ntop() writes it: the kernel's dumps, ipvsadm's listing and the
// model's keys all use this spelling, so it is written once.

/**
 * glibc inet_ntop: the longest run (first on ties) of at least two zero groups becomes "::";
 * an address whose first 96 bits are zero (but not :: or ::1-style) or an IPv4-mapped one ends
 * in dotted-quad form.
 */
export function formatIpv6(parts: readonly number[]): string {
  let bestBase = -1;
  let bestLen = 0;
  for (let i = 0; i < 8;) {
    if (parts[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === 0) j++;
    if (j - i > bestLen) {
      bestBase = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) bestBase = -1;
  const embedsV4 = bestBase === 0 && (bestLen === 6 || (bestLen === 5 && parts[5] === 0xffff));
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase >= 0 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) out += ':';
      continue;
    }
    if (i !== 0) out += ':';
    if (i === 6 && embedsV4) {
      out += `${parts[6] >> 8}.${parts[6] & 0xff}.${parts[7] >> 8}.${parts[7] & 0xff}`;
      break;
    }
    out += parts[i].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}
