// Runs under the arm64 Node: a GPIO round trip on the simulated backend through the aarch64
// addon. Prints one line per check; must exit by itself once every device is closed.
import assert from 'node:assert/strict';
import { Button, gpioBackend, LED, PWMLED, simulatedPins } from 'indi-node';

assert.equal(process.arch, 'arm64');
assert.equal(gpioBackend(), 'simulated');
console.log(`arch ${process.arch}, backend ${gpioBackend()}`);

const led = new LED(17);
led.on();
assert.deepEqual([led.isLit, simulatedPins.get(17).level], [true, 1]);
led.toggle();
assert.equal(simulatedPins.get(17).level, 0);
console.log('output ok');

const dimmer = new PWMLED(12, { frequency: 200 });
dimmer.value = 0.25;
assert.deepEqual(simulatedPins.get(12).pwm, { frequency: 200, duty: 0.25 });
console.log('pwm ok');

const button = new Button(2);
assert.equal(button.isPressed, false);
const edges = [];
button.whenPressed = () => edges.push('pressed');
button.whenReleased = () => {
  edges.push('released');
  assert.deepEqual(edges, ['pressed', 'released']);
  console.log('edges ok');
  for (const device of [led, dimmer, button]) device.close();
};
simulatedPins.setInput(2, 0);
assert.equal(button.isPressed, true);
simulatedPins.setInput(2, 1);
