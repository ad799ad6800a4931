// Typed errors of the Kubernetes and manifest sources.
import { messageOf } from '../util/errors.js';

/** synced() did not see a first full list of Services and EndpointSlices in time. */
export class SyncTimeoutError extends Error {
  constructor(
    readonly timeoutMs: number,
    readonly pending: string[],
  ) {
    super(`not synced after ${timeoutMs} ms: still waiting for ${pending.join(', ')}`);
    this.name = 'SyncTimeoutError';
  }
}

/** The source was stopped before it synced. */
export class SourceStoppedError extends Error {
  constructor() {
    super('source stopped before it synced');
    this.name = 'SourceStoppedError';
  }
}

/** A list could not be completed (a page failed, a continue token expired, no resourceVersion). */
export class IncompleteListError extends Error {
  constructor(
    readonly resource: string,
    readonly reason: string,
    override readonly cause?: unknown,
  ) {
    super(`list of ${resource} incomplete: ${reason}`);
    this.name = 'IncompleteListError';
  }
}

/** A watch ended with an error the server reported, other than 410 Gone. */
export class WatchFailedError extends Error {
  constructor(
    readonly resource: string,
    readonly statusCode: number | undefined,
    message: string,
  ) {
    super(`watch of ${resource} failed${statusCode ? ` (${statusCode})` : ''}: ${message}`);
    this.name = 'WatchFailedError';
  }
}

/** No kubeconfig could be loaded (bad path, not in a cluster). */
export class KubeConfigError extends Error {
  constructor(
    readonly source: string,
    override readonly cause: unknown,
  ) {
    super(`cannot load Kubernetes client configuration from ${source}: ${messageOf(cause)}`);
    this.name = 'KubeConfigError';
  }
}

/** Posting or patching an Event failed. */
export class EventPostError extends Error {
  constructor(
    readonly namespace: string,
    readonly reason: string,
    readonly statusCode: number | undefined,
    override readonly cause: unknown,
  ) {
    super(`cannot post event ${reason} in ${namespace}: ${messageOf(cause)}`);
    this.name = 'EventPostError';
  }
}

/** The HTTP status of an error thrown by client-node (generated API or Watch), if any. */
export function statusCodeOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { code?: unknown; statusCode?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}
