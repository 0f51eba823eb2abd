// The simulated heater of indipydriver's thermostat examples: the temperature drifts 0.1 degree
// per poll, down with the heater off and up with it on; the heater switches around the target.
import { setTimeout as sleep } from 'node:timers/promises';

export class ThermalControl {
  temperature = 20;
  heater: 'On' | 'Off' = 'Off';

  constructor(
    readonly devicename: string,
    public target = 15,
  ) {}

  /** One poll of the simulated hardware. */
  step(): void {
    if (this.heater === 'On') this.temperature += 0.1;
    else this.temperature -= 0.1;
    if (this.temperature > this.target + 0.5) this.heater = 'Off';
    if (this.temperature < this.target - 0.5) this.heater = 'On';
  }

  /** Polls every `seconds` until `signal` aborts. */
  async poll(seconds: number, signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(seconds * 1000, undefined, { signal }).catch(() => undefined);
      if (!signal.aborted) this.step();
    }
  }
}
