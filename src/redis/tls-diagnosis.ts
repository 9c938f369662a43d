import { connect } from 'node:tls';
import type { RedisClusterTls } from './connect.js';
import type { RedisNodeAddress } from './redis-node-address.js';

/** How long the diagnosis waits for the TLS handshake, in ms. */
const HANDSHAKE_TIMEOUT_MS = 2_000;

/**
 * Why a TLS handshake with `node` fails (e.g. "self-signed certificate in certificate chain",
 * "Hostname/IP does not match certificate's altnames"), or undefined when it succeeds or the node
 * does not answer within 2 s. For error messages only: ioredis' cluster reports a refused
 * certificate as a bare "Connection is closed.".
 */
export async function diagnoseTlsHandshake(node: RedisNodeAddress, tls: RedisClusterTls): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: node.host, port: node.port, ...(tls.ca === undefined ? {} : { ca: tls.ca }), timeout: HANDSHAKE_TIMEOUT_MS });
    const done = (why: string | undefined): void => {
      socket.destroy();
      resolve(why);
    };
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err: Error) => done(`TLS to ${node.host}:${node.port}: ${err.message}`));
    socket.once('timeout', () => done(undefined));
  });
}
