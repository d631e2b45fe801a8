/**
 * The cluster metrics the tests read, by the names the relay's metrics define (relay/src: issue 17's cluster
 * counters). One place, so a rename is one edit here.
 */
export const CLUSTER_METRICS = {
  /** Client connections this instance forwarded to the room's home instance. */
  forwardedLinks: 'portunus_relay_forwarded_links_total',
} as const;
