#!/usr/bin/env bash
# Campaigns under MPI (OpenMPI's mpirun, oversubscribed on a small machine): the same spec
# at 1, 2 and 3 ranks gives identical trial tables; the whole job killed mid-run and
# resumed at another rank count, and one rank killed (the job stops, says so) then resumed
# on one process, end with the table of an uninterrupted run. Skipped (exit 77) when this
# faultgraph was built without MPI.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fg=${FG_BINARY:?}
fmnist=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'pkill -9 -f "campaign run (k|live).yml" 2>/dev/null; rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
# shellcheck source=../cli/check.sh
source "$here/../cli/check.sh"
if ! "$fg" --version | grep -q "with MPI"; then echo "skip: built without MPI"; exit 77; fi
# Under AddressSanitizer (FG_SANITIZED, the asan preset) memory errors are still checked,
# but not leaks: OpenMPI's plugins are unloaded at exit and leave allocations that no
# suppression can name (their module is gone).
[ "${FG_SANITIZED:-0}" = 1 ] && export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
export FG_CHECK_ULIMIT=0  # mpirun maps shared memory beyond check.sh's 4 GB limit
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
mpi() { local np=$1; shift; mpirun -np "$np" "$fg" --threads 1 "$@"; }

cat >spec.yml <<'YML'
model: resnet20
dataset: fashion-mnist
inputs: {count: 5, order: random, correct_only: false}
targets:
  - {op: Conv}
  - {op: Conv, site: weight}
  - {site: model_input}
fault: {model: bit_flip}
sampling: {trials: 3000}
seed: 21
YML
check one_process 0 "" -- "$fg" campaign run spec.yml --db one.db
"$fg" campaign export one.db -o one.csv >/dev/null
for np in 2 3; do
  check "ranks_$np" 0 "" -- mpi "$np" campaign run spec.yml --db "r$np.db"
  grep -q "^MPI: $np ranks; coordination" out || { echo "FAIL ranks_$np: no MPI line"; cat out; fail=1; }
  "$fg" campaign export "r$np.db" -o "r$np.csv" >/dev/null
  cmp -s one.csv "r$np.csv" && echo "ok   $np ranks: the same trial table as one process" ||
    { echo "FAIL $np ranks: the trial table differs"; diff one.csv "r$np.csv" | head -5; fail=1; }
done

# Ranks that read different data (here: one pixel of the first test image differs in
# rank 1's copy) stop the job at once with a message naming the rank; no trial is stored.
mkdir -p agree/a/d agree/b/d
for f in "$fmnist"/*; do ln -s "$f" agree/a/d/; ln -s "$f" agree/b/d/; done
rm agree/b/d/t10k-images-idx3-ubyte.gz
"${FG_PYTHON:-/usr/bin/python3}" - "$fmnist" <<'PY'
import gzip, sys
d = bytearray(gzip.open(sys.argv[1] + "/t10k-images-idx3-ubyte.gz").read())
d[16 + 100] ^= 0xFF
gzip.open("agree/b/d/t10k-images-idx3-ubyte.gz", "wb").write(bytes(d))
PY
printf 'model: resnet20\ndataset: d\ninputs: {count: 2, order: first, correct_only: false}\n%s\n' \
  'targets: [{op: Conv}]
fault: {model: bit_flip}
sampling: {trials: 200}
seed: 1' >agree/a/s.yml
cp agree/a/s.yml agree/b/s.yml
oneline=0 check ranks_disagree 2 "rank 1 sees another model or other inputs than rank 0" -- \
  mpirun -np 1 -wdir "$tmp/agree/a" "$fg" --threads 1 campaign run s.yml --db x.db : \
  -np 1 -wdir "$tmp/agree/b" "$fg" --threads 1 campaign run s.yml --db x.db
[ "$(sqlite3 agree/a/x.db 'select count(*) from trials' 2>/dev/null || echo 0)" = 0 ] ||
  { echo "FAIL ranks_disagree: trials were stored"; fail=1; }

# Slower trials (full recompute), so that the kills land mid-run.
sed 's/trials: 3000/trials: 6000/' spec.yml >k.yml
"$fg" --threads 1 campaign run k.yml --db ref.db --recompute full >/dev/null 2>&1
"$fg" campaign export ref.db -o ref.csv >/dev/null
stored() { sqlite3 "$1" "select count(*) from trials" 2>/dev/null || echo 0; }
wait_for_trials() {  # DB N: until N trials are stored (30 s at most)
  for _ in $(seq 300); do [ "$(stored "$1")" -ge "$2" ] && return 0; sleep 0.1; done
  return 1
}

# The whole job killed (SIGTERM to mpirun), resumed at 2 ranks.
mpirun -np 3 "$fg" --threads 1 campaign run k.yml --db kill.db --recompute full >kill.out 2>kill.err &
job=$!
wait_for_trials kill.db 300 || { echo "FAIL kill_job: no trials stored"; fail=1; }
kill -TERM "$job"
wait "$job"
rc=$?
n=$(stored kill.db)
[ "$rc" -ne 0 ] && [ "$n" -lt 6000 ] && echo "ok   job killed: exit $rc, $n trials stored" ||
  { echo "FAIL kill_job: exit $rc with $n trials"; cat kill.err; fail=1; }
check resume_2_ranks 0 "" -- mpi 2 campaign run k.yml --db kill.db --recompute full
grep -q "were done before" out || { echo "FAIL resume_2_ranks: did not resume"; cat out; fail=1; }
"$fg" campaign export kill.db -o kill.csv >/dev/null
cmp -s ref.csv kill.csv && echo "ok   killed at 3 ranks, resumed at 2: the uninterrupted table" ||
  { echo "FAIL resumed table differs"; diff ref.csv kill.csv | head -5; fail=1; }

# One rank killed: the job stops with a message naming it; resumed on one process.
mpirun -np 2 "$fg" --threads 1 campaign run k.yml --db rank.db --recompute full >rank.out 2>rank.err &
job=$!
wait_for_trials rank.db 300 || { echo "FAIL kill_rank: no trials stored"; fail=1; }
for p in $(pgrep -f "campaign run k.yml --db rank.db"); do
  if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1"; then kill -9 "$p"; fi
done
wait "$job"
rc=$?
[ "$rc" -ne 0 ] && grep -qiE "rank 1|process rank 1" rank.err && echo "ok   rank 1 killed: exit $rc, the job stopped and says which rank" ||
  { echo "FAIL kill_rank: exit $rc"; cat rank.err; fail=1; }
grep -q "run the same command" rank.err || { echo "FAIL kill_rank: no resume hint"; cat rank.err; fail=1; }
check resume_1_process 0 "" -- "$fg" --threads 1 campaign run k.yml --db rank.db --recompute full
"$fg" campaign export rank.db -o rank.csv >/dev/null
cmp -s ref.csv rank.csv && echo "ok   rank killed, resumed on one process: the uninterrupted table" ||
  { echo "FAIL resumed table differs"; diff ref.csv rank.csv | head -5; fail=1; }

# A report while the MPI job writes the database (a long one: stopped after the checks).
sed 's/trials: 3000/trials: 60000/' spec.yml >live.yml
mpirun -np 2 "$fg" --threads 1 campaign run live.yml --db live.db --recompute full >/dev/null 2>&1 &
job=$!
wait_for_trials live.db 100 || true
check report_while_running 0 "" -- "$fg" campaign report live.db --json
grep -q '"trials"' out || { echo "FAIL report_while_running"; fail=1; }
# A second run on the same database while the first writes it: refused, nothing stored twice.
check second_writer 2 "live.db: another faultgraph is running this campaign" -- \
  "$fg" --threads 1 campaign run live.yml --db live.db --recompute full
kill -TERM "$job"
wait "$job"
exit $fail
