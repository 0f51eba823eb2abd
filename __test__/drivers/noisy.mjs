#!/usr/bin/env node
// Test driver that prints to stdout the ways user code does, throws in its callbacks, and
// receives uploads: stdout must still carry nothing but INDI.
import { createHash } from 'node:crypto';
import {
  BLOBMember, BLOBVector, Device, IPyDriver, NewBLOBVector, NewTextVector, TextMember, TextVector,
} from '../../dist/index.js';

class Noisy extends IPyDriver {
  async hardware() {
    console.log('console.log from hardware');
    console.info('console.info from hardware');
    process.stdout.write('process.stdout.write from hardware\n');
    throw new Error('hardware failed on purpose');
  }

  async rxevent(event) {
    const device = this.get('Noisy');
    if (event instanceof NewTextVector) {
      if (event.get('text') === 'throw') throw new Error('rxevent failed on purpose');
      event.vector.set('text', event.get('text'));
      await event.vector.sendSetVector();
    } else if (event instanceof NewBLOBVector) {
      const data = event.get('data');
      const digest = device.get('DIGEST');
      digest.set('sha256', createHash('sha256').update(data).digest('hex'));
      digest.set('size', `${data.length} ${event.sizeformat.get('data').format}`);
      await digest.sendSetVector();
      // Acknowledge the upload with an empty set vector, as indipydriver's docs show.
      await event.vector.sendSetVectorMembers({ state: 'Ok', members: [] });
    }
  }
}

const device = new Device('Noisy', [
  new TextVector({ name: 'ECHO', perm: 'rw', members: [new TextMember({ name: 'text' })] }),
  new TextVector({ name: 'DIGEST', perm: 'ro', members: [new TextMember({ name: 'sha256' }), new TextMember({ name: 'size' })] }),
  new BLOBVector({ name: 'UPLOAD', perm: 'wo', members: [new BLOBMember({ name: 'data' })] }),
]);

await new Noisy([device]).run();
