// The periodic check reads the host's addresses once and serves two needs with that read: the
// proxier compares kube-ipvs0 with what it bound, and the agent hands every address to the model,
// which serves NodePorts on them. An address added to a node's interface by hand gets its NodePort
// virtual server at the next check, without a second address dump per check (at 10,000 VIPs on
// kube-ipvs0 each dump is seconds of kernel and decoding time under emulation).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { agentWorld, sleep, sliceFor, svc, until } from './agent-world.js';

test('a node address added by hand gets its NodePort at the next check; one address dump per check', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'check-addresses-'));
  const nodePort = svc(0, { type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] });
  writeFileSync(join(dir, 'a.yaml'), [stringify(nodePort), stringify(sliceFor(0))].join('---\n'));
  const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }), { settings: { syncPeriodMs: 150 } });
  const checks = (): number => world.logger.matching('debug', /^check: /).length;
  const keys = async (): Promise<string[]> => (await world.ipvs.dump()).map((e) => serviceKey(e.service)).sort();
  try {
    await world.agent.run();
    await until('two clean checks', () => checks() >= 2);
    assert.deepEqual(await keys(), ['TCP/10.96.0.1/80', 'TCP/192.168.1.10/30080']);

    const dumps0 = world.links.dumps;
    const checks0 = checks();
    await sleep(1_000);
    const ran = checks() - checks0;
    const dumped = world.links.dumps - dumps0;
    assert.ok(ran >= 3, `checks ran every period while idle (${ran})`);
    // A check may be in flight at either edge of the window.
    assert.ok(Math.abs(dumped - ran) <= 1, `one address dump per check: ${dumped} dumps for ${ran} checks`);

    const eth0 = (await world.links.linkIndex('eth0'))!;
    await world.links.applyAddresses([{ op: 'add', ifindex: eth0, family: 'inet', address: '192.168.1.20', prefixLen: 24 }]);
    await until('the NodePort on the new address', async () => (await keys()).includes('TCP/192.168.1.20/30080'));
    assert.deepEqual(await keys(), ['TCP/10.96.0.1/80', 'TCP/192.168.1.10/30080', 'TCP/192.168.1.20/30080']);
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
