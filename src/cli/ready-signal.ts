/**
 * The message a long-running command (worker, webhook, dashboard, sandbox) sends its parent over
 * IPC once it is ready to work. PM2's `wait_ready` waits for exactly this string, and the fleet
 * tooling spawns its processes with an IPC channel to receive it: nobody parses a log line for it.
 */
export const READY_MESSAGE = 'ready';

/** Tell the parent that this process is ready, when it was started with an IPC channel; else nothing. */
export function signalReady(): void {
  if (process.send === undefined || !process.connected) return;
  // A parent that has gone away is no reason to fail: the callback takes the error instead of an
  // 'error' event nobody listens to.
  process.send(READY_MESSAGE, () => undefined);
}
