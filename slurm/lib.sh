# shellcheck shell=bash
# Shared by slurm/icl-sweep.sbatch and slurm/icl-sweep-array.sbatch (sourced, not run).
#
# One sweep per Slurm job (or array task): start it fresh or resume it from its journal, launch
# every rank with srun, stop the ranks cleanly before the time limit (icl-sweep checkpoints and
# exits 3) and requeue the job, which then resumes. Three lines of defence, so that no single
# signal decides: (1) a deadline that needs no signal: icl-sweep --stop-at the job's end time
# (from Slurm) less ICL_DEADLINE_MARGIN; (2) Slurm's time-limit warning (USR1 to the batch shell,
# from `#SBATCH --signal=B:USR1@SECONDS`), passed to the ranks; (3) the SIGTERM of the limit
# itself, which the ranks also answer with a checkpoint. Any clean stop (exit 3) is requeued.
#
# Settings (environment; pass them with `sbatch --export=ALL,NAME=VALUE,...`):
#   ICL_PROGRAM     icl-sweep to run                   [<repository>/build/icl-sweep]
#   ICL_ARGS        more icl-sweep arguments, split on blanks, e.g. "--progress 60"   []
#   ICL_MPI         srun --mpi plugin                  [pmix if `srun --mpi=list` offers it, else pmi2]
#   ICL_FORCE       1: the job's first run overwrites an existing output (--force); its
#                   requeued runs still resume                                        [0]
#   ICL_REQUEUE     0: stop at the time-limit warning but do not requeue              [1]
#   ICL_STOP_DELAY  a stop is forwarded to the ranks no earlier than this many seconds after
#                   srun started, so that srun has launched every task               [3]
#   ICL_DEADLINE_MARGIN  icl-sweep is to have exited this many seconds before the job's end
#                   time (--stop-at); 0: no deadline, the signals alone                 [60]

ICL_REQUEUE=${ICL_REQUEUE:-1}
ICL_DEADLINE_MARGIN=${ICL_DEADLINE_MARGIN:-60}
ICL_STOP_DELAY=${ICL_STOP_DELAY:-3}
ICL_FORCE=${ICL_FORCE:-0}

icl_log() {
  printf '%s icl-sweep job %s (restart %s): %s\n' "$(date '+%F %T')" "${SLURM_JOB_ID:-?}" \
    "${SLURM_RESTART_COUNT:-0}" "$*"
}

# The output named after a config: DIR/<config file name without its extension>.h5
icl_output_for() {
  local name
  name=$(basename -- "$1")
  printf '%s/%s.h5\n' "${2:-.}" "${name%.*}"
}

# Line INDEX (1-based) of LIST, counting only lines that are neither blank nor # comments.
icl_config_from_list() {
  awk -v want="$2" '/^[[:space:]]*(#|$)/ { next } { n++ } n == want { sub(/^[[:space:]]+/, ""); sub(/[[:space:]]+$/, ""); print; exit }' "$1"
}

icl_mpi_plugin() {
  if [ -n "${ICL_MPI:-}" ]; then
    printf '%s\n' "$ICL_MPI"
  elif srun --mpi=list 2>&1 | grep -qw pmix; then
    printf 'pmix\n'
  else
    printf 'pmi2\n'
  fi
}

# The stop request: from Slurm's time-limit warning (USR1) or a user's `scancel --batch -s USR1`.
# Recorded here, forwarded by icl_forward_stop once the step is old enough.
ICL_STOP_REQUESTED=${ICL_STOP_REQUESTED:-0}   # the sbatch scripts set it, and a first trap, at once
ICL_SRUN_PID=
ICL_SRUN_START=
ICL_JOB_END=
icl_on_usr1() {
  ICL_STOP_REQUESTED=1
  icl_log "got USR1 (time limit near): stopping the sweep to requeue it"
  icl_forward_stop
}
trap icl_on_usr1 USR1

# The limit itself: Slurm sends SIGTERM to this shell and to every task (then SIGKILL after
# KillWait). The ranks checkpoint and exit 3; this shell must live to requeue the job. A TERM
# well before the job's end time is a user's `scancel`: that one is not requeued.
ICL_TERM_AT=
icl_on_term() {
  ICL_TERM_AT=$(date +%s)
  icl_log "got TERM (the time limit, or scancel): the ranks stop at a checkpoint"
}
trap icl_on_term TERM

# The job's end time from Slurm, as seconds since the epoch; empty if Slurm gives none.
icl_job_end() {
  local end
  end=$(squeue -h -j "${SLURM_JOB_ID:?}" -o %e 2>/dev/null | head -n 1)
  date -d "$end" +%s 2>/dev/null || true
}

icl_forward_stop() {
  [ -n "$ICL_SRUN_PID" ] || return 0
  local age=$((SECONDS - ICL_SRUN_START))
  if [ "$age" -lt "$ICL_STOP_DELAY" ]; then sleep $((ICL_STOP_DELAY - age)); fi
  # srun forwards USR1 to every task of the step, on every node; each rank stops handing out or
  # taking work, rank 0 checkpoints the journal and the file, and all exit 3.
  kill -USR1 "$ICL_SRUN_PID" 2>/dev/null || true
}

# icl_run_sweep CONFIG OUTPUT: runs one sweep to completion or to a clean stop. Returns the
# batch script's exit status: 0 complete (or already complete) or stopped and requeued; 2 bad
# input; 3 stopped and not requeued; else icl-sweep's or srun's status.
icl_run_sweep() {
  local config=$1 output=$2 mode rc
  local program=${ICL_PROGRAM:?}
  local -a args
  # Unquoted on purpose: ICL_ARGS holds several arguments.
  # shellcheck disable=SC2206
  args=(--config "$config" --output "$output" ${ICL_ARGS:-})

  if [ ! -x "$program" ]; then
    icl_log "ICL_PROGRAM=$program is not an executable; build it or set ICL_PROGRAM"
    return 2
  fi
  if [ ! -r "$config" ]; then
    icl_log "config $config is not readable (ICL_CONFIG / ICL_CONFIG_LIST; relative paths are from $PWD)"
    return 2
  fi

  # --resume-or-start: a fresh start when neither the output nor its journal exists; an
  # unfinished sweep (a journal) is resumed; a complete output is left alone (exit 0); an output
  # that is not this sweep's is refused (exit 2). Never overwritten, unless ICL_FORCE=1 on the
  # job's first run.
  if [ "$ICL_FORCE" = 1 ] && [ "${SLURM_RESTART_COUNT:-0}" -eq 0 ]; then
    mode=--force
    icl_log "fresh start, overwriting $output (ICL_FORCE=1)"
  else
    mode=--resume-or-start
    if [ -e "$output.journal" ]; then
      icl_log "resuming $output from $output.journal"
    elif [ -e "$output" ]; then
      icl_log "$output exists without a journal: checking that it is complete"
    else
      icl_log "fresh start: $config -> $output"
    fi
  fi

  if [ "$ICL_STOP_REQUESTED" = 1 ]; then
    icl_log "the time-limit warning came before the launch: not starting the sweep"
    rc=3
  else
    local mpi
    mpi=$(icl_mpi_plugin)
    # --kill-on-bad-exit=0: after a stop every rank exits 3; a site default KillOnBadExit=1
    # must not turn that clean, resumable stop into a killed step.
    icl_log "srun --mpi=$mpi: $SLURM_NTASKS tasks on $SLURM_JOB_NUM_NODES node(s) ($SLURM_JOB_NODELIST)"
    # (1) the deadline: icl-sweep is to have exited ICL_DEADLINE_MARGIN s before the end time.
    local -a deadline=()
    ICL_JOB_END=$(icl_job_end)
    if [ "$ICL_DEADLINE_MARGIN" -gt 0 ] 2>/dev/null && [ -n "$ICL_JOB_END" ]; then
      local stop=$((ICL_JOB_END - ICL_DEADLINE_MARGIN))
      if [ $((stop - $(date +%s))) -gt 30 ]; then
        deadline=(--stop-at "@$stop")
        icl_log "deadline: icl-sweep stops cleanly by $(date -d "@$stop" '+%F %T') (the job ends $(date -d "@$ICL_JOB_END" '+%F %T'))"
      else
        icl_log "the job ends too soon for a deadline ${ICL_DEADLINE_MARGIN} s before it: the signals alone"
      fi
    else
      icl_log "no deadline (ICL_DEADLINE_MARGIN=$ICL_DEADLINE_MARGIN, end time '${ICL_JOB_END}'): the signals alone"
    fi
    ICL_SRUN_START=$SECONDS
    srun --mpi="$mpi" --kill-on-bad-exit=0 "$program" "${args[@]}" $mode "${deadline[@]}" &
    ICL_SRUN_PID=$!
    # A trapped signal (USR1, TERM) interrupts `wait`; wait again until srun has really ended.
    while :; do
      wait "$ICL_SRUN_PID"
      rc=$?
      if [ "$rc" -gt 128 ] && kill -0 "$ICL_SRUN_PID" 2>/dev/null; then
        continue
      fi
      if [ "$rc" -gt 128 ]; then
        # Interrupted just as srun ended: collect its own status.
        wait "$ICL_SRUN_PID" 2>/dev/null
        local again=$?
        [ "$again" -ne 127 ] && rc=$again
      fi
      break
    done
    ICL_SRUN_PID=
  fi

  case "$rc" in
    0)
      icl_log "complete: $output"
      return 0 ;;
    2)
      icl_log "icl-sweep refused its input (exit 2): see its message above"
      return 2 ;;
  esac
  # A clean stop (exit 3: the deadline, the warning or the limit's TERM) or any end after a
  # stop request: the journal keeps every finished run; requeue so that the next run resumes.
  if [ "$rc" = 3 ] || [ "$ICL_STOP_REQUESTED" = 1 ] || [ -n "$ICL_TERM_AT" ]; then
    if [ -n "$ICL_TERM_AT" ] && [ "$ICL_STOP_REQUESTED" != 1 ] && [ -n "$ICL_JOB_END" ] &&
       [ "$ICL_TERM_AT" -lt $((ICL_JOB_END - 10)) ]; then
      icl_log "stopped by scancel (TERM before the time limit), status $rc: not requeued; submit again to resume"
      return 3
    fi
    if [ "$rc" = 3 ]; then
      icl_log "stopped cleanly at a checkpoint (exit 3)"
    else
      icl_log "srun ended with status $rc after the stop; the journal keeps every finished run"
    fi
    if [ "$ICL_REQUEUE" = 1 ]; then
      if scontrol requeue "$SLURM_JOB_ID"; then
        icl_log "requeued; the next run resumes from $output.journal"
        return 0
      fi
      icl_log "scontrol requeue failed: resume by submitting the job again"
    fi
    return 3
  fi
  icl_log "icl-sweep/srun failed with status $rc"
  return "$rc"
}
