"""Benchmark receiver on PyIndi (libindi's C++ BaseClient, as KStars and PyIndi scripts use it).
Same protocol as bench/client.mjs receive (bench/clientargs.py): prints `ready`, waits for `go`
on stdin, prints one JSON line."""
import json
import sys
import threading
import time

import PyIndi

from clientargs import COUNT, PORT, VECTOR


class Client(PyIndi.BaseClient):
    def __init__(self):
        super().__init__()
        self.seen = 0
        self.last = None
        self.done = threading.Event()

    def updateProperty(self, prop):
        if prop.getDeviceName() == "Bench" and prop.getName() == VECTOR:
            self.seen += 1
            if self.seen >= COUNT:
                self.last = time.time() * 1000
                self.done.set()


def main():
    client = Client()
    client.setServer("127.0.0.1", PORT)
    if not client.connectServer():
        raise SystemExit(f"cannot connect to 127.0.0.1:{PORT}")
    deadline = time.time() + 30
    go = None
    while go is None and time.time() < deadline:
        device = client.getDevice("Bench")
        go = device.getSwitch("GO") if device else None
        if go is None:
            time.sleep(0.01)
    if go is None:
        raise SystemExit("no Bench.GO")
    client.setBLOBMode(PyIndi.B_ALSO, "Bench", "")
    time.sleep(0.2)  # the server applies enableBLOB before GO is answered
    print("ready", flush=True)
    for line in sys.stdin:
        if line.strip() == "go":
            break
    first = time.time() * 1000
    go[0].setState(PyIndi.ISS_ON)
    client.sendNewSwitch(go)
    if not client.done.wait(300):
        raise SystemExit(f"only {client.seen} of {COUNT} arrived")
    print(json.dumps({"elements": client.seen, "first": first, "last": client.last}), flush=True)
    client.disconnectServer()


main()
