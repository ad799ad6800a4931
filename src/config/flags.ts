// The `run` command's flags, declared on a commander Command from the option table, and the way
// back from commander's parsed values to settings. Defaults are shown in help but not set in
// commander, so a flag that was not given never hides the config file's value.
import { Command, Option } from 'commander';
import { ConfigError, ConfigIssue } from './errors.js';
import type { LoadedSettings } from './load.js';
import { ConfigKey, OPTION_SPECS, OptionSpec, camelCaseOfFlag } from './options.js';
import type { RawLayer } from './schema.js';

const ALIAS_GROUP = 'kube-proxy compatible flags:';

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

function declare(cmd: Command, spec: OptionSpec, flag: string, description: string, group?: string, hidden = false): void {
  const value = spec.kind === 'boolean' ? `[${spec.valueName}]` : `<${spec.valueName}>`;
  const defaultNote = spec.defaultText !== undefined ? ` (default: ${spec.defaultText})` : '';
  const option = new Option(`${flag} ${value}`, `${description}${defaultNote}`);
  if (spec.kind === 'list') option.argParser(collect);
  if (group) option.helpGroup(group);
  if (hidden) option.hideHelp();
  cmd.addOption(option);
}

/**
 * Declares every setting flag, its kube-proxy aliases, and --config; for `run`, also --once and
 * --cleanup. With `shown` (the settings a command uses, as for `cleanup`), help lists only those;
 * the others are still accepted, so the same argument list as `run` works.
 */
export function addRunFlags(cmd: Command, shown?: ReadonlySet<ConfigKey>): Command {
  const hidden = (spec: OptionSpec): boolean => shown !== undefined && !shown.has(spec.key);
  cmd.addOption(new Option('--config <file>', 'YAML config file: our keys (the flags in camelCase) or a kube-proxy KubeProxyConfiguration; flags override it'));
  for (const spec of OPTION_SPECS) {
    const lists = spec.kind === 'list' ? '; repeatable' : '';
    declare(cmd, spec, spec.flag, `${spec.description}${lists}`, undefined, hidden(spec));
  }
  if (shown === undefined) {
    cmd.addOption(new Option('--once', 'sync once, print a summary line and exit (0 only if the kernel then matches)'));
    cmd.addOption(
      new Option('--check-config', 'validate the flags and --config file, print any notices and exit: 0 when valid, 2 when not; the kernel is not touched'),
    );
  }
  for (const spec of OPTION_SPECS) {
    for (const alias of spec.kubeProxyAliases ?? []) {
      declare(cmd, spec, alias, `same as ${spec.flag}`, ALIAS_GROUP, hidden(spec));
    }
  }
  if (shown === undefined) {
    cmd.addOption(new Option('--cleanup', 'remove everything the agent owns from this node and exit (as `ipvs-proxy cleanup`)').helpGroup(ALIAS_GROUP));
  }
  return cmd;
}

/** What `cleanup` reads: where the state record is, and the adoption rules for what it did not record. */
export const CLEANUP_SETTINGS: ReadonlySet<ConfigKey> = new Set<ConfigKey>(['stateDir', 'serviceCidrs', 'excludeCidrs', 'nodeportRange']);

export interface RunFlags {
  configPath?: string;
  once: boolean;
  cleanup: boolean;
  checkConfig: boolean;
  /** Setting values by config key, only for flags that were given. */
  flags: RawLayer;
}

/** Sorts commander's values into setting flags and command switches; a flag given twice under two names must agree. */
export function flagsFromCommander(opts: Readonly<Record<string, unknown>>): RunFlags {
  const flags: RawLayer = {};
  const issues: ConfigIssue[] = [];
  for (const spec of OPTION_SPECS) {
    const given = [spec.flag, ...(spec.kubeProxyAliases ?? [])]
      .map((flag) => ({ flag, value: opts[camelCaseOfFlag(flag)] }))
      .filter((entry) => entry.value !== undefined);
    if (given.length === 0) continue;
    const distinct = new Set(given.map((entry) => JSON.stringify(entry.value)));
    if (distinct.size > 1) {
      issues.push({
        key: given.map((entry) => entry.flag).join(' and '),
        source: 'flag',
        problem: 'the same setting is given different values',
        allowed: `one value for ${spec.flag}`,
      });
      continue;
    }
    flags[spec.key] = given[0].value;
  }
  if (issues.length > 0) throw new ConfigError(issues);
  const configPath = typeof opts.config === 'string' ? opts.config : undefined;
  return { configPath, once: opts.once === true, cleanup: opts.cleanup === true, checkConfig: opts.checkConfig === true, flags };
}

export interface RunConfig extends LoadedSettings {
  once: boolean;
  cleanup: boolean;
  checkConfig: boolean;
  configPath?: string;
}

export interface RunContext {
  env?: Readonly<Record<string, string | undefined>>;
  isTTY?: boolean;
  hostname?: string;
}

/** Commander's values to validated settings: reads --config, merges defaults < file < flags. */
export async function settingsFromCommander(opts: Readonly<Record<string, unknown>>, context: RunContext = {}): Promise<RunConfig> {
  const run = flagsFromCommander(opts);
  // Loaded here, not at the top: the YAML parser and the schema are for commands that read
  // settings, and every command's start (`--help`, `--version`, `status`) declares these flags.
  const { loadSettings, readConfigFile } = await import('./load.js');
  const configFile = run.configPath !== undefined ? await readConfigFile(run.configPath) : undefined;
  const loaded = loadSettings({
    flags: run.flags,
    configFile,
    env: context.env ?? process.env,
    isTTY: context.isTTY,
    hostname: context.hostname,
  });
  return { ...loaded, once: run.once, cleanup: run.cleanup, checkConfig: run.checkConfig, configPath: run.configPath };
}
