// Addresses as ipvsadm prints and sorts them. ipvsadm formats with glibc's inet_ntop(), whose
// IPv6 text differs from RFC 5952 in places (a lone zero group is not compressed, ::ffff:a.b.c.d
// and ::a.b.c.d keep the dotted tail), so the text is rebuilt from the bytes here rather than
// trusting whatever spelling the caller holds.
import ipaddr from 'ipaddr.js';
import type { Family } from '../vocabulary/ipvs.js';
import { formatIpv6 } from '../util/ipv6-text.js';

/** An address string that is not an address of the family it is filed under. */
export class InvalidAddressError extends Error {
  constructor(
    readonly family: Family,
    readonly address: string,
  ) {
    super(`not an ${family} address: ${address}`);
    this.name = 'InvalidAddressError';
  }
}

function ipv4Bytes(text: string): number[] | undefined {
  if (!ipaddr.IPv4.isValidFourPartDecimal(text)) return undefined;
  return ipaddr.IPv4.parse(text).toByteArray();
}

/**
 * inet_pton(AF_INET6). Parsed by hand because ipaddr.js reads "::10.1.2.3" (an IPv4-compatible
 * address) as "::ffff:10.1.2.3".
 */
export function parseIpv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): string[] => (part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  const words: number[] = [];
  const all = [...head, ...(halves.length === 2 ? ['::'] : []), ...tail];
  let ipv4: number[] | undefined;
  for (let i = 0; i < all.length; i++) {
    const g = all[i];
    if (g === '::') continue;
    if (i === all.length - 1 && g.includes('.')) {
      ipv4 = ipv4Bytes(g);
      if (ipv4 === undefined) return undefined;
      continue;
    }
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
  }
  const explicit = head.length + tail.length + (ipv4 !== undefined ? 1 : 0);
  if (halves.length === 1 ? explicit !== 8 : explicit > 7) return undefined;
  const toWords = (list: string[]): number[] => list.filter((g) => !g.includes('.')).map((g) => Number.parseInt(g, 16));
  words.push(...toWords(head));
  if (halves.length === 2) for (let i = explicit; i < 8; i++) words.push(0);
  words.push(...toWords(tail));
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  return ipv4 !== undefined ? [...bytes, ...ipv4] : bytes;
}

export function addressBytes(family: Family, address: string): number[] {
  const bytes = family === 'inet' ? ipv4Bytes(address) : parseIpv6(address);
  if (bytes === undefined) throw new InvalidAddressError(family, address);
  return bytes;
}

/** glibc inet_ntop(AF_INET6) text of 16 bytes. */
export function ipv6Text(bytes: readonly number[]): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((bytes[2 * i] << 8) | bytes[2 * i + 1]);
  return formatIpv6(words);
}

/** The address as ipvsadm -n prints it (without brackets). */
export function addressText(family: Family, address: string): string {
  const bytes = addressBytes(family, address);
  return family === 'inet' ? bytes.join('.') : ipv6Text(bytes);
}

/** "10.0.0.1:80" or "[fd00::1]:80", as ipvsadm's addrport_to_anyname() with -n. */
export function addressPortText(family: Family, address: string, port: number): string {
  const text = addressText(family, address);
  return family === 'inet' ? `${text}:${port}` : `[${text}]:${port}`;
}

/**
 * The address as four host-order 32-bit words, the way libipvs reads its nf_inet_addr union
 * when sorting: an IPv4 address fills the first word and leaves the other three zero.
 */
export function addressWords(family: Family, address: string): [number, number, number, number] {
  const b = addressBytes(family, address);
  const word = (i: number): number => ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
  return family === 'inet' ? [word(0), 0, 0, 0] : [word(0), word(4), word(8), word(12)];
}

/** A prefix length as the dotted-quad netmask inet_ntoa() prints, e.g. 24 -> 255.255.255.0. */
export function prefixToDottedMask(prefix: number): string {
  const bits = prefix <= 0 ? 0 : prefix >= 32 ? 0xffffffff : (0xffffffff << (32 - prefix)) >>> 0;
  return [bits >>> 24, (bits >>> 16) & 0xff, (bits >>> 8) & 0xff, bits & 0xff].join('.');
}
