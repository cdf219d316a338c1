# Sourced by the command-line tests (test_cli.sh, test_reliability.sh): checks the arguments
# STRATA_BIN SOURCE_ROOT WORK_DIR, recreates WORK_DIR, changes to the source root, and
# defines strata_expect / has / has_re / fail.
if [[ $# -ne 3 ]]; then
  echo "usage: $0 STRATA_BIN SOURCE_ROOT WORK_DIR" >&2
  exit 2
fi
STRATA=$(realpath "$1")
SRC=$(realpath "$2")
rm -rf "$3"
mkdir -p "$3"
WORK=$(realpath "$3")
unset STRATA_PLUGIN_PATH  # only this build's plugin folder
cd "$SRC"                 # experiments/quickstart.toml is relative to the source root

LAST=""  # the name of the last command, for failure reports

fail() {
  echo "FAIL: $*" >&2
  if [[ -n "$LAST" ]]; then
    echo "--- command: $(cat "$WORK/$LAST.cmd")" >&2
    echo "--- stdout:" >&2
    cat "$WORK/$LAST.stdout" >&2
    echo "--- stderr:" >&2
    cat "$WORK/$LAST.stderr" >&2
  fi
  exit 1
}

# strata_expect RC NAME ARGS...: runs strata ARGS, keeps stdout/stderr in WORK/NAME.*,
# and fails unless it exits with RC.
strata_expect() {
  local want=$1 name=$2
  shift 2
  LAST=$name
  echo "strata $*" >"$WORK/$name.cmd"
  local rc=0
  "$STRATA" "$@" >"$WORK/$name.stdout" 2>"$WORK/$name.stderr" </dev/null || rc=$?
  [[ $rc -eq $want ]] || fail "$name: 'strata $*' exited $rc, expected $want"
  echo "ok: $name (exit $rc)"
}

# has STREAM TEXT: the last command's stdout or stderr contains TEXT (fixed string).
has() {
  grep -qF -- "$2" "$WORK/$LAST.$1" || fail "$LAST: $1 does not contain: $2"
}
# has_re STREAM REGEX
has_re() {
  grep -qE -- "$2" "$WORK/$LAST.$1" || fail "$LAST: $1 has no line matching: $2"
}

