#!/bin/sh
# Latest run beside the previous one for every committed result file (perf/compare.py --help).
exec python3 "$(dirname "$0")/compare.py" "$@"
