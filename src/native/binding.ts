// The raw addon (build/Release/ipvs_native.node) behind a typed interface. Loaded on first
// use, never at import time. Everything above this file talks to src/ipvs/client.ts and
// src/netif/client.ts instead.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

// Operations go in and dumps and failures come out as binary records (src/native/records.ts).

export interface NativeIpvsHandle {
  /** Takes op records; resolves to failure records. */
  apply(records: Buffer): Promise<Buffer>;
  /** Returns dump records. */
  dump(): Promise<Buffer>;
  /** Takes a service key record; returns dump records of that one service and its real servers. */
  dumpReals(key: Buffer): Promise<Buffer>;
  info(): Promise<{ version: number; connTableSize: number }>;
  getTimeouts(): Promise<{ tcp: number; tcpFin: number; udp: number }>;
  setTimeouts(tcp: number, tcpFin: number, udp: number): Promise<void>;
  flush(): Promise<void>;
  zero(): Promise<void>;
  close(): Promise<void>;
}

export interface NativeLinkHandle {
  ensureDummyLink(name: string): Promise<{ ifindex: number; created: boolean; up: boolean }>;
  bringUpQuiet(name: string): Promise<boolean>;
  /** Returns local-route dump records. */
  listLocalRoutes(ifindex: number): Promise<Buffer>;
  /** Takes link op records; resolves to failure records. */
  applyRoutes(records: Buffer): Promise<Buffer>;
  linkIndex(name: string): Promise<number | undefined>;
  deleteLink(name: string, onlyKind?: string): Promise<boolean>;
  /** Returns address dump records. */
  listAddresses(ifindex?: number): Promise<Buffer>;
  /** Takes link op records; resolves to failure records. */
  applyAddresses(records: Buffer): Promise<Buffer>;
  close(): Promise<void>;
}

export interface NativeSetEntryGroup {
  op: 'add' | 'delete';
  set: string;
  family: 'inet' | 'inet6';
  type: string;
  entries: readonly string[];
}

export interface NativeSetHandle {
  /** Failures as [group, entry, errno, code, message]; requests = netlink requests sent. */
  applyEntries(groups: readonly NativeSetEntryGroup[]): Promise<{ requests: number; failures: [number, number, number, string, string][] }>;
  /** Every set; entries only for sets whose name starts with one of the prefixes. */
  listSets(prefixes: readonly string[]): Promise<{ name: string; type: string; family: 'inet' | 'inet6'; entries: string[] }[]>;
  close(): Promise<void>;
}

export interface NativeAddon {
  openIpvs(netns: string | undefined, timeoutMs: number, dumpSockets: number, dumpNice: number): Promise<NativeIpvsHandle>;
  openLinks(netns: string | undefined, timeoutMs: number): Promise<NativeLinkHandle>;
  openSets(netns: string | undefined, timeoutMs: number): Promise<NativeSetHandle>;
  /** malloc_trim(0): the C heap's free pages back to the system; whether any were released. */
  releaseFreeMemory(): boolean;
}

/**
 * Where the built addon is looked for: the repository's build/Release, or the file named by
 * IPVS_PROXY_ADDON (the tests point it at their build, ipvs_native_test.node, which adds fault
 * injection and encoding hooks that the product's build does not contain).
 */
export function addonPath(): string {
  const chosen = process.env.IPVS_PROXY_ADDON;
  if (chosen) return path.resolve(chosen);
  const here = path.dirname(fileURLToPath(import.meta.url));
  return path.resolve(here, '..', '..', 'build', 'Release', 'ipvs_native.node');
}

export class AddonMissingError extends Error {
  constructor(readonly path: string) {
    super(`native addon not built: ${path} is missing (run npm ci or npx node-gyp rebuild)`);
    this.name = 'AddonMissingError';
  }
}

let loaded: NativeAddon | undefined;

export function loadNative(): NativeAddon {
  if (loaded) return loaded;
  const file = addonPath();
  if (!fs.existsSync(file)) throw new AddonMissingError(file);
  const require = createRequire(import.meta.url);
  loaded = require(file) as NativeAddon;
  return loaded;
}

/**
 * After a large kernel read or write (a full sync, a whole-table dump): what the addon allocated
 * for it is free, but the C library keeps it; this returns it, so the agent's resident size
 * falls back after its first sync instead of staying at the peak. False when the addon is not
 * loaded (nothing native was allocated) or nothing was released.
 */
export function releaseFreeNativeMemory(): boolean {
  return loaded?.releaseFreeMemory() ?? false;
}
