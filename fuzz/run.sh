#!/bin/sh
# Runs every fuzz target in turn for SECONDS seconds each (default 300), one at a time, with its
# seed corpus and dictionary. New inputs go to corpus/<target>, crashes to artifacts/<target>.
#   cd fuzz && ./run.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")"
secs=${1:-300}
[ $# -gt 0 ] && shift
targets=${*:-"parse_head target_parse range_parse conditional"}
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t (${secs}s)"
    cargo +nightly fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -dict="dicts/$t.dict" -print_final_stats=1
done
