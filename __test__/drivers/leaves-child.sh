#!/bin/sh
# Crashes at once, leaving behind a helper process that holds its stdout and stderr open.
sleep 30 &
echo $! >> "$HELPER_PIDS"
printf '<defTextVector device="Leaver" name="T" state="Idle" perm="ro"><defText name="t">x</defText></defTextVector>\n'
echo "leaving a helper behind" >&2
exit 3
