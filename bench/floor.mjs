#!/usr/bin/env node
// The round-trip floor: a server that does as little as any server can. It answers
// getProperties with the Bench device's GO switch and each PING request with the matching
// setNumberVector, from Node's JavaScript thread, finding the value by string search (no XML
// parsing, no routing). Whatever a real server adds to a round trip is measured above this.
//
//   node bench/floor.mjs PORT
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
const GO =
  '<defSwitchVector device="Bench" name="GO" label="GO" group="Bench" state="Idle" perm="rw" rule="AnyOfMany" timeout="0">' +
  '<defSwitch name="GO" label="GO">Off</defSwitch></defSwitchVector>\n';
const END = '</newNumberVector>';

createServer((socket) => {
  socket.setNoDelay(true);
  let text = '';
  socket.on('data', (chunk) => {
    text += chunk.toString('latin1');
    if (text.includes('<getProperties')) {
      socket.write(GO);
      text = text.slice(text.lastIndexOf('/>') + 2);
    }
    let end;
    while ((end = text.indexOf(END)) >= 0) {
      const element = text.slice(0, end);
      text = text.slice(end + END.length);
      const at = element.indexOf('name="P">');
      if (at < 0) continue;
      const value = element.slice(at + 9, element.indexOf('<', at));
      socket.write(`<setNumberVector device="Bench" name="PING" state="Ok"><oneNumber name="P">${value}</oneNumber></setNumberVector>\n`);
    }
  });
  socket.on('error', () => {});
}).listen(port, '127.0.0.1');
