// A Proxier over real kernel handles in the current network namespace, wired the way
// `ipvs-proxy run` wires it (iptables, sysctls, conntrack tool, a state file), so in-process
// measurements exercise the same code path as the agent.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createConntrack, createIptables, createNodeSettings, createStateStore, openKernel, type KernelHandles } from '../../src/agent/wiring.js';
import { defaultSettings } from '../../src/config/load.js';
import type { Settings } from '../../src/config/settings.js';
import { ServiceModel } from '../../src/model/service-model.js';
import { systemClock } from '../../src/proxier/clock.js';
import { Proxier } from '../../src/proxier/proxier.js';
import { BENCH_NODE } from '../fixtures.js';

export interface KernelProxier {
  proxier: Proxier;
  kernel: KernelHandles;
  settings: Settings;
  close(): void;
}

export function benchSettings(): Settings {
  return { ...defaultSettings(BENCH_NODE), stateDir: mkdtempSync(join(tmpdir(), 'ipvs-proxy-bench-')), logLevel: 'warn' };
}

/** The model exactly as the Agent configures it. */
export function agentModel(settings: Settings): ServiceModel {
  return new ServiceModel({
    nodeName: settings.nodeName,
    scheduler: settings.scheduler,
    schedulerFlags: settings.schedulerFlags,
    nodePortAddresses: settings.nodePortAddresses,
    serviceProxyName: settings.serviceProxyName,
    ipFamilies: ['inet', 'inet6'],
    dummyLinkName: 'kube-ipvs0',
  });
}

export async function openKernelProxier(settings: Settings = benchSettings()): Promise<KernelProxier> {
  const kernel = await openKernel(120_000);
  const proxier = new Proxier({
    ipvs: kernel.ipvs,
    links: kernel.links,
    reader: kernel.reader,
    iptables: createIptables(settings, undefined, kernel.sets),
    conntrack: createConntrack(),
    sysctl: createNodeSettings(settings, false),
    stateStore: createStateStore(settings),
    clock: systemClock,
    settings,
  });
  return { proxier, kernel, settings, close: () => kernel.close() };
}
