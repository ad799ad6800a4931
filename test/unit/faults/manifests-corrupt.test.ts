// A manifests file corrupted while the agent runs (ManifestSource → Agent → fake kernel): the last
// good state stays in the kernel (sampled throughout, no deletion), the log names the file and the
// line, and the fix is picked up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { agentWorld, clusterIp, sleep, sliceFor, svc, tableText, until } from './agent-world.js';

function yamlOf(from: number, to: number): string {
  const docs: string[] = [];
  for (let i = from; i < to; i++) docs.push(stringify(svc(i)), stringify(sliceFor(i)));
  return docs.join('---\n');
}

for (const corruption of [
  { name: 'YAML syntax error', ext: 'yaml', bad: (good: string) => good.replace('name: http\n', 'name: http\n   : [unclosed\n'), line: /b\.yaml:\d+/ },
  { name: 'JSON cut in half', ext: 'json', bad: (good: string) => good.slice(0, Math.floor(good.length / 2)), line: /b\.json:\d+/ },
]) {
  test(`${corruption.name} mid-run: last good state kept, file and line logged, recovered when fixed`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-manifests-'));
    const b = join(dir, `b.${corruption.ext}`);
    const good = (to: number): string =>
      corruption.ext === 'yaml'
        ? yamlOf(5, to)
        : JSON.stringify({ apiVersion: 'v1', kind: 'List', items: Array.from({ length: to - 5 }, (_, k) => [svc(5 + k), sliceFor(5 + k)]).flat() }, null, 1);
    writeFileSync(join(dir, 'a.yaml'), yamlOf(0, 5));
    writeFileSync(b, good(10));
    const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }));
    try {
      await world.agent.run();
      await until('10 virtual servers', async () => (await world.count()) === 10);
      const before = await tableText(world.ipvs);

      writeFileSync(b, corruption.bad(good(10)));
      await until('the corruption is reported', () => world.logger.lines.some((l) => l.level === 'warn' && corruption.line.test(l.message)));
      await sleep(600); // three verifications at --sync-period 200 ms
      const warning = world.logger.lines.find((l) => corruption.line.test(l.message));
      assert.ok(warning && warning.message.includes(b), `names the file: ${warning?.message}`);
      assert.equal(await tableText(world.ipvs), before, 'the kernel keeps the last good state');
      assert.deepEqual(world.ipvs.deletedServices, []);

      writeFileSync(b, good(11));
      await until('the fixed file adds service 10', async () => (await world.ipvs.dump()).some((e) => e.service.address === clusterIp(10)));
      assert.equal(await world.count(), 11);
      assert.deepEqual(world.ipvs.deletedServices, [], 'nothing was deleted at any point');
    } finally {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
