/** The local Redis Cluster for tests: the tools' helper, one place to import it from. */
export {
  hasRedisClusterTools,
  startPrivateRedisCluster,
  type PrivateRedisCluster,
  type PrivateRedisClusterNode,
  type PrivateRedisClusterOptions,
  type PrivateRedisFailover,
} from '../../tools/fleet/private-redis-cluster.js';
