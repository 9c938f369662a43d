import type { RedisNodeAddress } from '../redis/redis-node-address.js';

const EXAMPLE = 'e.g. 10.0.0.5:7000,10.0.0.6:7000';
const HOST = /^[A-Za-z0-9_.-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;

/** The seed nodes a REDIS_CLUSTER_NODES value lists, or what is wrong with it (the message never repeats a credential). */
export type ClusterNodesParse = { nodes: RedisNodeAddress[] } | { problem: string };

/**
 * Parse `host:port,host:port,…` (IPv6 as `[addr]:port`; blanks around entries ignored). No scheme,
 * no credentials, no database: a cluster has only database 0, and its credentials are not read
 * from here.
 */
export function parseRedisClusterNodes(value: string): ClusterNodesParse {
  const nodes: RedisNodeAddress[] = [];
  const entries = value.split(',').map((entry) => entry.trim());
  for (const [i, entry] of entries.entries()) {
    const which = `entry ${i + 1}`;
    if (entry === '') return { problem: `expected host:port,host:port,… (${which} is empty; ${EXAMPLE})` };
    // A URL may carry a password: say what is wrong without repeating it.
    if (entry.includes('/') || entry.includes('@')) return { problem: `expected host:port entries, not URLs (${which}; ${EXAMPLE})` };
    const bracketed = /^\[([^\]]*)\]:(.*)$/.exec(entry);
    const colon = entry.lastIndexOf(':');
    const host = bracketed ? bracketed[1] ?? '' : entry.slice(0, Math.max(colon, 0));
    const port = bracketed ? bracketed[2] ?? '' : colon < 0 ? '' : entry.slice(colon + 1);
    const hostOk = bracketed ? host.includes(':') && IPV6.test(host) : HOST.test(host);
    if (colon < 0 || !hostOk) return { problem: `expected host:port, got "${entry}" (${which}; IPv6 as [addr]:port)` };
    const number = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (!(number >= 1 && number <= 65535)) return { problem: `expected a port 1-65535 in "${entry}" (${which})` };
    nodes.push({ host, port: number });
  }
  return { nodes };
}
