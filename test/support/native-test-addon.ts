// The tests' build of the addon (binding.gyp target ipvs_native_test, IPVS_PROXY_TEST_BUILD): the
// product's addon plus fault injection (IPVS_PROXY_FAULTS) and the encoding hooks below, none of
// which the product's build contains. A process that must run the agent on this build (a fault
// test) sets IPVS_PROXY_ADDON to TEST_ADDON_PATH.
import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AddonMissingError, type NativeAddon } from '../../src/native/binding.js';

export interface NativeTestHooks {
  /** Op records -> the netlink requests they become (family id 0x1d). */
  encodeOps(records: Buffer): Buffer;
  /** Netlink requests -> op records. */
  decodeOps(wire: Buffer): Buffer;
  /** Captured service and per-service real-server replies -> dump records. */
  decodeDump(services: Buffer, reals: readonly Buffer[]): Buffer;
  /** Link op records -> the address (RTM_NEWADDR/DELADDR) or local-route (RTM_NEWROUTE/DELROUTE) requests they become. */
  encodeLinkOps(records: Buffer, form: 'address' | 'route'): Buffer;
  /** Address messages (and optionally link messages naming their links) -> address dump records. */
  decodeAddressDump(addresses: Buffer, links?: Buffer): Buffer;
  /** Route messages -> the local-route dump records of link `ifindex`. */
  decodeRouteDump(routes: Buffer, ifindex: number): Buffer;
  /** One result per op (errno 0: success) -> the failure records an apply resolves to. */
  encodeFailures(results: readonly { errno: number; message: string }[]): Buffer;
}

export const TEST_ADDON_PATH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'build', 'Release', 'ipvs_native_test.node');

let loaded: (NativeAddon & NativeTestHooks) | undefined;

export function loadTestAddon(): NativeAddon & NativeTestHooks {
  if (loaded) return loaded;
  if (!fs.existsSync(TEST_ADDON_PATH)) throw new AddonMissingError(TEST_ADDON_PATH);
  loaded = createRequire(import.meta.url)(TEST_ADDON_PATH) as NativeAddon & NativeTestHooks;
  return loaded;
}
