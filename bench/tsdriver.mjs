#!/usr/bin/env node
// The benchmark device written with indi-node's TypeScript API, served in-process by IPyServer:
// the counterpart of pydriver.py (indipydriver + indipyserver). Usage: tsdriver.mjs PORT
import { randomBytes } from 'node:crypto';
import {
  BLOBMember,
  BLOBVector,
  Device,
  IPyDriver,
  IPyServer,
  NewBLOBVector,
  NewNumberVector,
  NewSwitchVector,
  NumberMember,
  NumberVector,
  SwitchMember,
  SwitchVector,
} from '../dist/index.js';

const mode = process.env.BENCH_MODE ?? 'blob';
const size = Number(process.env.BENCH_SIZE ?? 1 << 20);
const count = Number(process.env.BENCH_COUNT ?? 100);
const payload = randomBytes(size);

class BenchDriver extends IPyDriver {
  uploads = 0;

  async rxevent(event) {
    const device = this.get('Bench');
    if (event instanceof NewSwitchVector && event.vectorname === 'GO') {
      if (mode === 'blob') {
        const vector = device.get('BLOB');
        for (let i = 0; i < count; i++) {
          vector.set('DATA', payload);
          await vector.sendSetVectorMembers({ members: ['DATA'] });
        }
      } else {
        const vector = device.get('NUM');
        for (let i = 0; i < count; i++) {
          vector.set('N', i);
          await vector.sendSetVector();
        }
      }
    } else if (event instanceof NewNumberVector && event.vectorname === 'PING') {
      const vector = device.get('PING');
      vector.set('P', event.get('P'));
      await vector.sendSetVector();
    } else if (event instanceof NewBLOBVector && event.vectorname === 'UPLOAD') {
      if (++this.uploads === count) {
        this.uploads = 0;
        const vector = device.get('NUM');
        vector.set('N', -1);
        await vector.sendSetVector();
      }
    }
  }
}

const number = (name, perm) => new NumberVector({ name, label: name, group: 'Bench', perm, members: [new NumberMember({ name: name[0], format: '%g' })] });
const device = new Device('Bench', [
  new BLOBVector({ name: 'BLOB', group: 'Bench', perm: 'ro', members: [new BLOBMember({ name: 'DATA', blobformat: '.bin' })] }),
  new BLOBVector({ name: 'UPLOAD', group: 'Bench', perm: 'wo', members: [new BLOBMember({ name: 'DATA' })] }),
  number('NUM', 'ro'),
  number('PING', 'rw'),
  new SwitchVector({ name: 'GO', group: 'Bench', perm: 'rw', rule: 'AnyOfMany', members: [new SwitchMember({ name: 'GO' })] }),
]);

const server = new IPyServer([new BenchDriver([device])], { host: '127.0.0.1', port: Number(process.argv[2]), blobDropMB: 0, maxQueueMB: 4096 });
process.once('SIGTERM', () => server.shutdown());
await server.run();
