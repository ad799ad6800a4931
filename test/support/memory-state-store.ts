// The state store the tests give the proxier instead of a file.
import { parseRecord, type StateRecord } from '../../src/proxier/state-record.js';
import type { StateStore } from '../../src/proxier/types.js';

/** A state record kept in memory, parsed on every save as the file store's next load would. */
export class MemoryStateStore implements StateStore {
  /** Every record saved, oldest first, so tests can see what was on disk at each moment. */
  readonly saved: StateRecord[] = [];
  constructor(
    private current: StateRecord | undefined = undefined,
    private corrupt?: string,
  ) {}

  async load(): Promise<{ record: StateRecord | undefined; corrupt?: string }> {
    return { record: this.current === undefined ? undefined : structuredClone(this.current), corrupt: this.corrupt };
  }

  async save(text: string): Promise<void> {
    // Parsed as the file store's next load would: a malformed text fails here, not later.
    const record = parseRecord(text, 'memory');
    this.current = record;
    this.corrupt = undefined;
    this.saved.push(this.current);
  }

  get record(): StateRecord | undefined {
    return this.current;
  }
}
