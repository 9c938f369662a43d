import type { Job } from 'bullmq';
import { RESOLVE_JOB_NAME } from '../queue/job-ids.js';
import type { OrderJobOutcome } from './order-job-handler.js';
import type { ResolutionJobOutcome } from './resolution-job-handler.js';

type Processor<T> = (job: Job, token?: string) => Promise<T>;

/**
 * The processor of `order-intents`: an operator's resolve request (a job named `resolve`) goes to the
 * resolution handler, anything else is an intent (named `order` by enqueueOrder; producers may name
 * theirs otherwise).
 */
export function createIntentsQueueHandler(handlers: {
  order: Processor<OrderJobOutcome>;
  resolve: Processor<ResolutionJobOutcome>;
}): Processor<OrderJobOutcome | ResolutionJobOutcome> {
  return (job, token) => (job.name === RESOLVE_JOB_NAME ? handlers.resolve(job, token) : handlers.order(job, token));
}
