// A verification whose IPVS dump fails (a netlink timeout, lost replies): the agent logs the
// failure with its class and errno code (what an operator greps for), keeps the kernel as it
// was, and the next verification runs and succeeds. The periodic verification reads first in a
// background check, so that is where the dump fails; the failure brings a full verification. The real-kernel counterpart, through the
// addon's fault hook, is in test/kernel/faults-traffic.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { ManifestSource } from '../../../src/manifests/manifest-source.js';
import { agentWorld, sliceFor, svc, tableText, until } from './agent-world.js';

for (const code of ['ETIMEDOUT', 'ENOBUFS']) {
  test(`a verification dump failing with ${code} is logged with its code; the next verification succeeds`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faults-netlink-'));
    writeFileSync(join(dir, 'a.yaml'), [0, 1, 2].flatMap((i) => [stringify(svc(i)), stringify(sliceFor(i))]).join('---\n'));
    const world = agentWorld(new ManifestSource({ path: dir, debounceMs: 20, pollIntervalMs: 100 }));
    try {
      await world.agent.run();
      await until('3 virtual servers', async () => (await world.count()) === 3);
      const before = await tableText(world.ipvs);
      world.ipvs.injectDumpFault(code);
      const failedRead = (l: { level: string; message: string }): boolean => l.level === 'error' && /^(check|verify pass) failed/.test(l.message);
      await until('the failed verification is logged', () => world.logger.lines.some(failedRead));
      const failed = world.logger.lines.find(failedRead);
      assert.equal(failed?.fields?.code, code, `the log line carries the errno code: ${JSON.stringify(failed)}`);
      assert.equal(failed?.fields?.op, 'check', 'the periodic check read the kernel');
      const at = world.logger.lines.indexOf(failed!);
      await until('a later verification succeeds', () => world.logger.lines.slice(at).some((l) => /^verify: 3 virtual servers/.test(l.message)));
      assert.equal(await tableText(world.ipvs), before, 'the kernel is as it was');
      assert.deepEqual(world.ipvs.deletedServices, []);
    } finally {
      await world.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
