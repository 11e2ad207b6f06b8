#!/usr/bin/env bash
# Calibration of `dbarena compare` on real runs: PAIRS pairs of runs of one configuration,
# each pair compared. Two runs of the same configuration should come out as "no significant
# difference" in at least 19 of 20 pairs (issue 15); docs/PERFORMANCE.md records a run.
#
#   bash bench/compare_null.sh
#   DB=postgres://postgres@127.0.0.1/test ARGS="--pattern select-only -n 4" bash bench/compare_null.sh
#
# Settings (environment): DB (sqlite::memory:), ARGS (workload flags), DURATION (s per run,
# 10), PAIRS (20), RUNS (runs per side of each comparison, 1), BIN (a built dbarena; default:
# build the release one), KEEP (a folder to keep the runs in, to compare them again with other
# settings; default: a temporary folder, removed).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${DB:-sqlite::memory:}
ARGS=${ARGS:---pattern read-heavy -n 2}
DURATION=${DURATION:-10}
PAIRS=${PAIRS:-20}
RUNS=${RUNS:-1}
if [ -n "${KEEP:-}" ]; then
  WORK=$KEEP
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d)
  trap 'rm -rf "$WORK"' EXIT
fi

# BIN: a dbarena binary to use instead of building the release one.
if [ -z "${BIN:-}" ]; then
  cargo build --release --quiet
  BIN=target/release/dbarena
fi
echo "# compare calibration, $(date -u +%Y-%m-%dT%H:%MZ): $PAIRS comparisons of $RUNS against $RUNS runs of \`workload run --db $DB $ARGS -d ${DURATION}s\`"
echo
echo "| pair | base tps | new tps | flagged (metric change%, p_adj) |"
echo "|---|---|---|---|"
quiet=0
for i in $(seq 1 "$PAIRS"); do
  base=(); new=()
  for k in $(seq 1 "$RUNS"); do
    # Alternated (A B A B), so that a drift of the machine falls on both sides alike.
    # shellcheck disable=SC2086
    "$BIN" workload run --db "$DB" $ARGS -d "${DURATION}s" -q --no-server-stats --out "$WORK/a$i-$k.json" > /dev/null
    # shellcheck disable=SC2086
    "$BIN" workload run --db "$DB" $ARGS -d "${DURATION}s" -q --no-server-stats --out "$WORK/b$i-$k.json" > /dev/null
    base+=("$WORK/a$i-$k.json"); new+=("$WORK/b$i-$k.json")
  done
  line=$("$BIN" compare --base "${base[@]}" --new "${new[@]}" --json | python3 -c '
import json, sys
c = json.load(sys.stdin)
tps = next(x for x in c["metrics"] if x["metric"] == "tps")
flagged = ["%s %+.1f%% p=%.3f" % (x["metric"], x["change_pct"], x["p_adjusted"])
           for x in c["metrics"] if x["assessment"] in ("regressed", "improved")]
print("%.0f|%.0f|%s" % (tps["base"], tps["new"], "; ".join(flagged) or "none"))
')
  IFS='|' read -r tb tn flagged <<< "$line"
  [ "$flagged" = none ] && quiet=$((quiet + 1))
  echo "| $i | $tb | $tn | $flagged |"
done
echo
echo "no significant difference: $quiet of $PAIRS"
