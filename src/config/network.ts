// Address syntax checks for settings: CIDRs, IP addresses, host:port bind addresses and port ranges.
import ipaddr from 'ipaddr.js';

/** A plain IPv4 dotted quad or an IPv6 address (ipaddr.js alone also takes '0x7f.1' and the like). */
export function isIpAddress(text: string): boolean {
  return ipaddr.IPv4.isValidFourPartDecimal(text) || ipaddr.IPv6.isValid(text);
}

export function isCidr(text: string): boolean {
  return ipaddr.IPv4.isValidCIDRFourPartDecimal(text) || ipaddr.IPv6.isValidCIDR(text);
}

export interface BindAddress {
  host: string;
  port: number;
}

/**
 * 'host:port' with an IP host; IPv6 hosts in brackets ('[::]:10256'), IPv4 hosts with or without. With defaultPort, a bare
 * IP is accepted as well (kube-proxy's healthzBindAddress may be '0.0.0.0').
 */
export function parseBindAddress(text: string, defaultPort?: number): BindAddress | undefined {
  const trimmed = text.trim();
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(trimmed);
  if (bracketed) {
    const host = bracketed[1];
    // Go's net.SplitHostPort (kube-proxy's parser) takes an IPv4 host in brackets too, which lets a
    // manifest write [$(HOST_IP)]:port whatever the node's address family.
    if (!ipaddr.IPv6.isValid(host) && !ipaddr.IPv4.isValidFourPartDecimal(host)) return undefined;
    return withPort(host, bracketed[2], defaultPort);
  }
  if (defaultPort !== undefined && isIpAddress(trimmed)) return { host: trimmed, port: defaultPort };
  const colon = trimmed.lastIndexOf(':');
  if (colon < 0) return undefined;
  const host = trimmed.slice(0, colon);
  if (!ipaddr.IPv4.isValidFourPartDecimal(host)) return undefined;
  return withPort(host, trimmed.slice(colon + 1), defaultPort);
}

function withPort(host: string, portText: string | undefined, defaultPort?: number): BindAddress | undefined {
  if (portText === undefined) return defaultPort === undefined ? undefined : { host, port: defaultPort };
  if (!/^\d{1,5}$/.test(portText)) return undefined;
  const port = Number(portText);
  return port <= 65535 ? { host, port } : undefined;
}

export function formatBindAddress(address: BindAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** 'A-B' with 1 <= A <= B <= 65535. */
export function parsePortRange(text: string): { min: number; max: number } | undefined {
  const match = /^\s*(\d{1,5})\s*-\s*(\d{1,5})\s*$/.exec(text);
  if (!match) return undefined;
  const min = Number(match[1]);
  const max = Number(match[2]);
  if (min < 1 || max > 65535 || min > max) return undefined;
  return { min, max };
}
