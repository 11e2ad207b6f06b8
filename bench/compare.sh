#!/usr/bin/env bash
# Side-by-side benchmarks: dbarena against pgbench (PostgreSQL), sysbench and LOAD DATA
# (MariaDB) and a minimal rusqlite loop (SQLite), run alternately (A B A B ...).
# Prints markdown tables; docs/PERFORMANCE.md records a run with this machine's numbers.
#
#   bash bench/compare.sh                 # everything
#   bash bench/compare.sh pg seed         # only some sections: seed pg rate sqlite mysql instr
#   bash bench/compare.sh instr           # user-space instructions and system calls per
#                                         # transaction under callgrind/strace (not in the default
#                                         # set: it takes a few minutes)
#
# Settings (environment): PG_URL, MY_URL, DURATION (s per run, 10), PAIRS (3), SCALE (10),
# SQLITE_ROWS (1000000), MY_ROWS (200000), SB_ROWS (100000), THREADS (2),
# INSTR_TX (20000) and INSTR_BASE (2000): the two transaction counts whose difference the
# instruction counts are taken over (read_write uses a tenth of them), INSTR_CASES (the
# instr rows to count, by key: pg_select pg_tpcb my_point my_rw sqlite_select sqlite_insert;
# all by default), BENCH_DB (the database created and dropped on each server, dbarena_bench).
set -euo pipefail
cd "$(dirname "$0")/.."

PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
MY_URL=${MY_URL:-mysql://root@127.0.0.1:3306}
DURATION=${DURATION:-10}
PAIRS=${PAIRS:-3}
SCALE=${SCALE:-10}
SQLITE_ROWS=${SQLITE_ROWS:-1000000}
MY_ROWS=${MY_ROWS:-200000}
SB_ROWS=${SB_ROWS:-100000}
THREADS=${THREADS:-2}
SECTIONS=${*:-"seed pg rate sqlite mysql"}
DB=${BENCH_DB:-dbarena_bench}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

want() { [[ " $SECTIONS " == *" $1 "* ]]; }
need() { command -v "$1" >/dev/null || { echo "missing $1: $2" >&2; exit 2; }; }
# sysbench comes from Debian's package; the harness installs it when it can.
ensure_sysbench() {
  command -v sysbench >/dev/null && return
  if [ "$(id -u)" = 0 ]; then
    apt-get install -y sysbench >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 && apt-get install -y sysbench >/dev/null 2>&1; }
  fi
}

# The benches first: building them builds the binary again with the dev-dependencies'
# features (tokio's test-util, a paused-clock check in every clock read), so the plain
# binary is built last.
cargo build --release --quiet --benches
cargo build --release --quiet
BIN=target/release/dbarena
RAW=$(ls target/release/deps/sqlite_raw-* | grep -v '\.d$' | head -1)

# dbarena never overwrites a result file: each run removes the previous r.json first.
# Runs a command, leaving its stdout in $WORK/out and "wall user sys" in $WORK/time.
timed() { /usr/bin/time -f "%e %U %S" -o "$WORK/time" "$@" > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err" >&2; return 1; }; }
cpu() { awk '{print $2 + $3}' "$WORK/time"; }
wall() { awk '{print $1}' "$WORK/time"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b == 0 ? 0 : a / b)}'; }
# Client CPU (user+sys) in microseconds per transaction.
per1000() { awk -v c="$1" -v n="$2" 'BEGIN {printf "%.2f", (n == 0 ? 0 : c * 1000000 / n)}'; }
dbarena_tps() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["totals"]["tps"])' "$1"; }
dbarena_n() { python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["committed"])' "$1"; }

# A fresh $DB on MariaDB with sysbench's sbtest1 ($SB_ROWS rows), and dbarena's sysbench
# configurations for it in $WORK; sets MYDB and SB (the sysbench command line).
setup_sysbench() {
  MY_HOST=$(echo "$MY_URL" | sed -E 's#^mysql://([^@]*@)?([^:/]+).*#\2#')
  MY_PORT=$(echo "$MY_URL" | sed -nE 's#.*:([0-9]+)$#\1#p'); MY_PORT=${MY_PORT:-3306}
  mariadb -h "$MY_HOST" -P "$MY_PORT" -uroot -e "DROP DATABASE IF EXISTS $DB; CREATE DATABASE $DB"
  MYDB="$MY_URL/$DB"
  SB="sysbench --db-driver=mysql --mysql-host=$MY_HOST --mysql-port=$MY_PORT --mysql-user=root --mysql-db=$DB --tables=1 --table-size=$SB_ROWS --rand-type=uniform"
  $SB oltp_read_write prepare > /dev/null
  sed "s/TABLE_SIZE/$SB_ROWS/" bench/sysbench_point_select.toml > "$WORK/ps.toml"
  sed "s/RANGE_MAX/$((SB_ROWS - 99))/; s/TABLE_SIZE/$SB_ROWS/g" bench/sysbench_read_write.toml | sed "s/RANGE_MAX/$((SB_ROWS - 99))/g" > "$WORK/rw.toml"
}

echo "# dbarena benchmark run, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); client and server share it"
echo

if want seed || want pg || want rate || want instr; then
  need pgbench "install PostgreSQL's client tools (Debian: postgresql-client)"
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" 2>/dev/null
  PGDB="$PG_URL/$DB"
fi

if want seed; then
  echo "## Seeding: \`pgbench -i -q -s $SCALE\` vs \`dbarena seed --preset pgbench --scale $SCALE --truncate\`"
  echo
  echo "| pair | pgbench s | dbarena s | ratio |"
  echo "|---|---|---|---|"
  ratios=()
  for i in $(seq "$PAIRS"); do
    timed pgbench -i -q -s "$SCALE" "$PGDB"; a=$(wall)
    timed $BIN seed --db "$PGDB" --preset pgbench --scale "$SCALE" --truncate -q; b=$(wall)
    r=$(ratio "$b" "$a"); ratios+=("$r")
    echo "| $i | $a | $b | $r |"
  done
  echo
  echo "median time ratio dbarena/pgbench: $(printf '%s\n' "${ratios[@]}" | median)"
  echo
fi

if want pg; then
  # The pgbench tables for the workloads (same scale for both tools).
  pgbench -i -q -s "$SCALE" "$PGDB" 2>/dev/null
  echo "## PostgreSQL: pgbench vs dbarena, $DURATION s per run, -j $THREADS, -M prepared"
  echo
  echo "| case | clients | pair | pgbench tps | dbarena tps | tps ratio | pgbench cpu µs/tx | dbarena cpu µs/tx | cpu ratio |"
  echo "|---|---|---|---|---|---|---|---|---|"
  summary=()
  for case in select-only tpcb-like; do
    flag=$([ "$case" = select-only ] && echo "-S" || echo "")
    for c in 4 16; do
      tr=(); cr=()
      for i in $(seq "$PAIRS"); do
        timed pgbench -n $flag -M prepared -c "$c" -j "$THREADS" -T "$DURATION" "$PGDB"
        a_tps=$(grep -oP '^tps = \K[0-9.]+' "$WORK/out"); a_n=$(grep -oP 'number of transactions actually processed: \K[0-9]+' "$WORK/out"); a_cpu=$(per1000 "$(cpu)" "$a_n")
        rm -f "$WORK/r.json"; timed $BIN workload run --db "$PGDB" --pattern "$case" -M prepared -n "$c" -j "$THREADS" -d "${DURATION}s" -q --out "$WORK/r.json"
        b_tps=$(dbarena_tps "$WORK/r.json"); b_n=$(dbarena_n "$WORK/r.json"); b_cpu=$(per1000 "$(cpu)" "$b_n")
        t=$(ratio "$b_tps" "$a_tps"); u=$(ratio "$b_cpu" "$a_cpu"); tr+=("$t"); cr+=("$u")
        printf "| %s | %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n" "$case" "$c" "$i" "$a_tps" "$b_tps" "$t" "$a_cpu" "$b_cpu" "$u"
      done
      summary+=("| $case | $c | $(printf '%s\n' "${tr[@]}" | median) | $(printf '%s\n' "${cr[@]}" | median) |")
    done
  done
  echo
  echo "| case | clients | median tps ratio (dbarena/pgbench) | median cpu per tx ratio |"
  echo "|---|---|---|---|"
  printf '%s\n' "${summary[@]}"
  echo
fi

if want rate; then
  [ "$(want pg && echo y)" = y ] || pgbench -i -q -s "$SCALE" "$PGDB" 2>/dev/null
  echo "## Rate accuracy: select-only, 20 s, 8 connections"
  echo
  echo "| target tps | achieved tps | error % | missed starts | schedule lag mean ms |"
  echo "|---|---|---|---|---|"
  for rate in 1000 5000; do
    rm -f "$WORK/r.json"; timed $BIN workload run --db "$PGDB" --pattern select-only --tps "$rate" -n 8 -d 20s -q --out "$WORK/r.json"
    python3 - "$WORK/r.json" "$rate" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); t = float(sys.argv[2]); s = r["schedule"]
print(f"| {t:.0f} | {s['achieved_tps']:.1f} | {abs(s['achieved_tps'] - t) * 100 / t:.2f} | {s['missed']} | {s['lag_mean_ms']:.3f} |")
PY
  done
  echo
fi

if want sqlite; then
  echo "## Embedded SQLite: dbarena vs a minimal rusqlite loop (bench/sqlite_raw.rs)"
  echo
  echo "| what | pair | raw rusqlite /s | dbarena /s | ratio |"
  echo "|---|---|---|---|---|"
  ins=(); sel=()
  for i in $(seq "$PAIRS"); do
    rm -f "$WORK"/raw.db* "$WORK"/dba.db*
    timed "$RAW" insert "$WORK/raw.db" "$SQLITE_ROWS"; a=$(awk '{print $4}' "$WORK/out")
    timed $BIN seed --db "sqlite://$WORK/dba.db" --preset ycsb --rows "usertable=$SQLITE_ROWS" --json -q
    b=$(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["tables"][0]["rows_per_sec"]))' "$WORK/out")
    r=$(ratio "$b" "$a"); ins+=("$r"); echo "| insert $SQLITE_ROWS ycsb rows | $i | $a | $b | $r |"
  done
  for i in $(seq "$PAIRS"); do
    timed "$RAW" select "$WORK/dba.db" "$DURATION"; a=$(awk '{print $4}' "$WORK/out")
    rm -f "$WORK/r.json"; timed $BIN workload run --db "sqlite://$WORK/dba.db" --pattern ycsb-c --distribution uniform -n 1 -d "${DURATION}s" -q --out "$WORK/r.json"
    b=$(dbarena_tps "$WORK/r.json"); r=$(ratio "$b" "$a"); sel+=("$r")
    printf "| point select by key | %s | %s | %.0f | %s |\n" "$i" "$a" "$b" "$r"
  done
  echo
  echo "median ratios: insert $(printf '%s\n' "${ins[@]}" | median), point select $(printf '%s\n' "${sel[@]}" | median)"
  echo
fi

if want mysql; then
  ensure_sysbench
  need sysbench "install Debian's package: apt-get install -y sysbench"
  setup_sysbench
  echo "## MariaDB: sysbench vs dbarena on sbtest1 ($SB_ROWS rows), $DURATION s per run, 4 threads/connections"
  echo
  echo "| case | pair | sysbench tps | dbarena tps | tps ratio | sysbench cpu µs/tx | dbarena cpu µs/tx | cpu ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  summary=()
  for case in oltp_point_select oltp_read_write; do
    cfg=$([ "$case" = oltp_point_select ] && echo "$WORK/ps.toml" || echo "$WORK/rw.toml")
    tr=(); cr=()
    for i in $(seq "$PAIRS"); do
      timed $SB "$case" --threads=4 --time="$DURATION" --report-interval=0 run
      a_n=$(grep -oP 'transactions:\s+\K[0-9]+' "$WORK/out"); a_tps=$(grep -oP 'transactions:.*\(\K[0-9.]+' "$WORK/out"); a_cpu=$(per1000 "$(cpu)" "$a_n")
      # sysbench runs one OS thread per connection; dbarena gets the same thread count.
      rm -f "$WORK/r.json"; timed $BIN workload run --db "$MYDB" --config "$cfg" -n 4 -j 4 -d "${DURATION}s" -q --out "$WORK/r.json"
      b_tps=$(dbarena_tps "$WORK/r.json"); b_n=$(dbarena_n "$WORK/r.json"); b_cpu=$(per1000 "$(cpu)" "$b_n")
      t=$(ratio "$b_tps" "$a_tps"); u=$(ratio "$b_cpu" "$a_cpu"); tr+=("$t"); cr+=("$u")
      printf "| %s | %s | %.0f | %.0f | %s | %s | %s | %s |\n" "$case" "$i" "$a_tps" "$b_tps" "$t" "$a_cpu" "$b_cpu" "$u"
    done
    summary+=("| $case | $(printf '%s\n' "${tr[@]}" | median) | $(printf '%s\n' "${cr[@]}" | median) |")
  done
  echo
  echo "| case | median tps ratio (dbarena/sysbench) | median cpu per tx ratio |"
  echo "|---|---|---|"
  printf '%s\n' "${summary[@]}"
  echo
  echo "## MariaDB seeding: LOAD DATA LOCAL INFILE vs dbarena seed, ycsb usertable, $MY_ROWS rows"
  echo
  # The same rows in the same order (generation order, which is not key order), exported
  # once as the tab-separated file LOAD DATA reads: seeded into SQLite, read back by rowid.
  $BIN seed --db "sqlite://$WORK/export.db" --preset ycsb --rows "usertable=$MY_ROWS" -q > /dev/null
  python3 - "$WORK/export.db" "$WORK/usertable.tsv" <<'PY'
import sqlite3, sys
with open(sys.argv[2], "w") as out:
    for row in sqlite3.connect(sys.argv[1]).execute("SELECT * FROM usertable ORDER BY rowid"):
        out.write("\t".join(row) + "\n")
PY
  $BIN seed --db "$MYDB" --preset ycsb --rows "usertable=1" --truncate -q > /dev/null
  echo "| pair | LOAD DATA rows/s | dbarena rows/s | ratio |"
  echo "|---|---|---|---|"
  lr=()
  for i in $(seq "$PAIRS"); do
    mariadb -h "$MY_HOST" -P "$MY_PORT" -uroot "$DB" -e "TRUNCATE usertable"
    timed mariadb --local-infile=1 -h "$MY_HOST" -P "$MY_PORT" -uroot "$DB" -e "LOAD DATA LOCAL INFILE '$WORK/usertable.tsv' INTO TABLE usertable"
    a=$(awk -v n="$MY_ROWS" -v w="$(wall)" 'BEGIN {printf "%.0f", n / w}')
    timed $BIN seed --db "$MYDB" --preset ycsb --rows "usertable=$MY_ROWS" --truncate --json -q
    b=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(round(r["total_rows"] / r["seconds"]))' "$WORK/out")
    r=$(ratio "$b" "$a"); lr+=("$r"); echo "| $i | $a | $b | $r |"
  done
  echo
  echo "median rows/s ratio dbarena/LOAD DATA: $(printf '%s\n' "${lr[@]}" | median)"
  echo
  mariadb -h "$MY_HOST" -P "$MY_PORT" -uroot -e "DROP DATABASE IF EXISTS $DB"
fi

if want instr; then
  need valgrind "install valgrind (Debian: apt-get install -y valgrind)"
  need strace "install strace (Debian: apt-get install -y strace)"
  ensure_sysbench
  need sysbench "install Debian's package: apt-get install -y sysbench"
  INSTR_TX=${INSTR_TX:-20000}
  INSTR_BASE=${INSTR_BASE:-2000}
  # Debian's /usr/bin/pgbench is a wrapper script that execs the real binary; valgrind must
  # run the binary itself (it does not follow exec by default).
  PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench 2>/dev/null | sort -V | tail -1)
  PGBENCH=${PGBENCH:-$(command -v pgbench)}
  setup_sysbench
  pgbench -i -q -s "$SCALE" "$PGDB" 2>/dev/null
  $BIN seed --db "sqlite://$WORK/instr.db" --preset ycsb --rows "usertable=100000" -q > /dev/null

  # User-space instructions of one command (every thread), counted by callgrind.
  instructions() {
    rm -f "$WORK/cg.out"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.out" "$@" > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err" >&2; return 1; }
    awk '/^summary:/ {print $2}' "$WORK/cg.out"
  }
  # System calls of one command (every thread), counted by strace.
  syscalls() {
    strace -f -c -o "$WORK/st.out" "$@" > "$WORK/out" 2> "$WORK/err" || { cat "$WORK/err" >&2; return 1; }
    awk '$NF == "total" {print $4}' "$WORK/st.out"
  }
  # Per transaction: the difference between a run of N and one of BASE transactions, so the
  # fixed costs (start-up, connecting, preparing, the result file) cancel out.
  # Usage: per_tx COUNTER BASE N FUNCTION (FUNCTION COUNT runs the command under COUNTER).
  per_tx() {
    local counter=$1 base=$2 n=$3 f=$4 a b
    a=$($f "$counter" "$base") || return 1
    b=$($f "$counter" "$n") || return 1
    awk -v a="$a" -v b="$b" -v n="$((n - base))" 'BEGIN {printf "%.1f", (b - a) / n}'
  }
  # dbarena on one connection and one worker thread, closed loop, exactly COUNT transactions;
  # the server sampler (once a second, not per transaction: valgrind's slowdown would
  # multiply it) is off, as pgbench and sysbench have none.
  dba() {
    local counter=$1 count=$2; shift 2
    rm -f "$WORK/r.json"
    $counter $BIN workload run "$@" -n 1 -j 1 -t "$count" --no-server-stats -q --out "$WORK/r.json" || return 1
    # A deadlock that exhausted its retries is a finished (failed) transaction too.
    local done; done=$(python3 -c 'import json,sys; t=json.load(open(sys.argv[1]))["totals"]; print(t["committed"] + t["failed"])' "$WORK/r.json")
    [ "$done" = "$count" ] || { echo "dbarena finished $done of $count transactions" >&2; return 1; }
  }
  ref_pg_select() { $1 "$PGBENCH" -n -S -M prepared -c 1 -j 1 -t "$2" "$PGDB"; }
  dba_pg_select() { dba "$1" "$2" --db "$PGDB" --pattern select-only -M prepared; }
  ref_pg_tpcb() { $1 "$PGBENCH" -n -M prepared -c 1 -j 1 -t "$2" "$PGDB"; }
  dba_pg_tpcb() { dba "$1" "$2" --db "$PGDB" --pattern tpcb-like -M prepared; }
  ref_my_point() { $1 $SB oltp_point_select --threads=1 --events="$2" --time=0 --report-interval=0 run; }
  dba_my_point() { dba "$1" "$2" --db "$MYDB" --config "$WORK/ps.toml"; }
  ref_my_rw() { $1 $SB oltp_read_write --threads=1 --events="$2" --time=0 --report-interval=0 run; }
  dba_my_rw() { dba "$1" "$2" --db "$MYDB" --config "$WORK/rw.toml"; }
  ref_sqlite_select() { $1 "$RAW" select-n "$WORK/instr.db" "$2"; }
  dba_sqlite_select() { dba "$1" "$2" --db "sqlite://$WORK/instr.db" --pattern ycsb-c --distribution uniform; }
  ref_sqlite_insert() { rm -f "$WORK"/ins.db*; $1 "$RAW" insert "$WORK/ins.db" "$2"; }
  dba_sqlite_insert() { rm -f "$WORK"/ins.db*; $1 $BIN seed --db "sqlite://$WORK/ins.db" --preset ycsb --rows "usertable=$2" -q; }

  small=$((INSTR_BASE / 10)); big=$((INSTR_TX / 10))
  cases=(
    "PostgreSQL select-only (pgbench -S)|pg_select|$INSTR_BASE|$INSTR_TX"
    "PostgreSQL tpcb-like (pgbench)|pg_tpcb|$INSTR_BASE|$INSTR_TX"
    "MariaDB oltp_point_select (sysbench)|my_point|$INSTR_BASE|$INSTR_TX"
    "MariaDB oltp_read_write (sysbench)|my_rw|$small|$big"
    "SQLite point select (raw rusqlite)|sqlite_select|$INSTR_BASE|$INSTR_TX"
    "SQLite insert, per row (raw rusqlite)|sqlite_insert|$INSTR_BASE|$INSTR_TX"
  )
  echo "## Client cost per transaction: user-space instructions (callgrind) and system calls (strace)"
  echo
  echo "One connection, closed loop; each figure is (count at N - count at BASE) / (N - BASE)."
  echo "Load does not change what is counted, but a network client's counts move by a few per cent"
  echo "between runs (how often an answer is already there when read depends on timing); SQLite's repeat."
  echo
  echo "| case | N, BASE | reference instr/tx | dbarena instr/tx | ratio | reference syscalls/tx | dbarena syscalls/tx | ratio |"
  echo "|---|---|---|---|---|---|---|---|"
  for c in "${cases[@]}"; do
    IFS='|' read -r label key base n <<< "$c"
    [[ -z "${INSTR_CASES:-}" || " $INSTR_CASES " == *" $key "* ]] || continue
    ri=$(per_tx instructions "$base" "$n" "ref_$key"); di=$(per_tx instructions "$base" "$n" "dba_$key")
    rs=$(per_tx syscalls "$base" "$n" "ref_$key"); ds=$(per_tx syscalls "$base" "$n" "dba_$key")
    printf "| %s | %s, %s | %.0f | %.0f | %s | %.2f | %.2f | %s |\n" "$label" "$n" "$base" "$ri" "$di" "$(ratio "$di" "$ri")" "$rs" "$ds" "$(ratio "$ds" "$rs")"
  done
  echo
  mariadb -h "$MY_HOST" -P "$MY_PORT" -uroot -e "DROP DATABASE IF EXISTS $DB"
fi

if want seed || want pg || want rate || want instr; then
  psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $DB" 2>/dev/null
fi
