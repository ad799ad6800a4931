// `ipvsadm -Lnc`: the connection table, read from /proc/net/ip_vs_conn (per network namespace).
// The kernel writes IPv4 addresses as 8 hex digits, IPv6 ones uncompressed, ports in hex and
// the expiry in seconds; ipvsadm re-prints them as addresses, decimal ports and mm:ss.
import ipaddr from 'ipaddr.js';
import { ipv6Text } from './address.js';
import { left, twoDigits } from './printf.js';

export interface ConnectionEntry {
  /** As the kernel names it: "TCP", "UDP", "SCTP" (or whatever else it prints). */
  protocol: string;
  client: string;
  virtual: string;
  destination: string;
  /** State name, e.g. "ESTABLISHED", "NONE". */
  state: string;
  /** Seconds until the entry expires. */
  expiresSeconds: number;
  /** Persistence engine name and data (e.g. "sip" and a Call-ID) when the entry has them. */
  peName?: string;
  peData?: string;
}

/** A line that does not have the nine fields every connection line has. */
export class MalformedConnectionLineError extends Error {
  constructor(readonly line: string) {
    super(`malformed ip_vs_conn line: ${JSON.stringify(line)}`);
    this.name = 'MalformedConnectionLineError';
  }
}

type AddressKind = 'inet' | 'inet6';

/** inet_pton(AF_INET6), then inet_pton(AF_INET), then a hex number, in ipvsadm's order. */
function kindOf(token: string): AddressKind {
  return token.includes(':') && ipaddr.IPv6.isValid(token) ? 'inet6' : 'inet';
}

function addressOf(kind: AddressKind, token: string): string {
  if (kind === 'inet6') return ipaddr.IPv6.isValid(token) ? ipv6Text(ipaddr.IPv6.parse(token).toByteArray()) : '::';
  if (ipaddr.IPv4.isValidFourPartDecimal(token))
    return token
      .split('.')
      .map((p) => Number(p))
      .join('.');
  // strtoul(…, 16) stops at the first non-hex digit and the result is cut to 32 bits.
  const hex = /^\s*(?:0[xX])?([0-9a-fA-F]*)/.exec(token)?.[1] ?? '';
  const n = hex === '' ? 0 : Number(BigInt.asUintN(32, BigInt(`0x${hex}`)));
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

function endpoint(kind: AddressKind, address: string, portHex: string): string {
  const port = Number.parseInt(portHex, 16) & 0xffff;
  return kind === 'inet' ? `${address}:${port}` : `[${address}]:${port}`;
}

/** One line of /proc/net/ip_vs_conn (not the header). */
export function parseConnectionLine(line: string): ConnectionEntry {
  const f = line.trim().split(/\s+/);
  if (f.length < 9) throw new MalformedConnectionLineError(line);
  const [protocol, caddr, cport, vaddr, vport, daddr, dport, state, expires] = f;
  // The virtual address is read in the client's family; the destination has its own.
  const af = kindOf(caddr);
  const daf = kindOf(daddr);
  const entry: ConnectionEntry = {
    protocol,
    client: endpoint(af, addressOf(af, caddr), cport),
    virtual: endpoint(af, addressOf(af, vaddr), vport),
    destination: endpoint(daf, addressOf(daf, daddr), dport),
    state,
    expiresSeconds: Number.parseInt(expires, 10) >>> 0,
  };
  if (f.length >= 11) {
    entry.peName = f[9];
    entry.peData = f[10];
  }
  return entry;
}

/** Every connection of the file's text; the first line is the kernel's header. */
export function parseConnections(procText: string): ConnectionEntry[] {
  return procText
    .split('\n')
    .slice(1)
    .filter((l) => l.trim() !== '')
    .map(parseConnectionLine);
}

function expiry(seconds: number): string {
  return `${twoDigits(Math.floor(seconds / 60))}:${twoDigits(seconds % 60)}`;
}

/** `ipvsadm -Lnc` (and `-Lnc --persistent-conn`, which adds the persistence engine columns). */
export function formatConnections(entries: readonly ConnectionEntry[], persistent: boolean): string {
  const lines = ['IPVS connection entries'];
  lines.push(
    persistent
      ? `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} ${left('destination', 18)} ${left('pe name', 16)} pe_data`
      : `pro expire ${left('state', 11)} ${left('source', 18)} ${left('virtual', 18)} destination`,
  );
  for (const c of entries) {
    const head = `${left(c.protocol, 3)} ${left(expiry(c.expiresSeconds), 6)} ${left(c.state, 11)} ${left(c.client, 18)} ${left(c.virtual, 18)}`;
    lines.push(
      persistent && c.peName !== undefined && c.peData !== undefined
        ? `${head} ${left(c.destination, 16)} ${left(c.peName, 18)} ${c.peData}`
        : `${head} ${c.destination}`,
    );
  }
  return lines.join('\n') + '\n';
}
