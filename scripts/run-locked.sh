# Sourced by up.sh and down.sh: one `npm run up` or `npm run down` at a time per state directory.
# `run_locked WHAT SCRIPT ARGS...` re-runs SCRIPT under a kernel lock (flock) on
# $HCB_STATE_DIR/up.lock, released when it ends however it ends (-o: the cluster's processes it
# starts do not inherit the lock), and exits with its status. A second run waits, saying for whom,
# up to HCB_UP_LOCK_WAIT seconds (default 600), then exits 75. Inside the lock (HCB_UP_LOCKED set)
# it records the holder and returns.
run_locked() {
  local what=$1 script=$2 lock_dir rc
  shift 2
  lock_dir=${HCB_STATE_DIR:-$PWD/.hcb}
  if [ -n "${HCB_UP_LOCKED:-}" ]; then
    echo "pid $$ (npm run $what) since $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$lock_dir/up.lock"
    return 0
  fi
  local busy="npm run up or down is running" other="the other run"
  [ "$what" = up ] && busy="another npm run up is running" && other="the other npm run up"
  mkdir -p "$lock_dir" && chmod 700 "$lock_dir"
  if ! flock -n "$lock_dir/up.lock" true; then
    echo "[$what] $busy ($(cat "$lock_dir/up.lock" 2>/dev/null || echo 'holder unknown')); waiting up to ${HCB_UP_LOCK_WAIT:-600}s" >&2
  fi
  set +e
  HCB_UP_LOCKED=1 flock -o -w "${HCB_UP_LOCK_WAIT:-600}" -E 75 "$lock_dir/up.lock" bash "$script" "$@"
  rc=$?
  [ $rc -eq 75 ] && echo "[$what] gave up waiting for $other ($(cat "$lock_dir/up.lock" 2>/dev/null)); run it again when that one has finished" >&2
  exit $rc
}
