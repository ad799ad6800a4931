// Runs inputs through both paths (ServiceModel.takeChanges and computeFromScratch), checks they
// agree, and returns what tests look at.
import assert from 'node:assert/strict';
import type { V1EndpointSlice, V1Node, V1Service } from '@kubernetes/client-node';
import type { SourceEvent } from '../../../src/vocabulary/source.js';
import type { LinkAddress } from '../../../src/vocabulary/addresses.js';
import type { ModelConfig } from '../../../src/model/config.js';
import type { DesiredState, DesiredVirtualServer, ModelWarning } from '../../../src/model/types.js';
import { computeFromScratch, ServiceModel, type NoLocalEndpoints } from '../../../src/model/service-model.js';
import { config as defaultConfig } from './builders.js';

export interface Inputs {
  services?: V1Service[];
  slices?: V1EndpointSlice[];
  node?: V1Node;
  links?: LinkAddress[];
  config?: Partial<ModelConfig>;
}

export interface Outcome {
  vs: Map<string, DesiredVirtualServer>;
  addresses: string[];
  warnings: ModelWarning[];
  noLocal: NoLocalEndpoints;
  model: ServiceModel;
}

export function eventsOf(i: Inputs): SourceEvent[] {
  const events: SourceEvent[] = [];
  for (const object of i.services ?? []) events.push({ kind: 'Service', type: 'upsert', object });
  for (const object of i.slices ?? []) events.push({ kind: 'EndpointSlice', type: 'upsert', object });
  if (i.node) events.push({ kind: 'Node', type: 'upsert', object: i.node });
  return events;
}

/** A plain, comparable rendering of a desired state. */
export function snapshot(s: DesiredState): { vs: [string, DesiredVirtualServer][]; addresses: string[] } {
  return {
    vs: [...s.virtualServers.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    addresses: [...s.addresses.keys()].sort(),
  };
}

export function desired(i: Inputs): Outcome {
  const cfg = defaultConfig(i.config);
  const model = new ServiceModel(cfg);
  model.apply(eventsOf(i));
  if (i.links) model.setNodeAddresses(i.links);
  const change = model.takeChanges();
  const scratch = computeFromScratch({
    config: cfg,
    services: i.services ?? [],
    slices: i.slices ?? [],
    node: i.node,
    nodeAddresses: i.links ?? [],
  });
  assert.deepEqual(snapshot(change.state), snapshot(scratch.state), 'incremental and from-scratch states differ');
  assert.deepEqual(model.noLocalEndpoints(), scratch.noLocalEndpoints);
  return {
    vs: new Map(change.state.virtualServers),
    addresses: [...change.state.addresses.keys()].sort(),
    warnings: model.warnings(),
    noLocal: model.noLocalEndpoints(),
    model,
  };
}

export function reals(vs: DesiredVirtualServer | undefined): string[] {
  assert.ok(vs, 'virtual server missing');
  return vs.reals.map((r) => `${r.address}/${r.port}${r.terminating ? ' terminating' : ''}`);
}

/** Asserts one warning names this object and field (the field may be a prefix). */
export function assertWarning(ws: readonly ModelWarning[], object: string, field: string): ModelWarning {
  const w = ws.find((x) => x.object === object && x.field.startsWith(field));
  assert.ok(w, `no warning for ${object} ${field}; got ${JSON.stringify(ws)}`);
  return w;
}
