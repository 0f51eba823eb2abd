#!/bin/sh
# A driver that dies at once: exercises restarts.
echo "dying now" >&2
exit 3
