/**
 * The URL to reach a server bound to `host`:`port`, without a trailing slash. Unspecified addresses
 * (0.0.0.0, ::) are not something to connect to; loopback reaches the same socket.
 */
export function listenUrl(host: string, port: number): string {
  let reachable = host;
  if (host === '0.0.0.0') reachable = '127.0.0.1';
  else if (host === '::') reachable = '[::1]';
  else if (host.includes(':')) reachable = `[${host}]`;
  return `http://${reachable}:${port}`;
}
