#!/bin/sh
# Every manual page under DIR (default man/) renders without a warning:
# groff -ww (all warnings) and `man --warnings -l` at 80 columns. Run by ctest.
dir=${1:-man}
status=0
n=0
for page in "$dir"/*.[1-9]; do
  [ -f "$page" ] || continue
  n=$((n + 1))
  out=$(groff -ww -man -Tutf8 -z "$page" 2>&1)
  [ -z "$out" ] || { echo "$page: groff: $out"; status=1; }
  out=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >/dev/null)
  [ -z "$out" ] || { echo "$page: man: $out"; status=1; }
  MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q "^NAME" || { echo "$page: no NAME section rendered"; status=1; }
done
[ "$n" -gt 0 ] || { echo "no manual pages in $dir"; status=1; }
[ "$status" -eq 0 ] && echo "$n manual pages render without warnings"
exit "$status"
