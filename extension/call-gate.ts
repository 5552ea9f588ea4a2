/**
 * Bounds the memory that concurrent calls can pin. grpc-js buffers a whole request before the handler
 * runs, and a hook then holds it, its copy and its answer: 40 concurrent 15 MiB requests took the
 * unbounded server to 1.3–2 GiB RSS. The gate admits a call at its headers, before grpc-js reads a byte
 * of its body (the HTTP/2 stream stays paused until the handler asks to read), so at most `maxInFlight`
 * request bodies are in memory at once. Up to `maxQueued` more wait (cheap: headers only, the body held
 * back by HTTP/2 flow control); beyond that a call is answered RESOURCE_EXHAUSTED at once.
 */
import * as grpc from '@grpc/grpc-js';

export interface CallGateOptions {
  maxInFlight: number;
  maxQueued: number;
}

/**
 * One call at a time: a 15 MiB request of the worst shape (a virtual host of tiny routes, decoded into
 * objects) costs 250–300 MiB; two at once peaked at 460–680 MiB against the chart's 512 MiB limit
 * (test/faults/extension-memory.test.ts). Envoy Gateway calls the hooks one after another within a
 * translation, so queueing costs it little.
 */
export const defaultCallLimits: CallGateOptions = { maxInFlight: 1, maxQueued: 64 };

/** A counting semaphore with a bounded FIFO of waiters. */
export class CallGate {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly opts: CallGateOptions) {}

  get running(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /**
   * Runs `admitted` now or once a slot frees, and returns a cancel function (a no-op once admitted);
   * false when the queue is full. Every admission must be followed by exactly one release().
   */
  enter(admitted: () => void): (() => void) | false {
    if (this.inFlight < this.opts.maxInFlight) {
      this.inFlight++;
      admitted();
      return () => undefined;
    }
    if (this.waiting.length >= this.opts.maxQueued) return false;
    const waiter = () => {
      this.inFlight++;
      admitted();
    };
    this.waiting.push(waiter);
    return () => {
      const at = this.waiting.indexOf(waiter);
      if (at >= 0) this.waiting.splice(at, 1);
    };
  }

  release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

/**
 * A grpc-js server interceptor passing every call through `gate`. The slot is held from admission until
 * the call's status is sent or the client goes away, whichever comes first.
 */
export function gateInterceptor(gate: CallGate, onRefused: (method: string) => void): grpc.ServerInterceptor {
  return (method, call) => {
    let state: 'waiting' | 'admitted' | 'done' = 'waiting';
    let leave: () => void = () => undefined;
    const finish = () => {
      if (state === 'admitted') gate.release();
      else leave();
      state = 'done';
    };
    const intercepted: grpc.ServerInterceptingCall = new grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, forward) => {
            const entered = gate.enter(() => {
              if (state !== 'waiting') {
                // Cancelled while its admission was already on its way: give the slot back.
                gate.release();
                return;
              }
              state = 'admitted';
              forward(metadata);
            });
            if (entered === false) {
              state = 'done';
              onRefused(method.path);
              intercepted.sendStatus({
                code: grpc.status.RESOURCE_EXHAUSTED,
                details: `extension server busy: ${gate.opts.maxInFlight} calls running and ${gate.opts.maxQueued} queued`,
              });
              return;
            }
            leave = entered;
          },
          onCancel: finish,
        }),
      sendStatus: (status, forward) => {
        finish();
        forward(status);
      },
    });
    return intercepted;
  };
}
