"""Benchmark receiver on PyPI's indipyclient (asyncio; every element parsed into its model).
Same protocol as bench/client.mjs receive (bench/clientargs.py): prints `ready`, waits for `go`
on stdin, prints one JSON line."""
import asyncio
import json
import sys
import time

import indipyclient

from clientargs import COUNT, PORT, VECTOR


class Client(indipyclient.IPyClient):
    def __init__(self, **kw):
        super().__init__(**kw)
        self.seen = 0
        self.last = None
        self.done = asyncio.Event()

    async def rxevent(self, event):
        if event.eventtype in ("Set", "SetBLOB"):
            if event.devicename == "Bench" and event.vectorname == VECTOR:
                self.seen += 1
                if self.seen >= COUNT:
                    self.last = time.time() * 1000
                    self.done.set()

    async def hardware(self):
        while not ("Bench" in self and "GO" in self["Bench"]):
            await asyncio.sleep(0.01)
        print("ready", flush=True)
        loop = asyncio.get_running_loop()
        while (await loop.run_in_executor(None, sys.stdin.readline)).strip() != "go":
            pass
        first = time.time() * 1000
        await self.send_newVector("Bench", "GO", members={"GO": "On"})
        await self.done.wait()
        print(json.dumps({"elements": self.seen, "first": first, "last": self.last}), flush=True)
        self.shutdown()


async def main():
    client = Client(indihost="127.0.0.1", indiport=PORT)
    client.enableBLOBdefault = "Also"
    await client.asyncrun()


asyncio.run(main())
