// A driver link that records what a driver sends (the transport is tested elsewhere).
import type { WireElement } from '../binding.cjs';

export class RecordingLink {
  sent: WireElement[] = [];
  closed = false;
  send(element: WireElement): boolean {
    this.sent.push(element);
    return true;
  }
  async drained(): Promise<void> {}
  close(): void {
    this.closed = true;
  }
}
