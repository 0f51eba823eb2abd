// indipydriver's example 1: a thermostat reporting its temperature, read-only.
// `--interval S` sets the reporting period (default 10 s; the heater is polled five times as often).
import { Device, IPyDriver, NumberMember, NumberVector, isMainModule, runDriver } from 'indi-node';
import { intervalArg } from './run.js';
import { ThermalControl } from './thermalcontrol.js';

/** What the thermostat driver keeps in `driverdata`. */
export interface ThermoData {
  thermalcontrol: ThermalControl;
  interval: number;
}

/** Reports the simulated temperature every `interval` seconds. */
export class ThermoDriver extends IPyDriver<ThermoData> {
  override async hardware() {
    const { thermalcontrol: control, interval } = this.driverdata;
    const vector = this.device(control.devicename).numberVector('temperaturevector');
    void this.addBackground(() => control.poll(interval / 5, this.signal), 'heater poll');
    while (await this.sleep(interval * 1000)) {
      vector.set('temperature', control.temperature);
      await vector.sendSetVector();
    }
  }
}

/** The thermostat device with its read-only temperature (and more vectors for the other examples). */
export function thermostatDevice(control: ThermalControl, more: NumberVector[] = []): Device {
  const temperature = new NumberVector({
    name: 'temperaturevector',
    label: 'Temperature',
    group: 'Values',
    perm: 'ro',
    state: 'Ok',
    members: [new NumberMember({ name: 'temperature', label: 'Temperature (C)', format: '%3.1f', min: -50, max: 99, membervalue: control.temperature })],
  });
  return new Device(control.devicename, [temperature, ...more]);
}

/** The example's driver (`indi-node serve dist/examples/thermostat.js` serves it). */
export default function makeDriver(interval = 10): ThermoDriver {
  const control = new ThermalControl('Thermostat');
  return new ThermoDriver([thermostatDevice(control)], { thermalcontrol: control, interval });
}

if (isMainModule(import.meta)) await runDriver(makeDriver(intervalArg(10)), import.meta);
