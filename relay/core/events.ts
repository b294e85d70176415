// The in-process event hub. The WebSocket hub (and, later, IMAP IDLE) listen here; a multi-node
// deployment swaps in a Bus that also crosses processes.
import type { Bus, RelayEvent } from './ports.ts';

export class InProcessBus implements Bus {
  private listeners = new Set<(event: RelayEvent) => void>();

  constructor(private onListenerError: (err: unknown) => void = () => {}) {}

  publish(event: RelayEvent): void {
    for (const listener of this.listeners) {
      // One failing consumer must not starve the others.
      try {
        listener(event);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  subscribe(listener: (event: RelayEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
