"""A PyIndi (libindi's C++ BaseClient) session, as KStars/Ekos and PyIndi scripts run it:
setBLOBMode(B_ALSO, "CCD Simulator", "") -- which libindi sends as name="" -- then a 1 s
exposure of the CCD simulator. Prints one JSON line: the FITS size and header keywords.

usage: pyindi_exposure.py PORT [--telescope]   (--telescope: connect "Telescope Simulator"
and make it the CCD's active telescope first, so the FITS header carries its coordinates)
"""
import json
import os
import sys
import threading
import time

import PyIndi

CCD = "CCD Simulator"
TELESCOPE = "Telescope Simulator"


class Client(PyIndi.BaseClient):
    def __init__(self):
        super().__init__()
        self.fits = None
        self.got_blob = threading.Event()

    def updateProperty(self, prop):
        if prop.getType() == PyIndi.INDI_BLOB and prop.getDeviceName() == CCD:
            for blob in PyIndi.PropertyBlob(prop):
                if blob.getSize() > 0:
                    self.fits = bytes(blob.getblobdata())
                    self.got_blob.set()


def wait_for(getter, what, seconds=15.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = getter()
        if value:
            return value
        time.sleep(0.1)
    raise SystemExit(f"timed out waiting for {what}")


def connect_device(client, name):
    device = wait_for(lambda: client.getDevice(name), f"device {name}")
    switch = wait_for(lambda: device.getSwitch("CONNECTION"), f"{name}.CONNECTION")
    switch[0].setState(PyIndi.ISS_ON)
    switch[1].setState(PyIndi.ISS_OFF)
    client.sendNewSwitch(switch)
    wait_for(lambda: device.isConnected(), f"{name} connected")
    return device


def main():
    port = int(sys.argv[1])
    client = Client()
    client.setServer("127.0.0.1", port)
    if not client.connectServer():
        raise SystemExit(f"cannot connect to 127.0.0.1:{port}")
    try:
        if "--telescope" in sys.argv:
            connect_device(client, TELESCOPE)
        ccd = connect_device(client, CCD)
        if "--telescope" in sys.argv:
            active = wait_for(lambda: ccd.getText("ACTIVE_DEVICES"), "ACTIVE_DEVICES")
            active[0].setText(TELESCOPE)
            client.sendNewText(active)
            time.sleep(1.5)  # the CCD snoops the telescope's coordinates
        client.setBLOBMode(PyIndi.B_ALSO, CCD, "")
        exposure = wait_for(lambda: ccd.getNumber("CCD_EXPOSURE"), "CCD_EXPOSURE")
        exposure[0].setValue(1.0)
        client.sendNewNumber(exposure)
        if not client.got_blob.wait(30):
            raise SystemExit("no FITS arrived within 30 s")
        header = client.fits[:2880 * 4].decode("ascii", "replace")
        cards = [header[i:i + 80] for i in range(0, len(header), 80)]
        keys = [card[:8].strip() for card in cards if card[8:10] == "= "]
        print(json.dumps({"size": len(client.fits), "simple": client.fits.startswith(b"SIMPLE"), "keys": keys}), flush=True)
    except SystemExit as failure:
        print(failure, file=sys.stderr, flush=True)
        return 1
    return 0


# PyIndi 2.x sometimes crashes tearing down its reader thread (disconnectServer or interpreter
# exit, with either server): leave at once with the status, the socket closes with us.
status = main()
sys.stdout.flush()
os._exit(status)
