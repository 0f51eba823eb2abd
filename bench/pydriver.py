"""The benchmark device written with indipydriver 3.x and served by indipyserver (both PyPI),
to compare with the same device written with indi-node's TypeScript API (tsdriver.mjs).
Same vectors and behaviour as driver.mjs. Usage: pydriver.py PORT (settings from BENCH_*)."""
import asyncio
import os
import sys

import indipydriver as ipd
from indipyserver import IPyServer

MODE = os.environ.get("BENCH_MODE", "blob")
SIZE = int(os.environ.get("BENCH_SIZE", str(1 << 20)))
COUNT = int(os.environ.get("BENCH_COUNT", "100"))
PAYLOAD = os.urandom(SIZE)


class BenchDriver(ipd.IPyDriver):
    uploads = 0

    async def rxevent(self, event):
        device = self["Bench"]
        if isinstance(event, ipd.newSwitchVector) and event.vectorname == "GO":
            if MODE == "blob":
                vector = device["BLOB"]
                for _ in range(COUNT):
                    vector["DATA"] = PAYLOAD
                    await vector.send_setVectorMembers(members=["DATA"])
            else:
                vector = device["NUM"]
                for i in range(COUNT):
                    vector["N"] = i
                    await vector.send_setVector()
        elif isinstance(event, ipd.newNumberVector) and event.vectorname == "PING":
            vector = device["PING"]
            vector["P"] = event["P"]
            await vector.send_setVector()
        elif isinstance(event, ipd.newBLOBVector) and event.vectorname == "UPLOAD":
            self.uploads += 1
            if self.uploads == COUNT:
                self.uploads = 0
                vector = device["NUM"]
                vector["N"] = -1
                await vector.send_setVector()


def number(name, perm):
    member = ipd.NumberMember(name[0], label=name[0], format="%g", membervalue=0)
    return ipd.NumberVector(name, name, "Bench", perm, "Idle", [member])


device = ipd.Device(
    "Bench",
    [
        ipd.BLOBVector("BLOB", "BLOB", "Bench", "ro", "Idle", [ipd.BLOBMember("DATA", "Data", blobformat=".bin")]),
        ipd.BLOBVector("UPLOAD", "Upload", "Bench", "wo", "Idle", [ipd.BLOBMember("DATA", "Data")]),
        number("NUM", "ro"),
        number("PING", "rw"),
        ipd.SwitchVector("GO", "Go", "Bench", "rw", "AnyOfMany", "Idle", [ipd.SwitchMember("GO", "Go", "Off")]),
    ],
)

server = IPyServer(BenchDriver(device), host="127.0.0.1", port=int(sys.argv[1]))
asyncio.run(server.asyncrun())
