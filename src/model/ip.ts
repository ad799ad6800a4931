// Strict IP and CIDR parsing with canonical strings. Kernel dumps are formatted with inet_ntop,
// so our keys must use the very same spelling or a restart would see phantom differences.
import ipaddr from 'ipaddr.js';
import type { Family } from '../vocabulary/ipvs.js';
import { formatIpv6 } from '../util/ipv6-text.js';

export { formatIpv6 };

export interface ParsedIp {
  family: Family;
  /** Canonical text: dotted quad, or IPv6 as glibc's inet_ntop writes it. */
  address: string;
  readonly bytes: number[];
}

/**
 * A parsed address whose bytes are worked out when asked: only CIDR and loopback checks of node
 * addresses read them, while every endpoint address is parsed and memoised here (at 10,000
 * services x 10 endpoints, 100,000 byte arrays were some 12 MB of heap that nothing read).
 */
class Parsed implements ParsedIp {
  constructor(
    readonly family: Family,
    readonly address: string,
  ) {}

  get bytes(): number[] {
    return this.family === 'inet' ? this.address.split('.').map(Number) : ipaddr.IPv6.parse(this.address).toByteArray();
  }
}

export interface ParsedCidr {
  family: Family;
  /** Canonical "network/prefix" with host bits cleared. */
  cidr: string;
  bytes: number[];
  prefixLen: number;
}

/**
 * Parses one IP address strictly: IPv4 only as four decimal parts without leading zeros (what
 * the API server accepts today), IPv6 without a zone. IPv4-mapped IPv6 is refused because its
 * family is ambiguous (Go's ParseIP treats it as IPv4, the kernel as IPv6). Undefined when invalid.
 */
export function parseIp(text: unknown): ParsedIp | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) return undefined;
  const hit = cache.get(text);
  if (hit !== undefined) return hit ?? undefined;
  const parsed = parseUncached(text);
  // Endpoint addresses recur on every recomputation of their service: memoise, with a bound.
  if (cache.size >= CACHE_LIMIT) cache.clear();
  cache.set(text, parsed ?? null);
  return parsed;
}

const CACHE_LIMIT = 1 << 17;
/** Parsed results are shared: callers never mutate a ParsedIp. */
const cache = new Map<string, ParsedIp | null>();
const FOUR_PART_DECIMAL = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

function parseUncached(text: string): ParsedIp | undefined {
  if (FOUR_PART_DECIMAL.test(text)) {
    for (const part of text.split('.')) if (Number(part) > 255) return undefined;
    return new Parsed('inet', text);
  }
  if (!text.includes(':') || text.includes('%') || !ipaddr.IPv6.isValid(text)) return undefined;
  const v6 = ipaddr.IPv6.parse(text);
  if (v6.isIPv4MappedAddress()) return undefined;
  return new Parsed('inet6', formatIpv6(v6.parts));
}

/** Parses "a.b.c.d/n" or "x::/n"; host bits are cleared. Undefined when invalid. */
export function parseCidr(text: unknown): ParsedCidr | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const slash = text.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIp(text.slice(0, slash));
  const lenText = text.slice(slash + 1);
  if (!ip || !/^(0|[1-9]\d{0,2})$/.test(lenText)) return undefined;
  const prefixLen = Number(lenText);
  const ipBytes = ip.bytes;
  if (prefixLen > ipBytes.length * 8) return undefined;
  const bytes = ipBytes.map((b, i) => b & maskByte(prefixLen, i));
  const address = formatBytes(ip.family, bytes);
  return { family: ip.family, cidr: `${address}/${prefixLen}`, bytes, prefixLen };
}

export function cidrContains(cidr: ParsedCidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const bytes = ip.bytes;
  for (let i = 0; i < cidr.bytes.length; i++) {
    if ((bytes[i] & maskByte(cidr.prefixLen, i)) !== cidr.bytes[i]) return false;
  }
  return true;
}

export function isLoopback(ip: ParsedIp): boolean {
  if (ip.family === 'inet') return ip.address.startsWith('127.');
  return ip.address === '::1';
}

/** fe80::/10. IPv4 link-local (169.254/16) is not meant: kube-proxy keeps it as a node address. */
export function isLinkLocal6(ip: ParsedIp): boolean {
  return ip.family === 'inet6' && ip.bytes[0] === 0xfe && (ip.bytes[1] & 0xc0) === 0x80;
}

function maskByte(prefixLen: number, index: number): number {
  const bits = Math.max(0, Math.min(8, prefixLen - index * 8));
  return (0xff << (8 - bits)) & 0xff;
}

function formatBytes(family: Family, bytes: number[]): string {
  if (family === 'inet') return bytes.join('.');
  const parts: number[] = [];
  for (let i = 0; i < 16; i += 2) parts.push((bytes[i] << 8) | bytes[i + 1]);
  return formatIpv6(parts);
}
