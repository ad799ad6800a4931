// Conflicting objects: two Services claiming one externalIP:port. The outcome must not depend on the order events arrive in,
// and the warning must name both parties.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceModel } from '../../../src/model/service-model.js';
import type { SourceEvent } from '../../../src/vocabulary/source.js';
import { config, ep, service, slice } from '../model/builders.js';

function run(events: SourceEvent[]): { owners: Map<string, string>; reals: Map<string, string[]>; warnings: string[] } {
  const model = new ServiceModel(config());
  model.apply(events);
  const state = model.takeChanges().state;
  const owners = new Map([...state.virtualServers].map(([k, v]) => [k, `${v.owner.namespace}/${v.owner.name}`]));
  const reals = new Map([...state.virtualServers].map(([k, v]) => [k, v.reals.map((r) => `${r.address}:${r.port}`).sort()]));
  return { owners, reals, warnings: model.warnings().map((w) => `${w.object}: ${w.field}: ${w.message}`) };
}

const up = (
  object: SourceEvent extends infer E ? (E extends { type: 'upsert'; object: infer O } ? O : never) : never,
  kind: 'Service' | 'EndpointSlice',
): SourceEvent => ({ kind, type: 'upsert', object }) as SourceEvent;

test('two Services claim one externalIP:port: the older wins in either event order; the warning names both', () => {
  const older = service('alpha', {
    namespace: 'team-b',
    clusterIPs: ['10.0.0.11'],
    externalIPs: ['203.0.113.7'],
    ports: [{ port: 443, protocol: 'TCP', targetPort: 8443 }],
    created: '2025-06-01T00:00:00Z',
  });
  const newer = service('zeta', {
    namespace: 'team-a',
    clusterIPs: ['10.0.0.12'],
    externalIPs: ['203.0.113.7'],
    ports: [{ port: 443, protocol: 'TCP', targetPort: 9443 }],
    created: '2026-02-01T00:00:00Z',
  });
  const slices = [
    slice('alpha-1', 'alpha', [ep('10.244.0.1')], [{ name: '', port: 8443, protocol: 'TCP' }], { namespace: 'team-b' }),
    slice('zeta-1', 'zeta', [ep('10.244.0.2')], [{ name: '', port: 9443, protocol: 'TCP' }], { namespace: 'team-a' }),
  ];
  const a = run([up(older, 'Service'), up(newer, 'Service'), ...slices.map((s) => up(s, 'EndpointSlice'))]);
  const b = run([...slices.map((s) => up(s, 'EndpointSlice')).reverse(), up(newer, 'Service'), up(older, 'Service')]);
  const key = 'TCP/203.0.113.7/443';
  assert.equal(a.owners.get(key), 'team-b/alpha');
  assert.deepEqual([...a.owners].sort(), [...b.owners].sort(), 'same owners whatever the order');
  assert.deepEqual(a.reals.get(key), ['10.244.0.1:8443']);
  assert.deepEqual(a.reals.get(key), b.reals.get(key));
  for (const out of [a, b]) {
    const w = out.warnings.filter((t) => t.includes('203.0.113.7'));
    assert.equal(w.length, 1, out.warnings.join('\n'));
    assert.match(w[0], /team-a\/zeta/);
    assert.match(w[0], /team-b\/alpha/);
  }
});

test('same creation time: the tie goes to namespace/name order, in either event order', () => {
  const s1 = service('web', { namespace: 'a', clusterIPs: ['10.0.0.21'], externalIPs: ['203.0.113.9'] });
  const s2 = service('web', { namespace: 'b', clusterIPs: ['10.0.0.22'], externalIPs: ['203.0.113.9'] });
  const x = run([up(s1, 'Service'), up(s2, 'Service')]);
  const y = run([up(s2, 'Service'), up(s1, 'Service')]);
  assert.equal(x.owners.get('TCP/203.0.113.9/80'), 'a/web');
  assert.equal(y.owners.get('TCP/203.0.113.9/80'), 'a/web');
  assert.ok(
    x.warnings.some((t) => /a\/web/.test(t) && /b\/web/.test(t)),
    x.warnings.join('\n'),
  );
});
