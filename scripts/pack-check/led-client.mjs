// Talks to the LED example served on TCP: asks for its properties, switches the LED on, and
// checks both answers. Usage: node led-client.mjs PORT. Bounded: exits 1 after 20 s.
import { connect } from 'node:net';

const port = Number(process.argv[2]);
const timer = setTimeout(() => fail(`no answer within 20 s; received:\n${received}`), 20_000);
let received = '';
let switched = false;

function fail(message) {
  console.error(`led-client: ${message}`);
  process.exit(1);
}

const socket = connect({ host: '127.0.0.1', port });
socket.on('error', (error) => fail(error.message));
socket.on('connect', () => socket.write('<getProperties version="1.7"/>\n'));
socket.on('data', (data) => {
  received += data;
  if (!switched && received.includes('</defSwitchVector>')) {
    if (!/<defSwitchVector device="led" name="ledvector"[^>]*>\s*<defSwitch name="ledmember"[^>]*>\s*Off\s*<\/defSwitch>/.test(received)) {
      fail(`unexpected definition: ${received}`);
    }
    switched = true;
    socket.write('<newSwitchVector device="led" name="ledvector"><oneSwitch name="ledmember">On</oneSwitch></newSwitchVector>\n');
  }
  if (switched && /<setSwitchVector device="led" name="ledvector"[^>]*>\s*<oneSwitch name="ledmember">\s*On\s*<\/oneSwitch>/.test(received)) {
    console.log('LED example: getProperties answered with defSwitchVector (Off), newSwitchVector On answered with setSwitchVector On');
    clearTimeout(timer);
    socket.end();
  }
});
