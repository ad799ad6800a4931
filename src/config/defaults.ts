// Defaults that several commands share, in a module with no imports, so that a command that needs
// only these (status, cleanup) does not load the settings' schema to learn them.

/** Where the agent keeps the record of what it owns, as kube-proxy keeps nothing: ours alone. */
export const DEFAULT_STATE_DIR = '/var/lib/ipvs-proxy';

/** The dummy link that holds the VIPs: kube-proxy's name, so a node can move between the two. */
export const DUMMY_LINK_NAME = 'kube-ipvs0';
