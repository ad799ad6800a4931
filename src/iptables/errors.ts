// Typed errors of the iptables/ipset side. Each carries what a caller needs to report or retry;
// the library never logs.

/** A program could not be started because it is not installed (spawn ENOENT). */
export class CommandNotFoundError extends Error {
  override readonly name = 'CommandNotFoundError';
  constructor(readonly command: string) {
    super(`${command}: command not found (is the package that provides it installed?)`);
  }
}

/** A program ran longer than its deadline and was killed. */
export class CommandTimeoutError extends Error {
  override readonly name = 'CommandTimeoutError';
  constructor(
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(`${command} did not finish within ${timeoutMs} ms and was killed`);
  }
}

/** iptables-restore, iptables-save, ipset or another tool exited with a non-zero status. */
export class CommandFailedError extends Error {
  override readonly name = 'CommandFailedError';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`${[command, ...args].join(' ')} exited with status ${code}: ${stderr.trim() || '(no output)'}`);
  }
}

/** A setting the rules depend on is out of range or unparsable. */
export class InvalidIptablesSettingError extends Error {
  override readonly name = 'InvalidIptablesSettingError';
  constructor(
    readonly key: string,
    readonly value: string,
    readonly allowed: string,
  ) {
    super(`invalid ${key} "${value}": ${allowed}`);
  }
}

/** Output of iptables-save or ipset save that this code cannot read. */
export class SaveOutputParseError extends Error {
  override readonly name = 'SaveOutputParseError';
  constructor(
    readonly command: string,
    readonly lineNumber: number,
    readonly line: string,
  ) {
    super(`cannot parse line ${lineNumber} of ${command} output: ${line}`);
  }
}

/** Set entries the kernel refused (over netlink); the other entries of the sync still landed. */
export class SetEntryError extends Error {
  override readonly name = 'SetEntryError';
  constructor(readonly failures: readonly { op: string; set: string; entry: string; code: string; message: string }[]) {
    const f = failures[0];
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(`ipset ${f.op === 'add' ? 'add' : 'del'} ${f.set} ${f.entry}: ${f.message} (${f.code})${more}`);
  }
}
