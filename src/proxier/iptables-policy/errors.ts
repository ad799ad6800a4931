// Typed errors of the iptables policy: settings the rules cannot be built from, set entries the
// kernel refused. The library never logs.

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

/** Set entries the kernel refused (over netlink); the other entries of the sync still landed. */
export class SetEntryError extends Error {
  override readonly name = 'SetEntryError';
  constructor(readonly failures: readonly { op: string; set: string; entry: string; code: string; message: string }[]) {
    const f = failures[0];
    const more = failures.length > 1 ? ` (and ${failures.length - 1} more)` : '';
    super(`ipset ${f.op === 'add' ? 'add' : 'del'} ${f.set} ${f.entry}: ${f.message} (${f.code})${more}`);
  }
}
