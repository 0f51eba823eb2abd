#!/bin/sh
# The LED example as an executable INDI driver, for servers that start drivers by file name
# (indiserver): it speaks INDI on stdin/stdout.
exec node "$(dirname "$0")/../dist/examples/led.js" --stdio
