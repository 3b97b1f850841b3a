#!/bin/bash
# End-to-end test of slurm/icl-sweep.sbatch on a real single-node Slurm (Debian's slurm-wlm and
# munge), as root:
#   1. starts munged, slurmctld and slurmd of its own (config, state, logs in a temp dir);
#   2. submits tests/slurm/requeue.ini (about a minute on 2 ranks) with a 1-minute time limit, the
#      deadline 15 s before the job's end (ICL_DEADLINE_MARGIN=15: icl-sweep stops by itself 30 s
#      into the run) and the time-limit warning at 40 s (`-t 1 --signal=B:USR1@40`; Slurm warns
#      at its next time-limit check, within about 30 s of the start, or, on a loaded machine,
#      later or never): whichever comes first stops the sweep before it can finish;
#   3. expects the batch shell to stop the ranks (exit 3) and requeue the job, and the next run
#      to resume; after two requeues it lengthens the job's time limit so that the test ends
#      soon (each run gets about 30 s, and a requeued job waits about a minute to start again:
#      cred_expire=30 here, 120 s by default);
#   4. checks that the job completed after at least one requeue and a resume, and that the file
#      is complete and equal, bitwise in every column but `seconds` and `rank` and in the
#      trajectories, to a clean run of the same config by icl-sweep directly;
#   5. submits the same sweep again with a warning that nothing listens to (`--signal=B:URG@1`:
#      a USR1 that never arrives): the deadline alone must stop, requeue and finish it, equal to
#      the clean run as well;
#   6. submits it a third time with neither deadline nor warning (ICL_DEADLINE_MARGIN=0,
#      --signal=B:URG@1): the SIGTERM of the time limit stops the ranks at a checkpoint and the batch
#      shell still requeues the job, which then finishes, equal to the clean run;
#   7. runs slurm/icl-sweep-array.sbatch on a list of two small configs, and icl-sweep.sbatch
#      again on the finished output (which it must leave alone, saying it is complete).
# ICL_SLURM_TEST_BURN=N runs N CPU burners beside the two requeued jobs (a loaded machine).
# Exits 0 on success, 1 on failure, 77 (ctest's SKIP_RETURN_CODE) when it cannot run: not root,
# Slurm or munge missing, or the daemons do not start.
#
# usage: run_slurm_requeue_test.sh PATH/TO/icl-sweep REPOSITORY_ROOT
set -u

SKIP=77
TIMEOUT=${ICL_SLURM_TEST_TIMEOUT:-1500}   # overall wait for the jobs, seconds
START=$SECONDS

say() { printf '[%4ds] %s\n' $((SECONDS - START)) "$*"; }
skip() { say "SKIP: $*"; exit "$SKIP"; }

[ $# -eq 2 ] || { echo "usage: $0 PATH/TO/icl-sweep REPOSITORY_ROOT" >&2; exit 2; }
PROGRAM=$(realpath -- "$1") || exit 2
REPO=$(realpath -- "$2") || exit 2
CONFIG=$REPO/tests/slurm/requeue.ini
SCRIPT=$REPO/slurm/icl-sweep.sbatch
PY=/usr/bin/python3

[ "$(id -u)" -eq 0 ] || skip "needs root (runs its own slurmctld, slurmd and munged)"
for c in munged munge slurmctld slurmd sbatch sinfo scontrol scancel srun; do
  command -v "$c" >/dev/null || skip "$c not found (apt-get install slurm-wlm munge)"
done
id munge >/dev/null 2>&1 || skip "no munge user (apt-get install munge)"
"$PY" -c 'import h5py, numpy' 2>/dev/null || skip "$PY cannot import h5py and numpy (python3-h5py)"
[ -x "$PROGRAM" ] || { echo "FAIL: $PROGRAM is not an executable"; exit 1; }
if [ ! -r "$CONFIG" ] || [ ! -r "$SCRIPT" ]; then echo "FAIL: $CONFIG or $SCRIPT missing"; exit 1; fi

TMP=$(mktemp -d /tmp/icl-slurm-test.XXXXXX) || exit 1
chmod 755 "$TMP"
CREATED_KEY=
BURNERS=
JOB=
OTHER_JOBS=
REF_PID=

stop_pidfile() {   # stop_pidfile FILE: TERM the daemon named in FILE, KILL it after 20 s
  local pid
  [ -s "$1" ] || return 0
  pid=$(cat "$1")
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL "$pid" 2>/dev/null
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$JOB$OTHER_JOBS" ] && [ -s "$TMP/slurmctld.pid" ]; then
    # shellcheck disable=SC2086
    scancel $JOB $OTHER_JOBS 2>/dev/null
  fi
  [ -n "$REF_PID" ] && kill "$REF_PID" 2>/dev/null
  # shellcheck disable=SC2086
  [ -n "$BURNERS" ] && kill $BURNERS 2>/dev/null
  stop_pidfile "$TMP/slurmd.pid"
  stop_pidfile "$TMP/slurmctld.pid"
  stop_pidfile "$TMP/munge/munged.pid"
  [ -n "$CREATED_KEY" ] && rm -f /etc/munge/munge.key
  rm -rf "$TMP"
  say "exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

show_logs() {
  local f
  for f in "$TMP/work/job.log" "$TMP/work/nowarning.log" "$TMP/work/atlimit.log" "$TMP"/work/array-*.log "$TMP/work/rerun.log" "$TMP/reference.log" "$TMP/slurmctld.log" "$TMP/slurmd.log" "$TMP/munge/munged.log"; do
    [ -s "$f" ] || continue
    echo "----- $f (last 80 lines)"
    tail -n 80 "$f"
  done
  [ -n "$JOB" ] && { echo "----- scontrol show job $JOB"; scontrol show job "$JOB" 2>&1; }
}
fail() { say "FAIL: $*"; show_logs; exit 1; }
daemon_skip() { say "cannot start the Slurm daemons: $*"; show_logs; exit "$SKIP"; }

# ---- munge: the key it needs, and a munged of our own on a socket of our own
if [ ! -e /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none || skip "cannot write /etc/munge/munge.key"
  chown munge: /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  CREATED_KEY=1
fi
mkdir -p "$TMP/munge" && chown munge: "$TMP/munge" && chmod 755 "$TMP/munge"
SOCKET=$TMP/munge/munge.socket
su -s /bin/sh munge -c "munged --socket=$SOCKET --pid-file=$TMP/munge/munged.pid \
    --log-file=$TMP/munge/munged.log --seed-file=$TMP/munge/munged.seed" ||
  daemon_skip "munged failed"
for _ in $(seq 50); do [ -S "$SOCKET" ] && break; sleep 0.1; done
munge -S "$SOCKET" -n </dev/null | unmunge -S "$SOCKET" >/dev/null || daemon_skip "munge does not work"

# ---- Slurm: slurm.conf of our own (SLURM_CONF), slurmctld, slurmd
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/^MemTotal:/ { printf "%d", $2 / 1024 * 0.8 }' /proc/meminfo)
read -r CTLD_PORT SLURMD_PORT < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(*[x.getsockname()[1] for x in s])')
mkdir -p "$TMP/state" "$TMP/spool" "$TMP/work"
: > "$TMP/plugstack.conf"
export SLURM_CONF=$TMP/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=icltest
SlurmctldHost=$HOST
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$SOCKET,cred_expire=30
StateSaveLocation=$TMP/state
SlurmdSpoolDir=$TMP/spool
SlurmctldPidFile=$TMP/slurmctld.pid
SlurmdPidFile=$TMP/slurmd.pid
SlurmctldLogFile=$TMP/slurmctld.log
SlurmdLogFile=$TMP/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
PlugStackConfig=$TMP/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=900
InactiveLimit=0
KillWait=30
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=test Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
say "Slurm config $SLURM_CONF (node $HOST, $CPUS CPUs, ${MEM} MB, ports $CTLD_PORT/$SLURMD_PORT)"
/usr/sbin/slurmctld -c || daemon_skip "slurmctld failed"
for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
scontrol ping 2>/dev/null | grep -q UP || daemon_skip "slurmctld does not answer"
/usr/sbin/slurmd || daemon_skip "slurmd failed"
state=
for _ in $(seq 120); do
  state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || daemon_skip "node not idle after 60 s (sinfo: '$state')"
say "Slurm is up: node $HOST idle; srun --mpi=list: $(srun --mpi=list 2>&1 | tr -s '\n ' ' ')"

BURNERS=
for _ in $(seq "${ICL_SLURM_TEST_BURN:-0}"); do
  sh -c 'while :; do :; done' &
  BURNERS="$BURNERS $!"
done
[ -n "$BURNERS" ] && say "running ${ICL_SLURM_TEST_BURN} CPU burners beside the jobs"

# ---- the job: a time limit far too short for the sweep
cd "$TMP/work" || exit 1
export ICL_CONFIG=$CONFIG ICL_PROGRAM=$PROGRAM ICL_ARGS="--progress 5" ICL_DEADLINE_MARGIN=15

# The reference, computed meanwhile (mostly while the requeued job waits).
"$PROGRAM" --config "$CONFIG" --output "$TMP/reference.h5" --progress 0 >"$TMP/reference.log" 2>&1 &
REF_PID=$!

job_field() { scontrol show job -o "$JOB" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }

# run_job LOG OUTPUT EXTEND_AFTER [SBATCH_OPTION...]: submits the sweep into OUTPUT, waits for it
# (lengthening its time limit after EXTEND_AFTER requeues, so that the test ends soon), and
# checks that it completed after at least one clean stop, requeue and resume.
run_job() {
  local log=$1 output=$2 extend_after=$3 extended= last= st restarts
  shift 3
  JOB=$(ICL_OUTPUT=$output sbatch --parsable -N 1 --ntasks-per-node=2 -t 1 "$@" -o "$log" --export=ALL "$SCRIPT") ||
    fail "sbatch failed"
  JOB=${JOB%%;*}
  say "submitted job $JOB: $SCRIPT, -N 1 --ntasks-per-node=2 -t 1 $*, deadline margin $ICL_DEADLINE_MARGIN s"
  while :; do
    [ $((SECONDS - START)) -lt "$TIMEOUT" ] || fail "job $JOB not finished after ${TIMEOUT} s"
    st=$(job_field JobState)
    restarts=$(job_field Restarts)
    [ "$st $restarts" != "$last" ] && say "job $JOB: $st, Restarts=$restarts"
    last="$st $restarts"
    if [ -z "$extended" ] && [ "${restarts:-0}" -ge "$extend_after" ]; then
      scontrol update JobId="$JOB" TimeLimit=10 || fail "cannot lengthen the time limit"
      say "requeued $restarts times: time limit now 10 minutes so that the next run can finish"
      extended=1
    fi
    case "$st" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) break ;;
      "") fail "job $JOB unknown to slurmctld" ;;
    esac
    sleep 2
  done
  say "job $JOB ended: $(scontrol show job -o "$JOB" | grep -o 'JobState=[^ ]* .*ExitCode=[^ ]*' | tr -s ' ' | cut -c1-200)"
  [ "$st" = COMPLETED ] || fail "job $JOB ended $st"
  [ "$(job_field ExitCode)" = 0:0 ] || fail "job $JOB exit code $(job_field ExitCode)"
  [ "${restarts:-0}" -ge 1 ] || fail "job $JOB completed without a requeue: the sweep finished inside the first window"
  grep -q 'stopped cleanly at a checkpoint (exit 3)' "$log" || fail "no clean stop (exit 3) in $log"
  grep -q 'requeued; the next run resumes' "$log" || fail "no requeue in $log"
  grep -q "resuming .*$(basename "$output") from" "$log" || fail "no resume in $log"
  [ ! -e "$output.journal" ] || fail "the journal is still there after completion"
  RESTARTS=$restarts
}

run_job "$TMP/work/job.log" "$TMP/work/requeue.h5" 2 --signal=B:USR1@40
FIRST_JOB=$JOB FIRST_RESTARTS=$RESTARTS
grep -q 'deadline: icl-sweep stops cleanly by' job.log || fail "no deadline passed to icl-sweep in job.log"
say "requeue checks passed: job $JOB completed after $RESTARTS requeue(s)"

# ---- a USR1 that never comes: the deadline alone stops, requeues and finishes the sweep
# (The script's own `#SBATCH --signal=B:USR1@300` is replaced by a warning nothing listens to:
# SIGURG, which the shell ignores.)
run_job "$TMP/work/nowarning.log" "$TMP/work/nowarning.h5" 1 --signal=B:URG@1
grep -q 'got USR1' nowarning.log && fail "a USR1 reached the job submitted without one"
grep -q 'stopped by the deadline' nowarning.log || fail "the sweep without a warning was not stopped by its deadline"
say "no-warning checks passed: job $JOB stopped at its deadline, requeued $RESTARTS time(s) and completed"
NOWARN_JOB=$JOB NOWARN_RESTARTS=$RESTARTS

# ---- neither a deadline nor a warning: the SIGTERM of the limit itself stops the ranks at a
# checkpoint, and the job is requeued all the same
ICL_DEADLINE_MARGIN=0 run_job "$TMP/work/atlimit.log" "$TMP/work/atlimit.h5" 1 --signal=B:URG@1
grep -q 'got TERM' atlimit.log || fail "the job without deadline or warning did not see the limit's TERM"
say "at-limit checks passed: job $JOB stopped by the limit's TERM, requeued $RESTARTS time(s) and completed"
# shellcheck disable=SC2086
[ -n "$BURNERS" ] && { kill $BURNERS 2>/dev/null; BURNERS=; }

say "waiting for the reference run"
wait "$REF_PID" || { REF_PID=; fail "reference run failed"; }
REF_PID=

for OUT in "$TMP/work/requeue.h5" "$TMP/work/nowarning.h5" "$TMP/work/atlimit.h5"; do
"$PY" - "$OUT" "$TMP/reference.h5" "$REPO" <<'EOF' || fail "$OUT differs from the reference"
import sys
import h5py

sys.path.insert(0, sys.argv[3] + "/tests/e2e")
from sweep_runner import TIMING_COLUMNS  # the columns that depend on when and where, one list

def load(path):
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        cols = {c: r[c].tobytes() for c in r.dtype.names if c not in TIMING_COLUMNS}
        traj = {k: f["trajectories"][k][:].tobytes() for k in f["trajectories"]}
        return cols, traj, int(f.attrs["completed"]), int((r["done"] == 1).sum()), len(r)

out, ref = load(sys.argv[1]), load(sys.argv[2])
bad = []
if out[2] != 1: bad.append(f"completed = {out[2]}")
if out[3] != out[4]: bad.append(f"{out[3]} of {out[4]} rows done")
if out[4] != ref[4]: bad.append(f"{out[4]} rows, reference {ref[4]}")
bad += [f"column {c} differs" for c in ref[0] if out[0].get(c) != ref[0][c]]
bad += [f"trajectories/{k} differs" for k in ref[1] if out[1].get(k) != ref[1][k]]
print("\n".join(bad) or f"output equals the reference: {out[4]} rows, completed = 1, "
      f"{len(ref[0])} columns and {len(ref[1])} trajectory datasets bitwise equal")
sys.exit(1 if bad else 0)
EOF
done
say "all three results equal the clean run"

# ---- the array variant on two small configs, and a rerun on the finished output
sed 's/^name = small$/name = small2/' "$REPO/tests/e2e/small.ini" > small2.ini
printf '# two small sweeps\n%s\n\n%s\n' "$REPO/tests/e2e/small.ini" "$TMP/work/small2.ini" > list.txt
ARRAY=$(sbatch --parsable --array=1-2 -N 1 --ntasks-per-node=1 -t 5 -o "$TMP/work/array-%a.log" \
  --export="ALL,ICL_CONFIG_LIST=$TMP/work/list.txt,ICL_OUTPUT_DIR=$TMP/work/array" \
  "$REPO/slurm/icl-sweep-array.sbatch") || fail "sbatch of the array failed"
ARRAY=${ARRAY%%;*}
RERUN=$(ICL_OUTPUT=$TMP/work/requeue.h5 sbatch --parsable -N 1 --ntasks-per-node=1 -t 5 -o "$TMP/work/rerun.log" \
  --export=ALL "$SCRIPT") ||
  fail "sbatch of the rerun failed"
RERUN=${RERUN%%;*}
OTHER_JOBS="$ARRAY $RERUN"
say "submitted array job $ARRAY (2 tasks) and rerun job $RERUN"
while [ -n "$(squeue -h -j "$ARRAY,$RERUN" 2>/dev/null)" ]; do
  [ $((SECONDS - START)) -lt $((TIMEOUT + 120)) ] || fail "array or rerun job not finished"
  sleep 2
done
for j in "${ARRAY}_1" "${ARRAY}_2" "$RERUN"; do
  info=$(scontrol show job -o "$j" | grep -o 'JobState=[^ ]*\|ExitCode=[^ ]*' | tr '\n' ' ')
  say "job $j: $info"
  case "$info" in *JobState=COMPLETED*ExitCode=0:0*) ;; *) fail "job $j did not complete with exit 0" ;; esac
done
grep -q "is already complete" rerun.log || fail "the rerun did not report the complete output"
"$PY" - "$TMP/work/array/small.h5" "$TMP/work/array/small2.h5" <<'EOF' || fail "array outputs incomplete"
import sys
import h5py
for path in sys.argv[1:]:
    with h5py.File(path, "r") as f:
        r = f["results"][:]
        ok = int(f.attrs["completed"]) == 1 and bool((r["done"] == 1).all())
        print(f"{path}: {len(r)} rows, {'complete' if ok else 'INCOMPLETE'}")
        if not ok:
            sys.exit(1)
EOF
[ ! -e "$TMP/work/small.h5" ] || fail "the array wrote outside ICL_OUTPUT_DIR"

echo "----- job log"
cat job.log
echo "----- rerun log"
cat rerun.log
say "PASS: job $FIRST_JOB completed after $FIRST_RESTARTS requeue(s), job $NOWARN_JOB (no warning) after $NOWARN_RESTARTS, job $JOB (the limit's TERM alone) after $RESTARTS, all equal to the clean run; array and rerun OK"
