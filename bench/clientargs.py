"""The command line of the Python benchmark receivers (as bench/client.mjs receive):
receive PORT --kind blob|burst --count N --trigger."""
import sys

_, MODE, _port, *_rest = sys.argv
_args = dict(zip(_rest[::2], _rest[1::2]))
PORT = int(_port)
KIND = _args.get("--kind", "blob")
COUNT = int(_args.get("--count", "100"))
# The vector each mode counts.
VECTOR = "BLOB" if KIND == "blob" else "NUM"
if MODE != "receive":
    raise SystemExit(f"only 'receive' (got {MODE})")
