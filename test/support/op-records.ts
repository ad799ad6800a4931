// Op records (the test addon's decodeOps output) decoded back into operations, for the round-trip
// tests of the wire format. The product only encodes op records, so this decoder lives here.
import type { IpvsOp, VirtualServer } from '../../src/vocabulary/ipvs.js';
import { familyOf, FORWARD_OF, readKey, Reader, readTunnel } from '../../src/native/records.js';

/** Operations by their record number (native/records.h); 0 is no operation. */
const OP_OF_KIND: readonly (IpvsOp['op'] | undefined)[] = [undefined, 'addService', 'updateService', 'deleteService', 'addReal', 'updateReal', 'deleteReal'];

/** Decodes op records back into operations; throws RangeError on a malformed record. */
export function decodeOps(buf: Buffer): IpvsOp[] {
  const r = new Reader(buf);
  const count = r.u32();
  const ops: IpvsOp[] = [];
  for (let i = 0; i < count; i++) {
    const op = OP_OF_KIND[r.u8()];
    if (op === undefined) throw new RangeError('unknown op kind in native record');
    const key = readKey(r);
    if (op === 'addService' || op === 'updateService') {
      const scheduler = r.str();
      const flags = r.u32();
      const timeout = r.u32();
      const netmask = r.u32();
      const pe = r.str();
      ops.push({
        op,
        service: (pe ? { ...key, scheduler, flags, timeout, netmask, peName: pe } : { ...key, scheduler, flags, timeout, netmask }) as VirtualServer,
      });
      continue;
    }
    if (op === 'deleteService') {
      ops.push({ op, service: key });
      continue;
    }
    const family = familyOf(r.u8());
    const address = r.str();
    const port = r.u16();
    if (op === 'deleteReal') {
      ops.push({ op, service: key, real: { family, address, port } });
      continue;
    }
    const forward = FORWARD_OF[r.u8()];
    if (forward === undefined) throw new RangeError('unknown forwarding method in native record');
    const weight = r.u32();
    const upperThreshold = r.u32();
    const lowerThreshold = r.u32();
    const tunnel = readTunnel(r);
    ops.push({ op, service: key, real: { family, address, port, forward, weight, upperThreshold, lowerThreshold, ...tunnel } });
  }
  if (!r.done) throw new RangeError('trailing bytes after the op records');
  return ops;
}
