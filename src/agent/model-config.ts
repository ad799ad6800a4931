// The model's configuration as the agent derives it from its settings; shared by `run`,
// `status --diff` and the benchmarks so all three compute the same desired state.
import type { Settings } from '../config/settings.js';
import type { ModelConfig } from '../model/config.js';
import { DUMMY_LINK_NAME } from '../config/defaults.js';

/** Name of the dummy link that holds the VIPs, as kube-proxy names it. */

export function modelConfigFrom(s: Pick<Settings, 'nodeName' | 'scheduler' | 'schedulerFlags' | 'nodePortAddresses' | 'serviceProxyName'>): ModelConfig {
  return {
    nodeName: s.nodeName,
    scheduler: s.scheduler,
    schedulerFlags: s.schedulerFlags,
    nodePortAddresses: s.nodePortAddresses,
    serviceProxyName: s.serviceProxyName,
    ipFamilies: ['inet', 'inet6'],
    dummyLinkName: DUMMY_LINK_NAME,
  };
}
