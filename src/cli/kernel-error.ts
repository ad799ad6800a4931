// The one kernel failure every command reports the same way, in a module of its own so that a
// command can use it without loading the agent.
import { IpvsUnavailableError } from '../native/errors.js';

/** A kernel without IPVS is the one failure every user hits first: say what to do. */
export function reportKernelError(err: unknown): number {
  if (err instanceof IpvsUnavailableError) {
    process.stderr.write(`ipvs-proxy: ${err.message}\n`);
    return 1;
  }
  throw err;
}
