// The impure edge: running iptables-restore, ipset and friends. Everything above it talks to the
// CommandRunner interface, so the manager is tested against a fake kernel.
import { spawn } from 'node:child_process';
import { CommandNotFoundError, CommandTimeoutError } from './errors.js';

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  /** Run `cmd args...` with `stdin` on its standard input; resolves with its exit status and output. */
  run(cmd: string, args: readonly string[], stdin?: string): Promise<CommandResult>;
}

export interface ExecCommandRunnerOptions {
  /** Kill a command that runs longer than this (bounded waits: a stuck xtables lock must not hang a sync). */
  timeoutMs?: number;
  /** Run every command through this prefix, e.g. ['ip', 'netns', 'exec', 'ns1']. */
  prefix?: readonly string[];
  /** Told about every command once it ended (the agent logs these at debug level). */
  onCommand?: (ran: CommandTiming) => void;
}

/** What one command run cost: for logs, since the iptables side's time is mostly these. */
export interface CommandTiming {
  cmd: string;
  args: readonly string[];
  /** Exit status, or undefined when it could not be started or timed out. */
  code: number | undefined;
  durationMs: number;
  stdinBytes: number;
}

/** Runs commands as child processes. */
export class ExecCommandRunner implements CommandRunner {
  private readonly timeoutMs: number;
  private readonly prefix: readonly string[];
  private readonly onCommand: ((ran: CommandTiming) => void) | undefined;

  constructor(options: ExecCommandRunnerOptions = {}) {
    this.timeoutMs = options.timeoutMs ?? 60_000;
    this.prefix = options.prefix ?? [];
    this.onCommand = options.onCommand;
  }

  async run(cmd: string, args: readonly string[], stdin = ''): Promise<CommandResult> {
    const start = performance.now();
    let code: number | undefined;
    try {
      const r = await this.spawn(cmd, args, stdin);
      code = r.code;
      return r;
    } finally {
      this.onCommand?.({ cmd, args, code, durationMs: performance.now() - start, stdinBytes: Buffer.byteLength(stdin) });
    }
  }

  private spawn(cmd: string, args: readonly string[], stdin: string): Promise<CommandResult> {
    const argv = [...this.prefix, cmd, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.stdout.on('data', (b: Buffer) => stdout.push(b));
      child.stderr.on('data', (b: Buffer) => stderr.push(b));
      // A command that exits without reading its input closes the pipe: not an error of ours.
      child.stdin.on('error', () => undefined);
      child.on('error', (err: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(err.code === 'ENOENT' ? new CommandNotFoundError(argv[0]) : err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        if (timedOut) return reject(new CommandTimeoutError(cmd, this.timeoutMs));
        resolve({
          code: code ?? (signal !== null ? 128 : 1),
          stdout: Buffer.concat(stdout).toString('utf8'),
          stderr: Buffer.concat(stderr).toString('utf8'),
        });
      });
      child.stdin.end(stdin);
    });
  }
}
