// The status command's public surface, for the CLI to wire.
export {
  runStatus,
  checkStatusOptions,
  listViewOf,
  formatTimeouts,
  StatusUsageError,
  ConnectionTableUnreadableError,
  DEFAULT_CONN_PROC_PATH,
} from './run-status.js';
export type { StatusOptions, StatusDeps, StatusResult } from './run-status.js';
export { formatList, formatBanner, formatListTitle, formatServiceLine, formatRealLine, orderEntries } from './list-view.js';
export type { ListView, ListOptions } from './list-view.js';
export { formatSave, formatSaveService, formatSaveReal } from './save-view.js';
export { formatConnections, parseConnections, parseConnectionLine, MalformedConnectionLineError } from './connections.js';
export type { ConnectionEntry } from './connections.js';
export { formatLargeNumber } from './largenum.js';
export { formatNamedList, nameEntries, ownedEntries } from './names-view.js';
export { ownershipFromDesired } from './ownership.js';
export type { OwnershipRecord, OwnedVirtualServer, OwnedRealServer } from './ownership.js';
export { diffState, formatDiff } from './diff.js';
export type { StatusDiff, DiffOptions, VirtualServerDifference, RealServerDifference, FieldDifference } from './diff.js';
export { tableJson, diffJson, connectionsJson, timeoutsJson, STATUS_JSON_SCHEMA_VERSION } from './json-view.js';
export { sortServicesLikeIpvsadm, sortRealsLikeIpvsadm } from './sort.js';
