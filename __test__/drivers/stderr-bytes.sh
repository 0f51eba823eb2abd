#!/bin/sh
# Writes a stderr line that is not UTF-8 and a 2 MB one without a line break, then goes on
# writing to stderr as a driver would (a server that stopped reading would SIGPIPE it).
printf 'temperature 20\260C\n' >&2
head -c 2000000 /dev/zero | tr '\000' 'x' >&2
printf '\nafter the long line\n' >&2
i=0
while [ $i -lt 100 ]; do
  printf 'still here %s\n' $i >&2 || exit 9
  i=$((i + 1))
  sleep 0.1
done
