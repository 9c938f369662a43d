/**
 * A development tool's own failure: the local fleet (demo, bench, chaos) could not start, lost a
 * process, did not finish in time, or was interrupted. Tools only: the product's error family
 * (src/errors/errors.ts) holds what the shipped code raises.
 */
export class FleetError extends Error {
  readonly code = 'fleet_failed';

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'FleetError';
  }
}
