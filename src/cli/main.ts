// The ipvs-proxy command line: `run` (the agent), `status` (ipvsadm's views and more), `cleanup`.
// Each subcommand lives in its own module; this file only declares them and maps errors to exit
// statuses: 2 for bad usage or configuration, 1 for everything else that failed.
import { Command, CommanderError } from 'commander';
import { CLEANUP_SETTINGS, addRunFlags } from '../config/flags.js';
import { cutForMessage } from '../config/errors.js';
import { AGENT_VERSION } from './version.js';
import { DEFAULT_STATE_DIR } from '../config/defaults.js';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('ipvs-proxy')
    .description('A Kubernetes service proxy that programs the Linux IPVS load balancer')
    .version(AGENT_VERSION)
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    // commander echoes what it could not parse (an unknown option, a stray argument): cut it.
    .configureOutput({
      writeErr: (text) =>
        process.stderr.write(
          text
            .split('\n')
            .map((line) => cutForMessage(line, 300))
            .join('\n'),
        ),
    });

  addRunFlags(
    program.command('run').description('watch Services and EndpointSlices (or manifest files) and keep IPVS, kube-ipvs0 and iptables in line'),
  ).action(async (opts: Record<string, unknown>) => {
    const { runCommand } = await import('./run-command.js');
    exitCode = await runCommand(opts);
  });

  const status = program
    .command('status')
    .description("show the kernel's IPVS table exactly as `ipvsadm -Ln` does, and more")
    .option('--stats', 'counters (ipvsadm --stats)')
    .option('--rate', 'rates (ipvsadm --rate)')
    .option('--exact', 'counters without K/M/G/T scaling')
    .option('--thresholds', 'upper and lower connection thresholds')
    .option('--persistent-conn', 'persistent connection counts')
    .option('--timeout', 'IPVS timeouts (tcp tcpfin udp)')
    .option('--save', 'rules as `ipvsadm -Sn` writes them')
    .option('--connections', 'the connection table (ipvsadm -Lnc)')
    .option('--nosort', "keep the kernel's order")
    .option('--names', 'annotate virtual servers with namespace/service:port and real servers with pods')
    .option('--owned', 'only what the agent owns')
    .option('--diff', 'compare the desired state (from --manifests or --kubeconfig) with the kernel; exit 1 on drift')
    .option('--include-foreign', 'with --diff: count virtual servers the agent does not own as drift')
    .option('--json', 'machine-readable output (docs/status-json.md)')
    .option('--cluster', 'the fleet view: every node that publishes to --status-redis')
    .option('--status-redis <url>', 'Redis URL of the fleet view (redis:// or rediss://)')
    .option('--status-redis-password-file <file>', 'file with the Redis password (else REDIS_PASSWORD)')
    .option('--state-dir <dir>', "the agent's state directory", DEFAULT_STATE_DIR)
    .option('--manifests <path>', 'desired state from manifest files (for --diff)')
    .option('--kubeconfig <path>', 'desired state from the API server (for --diff)')
    .option('--config <file>', "the agent's config file (scheduler, node port addresses, ... for --diff)")
    .option('--node-name <name>', 'this node (for --diff; default NODE_NAME, then the hostname)');
  status.action(async (opts: Record<string, unknown>) => {
    const { statusCommand } = await import('./status-command.js');
    exitCode = await statusCommand(opts);
  });

  addRunFlags(
    program.command('cleanup').description('remove everything the agent owns from this node (IPVS, kube-ipvs0, iptables) and nothing else'),
    CLEANUP_SETTINGS,
  )
    .option('--without-record', 'no state record: remove what the adoption rules call ours (else cleanup removes nothing without a record)')
    .action(async (opts: Record<string, unknown>) => {
      const { cleanupCommand } = await import('./cleanup-command.js');
      exitCode = await cleanupCommand(opts);
    });

  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    process.stderr.write(`ipvs-proxy: ${cutForMessage((err as Error).message, 1000)}\n`);
    return 1;
  }
  return exitCode;
}
