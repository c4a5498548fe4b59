#!/usr/bin/env bash
# Campaigns under MPI on one machine: the same ResNet-20 campaign (built-in model on
# Fashion-MNIST, single bit flips in convolution outputs and weights) run by one process with
# T threads and by T ranks with 1 thread each (OpenMPI's mpirun, ranks bound to cores),
# side by side; trials/s of each, their ratio, and the MPI coordination cost per trial
# (message waits and record encoding, summed over ranks, over the trials' compute time).
#   bench/campaign_mpi.sh [FAULTGRAPH] [TRIALS] [RECOMPUTE]
# Defaults: build/release/faultgraph (else build/dev), 20000 trials, downstream.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
fg=${1:-$root/build/release/faultgraph}
[ -x "$fg" ] || fg=$root/build/dev/faultgraph
trials=${2:-20000}
recompute=${3:-downstream}
cores=$(nproc)
"$fg" --version | grep -q "with MPI" || { echo "this faultgraph was built without MPI" >&2; exit 2; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/spec.yml" <<YML
model: resnet20
dataset: fashion-mnist
inputs: {count: 20, order: random, correct_only: false}
targets:
  - {op: Conv}
  - {op: Conv, site: weight}
fault: {model: bit_flip}
sampling: {trials: $trials}
seed: 5
YML
rate() { sed -n 's/^ran .*(\([0-9.]*\) trials\/s).*/\1/p' "$1"; }
echo "faultgraph $("$fg" --version | cut -d' ' -f2-), $trials trials, recompute $recompute, $cores cores"
"$fg" --threads "$cores" campaign run "$work/spec.yml" --db "$work/one.db" --recompute "$recompute" >"$work/one.out"
mpirun -np "$cores" --bind-to core "$fg" --threads 1 campaign run "$work/spec.yml" --db "$work/mpi.db" \
  --recompute "$recompute" >"$work/mpi.out"
"$fg" campaign export "$work/one.db" -o "$work/one.csv" >/dev/null
"$fg" campaign export "$work/mpi.db" -o "$work/mpi.csv" >/dev/null
one=$(rate "$work/one.out")
many=$(rate "$work/mpi.out")
printf "%-28s %10s\n" "configuration" "trials/s"
printf "%-28s %10s\n" "1 rank x $cores threads" "$one"
printf "%-28s %10s\n" "$cores ranks x 1 thread" "$many"
python3 -c "print('ratio (ranks / threads): %.2fx' % ($many / $one))"
grep "^MPI:" "$work/mpi.out"
cmp -s "$work/one.csv" "$work/mpi.csv" && echo "trial tables: identical" || echo "trial tables: DIFFER"
