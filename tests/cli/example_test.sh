#!/usr/bin/env bash
# The library example (examples/inject_example.cpp) on the seed's configuration: it must
# exit 0 and print the golden accuracy, the faulty accuracy of conv2d_2 and the entries
# that could not run.
set -u
example=$1 config=$2 dataset=$3
out=$("$example" "$config" "$dataset" 200)
rc=$?
echo "$out"
[ "$rc" -eq 0 ] || { echo "FAIL: exit $rc"; exit 1; }
flat=$(echo "$out" | tr '\n' ' ')
echo "$flat" | grep -qE 'golden accuracy: [0-9.]+%.*conv2d_2: faulty accuracy.*not run: .*bit_number: 64 is outside 0..31' ||
  { echo "FAIL: expected lines missing"; exit 1; }
