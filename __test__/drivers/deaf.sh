#!/bin/sh
# A driver that never ends on its own: the end of its input does not stop it, so the server
# must kill it on the way out. It writes its PID to $DEAF_PID_FILE for the test to check.
printf '%s\n' '<defNumberVector device="Deaf" name="N" state="Idle" perm="ro"><defNumber name="n" format="%g" min="0" max="0" step="0">0</defNumber></defNumberVector>'
echo $$ > "$DEAF_PID_FILE"
exec sleep 600
