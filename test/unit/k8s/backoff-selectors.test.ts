import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../../src/util/backoff.js';
import { proxyLabelSelector, proxyLabelsMatch } from '../../../src/k8s/selectors.js';

test('backoff doubles up to the cap, jitter keeps each delay in [ceiling/2, ceiling]', () => {
  const values = [0, 0.5, 1, 0.25, 0.99, 0];
  let i = 0;
  const b = new Backoff({ initialMs: 100, maxMs: 1000, random: () => values[i++ % values.length] });
  assert.deepEqual(
    Array.from({ length: 6 }, () => b.next()),
    [50, 150, 400, 500, 995, 500],
  );
  b.reset();
  assert.equal(b.attempts(), 0);
  assert.equal(b.next(), 50, 'back to the initial ceiling');
});

test('selectors follow KEP-2447 as kube-proxy does', () => {
  assert.equal(proxyLabelSelector(), '!service.kubernetes.io/service-proxy-name,!service.kubernetes.io/headless');
  assert.equal(proxyLabelSelector('ipvs'), 'service.kubernetes.io/service-proxy-name=ipvs,!service.kubernetes.io/headless');
  const cases: Array<[Record<string, string> | undefined, string | undefined, boolean]> = [
    [undefined, undefined, true],
    [{ app: 'x' }, undefined, true],
    [{ 'service.kubernetes.io/service-proxy-name': 'other' }, undefined, false],
    [{ 'service.kubernetes.io/headless': '' }, undefined, false],
    [{ 'service.kubernetes.io/service-proxy-name': 'ipvs' }, 'ipvs', true],
    [{ 'service.kubernetes.io/service-proxy-name': 'other' }, 'ipvs', false],
    [{}, 'ipvs', false],
    [{ 'service.kubernetes.io/service-proxy-name': 'ipvs', 'service.kubernetes.io/headless': '' }, 'ipvs', false],
  ];
  for (const [labels, name, want] of cases) assert.equal(proxyLabelsMatch(labels, name), want, JSON.stringify([labels, name]));
});
