// Helpers of the manifest-source tests: a recording SourceHandlers, deadline-bound waits and a
// scratch directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SourceEvent, SourceHandlers } from '../../../src/vocabulary/source.js';

export class Recorder implements SourceHandlers {
  readonly batches: SourceEvent[][] = [];
  readonly warnings: Array<{ message: string; detail?: Record<string, unknown> }> = [];
  onEvents(events: SourceEvent[]): void {
    this.batches.push(events);
  }
  onWarning(message: string, detail?: Record<string, unknown>): void {
    this.warnings.push({ message, detail });
  }
  events(): SourceEvent[] {
    return this.batches.flat();
  }
  /** Current objects built from the events, by kind/namespace/name. */
  state(): Map<string, unknown> {
    const m = new Map<string, unknown>();
    for (const e of this.events()) {
      if (e.type === 'upsert') m.set(`${e.kind}/${e.object.metadata?.namespace ?? ''}/${e.object.metadata?.name}`, e.object);
      else if (e.kind === 'Node') m.delete(`Node//${e.name}`);
      else m.delete(`${e.kind}/${e.namespace}/${e.name}`);
    }
    return m;
  }
  keys(): string[] {
    return [...this.state().keys()].sort();
  }
}

export async function waitFor(what: string, check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function scratchDir(): { dir: string; path(name: string): string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'manifests-'));
  return { dir, path: (name) => join(dir, name), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
