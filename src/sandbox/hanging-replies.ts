import type { FastifyReply } from 'fastify';

/**
 * Replies held back by the `create.hangAfterCommit` fault. Each is answered after its delay unless
 * the client gives up first; close() cancels them all so a hang never keeps the server open.
 */
export class HangingReplies {
  private readonly held = new Map<FastifyReply, NodeJS.Timeout>();

  /** Run `answer` after `delayMs`, unless the connection closes first. */
  hold(reply: FastifyReply, delayMs: number, answer: () => void): void {
    const timer = setTimeout(() => {
      this.held.delete(reply);
      answer();
    }, delayMs);
    this.held.set(reply, timer);
    reply.raw.once('close', () => {
      clearTimeout(timer);
      this.held.delete(reply);
    });
  }

  /** Drop every held reply: the client sees the connection end without an answer. */
  cancelAll(): void {
    for (const [reply, timer] of this.held) {
      clearTimeout(timer);
      reply.raw.destroy();
    }
    this.held.clear();
  }
}
