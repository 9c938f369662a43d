import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { hasRedisServer } from './private-redis.js';

const execFileAsync = promisify(execFile);

/** Every slot a Redis Cluster has. */
const CLUSTER_SLOTS = 16_384;
/** A node's cluster bus listens on its port plus this. */
const BUS_PORT_OFFSET = 10_000;
/**
 * Client ports are drawn from here: below Linux's ephemeral range (32768+) with their bus ports
 * (+10000) too, so no outgoing connection's local port can take one between the check and the bind.
 */
const PORT_RANGE = { min: 12_000, max: 22_767 } as const;
/** How often the waits below ask the nodes again, in ms. */
const POLL_MS = 50;
/** How long one node command may take before the node counts as not answering, in ms. */
const NODE_COMMAND_TIMEOUT_MS = 1_000;

/** One redis-server of a {@link PrivateRedisCluster}. */
export interface PrivateRedisClusterNode {
  host: string;
  port: number;
  /** Process id of its redis-server. */
  readonly pid: number;
  /** False once killed (by {@link PrivateRedisCluster.killPrimary}) or destroyed. */
  readonly alive: boolean;
}

/** What {@link PrivateRedisCluster.killPrimary} saw. */
export interface PrivateRedisFailover {
  /** Port of the primary that was SIGKILLed. */
  killedPort: number;
  /** Port of its replica, now a primary serving the killed node's slots. */
  promotedPort: number;
  /** From the SIGKILL until every live node said `cluster_state:ok` with every slot served, in ms. */
  durationMs: number;
}

/** A local Redis Cluster of redis-server child processes owned by the caller (tests, tools). */
export interface PrivateRedisCluster {
  /** Every node started, primaries and replicas, in start order. */
  readonly nodes: readonly PrivateRedisClusterNode[];
  /** The seed nodes as `REDIS_CLUSTER_NODES` takes them: `127.0.0.1:port,…`. */
  readonly seeds: string;
  /** With `tls`: the PEM file of the CA that signed every node's certificate (as REDIS_CLUSTER_TLS_CA_FILE takes it); else undefined. */
  readonly caFile: string | undefined;
  /** From the first spawn until the cluster was ready, in ms. */
  readonly startMs: number;
  /** Ports of the live nodes that are primaries now (asks the nodes). */
  primaryPorts(): Promise<number[]>;
  /** Port of the live primary that serves `key`'s hash slot now (asks the nodes). */
  primaryPortOf(key: string): Promise<number>;
  /**
   * SIGKILL a primary (`port`, or the first live one) and wait until one of its replicas has taken
   * over and every live node says `cluster_state:ok` with all slots served. Throws when that does
   * not happen within `timeoutMs` (default 30 000).
   */
  killPrimary(options?: { port?: number; timeoutMs?: number }): Promise<PrivateRedisFailover>;
  /** Stop every node (SIGTERM, SIGKILL after 5 s) and remove their directories. Safe to call twice. */
  destroy(): Promise<void>;
}

/** Options of {@link startPrivateRedisCluster}. */
export interface PrivateRedisClusterOptions {
  /** Primaries; each gets `replicasPerPrimary` replicas. Default 3 (the least `redis-cli --cluster create` takes). */
  primaries?: number;
  /** Replicas per primary. Default 1. */
  replicasPerPrimary?: number;
  /**
   * `cluster-node-timeout`, in ms: how long a node may not answer before it is failed over. Short by
   * default (1000) so a killed primary's replica takes over within a few seconds.
   */
  nodeTimeoutMs?: number;
  /** Persist every node with AOF (everysec). Default false: no RDB, no AOF. */
  appendOnly?: boolean;
  /** How long the start may take until the cluster is ready, in ms. Default 30 000. */
  timeoutMs?: number;
  /**
   * TLS only: a throwaway CA and server certificate (SANs IP:127.0.0.1, DNS:localhost) are made
   * with `openssl` in a temp directory, every node listens on a `tls-port` only (`port 0`) and
   * talks TLS on its cluster bus and to its primary. Default false.
   */
  tls?: boolean;
}

/** True when both `redis-server` and `redis-cli` (which creates the cluster) are on PATH. */
export function hasRedisClusterTools(): boolean {
  return hasRedisServer() && spawnSync('redis-cli', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** The files of a throwaway CA and the one server certificate it signed (for every node). */
interface ClusterCertificates {
  dir: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

/**
 * Make a CA and a server certificate for loopback (SANs IP:127.0.0.1, DNS:localhost; also usable as
 * a client certificate, which nodes present to each other) with `openssl`, in a temp directory.
 */
async function makeCertificates(timeoutMs: number): Promise<ClusterCertificates> {
  const dir = mkdtempSync(join(tmpdir(), 'voodoo-redis-cluster-tls-'));
  const file = (name: string): string => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  writeFileSync(file('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n');
  const run = (args: string[]): Promise<unknown> =>
    execFileAsync('openssl', args, { timeout: timeoutMs }).catch((err: unknown) => {
      throw new Error(`openssl ${args[0] ?? ''} failed: ${(err as { stderr?: string }).stderr?.trim() ?? (err as Error).message}`);
    });
  try {
    await run(['req', '-x509', ...ec, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '1', '-subj', '/CN=voodoo test cluster CA']);
    await run(['req', '-new', ...ec, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost']);
    await run(['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', '1', '-out', file('server.pem'), '-extfile', file('server.ext')]);
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { dir, caFile: file('ca.pem'), certFile: file('server.pem'), keyFile: file('server.key') };
}

/** True when something can bind `port` on loopback right now. */
async function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port whose bus port (+10000) is free too, neither of them in `taken`. */
async function freeClusterPort(taken: ReadonlySet<number>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = PORT_RANGE.min + Math.floor(Math.random() * (PORT_RANGE.max - PORT_RANGE.min + 1));
    if (taken.has(port) || taken.has(port + BUS_PORT_OFFSET)) continue;
    if ((await canBind(port)) && (await canBind(port + BUS_PORT_OFFSET))) return port;
  }
  throw new Error(`no free port pair (port and port + ${BUS_PORT_OFFSET}) in ${PORT_RANGE.min}-${PORT_RANGE.max} after 200 tries`);
}

/** Run one command on the node at `port` over a connection of its own (TLS trusting `ca` when set); rejects when it does not answer. */
async function nodeCommand(ca: string | undefined, port: number, command: string, ...args: string[]): Promise<unknown> {
  const redis = new Redis({
    host: '127.0.0.1',
    port,
    ...(ca === undefined ? {} : { tls: { ca } }),
    lazyConnect: true,
    connectTimeout: NODE_COMMAND_TIMEOUT_MS,
    commandTimeout: NODE_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return await redis.call(command, ...args);
  } finally {
    redis.disconnect();
  }
}

/** `field:value` lines (INFO, CLUSTER INFO) as a map. */
function infoFields(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  return fields;
}

/** One line of CLUSTER NODES, the parts used here. */
interface NodeLine {
  id: string;
  port: number;
  flags: string[];
  /** Node id of the primary this one replicates, or null for a primary. */
  primaryId: string | null;
  /** Slot ranges served (`0-5460`, `5461`); empty for a replica. */
  slots: string[];
}

function parseClusterNodes(text: string): NodeLine[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [id = '', address = '', flags = '', primary = '-', , , , , ...slots] = line.trim().split(' ');
      // address is ip:port@busport[,hostname]
      const port = Number(/:(\d+)@/.exec(address)?.[1] ?? NaN);
      return { id, port, flags: flags.split(','), primaryId: primary === '-' ? null : primary, slots };
    });
}

/** Hash slot of `key` as the node computes it (honours hash tags). */
async function slotOf(ca: string | undefined, port: number, key: string): Promise<number> {
  return Number(await nodeCommand(ca, port, 'CLUSTER', 'KEYSLOT', key));
}

function servesSlot(line: NodeLine, slot: number): boolean {
  return line.slots.some((range) => {
    if (range.startsWith('[')) return false; // a slot being migrated or imported
    const [from, to = from] = range.split('-').map(Number);
    return from !== undefined && to !== undefined && slot >= from && slot <= to;
  });
}

/**
 * Start a Redis Cluster from `redis-server` and `redis-cli` on PATH: by default 3 primaries and 3
 * replicas on loopback, each on a free port whose bus port (+10000) is free too, each with a temp
 * directory of its own, no persistence, and a short `cluster-node-timeout` so failover is quick.
 * Resolves once every node says `cluster_state:ok`, knows every other node and sees all 16384
 * slots served, and every replica's link to its primary is up. On failure everything started is
 * stopped and removed before it throws. Never uses port 6379.
 */
export async function startPrivateRedisCluster(options: PrivateRedisClusterOptions = {}): Promise<PrivateRedisCluster> {
  if (!hasRedisClusterTools()) {
    throw new Error('redis-server or redis-cli is not on PATH: install them (Debian/Ubuntu: apt-get install redis-server, which brings redis-tools)');
  }
  const primaries = options.primaries ?? 3;
  const replicasPerPrimary = options.replicasPerPrimary ?? 1;
  const nodeTimeoutMs = options.nodeTimeoutMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 30_000;
  if (primaries < 3) throw new Error('a Redis Cluster needs at least 3 primaries');
  const count = primaries * (1 + replicasPerPrimary);
  const started = Date.now();
  const deadline = started + timeoutMs;

  interface RunningNode extends PrivateRedisClusterNode {
    dir: string;
    child: ChildProcess;
    alive: boolean;
  }
  const nodes: RunningNode[] = [];
  let destroying: Promise<void> | undefined;
  const certificates = options.tls === true ? await makeCertificates(timeoutMs) : undefined;
  const ca = certificates === undefined ? undefined : readFileSync(certificates.caFile, 'utf8');
  /** redis-cli's TLS flags for `--cluster create`. */
  const cliTls = certificates === undefined ? [] : ['--tls', '--cacert', certificates.caFile];

  const stopNode = async (node: RunningNode): Promise<void> => {
    const { child } = node;
    node.alive = false;
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(node.dir, { recursive: true, force: true });
  };
  const destroy = (): Promise<void> => {
    destroying ??= Promise.all(nodes.map(stopNode)).then(() => {
      if (certificates !== undefined) rmSync(certificates.dir, { recursive: true, force: true });
    });
    return destroying;
  };
  const remaining = (): number => Math.max(0, deadline - Date.now());
  const logTail = (node: RunningNode): string => {
    try {
      return readFileSync(join(node.dir, 'redis.log'), 'utf8').trim().split('\n').slice(-5).join(' | ');
    } catch {
      return '(no log)';
    }
  };

  /** Spawn one node on a free port pair; on a port lost to a race, try another. */
  const spawnNode = async (taken: Set<number>): Promise<RunningNode> => {
    for (let attempt = 1; ; attempt++) {
      const port = await freeClusterPort(taken);
      const dir = mkdtempSync(join(tmpdir(), 'voodoo-redis-cluster-'));
      const listen = certificates === undefined ? ['--port', String(port)] : ['--port', '0', '--tls-port', String(port)];
      const args = [...listen, '--bind', '127.0.0.1', '--dir', dir, '--daemonize', 'no', '--logfile', join(dir, 'redis.log')];
      if (certificates !== undefined) {
        args.push('--tls-cluster', 'yes', '--tls-replication', 'yes', '--tls-auth-clients', 'no');
        args.push('--tls-cert-file', certificates.certFile, '--tls-key-file', certificates.keyFile, '--tls-ca-cert-file', certificates.caFile);
      }
      args.push('--save', '', '--appendonly', options.appendOnly === true ? 'yes' : 'no');
      args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', String(nodeTimeoutMs));
      // A replica fails over however long ago it last heard from its primary: tests kill primaries on purpose.
      args.push('--cluster-replica-validity-factor', '0');
      // A replica's first full sync starts at once, not after the default 5 s wait for more replicas.
      args.push('--repl-diskless-sync-delay', '0');
      const child = spawn('redis-server', args, { stdio: 'ignore' });
      const node: RunningNode = { host: '127.0.0.1', port, pid: child.pid ?? 0, dir, child, alive: true };
      const dead = (): void => {
        node.alive = false;
      };
      child.once('exit', dead);
      child.once('error', dead);
      nodes.push(node);
      // PING answers only once the bus port is bound too (a failed bus bind exits before serving).
      while (node.alive && remaining() > 0) {
        if (await nodeCommand(ca, port, 'PING').then(() => true, () => false)) break;
        await sleep(25);
      }
      if (node.alive && remaining() > 0) {
        taken.add(port).add(port + BUS_PORT_OFFSET);
        return node;
      }
      const why = logTail(node);
      nodes.splice(nodes.indexOf(node), 1);
      await stopNode(node);
      if (attempt >= 3 || remaining() === 0) throw new Error(`redis-server on port ${port} did not start: ${why}`);
    }
  };

  /** Ask `check` until it answers something other than false or undefined (an error counts as not yet), and return that. */
  const waitUntil = async <T>(what: string, check: () => Promise<T | false | undefined>, since: number, withinMs: number): Promise<T> => {
    for (;;) {
      const answer = await check().catch(() => undefined);
      if (answer !== false && answer !== undefined) return answer;
      if (Date.now() >= since + withinMs) throw new Error(`Redis Cluster: ${what} within ${withinMs} ms`);
      await sleep(POLL_MS);
    }
  };

  const liveNodes = (): RunningNode[] => nodes.filter((n) => n.alive);

  /** Every live node: state ok, all slots served, every live node known and connected. */
  const clusterOk = async (): Promise<boolean> => {
    const live = liveNodes();
    for (const node of live) {
      const info = infoFields(String(await nodeCommand(ca, node.port, 'CLUSTER', 'INFO')));
      if (info.get('cluster_state') !== 'ok' || info.get('cluster_slots_ok') !== String(CLUSTER_SLOTS)) return false;
      const lines = parseClusterNodes(String(await nodeCommand(ca, node.port, 'CLUSTER', 'NODES')));
      for (const other of live) {
        const line = lines.find((l) => l.port === other.port);
        if (line === undefined || line.flags.some((f) => f === 'fail' || f === 'fail?' || f === 'handshake' || f === 'noaddr')) return false;
      }
    }
    return true;
  };

  /**
   * Every live replica's link to its primary is up (a replica that never synced cannot take over),
   * and every node is in its role: right after `--cluster create` a replica-to-be may still say
   * `master` (and gossip may still list it so) until it has been told its primary.
   */
  const replicasLinked = async (): Promise<boolean> => {
    let masters = 0;
    for (const node of liveNodes()) {
      const info = infoFields(String(await nodeCommand(ca, node.port, 'INFO', 'replication')));
      if (info.get('role') === 'master') masters += 1;
      if (info.get('role') === 'slave' && info.get('master_link_status') !== 'up') return false;
    }
    if (masters !== primaries) return false;
    for (const node of liveNodes()) {
      const lines = parseClusterNodes(String(await nodeCommand(ca, node.port, 'CLUSTER', 'NODES')));
      if (lines.filter((l) => l.flags.includes('master')).length !== primaries) return false;
    }
    return true;
  };

  const clusterNodes = async (): Promise<NodeLine[]> => {
    const first = liveNodes()[0];
    if (first === undefined) throw new Error('Redis Cluster: no live node left');
    return parseClusterNodes(String(await nodeCommand(ca, first.port, 'CLUSTER', 'NODES')));
  };

  const primaryPorts = async (): Promise<number[]> => {
    const live = new Set(liveNodes().map((n) => n.port));
    return (await clusterNodes()).filter((l) => l.flags.includes('master') && !l.flags.includes('fail') && live.has(l.port)).map((l) => l.port);
  };

  try {
    const taken = new Set<number>();
    for (let i = 0; i < count; i++) await spawnNode(taken);
    const addresses = nodes.map((n) => `${n.host}:${n.port}`);
    await execFileAsync('redis-cli', [...cliTls, '--cluster', 'create', ...addresses, '--cluster-replicas', String(replicasPerPrimary), '--cluster-yes'], {
      timeout: Math.max(1_000, remaining()),
    }).catch((err: unknown) => {
      const stdout = (err as { stdout?: string }).stdout ?? '';
      throw new Error(`redis-cli --cluster create failed: ${(err as Error).message} ${stdout.trim().split('\n').slice(-3).join(' | ')}`);
    });
    await waitUntil('not every node said cluster_state:ok with all slots served', clusterOk, started, timeoutMs);
    await waitUntil('not every replica linked to its primary', replicasLinked, started, timeoutMs);
  } catch (err) {
    await destroy();
    throw err;
  }
  const startMs = Date.now() - started;

  return {
    nodes,
    seeds: nodes.map((n) => `${n.host}:${n.port}`).join(','),
    caFile: certificates?.caFile,
    startMs,
    primaryPorts,
    primaryPortOf: async (key) => {
      const first = liveNodes()[0];
      if (first === undefined) throw new Error('Redis Cluster: no live node left');
      const slot = await slotOf(ca, first.port, key);
      const live = new Set(liveNodes().map((n) => n.port));
      const owner = (await clusterNodes()).find((l) => l.flags.includes('master') && live.has(l.port) && servesSlot(l, slot));
      if (owner === undefined) throw new Error(`Redis Cluster: no live primary serves slot ${slot}`);
      return owner.port;
    },
    killPrimary: async ({ port, timeoutMs: failoverTimeoutMs = 30_000 } = {}) => {
      const lines = await clusterNodes();
      const wanted = port ?? (await primaryPorts())[0];
      const victim = nodes.find((n) => n.port === wanted && n.alive);
      const line = lines.find((l) => l.port === wanted);
      if (victim === undefined || line === undefined || !line.flags.includes('master')) {
        throw new Error(`Redis Cluster: no live primary on port ${String(wanted)}`);
      }
      const replicaPorts = lines.filter((l) => l.primaryId === line.id).map((l) => l.port);
      if (replicaPorts.length === 0) throw new Error(`Redis Cluster: the primary on port ${victim.port} has no replica to take over`);
      const killedAt = Date.now();
      await new Promise<void>((resolve) => {
        victim.child.once('exit', () => resolve());
        victim.child.kill('SIGKILL');
      });
      victim.alive = false;
      /** The port of the replica that is a primary now, if one is. */
      const promoted = async (): Promise<number | undefined> => {
        for (const replica of replicaPorts) {
          const role = (await nodeCommand(ca, replica, 'ROLE')) as unknown[];
          if (role[0] === 'master') return replica;
        }
        return undefined;
      };
      const promotedPort = await waitUntil(`no replica of ${victim.port} took over`, promoted, killedAt, failoverTimeoutMs);
      await waitUntil('not every live node said cluster_state:ok after the failover', clusterOk, killedAt, failoverTimeoutMs);
      return { killedPort: victim.port, promotedPort, durationMs: Date.now() - killedAt };
    },
    destroy,
  };
}
