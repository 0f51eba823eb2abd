#!/bin/sh
# Defines a device, closes its stdout and lingers, with a helper that holds its stderr open.
# Its stdin too: on the unix socket drivers get (stdin and stdout one socket), the server sees
# the end only when both are closed.
printf '<defTextVector device="Closer" name="T" state="Idle" perm="ro"><defText name="t">x</defText></defTextVector>\n'
exec 0<&- 1>&-
sleep 30 &
echo $! >> "$HELPER_PIDS"
wait
