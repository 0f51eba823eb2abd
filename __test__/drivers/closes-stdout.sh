#!/bin/sh
# Defines a device, closes its stdout and lingers, with a helper that holds its stderr open.
printf '<defTextVector device="Closer" name="T" state="Idle" perm="ro"><defText name="t">x</defText></defTextVector>\n'
exec 1>&-
sleep 30 &
echo $! >> "$HELPER_PIDS"
wait
