#!/bin/sh
# A driver that defines device Hung, answers until a client asks for Hung by name, then never
# reads its input again (hung). It ends with the server, since it never sees its stdin close.
def='<defNumberVector device="Hung" name="N" state="Idle" perm="rw"><defNumber name="n" format="%g" min="0" max="0" step="0">0</defNumber></defNumberVector>'
printf '%s\n' "$def"
while read -r line; do
  case "$line" in *'device="Hung"'*) printf '%s\n' "$def"; break ;; esac
done
while kill -0 "$PPID" 2>/dev/null; do sleep 0.2; done
