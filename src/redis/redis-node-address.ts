/** One Redis node's address, e.g. a seed node of a cluster (REDIS_CLUSTER_NODES lists them). */
export interface RedisNodeAddress {
  /** Host name or IP address (IPv6 without brackets). */
  host: string;
  /** TCP port, 1-65535. */
  port: number;
}
