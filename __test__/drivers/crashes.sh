#!/bin/sh
# A driver that defines a device, then crashes a second later: exercises restarts (-r).
printf '<defTextVector device="Crasher" name="LIFE" state="Idle" perm="ro"><defText name="pid">%s</defText></defTextVector>\n' "$$"
echo "crashing now" >&2
sleep 1
exit 3
