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
