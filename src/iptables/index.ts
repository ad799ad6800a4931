// The iptables side of ipvs-proxy: SNAT and VIP filtering at a constant rule count.
import type { Settings } from '../config/settings.js';
import type { Family } from '../ipvs/types.js';
import type { IptablesSettings } from './sets.js';

export { chooseBackend, commandsFor, detectBackend, supportsRandomFully, type Backend } from './backend.js';
export {
  CommandFailedError,
  CommandNotFoundError,
  CommandTimeoutError,
  InvalidIptablesSettingError,
  SaveOutputParseError,
} from './errors.js';
export { FakeKernel } from './fake.js';
export { IptablesManager, type IptablesManagerOptions } from './manager.js';
export {
  renderIpsetDestroy,
  renderIpsetRestore,
  renderIptablesCleanup,
  renderIptablesRestore,
} from './restore.js';
export { Chain, chainSpecs, JUMPS, masqueradeMark, ruleCount, type ChainSpec, type RuleOptions } from './rules.js';
export { ExecCommandRunner, type CommandResult, type CommandRunner } from './runner.js';
export { parseIpsetSave, parseIptablesSave } from './save.js';
export { ruleDataFrom, setName, SetRole, type IpSetContent, type IpSetMap, type IptablesSettings } from './sets.js';

/** The iptables settings of the agent's settings, for the families this node serves. */
export function iptablesSettingsFrom(
  settings: Pick<Settings, 'masqueradeAll' | 'clusterCidr' | 'masqueradeBit'>,
  families: readonly Family[],
): IptablesSettings {
  return {
    masqueradeAll: settings.masqueradeAll,
    clusterCidr: [...settings.clusterCidr],
    masqueradeBit: settings.masqueradeBit,
    families: [...families],
  };
}
