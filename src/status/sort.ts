// ipvsadm's listing order. libipvs sorts with glibc qsort(), which on Debian 12 (glibc 2.36)
// is a top-down merge sort, and with comparators that subtract unsigned 32-bit values and read
// the difference as a signed int. Two addresses more than 2^31 apart therefore compare the
// "wrong" way (192.168.50.10 sorts before 10.96.0.1), the comparison is not transitive, and the
// final order depends on the algorithm and on the order the kernel dumped the entries in. Both
// are reproduced here: the same merge sort over the dump order, the same wrapping differences.
import { addressWords } from './address.js';
import type { Family, Protocol, RealServer, VirtualServer } from '../vocabulary/ipvs.js';

type Compare<T> = (a: T, b: T) => number;

/** glibc msort_with_tmp(): split at n/2, sort both halves, merge taking the left on ties. */
export function glibcMergeSort<T>(items: readonly T[], compare: Compare<T>): T[] {
  if (items.length <= 1) return [...items];
  const half = Math.floor(items.length / 2);
  const a = glibcMergeSort(items.slice(0, half), compare);
  const b = glibcMergeSort(items.slice(half), compare);
  const out: T[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) out.push(compare(a[i], b[j]) <= 0 ? a[i++] : b[j++]);
  while (i < a.length) out.push(a[i++]);
  while (j < b.length) out.push(b[j++]);
  return out;
}

/** `int r = (u32)a - (u32)b`: the difference wrapped into a signed 32-bit int. */
export function wrappedDifference(a: number, b: number): number {
  return (a - b) | 0;
}

const AF_NUMBER: Record<Family, number> = { inet: 2, inet6: 10 };
const PROTOCOL_NUMBER: Record<Protocol, number> = { TCP: 6, UDP: 17, SCTP: 132 };

function compareAddresses(family: Family, a: readonly [number, number, number, number], b: readonly [number, number, number, number]): number {
  if (family === 'inet') return wrappedDifference(a[0], b[0]);
  let r = 0;
  for (let i = 0; r === 0 && i < 4; i++) r = wrappedDifference(a[i], b[i]);
  return r;
}

interface ServiceSortKey {
  fwmark: number;
  af: number;
  protocol: number;
  family: Family;
  words: [number, number, number, number];
  port: number;
}

function serviceSortKey(s: VirtualServer): ServiceSortKey {
  // libipvs zeroes each entry, so an fwmark service has protocol, address and port 0 and a
  // protocol/address/port service has fwmark 0.
  if (s.fwmark !== undefined) {
    return { fwmark: s.fwmark >>> 0, af: AF_NUMBER[s.family], protocol: 0, family: s.family, words: [0, 0, 0, 0], port: 0 };
  }
  return {
    fwmark: 0,
    af: AF_NUMBER[s.family],
    protocol: PROTOCOL_NUMBER[s.protocol],
    family: s.family,
    words: addressWords(s.family, s.address),
    port: s.port,
  };
}

/** libipvs ipvs_cmp_services(). */
function compareServiceKeys(a: ServiceSortKey, b: ServiceSortKey): number {
  let r = wrappedDifference(a.fwmark, b.fwmark);
  if (r !== 0) return r;
  r = a.af - b.af;
  if (r !== 0) return r;
  r = a.protocol - b.protocol;
  if (r !== 0) return r;
  r = compareAddresses(a.family, a.words, b.words);
  if (r !== 0) return r;
  return a.port - b.port;
}

/** Entries in ipvsadm's service order; `input` must be in the kernel's dump order. */
export function sortServicesLikeIpvsadm<T>(input: readonly T[], serviceOf: (item: T) => VirtualServer): T[] {
  const keyed = input.map((item) => ({ item, key: serviceSortKey(serviceOf(item)) }));
  return glibcMergeSort(keyed, (a, b) => compareServiceKeys(a.key, b.key)).map((k) => k.item);
}

/** Real servers in ipvsadm's order (ipvs_cmp_dests(): the first operand's family decides). */
export function sortRealsLikeIpvsadm<T extends Pick<RealServer, 'family' | 'address' | 'port'>>(input: readonly T[]): T[] {
  const keyed = input.map((item) => ({ item, words: addressWords(item.family, item.address) }));
  return glibcMergeSort(keyed, (a, b) => {
    const r = compareAddresses(a.item.family, a.words, b.words);
    return r !== 0 ? r : a.item.port - b.item.port;
  }).map((k) => k.item);
}
