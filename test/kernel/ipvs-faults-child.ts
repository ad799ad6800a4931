// Child process for ipvs-faults.test.ts: IPVS_PROXY_FAULTS is read once per process, so each
// scenario runs in its own. Prints one JSON line per step: {step, ok} or {step, error, code}.
import { openIpvs } from '../../src/ipvs/client.js';
import type { VirtualServer } from '../../src/vocabulary/ipvs.js';

const [netns] = process.argv.slice(2);
const svc: VirtualServer = { family: 'inet', protocol: 'TCP', address: '10.96.0.10', port: 80, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 };

async function step(name: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    const value = await fn();
    console.log(JSON.stringify({ step: name, ok: true, value }));
  } catch (e) {
    const err = e as Error & { code?: string };
    console.log(JSON.stringify({ step: name, ok: false, error: err.name, code: err.code }));
  }
}

const ipvs = await openIpvs({ netns, timeoutMs: 700 });
await step('apply', async () => (await ipvs.apply([{ op: 'addService', service: svc }])).map((r) => r.ok));
await step('dump1', async () => (await ipvs.dump()).length);
await step('dump2', async () => (await ipvs.dump()).length);
ipvs.close();
