#!/usr/bin/env bash
# Campaigns end to end through the binary (plan, run, kill -9 and resume, report, export,
# fault lists and replay, bad input), and the reliability cases: no shell anywhere, Ctrl-C
# and SIGTERM stop a long command with 130/143, output folders are checked before work.
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fg=${FG_BINARY:?}
py=${FG_PYTHON:-/usr/bin/python3}
fmnist=/usr/share/datasets/fashion-mnist
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" || exit 1
fail=0
# shellcheck source=check.sh
source "$here/check.sh"

cat >spec.yml <<'YML'
model: resnet20
dataset: fashion-mnist
inputs: {count: 6, order: random, correct_only: false}
targets:
  - {op: Conv}
  - {op: Conv, site: weight}
fault: {model: bit_flip, bits: 20-31}
sampling: {trials: 6000}
seed: 3
YML

check plan 0 "" -- "$fg" campaign plan spec.yml --estimate 10
# The population exactly, with thousands separators (was 9.78077e+07).
grep -q "^total  *[0-9]\{1,3\}\(,[0-9]\{3\}\)\{2,\}  *6000$" out && grep -q "measured .* ms per trial" out ||
  { echo "FAIL plan:"; cat out; fail=1; }

# An uninterrupted run, then the same campaign killed with SIGKILL mid-run and resumed each
# time: the same table, every trial exactly once. Full recompute on one thread, so that a
# run spans several commits (one per second or 2,000 trials); each kill comes right after
# the killed run's first commit, whatever the machine's speed.
stored() { sqlite3 "$1" "select count(*) from trials" 2>/dev/null || echo 0; }
check run_straight 0 "" -- "$fg" --threads 1 campaign run spec.yml --db straight.db --recompute full
grep -q "6000 of 6000 stored" out || { echo "FAIL run:"; cat out; fail=1; }
kills=0
for _ in 1 2 3 4; do
  before=$(stored killed.db)
  "$fg" --threads 1 campaign run spec.yml --db killed.db --recompute full >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1200); do
    [ "$(stored killed.db)" -gt "$before" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.05
  done
  if kill -9 "$pid" 2>/dev/null; then kills=$((kills + 1)); fi
  wait "$pid" 2>/dev/null
done
echo "     killed $kills runs, $(stored killed.db) of 6000 trials stored"
check run_resumed 0 "" -- "$fg" --threads 1 campaign run spec.yml --db killed.db --recompute full
check export_straight 0 "" -- "$fg" campaign export straight.db --format csv -o straight.csv
check export_killed 0 "" -- "$fg" campaign export killed.db --format csv -o killed.csv
"$py" - straight.csv killed.csv <<'PY' || fail=1
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
ids = [int(r["id"]) for r in b]
assert ids == list(range(6000)), "each trial id exactly once"
assert a == b, "resumed table differs from the uninterrupted one"
outcomes = {r["outcome"] for r in a}
assert {"masked", "tolerable"} <= outcomes, outcomes
print("ok   killed and resumed campaign equals the uninterrupted one")
PY
[ "$kills" -ge 2 ] || { echo "FAIL: the campaign finished before it could be killed"; fail=1; }
# An output that is the command's own input is refused before anything is written: `campaign
# export r.db -o r.db` replaced the database by its CSV. Same name, another spelling, a link.
cp straight.db same.db
ln -sf same.db link.db
check export_onto_db 2 "same.db: is the campaign database, which this command reads; .*name another output file" -- \
  "$fg" campaign export same.db -o same.db
check export_onto_db_link 2 "link.db: is the campaign database \\(./same.db\\)" -- \
  "$fg" campaign export ./same.db -o link.db
check report_onto_db 2 "same.db: is the campaign database" -- "$fg" report same.db -o ../"$(basename "$PWD")"/same.db
cmp -s straight.db same.db && echo "ok   the database is untouched" || { echo "FAIL: same.db changed"; fail=1; }
cp spec.yml spec_copy.yml
check faults_onto_spec 2 "spec_copy.yml: is the campaign spec" -- "$fg" campaign faults spec_copy.yml -o spec_copy.yml
cmp -s spec.yml spec_copy.yml || { echo "FAIL: spec_copy.yml changed"; fail=1; }

# Report: text, JSON; the JSON's counts are the export's.
check report 0 "" -- "$fg" campaign report straight.db --by bit
grep -q "^SDC rate" out && grep -q "margin achieved" out && grep -qE "^31 " out || { echo "FAIL report:"; cat out; fail=1; }
check report_json 0 "" -- "$fg" campaign report straight.db --by layer --json
cp out report.json
# Runs and readers leave the database alone: no -wal or -shm files beside it once they end.
[ ! -e straight.db-wal ] && [ ! -e straight.db-shm ] && echo "ok   no WAL files left" ||
  { echo "FAIL: WAL files left beside the database:"; ls straight.db*; fail=1; }
check export_jsonl 0 "" -- "$fg" campaign export straight.db --format jsonl
"$py" - report.json out <<'PY' || fail=1
import json, sys
r = json.load(open(sys.argv[1]))
rows = [json.loads(l) for l in open(sys.argv[2])]
assert r["total"]["trials"] == len(rows) == 6000
for k in ("masked", "tolerable", "sdc1", "sdc5", "due"):
    assert r["total"][k] == sum(1 for x in rows if x["outcome"] == k), k
assert sum(x["trials"] for x in r["rows"]) == 6000
lo, hi = r["total"]["sdc_interval"]
assert lo <= r["total"]["sdc_rate"] <= hi
print("ok   report --json agrees with the exported trials")
PY

# A reader while a campaign writes (WAL): report works mid-run.
sed 's/trials: 6000/trials: 20000/' spec.yml >long.yml
# Full recompute on one thread: long enough to be mid-run on any machine; the report comes
# once the run has stored trials (not after a fixed delay: under ASan on a loaded machine
# the run had not stored its campaign yet).
"$fg" --threads 1 campaign run long.yml --db live.db --recompute full >/dev/null 2>&1 &
pid=$!
for _ in $(seq 2400); do [ "$(stored live.db)" -gt 0 ] && break; sleep 0.05; done
check report_while_running 0 "" -- "$fg" campaign report live.db
grep -q "not finished" out || { echo "FAIL live report:"; cat out; fail=1; }
# Ctrl-C: the campaign stops at once with 130 and keeps what it finished.
kill -INT "$pid"
stopped "campaign SIGINT" "$pid"
[ "$rc" -eq 130 ] || { echo "FAIL campaign SIGINT: exit $rc, wanted 130"; fail=1; }
"$fg" campaign report live.db >out 2>&1 && grep -qE "trials: [1-9][0-9]* of 20000" out || { echo "FAIL live.db after SIGINT:"; cat out; fail=1; }
echo "ok   campaign SIGINT"

# The fault list: exported, then replayed; the replay gives the same outcomes.
check faults_export 0 "" -- "$fg" campaign faults spec.yml -o faults.csv
head -1 faults.csv | grep -q "^trial,input,site,kind,node,index,element,bit$" || { echo "FAIL faults header"; fail=1; }
head -301 faults.csv >some.csv
cat >replay.yml <<'YML'
model: resnet20
targets:
  - {op: Conv}
  - {op: Conv, site: weight}
fault: {model: bit_flip}
faults: some.csv
YML
check replay 0 "" -- "$fg" campaign run replay.yml --db replay.db
check export_replay 0 "" -- "$fg" campaign export replay.db -o replay.csv
"$py" - straight.csv replay.csv <<'PY' || fail=1
import csv, sys
a = list(csv.DictReader(open(sys.argv[1])))[:300]
b = list(csv.DictReader(open(sys.argv[2])))
assert len(b) == 300
for x, y in zip(a, b):
    for k in ("input", "site", "elements", "bit", "outcome", "faulty_value", "faulty_class"):
        assert x[k] == y[k], (k, x, y)
print("ok   replayed faults give the same outcomes")
PY

# Another spec on an existing database is refused; bad input is one clear line.
sed 's/seed: 3/seed: 4/' spec.yml >other.yml
check other_spec_refused 2 "straight.db: holds a campaign made from another spec" -- "$fg" campaign run other.yml --db straight.db
printf 'model: resnet20\nsampling: {trails: 5}\n' >typo.yml
check spec_typo 2 "typo.yml:2: sampling.trails: unknown key; did you mean 'trials'" -- "$fg" campaign run typo.yml
printf 'model: resnet20\ndataset: mnist\n' >noset.yml
check spec_dataset_missing 2 "noset.yml: dataset: mnist: no such file or folder; give a dataset folder, FORMAT:PATH .* or fashion-mnist" -- \
  "$fg" campaign plan noset.yml
printf 'model: resnet20\nfault: {bits: 5-2}\n' >backwards.yml
check spec_bits_backwards 2 "backwards.yml:2: fault.bits: 5-2 runs backwards; write the lower bit first \\(2-5\\)" -- \
  "$fg" campaign plan backwards.yml
printf 'model: resnet20\ntargets: [{node: "nothing*"}]\n' >nomatch.yml
check spec_no_match 2 "nomatch.yml:2: target .* matches no node" -- "$fg" campaign plan nomatch.yml
mkdir -p adir
check db_is_folder 2 "adir: is a folder" -- "$fg" campaign run spec.yml --db adir
# A folder where an input file belongs is named as a folder, with what to give instead.
mkdir -p spec_dir.yml faults_dir.csv
check spec_is_folder 2 "spec_dir.yml: is a folder; name a campaign spec \\(YAML\\)" -- "$fg" campaign plan spec_dir.yml
check spec_missing 2 "nospec.yml: cannot open: no such file" -- "$fg" campaign run nospec.yml
printf 'model: resnet20\nfaults: faults_dir.csv\n' >faults_dir.yml
check fault_list_is_folder 2 "faults_dir.yml: faults: .*faults_dir.csv: is a folder; name a fault list \\(CSV\\)" -- \
  "$fg" campaign plan faults_dir.yml
# A file that is not a campaign database is refused before the campaign's header line and
# left as it was: not SQLite, or another program's SQLite database.
cp spec.yml notdb.db
check run_db_not_sqlite 2 "notdb.db: not an SQLite database" -- "$fg" campaign run spec.yml --db notdb.db
[ ! -s "$tmp/out" ] && cmp -s spec.yml notdb.db || { echo "FAIL run_db_not_sqlite: printed or changed"; cat "$tmp/out"; fail=1; }
sqlite3 theirs.db "create table people(name text); insert into people values ('ada');"
cp theirs.db theirs.orig
check run_db_of_another_program 2 "theirs.db: an SQLite database of another program .* name a new file" -- \
  "$fg" campaign run spec.yml --db theirs.db
[ ! -s "$tmp/out" ] && cmp -s theirs.db theirs.orig && [ ! -e theirs.db-wal ] ||
  { echo "FAIL run_db_of_another_program: printed, or the database changed"; cat "$tmp/out"; fail=1; }
check report_not_db 2 "spec.yml: not an SQLite database|spec.yml: not a faultgraph" -- "$fg" campaign report spec.yml
check report_missing 2 "nope.db: no such campaign database" -- "$fg" campaign report nope.db
check report_of_device 2 "/dev/null: is not a regular file \\(a device or a pipe\\); name a campaign database file" -- \
  "$fg" campaign report /dev/null
check report_of_folder 2 "adir: is a folder; name a campaign database file" -- "$fg" campaign report adir
check report_bad_by 2 "--by colour: must be layer, bit, site, op or input" -- "$fg" campaign report straight.db --by colour

# No shell: an output folder with quotes and a command in its name is just a name.
printf -- '- layer_name: conv2d_1\n  fault_type: BitFlip\n  bit_flip_type: SpecificBit\n  bit_number: 3\n  probability: 0.01\n' >one.yml
check inject_quote 0 "" -- "$fg" inject -m seed_inception -c one.yml -d "$fmnist" --limit 8 -o "o_q'; touch PWNED; echo '"
[ ! -e PWNED ] || { echo "FAIL: a shell ran a command from the output name"; fail=1; }
[ -s "o_q'; touch PWNED; echo '/model.svg" ] && [ -s "o_q'; touch PWNED; echo '/entry_1.svg" ] ||
  { echo "FAIL: SVG pictures missing"; fail=1; }
check inject_apostrophe 0 "" -- "$fg" inject -m seed_inception -c one.yml -d "$fmnist" --limit 8 -o "bob's run"
grep -q "<svg" "bob's run/model.svg" || { echo "FAIL apostrophe SVG"; fail=1; }
# A rerun into the same folder clears the earlier run's files.
touch "bob's run/entry_9.svg" "bob's run/entry_9_confusion.csv" "bob's run/notes.txt"
check inject_rerun 0 "" -- "$fg" inject -m seed_inception -c one.yml -d "$fmnist" --limit 8 -o "bob's run"
[ ! -e "bob's run/entry_9.svg" ] && [ ! -e "bob's run/entry_9_confusion.csv" ] && [ -e "bob's run/notes.txt" ] ||
  { echo "FAIL stale files of an earlier run"; fail=1; }
touch afile
check inject_out_is_file 2 "afile: exists and is not a folder" -- "$fg" inject -m seed_inception -c one.yml -d "$fmnist" -o afile
check inject_out_empty 2 "output folder name is empty" -- "$fg" inject -m seed_inception -c one.yml -d "$fmnist" -o ""
check eval_out_proc 2 "/proc/x" -- "$fg" eval -m seed_inception -d "$fmnist" -o /proc/x

# Config entries that once crashed or were silently accepted: each is that entry's error,
# exit 2, no internal error.
bad_entry() {  # bad_entry NAME PATTERN YAML
  printf -- "$3" >"$1.yml"
  "$fg" inject -m seed_inception -c "$1.yml" -d "$fmnist" --limit 4 -o "o_$1" >out 2>err
  local rc=$?
  if [ "$rc" -ne 2 ] || ! grep -qE -- "$2" err || grep -q "internal error" err; then
    echo "FAIL config $1: exit $rc"; cat err; fail=1
  else
    echo "ok   config $1"
  fi
}
bad_entry name_list "name: expected a word" '- name: [1]\n  node: conv2d_1\n  bit: 3\n'
bad_entry key_list "keys must be plain words" '- ? [a, b]\n  : 1\n  node: conv2d_1\n'
bad_entry top_key_list "top-level keys must be plain words" '? [a, b]\n: 1\nfaults:\n  - node: conv2d_1\n'
bad_entry top_key_twice "faults is given twice" 'faults:\n  - node: conv2d_1\nfaults:\n  - node: conv2d_2\n'
bad_entry huge_value "outside the float32 range" '- node: conv2d_1\n  fault: set_value\n  value: 1e300\n'
bad_entry twice "bit: given twice" '- node: conv2d_1\n  bit: 3\n  bit: 4\n'
bad_entry random_and_bit "exclude each other" '- node: conv2d_1\n  bit: 3\n  random_bit: true\n'
bad_entry adjacent_past "reaches past bit 31" '- node: conv2d_1\n  bit: 30\n  adjacent: 5\n'
bad_entry int8_no_scale "scale: missing" '- node: conv2d_1\n  bit: 3\n  format: int8\n'
bad_entry int8_inf_scale "positive, finite scale" '- node: conv2d_1\n  bit: 3\n  format: int8\n  scale: .inf\n'
bad_entry zero_point "zero_point 1000 is outside" '- node: conv2d_1\n  bit: 3\n  format: int8\n  scale: 0.1\n  zero_point: 1000\n'

# Resource limits and outputs checked before work.
check threads_too_many 2 "--threads 10000: this machine has" -- "$fg" --threads 10000 ops
check config_dev_zero 2 "/dev/zero: larger than the 16 MiB limit for a fault configuration" -- "$fg" inject -m seed_inception -c /dev/zero -d "$fmnist" -o z
check config_folder 2 "adir: is a folder" -- "$fg" inject -m seed_inception -c adir -d "$fmnist" -o z
check train_out_unwritable 2 "/proc/x.onnx|/proc: cannot" -- "$fg" train -m resnet20 --width 0.25 --limit 64 -e 1 -o /proc/x.onnx
! grep -qi "epoch" "$tmp/out" "$tmp/err" || { echo "FAIL train checked its output only after training:"; cat "$tmp/out"; fail=1; }
# Saving fails after training (its folder removed meanwhile): the trained model is saved
# in the temporary folder instead, and the one-line error names that file.
mkdir -p gone
(TMPDIR="$tmp" "$fg" --threads 1 train -m resnet20 --width 0.25 -e 2 --limit 512 -o gone/m.onnx \
  >tr.out 2>tr.err; echo $? >tr.rc) &
trainer=$!
for _ in $(seq 2400); do grep -q '^training ' tr.out 2>/dev/null && break; sleep 0.05; done
rm -rf gone
wait "$trainer"
rescued=$(ls "$tmp"/faultgraph-trained-resnet20-*.onnx 2>/dev/null | head -1)
if [ "$(cat tr.rc)" = 2 ] && [ -n "$rescued" ] && [ "$(wc -l <tr.err | tr -d ' ')" -le 3 ] &&
  grep -q "gone/m.onnx: cannot open for writing; the trained model was saved to $rescued instead" tr.err &&
  "$fg" inspect "$rescued" >/dev/null; then
  echo "ok   train_save_fails_model_kept"
else
  echo "FAIL train_save_fails_model_kept: exit $(cat tr.rc)"; cat tr.err; fail=1
fi
# Paths with a name longer than the file system allows: one line, exit 2, never "internal
# error" (std::filesystem's throwing calls used to escape as exit 3).
long=$(printf 'a%.0s' $(seq 300))
check dataset_name_too_long 2 "$long: no such file or folder" -- "$fg" eval -m resnet20 -d "$long" -o ev
check gtsrb_name_too_long 2 "no such file or folder|not a folder" -- "$fg" eval -m resnet20 -d "gtsrb:$long" -o ev
check model_folder_too_long 2 "File name too long" -- "$fg" demo -m "$tmp/$long/m.onnx"
check train_checkpoint_is_file 2 "afile: exists and is not a folder" -- "$fg" train -m resnet20 --limit 8 --checkpoint afile
check export_to_folder 2 "adir: is a folder" -- "$fg" campaign export straight.db -o adir
check faults_to_device 2 "/dev/null: is not a regular file" -- "$fg" campaign faults spec.yml -o /dev/null

# Dataset files whose headers lie: one line naming the file, no huge allocation.
mkdir -p lying_idx lying_png/train/a lying_png/test/a
"$py" - <<'PY'
import struct, zlib
for name in ["train-images-idx3-ubyte", "t10k-images-idx3-ubyte"]:
    open(f"lying_idx/{name}", "wb").write(struct.pack(">IIII", 0x803, 0xFFFFFFFF, 28, 28) + bytes(100))
for name in ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"]:
    open(f"lying_idx/{name}", "wb").write(struct.pack(">II", 0x801, 0xFFFFFFFF) + bytes(100))
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(b"\x00" * 10)) + chunk(b"IEND", b""))
for d in ["train", "test"]:
    open(f"lying_png/{d}/a/x.png", "wb").write(png)
PY
# Memory bounded by what the file holds: under a 4 GB address-space limit (not under
# AddressSanitizer, which maps terabytes of shadow memory and cannot run with one).
limit="ulimit -v 4000000;"
[ -z "${FG_SANITIZED:-}" ] || limit=""
check idx_lying_header 2 "lying_idx/train-images-idx3-ubyte: the header announces" -- \
  bash -c "$limit \"$fg\" eval -m seed_inception -d idx:lying_idx -o e_idx"
check png_lying_header 2 "x.png: cannot be read as an image" -- "$fg" eval -m seed_inception -d folder:lying_png -o e_png
# A GTSRB annotation naming an image of 300 characters: the line and the missing file.
mkdir -p long_gtsrb
long=$(printf 'a%.0s' $(seq 1 300))
printf 'Width,Height,Roi.X1,Roi.Y1,Roi.X2,Roi.Y2,ClassId,Path\n30,30,5,5,25,25,1,Train/1/%s.png\n' "$long" >long_gtsrb/Train.csv
check gtsrb_long_name 2 "Train.csv:2: image" -- "$fg" eval -m seed_inception -d gtsrb:long_gtsrb -o e_long

# A spec whose inputs: count exceeds what the split holds runs on what there is, and says so
# (was: silently fewer inputs); sampling: {trials: 0} is refused (was: a whole statistical
# plan, thousands of trials).
"$py" - <<'PY'
import os, struct, zlib
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
def png(shade):
    rows = b"".join(b"\x00" + bytes([shade, 255 - shade, 40]) * 8 for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
for split in ["train", "test"]:
    for cls, shade in [("a", 20), ("b", 220)]:
        os.makedirs(f"tiny/{split}/{cls}", exist_ok=True)
        for i in range(2):
            open(f"tiny/{split}/{cls}/{i}.png", "wb").write(png(shade + i))
PY
printf 'model: resnet20\ndataset: folder:tiny\ninputs: {count: 10, correct_only: false}\nsampling: {trials: 3}\n' >short.yml
check inputs_count_short 0 "faultgraph: note: short.yml: inputs: count is 10, but the test split holds 4 images; the campaign uses all of them" -- \
  "$fg" campaign run short.yml --db short.db
grep -q "3 of 3 stored" out || { echo "FAIL inputs_count_short:"; cat out; fail=1; }
printf 'model: resnet20\nsampling: {trials: 0}\n' >zero.yml
check spec_trials_zero 2 "zero.yml:2: sampling.trials: 0 runs nothing; give 1 or more, or leave trials out" -- \
  "$fg" campaign plan zero.yml

# An IDX folder holding the test split only serves eval; a gzip file with a bad checksum
# is "corrupt", not "truncated".
mkdir -p test_only bad_crc
cp "$fmnist"/t10k-* test_only/
cp "$fmnist"/* bad_crc/
"$py" -c "
p = 'bad_crc/t10k-labels-idx1-ubyte.gz'
b = bytearray(open(p, 'rb').read()); b[-6] ^= 0xFF; open(p, 'wb').write(b)"
check eval_test_only_idx 0 "" -- "$fg" eval -m seed_inception -d test_only --limit 16 -o e_to
check train_test_only_idx 2 "the training set is empty" -- "$fg" train -m resnet20 -d test_only --limit 8 -o to.onnx
check idx_bad_crc 2 "t10k-labels-idx1-ubyte.gz: cannot be decompressed \\(incorrect data check\\)" -- \
  "$fg" eval -m seed_inception -d bad_crc -o e_crc

# ONNX inputs: a negative dim is an error naming the input; no shape at all is an unknown
# rank (not a 0-d scalar).
"$py" - <<'PY'
from onnx import helper, TensorProto
def save(path, shape):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y])
    open(path, "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
save("negdim.onnx", [1, -3, 4])
save("norank.onnx", None)
save("hugeinput.onnx", [1 << 40, 1 << 40])  # 2^80 elements declared
# Range(0, 1e18, 1): a size beyond any machine's memory, chosen by the model's constants.
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
consts = [helper.make_node("Constant", [], [n], value=helper.make_tensor(n, TensorProto.FLOAT, [], [v]))
          for n, v in (("a", 0.0), ("b", 1e18), ("c", 1.0))]
g = helper.make_graph(consts + [helper.make_node("Range", ["a", "b", "c"], ["r"], name="huge_range"),
                                helper.make_node("Add", ["x", "r"], ["y"])], "g", [x], [y])
open("range.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
PY
# A model file whose input does not take the dataset's images: the shapes and the options
# that resize images named, in a campaign (before any site is resolved) and in eval.
"$py" - <<'PY'
from onnx import helper, TensorProto, numpy_helper
import numpy as np
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
w = numpy_helper.from_array(np.ones((2, 3, 1, 1), np.float32), "w")
g = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["y"], name="c")], "g", [x], [y],
                      initializer=[w])
open("rgb8.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
PY
printf 'model: rgb8.onnx\ndataset: fashion-mnist\ninputs: {count: 2, correct_only: false}\n' >rgb8.yml
check campaign_images_do_not_fit 2 "fashion-mnist \\(test\\): its images are 1 x 28 x 28, but the model's input 'x' takes 3 x 8 x 8 \\(rgb8.yml: dataset_options: \\{image_size: 8, channels: 3\\}" -- \
  "$fg" campaign run rgb8.yml --db rgb8.db
[ ! -e rgb8.db ] || { echo "FAIL a refused campaign left rgb8.db"; fail=1; }
check eval_images_do_not_fit 2 "its images are 1 x 28 x 28, but rgb8.onnx's input 'x' takes 3 x 8 x 8 \\(--image-size 8 --channels 3" -- \
  "$fg" eval -m rgb8.onnx -o e_rgb8
check onnx_negative_dim 2 "negdim.onnx: graph input 'x': dim 1 is -3" -- "$fg" inspect negdim.onnx
check onnx_no_shape 0 "" -- "$fg" inspect norank.onnx
grep -q "^input  x: ?$" out || { echo "FAIL input without a shape:"; cat out; fail=1; }
check onnx_huge_input 2 "graph input 'x': declares \\[1099511627776, 1099511627776\\] \\(more bytes than 64 bits count\\)" -- "$fg" inspect hugeinput.onnx
# A Reshape target whose element count passes 64 bits (found by fuzzing onnx_run: UBSan).
"$py" - <<'PY'
from onnx import helper, TensorProto, numpy_helper
import numpy as np
x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
shape = numpy_helper.from_array(np.array([32, (1 << 62) + 1], np.int64), "shape")
g = helper.make_graph([helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")], "g", [x], [y],
                      initializer=[shape])
open("reshape.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
# Pads and window sizes near 2^63 (fuzzing: a Pad whose dim + pads overflowed at import).
pads = numpy_helper.from_array(np.array([0, 0, 1 << 62, 0, 0, 1 << 62], np.int64), "pads")
g = helper.make_graph([helper.make_node("Pad", ["x", "pads"], ["y"], name="p")], "g", [x], [y],
                      initializer=[pads])
open("pad.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
x4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])
g = helper.make_graph([helper.make_node("MaxPool", ["x"], ["y"], name="m", kernel_shape=[2, 2],
                                        dilations=[1 << 62, 1])], "g", [x4], [y])
open("pool.onnx", "wb").write(helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString())
PY
check onnx_pad_overflow 2 "node 'p' \\(Pad\\): pad 4611686018427387904 is outside" -- "$fg" inspect pad.onnx
check onnx_window_overflow 2 "node 'm' \\(MaxPool\\): kernel_shape, strides and dilations must be at most 2147483648" -- "$fg" inspect pool.onnx
check onnx_reshape_overflow 2 "node 'r' \\(Reshape\\): the target shape \\[32,4611686018427387905\\] has more elements than 64 bits count" -- "$fg" inspect reshape.onnx
check onnx_huge_range 2 "node 'huge_range' \\(Range\\): the output would be \\[999999984306749440\\].*memory" -- "$fg" inspect range.onnx

# A model with a dynamic height and width: inspect shows the unknown dims as "?".
"$py" - <<'PY'
import torch
class M(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 8, 3, padding=1)
        self.p = torch.nn.MaxPool2d(4)
    def forward(self, x):
        return self.p(torch.relu(self.c(x)))
torch.onnx.export(M(), torch.randn(1, 3, 16, 16), "dyn.onnx", input_names=["x"], output_names=["y"],
                  dynamic_axes={"x": {0: "N", 2: "H", 3: "W"}, "y": {0: "N", 2: "h", 3: "w"}},
                  opset_version=13)
PY
check inspect_dynamic_hw 0 "" -- "$fg" inspect dyn.onnx
grep -q "f32\[1,8,?,?\]" out || { echo "FAIL inspect of dynamic H/W:"; cat out; fail=1; }

# Ctrl-C and SIGTERM stop inject within seconds, exit 130 / 143, and write no report.
for sig in INT TERM; do
  "$fg" inject -m seed_inception -c one.yml -d "$fmnist" -o "sig$sig" >"sig$sig.out" 2>&1 &
  pid=$!
  # The output folder exists once the handlers are installed (a signal that reaches the
  # forked shell before exec is ignored, as for every background job), then a few seconds
  # into the entries.
  for _ in $(seq 600); do [ -d "sig$sig" ] && break; sleep 0.1; done
  sleep 3
  kill -"$sig" "$pid"
  stopped "inject SIG$sig" "$pid"
  want=$([ "$sig" = INT ] && echo 130 || echo 143)
  [ "$rc" -eq "$want" ] || { echo "FAIL inject SIG$sig: exit $rc, wanted $want"; cat "sig$sig.out"; fail=1; }
  [ ! -e "sig$sig/report.json" ] || { echo "FAIL inject SIG$sig wrote a report"; fail=1; }
  echo "ok   inject SIG$sig"
done
exit $fail
