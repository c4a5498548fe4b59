# Sourced by the CLI test scripts (which set tmp and fail=0 first).
# check NAME EXPECTED_RC STDERR_PATTERN -- command...: runs the command, expects the exit
# code, the pattern (extended regex) in stderr and, for exit 2, a one-line error (unless
# oneline=0 is set for the call). Commands run under `ulimit -v 4000000` (see below).
check() {
  local name=$1 want=$2 pattern=$3
  shift 4
  # Every case under a 4 GB address-space limit (memory bounded by what the input holds),
  # except under AddressSanitizer (terabytes of shadow mappings) or where a caller opts out
  # (FG_CHECK_ULIMIT=0: mpirun's shared-memory segments).
  if [ -z "${FG_SANITIZED:-}" ] && [ "${FG_CHECK_ULIMIT:-1}" != 0 ]; then
    (ulimit -v 4000000 && "$@") >"$tmp/out" 2>"$tmp/err"
  else
    "$@" >"$tmp/out" 2>"$tmp/err"
  fi
  local rc=$?
  if [ "$rc" -ne "$want" ]; then
    echo "FAIL $name: exit $rc, wanted $want"; cat "$tmp/err"; fail=1; return
  fi
  if [ -n "$pattern" ] && ! grep -qE -- "$pattern" "$tmp/err"; then
    echo "FAIL $name: stderr does not match '$pattern':"; cat "$tmp/err"; fail=1; return
  fi
  if [ "$want" -eq 2 ] && [ "${oneline:-1}" -eq 1 ] && [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
    echo "FAIL $name: error is not one line:"; cat "$tmp/err"; fail=1; return
  fi
  echo "ok   $name"
}

# stopped NAME PID: waits for a process that was sent a signal and sets rc to its exit code.
# No timing assertion (shared CI machines stall for seconds); what shows that it stopped is
# the exit code and what the caller finds unfinished. A guard of 120 s ends a process that
# ignored the signal, so a regression fails instead of hanging the suite.
stopped() {
  local name=$1 pid=$2 waited=0
  while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt 1200 ]; do sleep 0.1; waited=$((waited + 1)); done
  if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL $name: still running 120 s after the signal"; kill -9 "$pid"; fail=1
  fi
  wait "$pid"
  rc=$?
}
