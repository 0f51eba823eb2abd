"""PyPI's indipyclient against our server: list devices, switch the LED on, see it change."""
import asyncio
import sys

import indipyclient


class Client(indipyclient.IPyClient):
    async def hardware(self):
        try:
            for _ in range(100):
                if "led" in self and "ledvector" in self["led"]:
                    break
                await asyncio.sleep(0.1)
            else:
                print("no led device")
                return
            print("devices:", ",".join(sorted(self.keys())))
            print("before:", self["led"]["ledvector"]["ledmember"])
            await self.send_newVector("led", "ledvector", members={"ledmember": "On"})
            for _ in range(100):
                if self["led"]["ledvector"]["ledmember"] == "On":
                    break
                await asyncio.sleep(0.1)
            print("after:", self["led"]["ledvector"]["ledmember"])
        finally:
            self.shutdown()


async def main(port):
    await asyncio.wait_for(Client(indihost="127.0.0.1", indiport=port).asyncrun(), 30)


asyncio.run(main(int(sys.argv[1])))
