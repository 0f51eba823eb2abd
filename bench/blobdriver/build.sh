#!/bin/sh
# Builds indi_blob_bench (the libindi benchmark driver) against Debian's libindi-dev:
#   sh bench/blobdriver/build.sh [output path]   (default bench/blobdriver/indi_blob_bench)
set -eu
here=$(dirname "$0")
out=${1:-$here/indi_blob_bench}
gcc -O2 -Wall -Wextra -o "$out" "$here/blobdriver.c" -I/usr/include/libindi -lindidriver -lpthread
