// The settings of `run` and `cleanup`, read the same way by both: a module of its own, so that
// neither command imports the other for it.
import { ConfigError } from '../config/errors.js';
import { settingsFromCommander, type RunConfig } from '../config/flags.js';

/** Settings from flags and --config; a ConfigError is printed with every bad key, exit 2. */
export async function loadRunConfig(opts: Record<string, unknown>): Promise<RunConfig | number> {
  try {
    return await settingsFromCommander(opts, { isTTY: process.stderr.isTTY === true });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`ipvs-proxy: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
