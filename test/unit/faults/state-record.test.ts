// The state record (what the agent owns) deleted or corrupted between two runs of the agent over
// the same kernel (fake) that also holds another tool's virtual servers (keepalived-like, one of
// them on a node address): the second run rebuilds the record, adopts and cleans up only its own
// services, and never touches the foreign ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { FileStateStore } from '../../../src/proxier/state-record.js';
import { serviceKey } from '../../../src/vocabulary/ipvs-keys.js';
import { agentWorld, clusterIp, nodeLinks, sliceFor, svc, until, WatchedIpvs, type AgentWorld } from './agent-world.js';

const FOREIGN = [
  { family: 'inet', protocol: 'TCP', address: '192.168.1.100', port: 443, scheduler: 'wlc', flags: 0, timeout: 0, netmask: 32 },
  { family: 'inet', protocol: 'TCP', address: '192.168.1.10', port: 8443, scheduler: 'rr', flags: 0, timeout: 0, netmask: 32 },
] as const;

function manifests(n: number): string {
  const docs: string[] = [];
  for (let i = 0; i < n; i++) docs.push(stringify(svc(i)), stringify(sliceFor(i)));
  return docs.join('---\n');
}

async function foreignText(ipvs: WatchedIpvs): Promise<string> {
  const foreign = (await ipvs.dump()).filter((e) => !(e.service.address ?? '').startsWith('10.96.'));
  return foreign
    .map((e) => `${serviceKey(e.service)} ${e.service.scheduler} ${e.reals.map((r) => `${r.address}:${r.port} ${r.forward} w${r.weight}`).join(',')}`)
    .sort()
    .join('\n');
}

for (const damage of ['deleted', 'corrupted (truncated JSON)', 'corrupted (valid JSON, wrong shape)'] as const) {
  test(`state record ${damage} between runs: rebuilt, own stale service cleaned, foreign virtual servers untouched`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-record-'));
    const stateDir = join(dir, 'state');
    const file = join(dir, 'cluster.yaml');
    const ipvs = new WatchedIpvs();
    const links = nodeLinks();
    await ipvs.apply([
      ...FOREIGN.map((service) => ({ op: 'addService' as const, service })),
      ...FOREIGN.map((service) => ({
        op: 'addReal' as const,
        service,
        real: { family: 'inet' as const, address: '10.1.1.1', port: 443, forward: 'route' as const, weight: 7, upperThreshold: 0, lowerThreshold: 0 },
      })),
    ]);
    const settings = { serviceCidrs: ['10.96.0.0/12'], stateDir };
    const worlds: AgentWorld[] = [];
    try {
      writeFileSync(file, manifests(6));
      const first = agentWorld(new ManifestSource({ path: file, debounceMs: 20, pollIntervalMs: 100 }), {
        ipvs,
        links,
        store: new FileStateStore(stateDir),
        settings,
      });
      worlds.push(first);
      await first.agent.run();
      await until('6 services', async () => (await first.count()) === 8);
      await first.stop();
      const foreignBefore = await foreignText(ipvs);
      assert.match(foreignBefore, /192\.168\.1\.100\/443 wlc 10\.1\.1\.1:443 route w7/);

      const recordPath = new FileStateStore(stateDir).path;
      if (damage === 'deleted') unlinkSync(recordPath);
      else if (damage.includes('truncated')) writeFileSync(recordPath, readFileSync(recordPath, 'utf8').slice(0, 40));
      else writeFileSync(recordPath, JSON.stringify({ version: 1, virtualServers: 'everything' }));
      writeFileSync(file, manifests(5)); // svc-5 went away while the agent was down

      const second = agentWorld(new ManifestSource({ path: file, debounceMs: 20, pollIntervalMs: 100 }), {
        ipvs,
        links,
        store: new FileStateStore(stateDir),
        settings,
      });
      worlds.push(second);
      await second.agent.run();
      await until('svc-5 cleaned up', async () => !(await ipvs.dump()).some((e) => e.service.address === clusterIp(5)));
      const ours = [0, 1, 2, 3, 4].map((i) => `TCP/${clusterIp(i)}/80`).sort();
      const recorded = async (): Promise<string[]> => Object.keys((await new FileStateStore(stateDir).load()).record?.virtualServers ?? {}).sort();
      await until('record rewritten with our five services', async () => JSON.stringify(await recorded()) === JSON.stringify(ours));
      assert.equal(await foreignText(ipvs), foreignBefore, 'foreign virtual servers and their real servers untouched');
      assert.deepEqual(ipvs.deletedServices, [`TCP/${clusterIp(5)}/80`], 'only our stale service was deleted');
      assert.equal(await second.count(), 7);
      if (damage !== 'deleted')
        assert.ok(
          second.logger.lines.some((l) => l.level === 'error' && /state record/.test(l.message)),
          'the corrupt record is reported',
        );
    } finally {
      for (const w of worlds) await w.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
