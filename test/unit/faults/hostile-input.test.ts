// Hostile input: a Service with 1,000 ports (refused whole above the model's 256-port limit), 100,000 endpoints across 100 EndpointSlices, names of
// the longest legal length and unicode ones, garbage objects, and random and mutated YAML/JSON text
// for the manifest parser. No throw, sane output, and bounded memory: the heap after a third full
// replacement of the big objects is within a few MB of the heap after the first (no leak), and the
// whole test's RSS growth stays under a fixed ceiling.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1EndpointSlice } from '@kubernetes/client-node';
import { ServiceModel } from '../../../src/model/service-model.js';
import type { SourceEvent } from '../../../src/vocabulary/source.js';
import { parseManifest, ManifestSyntaxError } from '../../../src/manifests/parse.js';
import { checkShape } from '../../../src/manifests/shape.js';
import { config, ep, service, slice } from '../model/builders.js';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

const MB = 1024 * 1024;

function bigSlices(round: number): V1EndpointSlice[] {
  const out: V1EndpointSlice[] = [];
  for (let s = 0; s < 100; s++) {
    const eps = [];
    for (let e = 0; e < 1000; e++)
      eps.push(
        ep(
          `10.${100 + (round % 2)}.${s}.${e % 250}`.replace(/\.(\d+)$/, (_m, last: string) => `.${Number(last) + 1}`),
          { pod: `p-${s}-${e}` },
        ),
      );
    // 1000 endpoints over 250 addresses per slice: duplicates too, which must be folded, not multiplied.
    out.push(slice(`big-${s}`, 'big', eps, [{ name: '', port: 8080, protocol: 'TCP' }]));
  }
  return out;
}

function settle(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

test('1,000 ports, 100,000 endpoints, long and unicode names, garbage: no throw, bounded memory', async () => {
  const rss0 = process.memoryUsage().rss;
  const model = new ServiceModel(config());
  const ports = Array.from({ length: 1000 }, (_, i) => ({ name: `p${i}`, port: 1000 + i, protocol: 'TCP', targetPort: 20000 + i }));
  const longName = 'a'.repeat(63);
  const longNs = 'n'.repeat(63);
  const events: SourceEvent[] = [
    { kind: 'Service', type: 'upsert', object: service('many-ports', { clusterIPs: ['10.0.1.1'], ports }) },
    {
      kind: 'EndpointSlice',
      type: 'upsert',
      object: slice(
        'many-ports-1',
        'many-ports',
        [ep('10.244.5.1'), ep('10.244.5.2')],
        ports.map((p) => ({ name: p.name, port: p.targetPort, protocol: 'TCP' })),
      ),
    },
    { kind: 'Service', type: 'upsert', object: service('max-ports', { clusterIPs: ['10.0.1.6'], ports: ports.slice(0, 256) }) },
    {
      kind: 'EndpointSlice',
      type: 'upsert',
      object: slice(
        'max-ports-1',
        'max-ports',
        [ep('10.244.6.1')],
        ports.slice(0, 256).map((p) => ({ name: p.name, port: p.targetPort, protocol: 'TCP' })),
      ),
    },
    { kind: 'Service', type: 'upsert', object: service('big', { clusterIPs: ['10.0.1.2'] }) },
    { kind: 'Service', type: 'upsert', object: service(longName, { namespace: longNs, clusterIPs: ['10.0.1.3'] }) },
    { kind: 'Service', type: 'upsert', object: service('サービス-😀', { namespace: 'ünïcödé', clusterIPs: ['10.0.1.4'] }) },
    {
      kind: 'Service',
      type: 'upsert',
      object: { metadata: { name: 'x'.repeat(100_000) }, spec: { clusterIP: '10.0.1.5', ports: [{ port: 99_999 }] } } as never,
    },
    { kind: 'Service', type: 'upsert', object: { metadata: null, spec: 'nope' } as never },
    { kind: 'EndpointSlice', type: 'upsert', object: { metadata: { name: 'z' }, endpoints: 'many', ports: [{}] } as never },
  ];
  model.apply(events);
  const heaps: number[] = [];
  for (let round = 0; round < 3; round++) {
    model.apply(bigSlices(round).map((object) => ({ kind: 'EndpointSlice', type: 'upsert', object }) as SourceEvent));
    const state = model.takeChanges().state;
    const big = state.virtualServers.get('TCP/10.0.1.2/80');
    assert.ok(big, 'the big service is served');
    assert.equal(big.reals.length, 100 * 250, 'each distinct endpoint address once');
    assert.equal([...state.virtualServers.keys()].filter((k) => k.startsWith('TCP/10.0.1.1/')).length, 0, 'the 1,000-port service is refused whole');
    if (round === 0)
      assert.ok(
        model.warnings().some((w) => w.object.includes('many-ports') && /1000 ports, more than 256/.test(w.message)),
        'with a warning giving the count and the limit',
      );
    assert.equal([...state.virtualServers.keys()].filter((k) => k.startsWith('TCP/10.0.1.6/')).length, 256, 'a 256-port service is served in full');
    assert.ok(state.virtualServers.has('TCP/10.0.1.4/80'), 'unicode-named service served');
    await settle();
    // Measure live memory, not whatever garbage the collector has not yet reclaimed.
    collectGarbage();
    collectGarbage();
    heaps.push(process.memoryUsage().heapUsed);
  }
  const warnings = model.warnings();
  assert.ok(warnings.length < 1000, `warnings stay bounded: ${warnings.length}`);
  assert.ok(
    warnings.every((w) => w.object.length + w.message.length < 4096),
    'no warning carries a 100 KB name whole',
  );
  const growth = (heaps[2] - heaps[0]) / MB;
  const rssGrowth = (process.memoryUsage().rss - rss0) / MB;
  process.stdout.write(`# heap after rounds: ${heaps.map((h) => (h / MB).toFixed(0)).join(', ')} MB; RSS growth ${rssGrowth.toFixed(0)} MB\n`);
  assert.ok(growth < 64, `heap grew ${growth.toFixed(1)} MB between the first and third replacement`);
  assert.ok(rssGrowth < 1024, `RSS grew ${rssGrowth.toFixed(0)} MB`);
});

test('malformed and random manifest text: a ManifestSyntaxError or objects, never another throw', () => {
  let seed = 0x5eed;
  const rand = (): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base =
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\nspec:\n  clusterIP: 10.0.0.1\n  ports:\n  - port: 80\n---\n{"apiVersion":"v1","kind":"List","items":[{"kind":"Service","metadata":{"name":"j"}}]}\n';
  const alphabet = ':-[]{}"\'\n\t #&*!|>%@`,?\\\u0000\uFFFD😀';
  let syntax = 0;
  for (let i = 0; i < 1500; i++) {
    let text: string;
    if (i % 3 === 0) text = Array.from({ length: Math.floor(rand() * 400) }, () => String.fromCharCode(Math.floor(rand() * 0x3000))).join('');
    else {
      const chars = [...base];
      for (let k = 0; k < 1 + Math.floor(rand() * 6); k++)
        chars.splice(Math.floor(rand() * chars.length), Math.floor(rand() * 3), alphabet[Math.floor(rand() * alphabet.length)]);
      text = chars.join('');
    }
    try {
      for (const raw of parseManifest('fuzz.yaml', text)) checkShape(raw.value);
    } catch (err) {
      assert.ok(err instanceof ManifestSyntaxError, `input ${i} threw ${String(err)} for ${JSON.stringify(text.slice(0, 80))}`);
      assert.match(err.message, /^fuzz\.yaml:\d+:\d+: /);
      syntax++;
    }
  }
  assert.ok(syntax > 100, `the mutations do produce syntax errors (${syntax})`);
});
