// Turns SIGTERM (systemd stopping the unit, the shutdown of a reboot), SIGINT (Ctrl-C) and SIGHUP
// into an AbortSignal, so the update run stops its hook and leaves state and lock consistent
// instead of dying between two writes.
import { ClientError } from './errors.js';

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export interface Interruption {
  signal: AbortSignal;
  /** removes the handlers: afterwards signals have their default effect again */
  dispose(): void;
}

export function interruptOnSignals(onSignal: (name: string) => void): Interruption {
  const controller = new AbortController();
  const handlers = SIGNALS.map((name) => {
    const handler = () => {
      onSignal(name);
      if (!controller.signal.aborted) {
        controller.abort(new ClientError('interrupted', `interrupted by ${name}`));
      }
    };
    process.on(name, handler);
    return [name, handler] as const;
  });
  return {
    signal: controller.signal,
    dispose: () => {
      for (const [name, handler] of handlers) process.off(name, handler);
    },
  };
}
