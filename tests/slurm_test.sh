#!/usr/bin/env bash
# Real-Slurm test of the job scripts in jobs/: a single-node Slurm cluster on this machine, started
# from Debian's packages (installed here when missing), runs the product's own submission path.
#   1. jobs/submit fails at once, with a message, for a missing study, an invalid study, an
#      unwritable output directory and a job script that does not parse;
#   2. jobs/submit runs the small study as a job array (3 shards × 2 ranks, srun --mpi=pmix when the
#      plugin exists) chained to the merge job; the merged file holds every trial exactly once
#      (nnscape status and h5py), and records the Slurm job ids and the batch script text;
#   3. a second submission (2 shards, mpirun inside the allocation) is cancelled with scancel while
#      it runs, submitted again with the same command, and completes: nothing lost, nothing twice;
#   4. the single-job script (jobs/study.sbatch) gets SIGUSR1 as before a time limit, its run stops
#      with status 75 and the job requeues itself and finishes the study in the same file.
# Every daemon the test starts (munged when none runs, slurmctld, slurmd) is stopped by pid on exit;
# state, spool and logs live in the test's scratch directory. Skipped (exit 0, "SKIP:") only where
# Slurm is missing and cannot be installed (not root, or apt-get fails).
# Environment (set by tests/CMakeLists.txt): NNSCAPE = the binary, NNSCAPE_SOURCE_DIR = the tree.
source "$(dirname "${BASH_SOURCE[0]}")/script_common.sh" slurm_test
src=${NNSCAPE_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
study=$src/jobs/studies/quickstart.yaml
[ -f "$study" ] || { echo "slurm_test: missing $study"; exit 1; }
test_start=$SECONDS
elapsed() { echo "$((SECONDS - test_start)) s"; }

# 0. Slurm and munge: installed, or installable from Debian; else skip.
have_slurm() {
  command -v slurmctld && command -v slurmd && command -v munged && command -v sbatch
} > /dev/null 2>&1
if ! have_slurm; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get > /dev/null; then
    skip "Slurm is not installed and cannot be (needs root and apt-get: slurmctld slurmd munge)"
  fi
  echo "slurm_test: installing slurmctld slurmd slurm-client munge"
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
         DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
           slurmctld slurmd slurm-client munge > /dev/null; } || ! have_slurm; then
    skip "Slurm packages could not be installed (apt-get failed)"
  fi
fi
if [ "$(id -u)" -ne 0 ]; then
  skip "starting slurmd and munged needs root"
fi

# Daemons this test started, by pid; stopped in reverse order on any exit, after cancelling jobs so
# that no job step outlives slurmd.
daemons=()
cleanup() {
  set +e
  if [ "$failed" -gt 0 ] && [ -d "${sdir:-}/log" ]; then
    echo "slurm_test: the daemons' last words:"; tail -n 15 "$sdir"/log/*.log | sed 's/^/    /'
  fi
  if [ ${#daemons[@]} -gt 0 ] && [ -n "${SLURM_CONF:-}" ]; then
    scancel --quiet --full --user="$(id -un)" 2> /dev/null
    for _ in $(seq 1 40); do
      [ -z "$(squeue -h -o %i 2> /dev/null)" ] && break
      sleep 0.5
    done
  fi
  for ((i = ${#daemons[@]} - 1; i >= 0; i--)); do
    local pid=${daemons[i]}
    kill "$pid" 2> /dev/null || continue
    for _ in $(seq 1 40); do kill -0 "$pid" 2> /dev/null || break; sleep 0.25; done
    kill -9 "$pid" 2> /dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT

# 1. munged: reuse a working one, else start one as user munge (it refuses to run as root).
if munge -n 2> /dev/null | unmunge > /dev/null 2>&1; then
  echo "slurm_test: using the munged already running"
else
  if [ ! -s /etc/munge/munge.key ]; then
    runuser -u munge -- mungekey --create --keyfile=/etc/munge/munge.key || { echo "slurm_test: no munge key"; exit 1; }
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  rm -f /run/munge/munged.pid
  runuser -u munge -- munged || { echo "slurm_test: munged did not start"; exit 1; }
  daemons+=("$(cat /run/munge/munged.pid)")
  munge -n | unmunge > /dev/null || { echo "slurm_test: munge does not work"; exit 1; }
fi

# 2. slurm.conf for one node (this host, as `slurmd -C` sees it), in the scratch directory. No
# cgroups (containers rarely delegate them): processes are tracked by parent pid.
sdir=$work/slurm
mkdir -p "$sdir/state" "$sdir/spool" "$sdir/log"
read -r ctld_port slurmd_port < <("$PY" -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("", 0))
print(*(x.getsockname()[1] for x in s))')
node_line=$(slurmd -C | head -n 1 | sed 's/ RealMemory=[0-9]*//')
node=$(sed 's/^NodeName=\([^ ]*\).*/\1/' <<< "$node_line")
ncpus=$(sed 's/.* CPUs=\([0-9]*\).*/\1/' <<< "$node_line")
mpi_default=none
compgen -G '/usr/lib*/*/slurm-wlm/mpi_pmix.so' > /dev/null || compgen -G '/usr/lib*/slurm/mpi_pmix.so' > /dev/null &&
  mpi_default=pmix
cat > "$sdir/slurm.conf" <<EOF
ClusterName=nnscapetest
SlurmctldHost=$(hostname -s)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$sdir/state
SlurmdSpoolDir=$sdir/spool
SlurmctldPidFile=$sdir/slurmctld.pid
SlurmdPidFile=$sdir/slurmd.pid
SlurmctldLogFile=$sdir/log/slurmctld.log
SlurmdLogFile=$sdir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=$mpi_default
ReturnToService=2
KillWait=5
SchedulerParameters=sched_interval=2,bf_interval=2
MinJobAge=600
$node_line
PartitionName=test Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$sdir/slurm.conf
slurmctld -D -f "$SLURM_CONF" > "$sdir/log/slurmctld.out" 2>&1 &
daemons+=($!)
slurmd -D -f "$SLURM_CONF" > "$sdir/log/slurmd.out" 2>&1 &
daemons+=($!)
for _ in $(seq 1 60); do
  [ "$(sinfo -h -n "$node" -o %t 2> /dev/null)" = idle ] && break
  sleep 0.5
done
if [ "$(sinfo -h -n "$node" -o %t 2> /dev/null)" = idle ]; then
  pass "single-node cluster up: $node, $ncpus CPUs, MpiDefault=$mpi_default ($(elapsed))"
else
  fail "cluster did not come up: $(sinfo 2>&1); $(tail -n 5 "$sdir/log/slurmctld.log" "$sdir/log/slurmd.log" 2>&1)"
  finish; exit 1
fi

# Helpers. `squeue` lists jobs until they end; `scontrol show job` keeps them for MinJobAge.
# Trials take a fraction of a second, so progress is read with h5py in one process (a reader may
# open a results file while the run writes it); `nnscape status` starts MPI and PETSc each time.
cat > h5tool.py <<'PYEOF'
import subprocess, sys, time
import h5py, numpy as np

text = lambda v: v.decode() if isinstance(v, bytes) else str(v)

def recorded(paths):
    """Trials done or failed in these files (a file not created yet counts 0)."""
    n = 0
    for p in paths:
        try:
            with h5py.File(p, "r") as f:
                n += int(np.count_nonzero(f["trials"]["state"][()] != 0))
        except (OSError, KeyError):
            pass
    return n

cmd, args = sys.argv[1], sys.argv[2:]
if cmd == "count":  # count FILE...
    print(recorded(args))
elif cmd == "wait":  # wait MIN SECONDS JOBID FILE...: until MIN recorded, the job ends or time is up
    need, limit, job, paths = int(args[0]), time.time() + float(args[1]), args[2], args[3:]
    while recorded(paths) < need and time.time() < limit:
        if not subprocess.run(["squeue", "-h", "-j", job, "-o", "%i"], capture_output=True,
                              text=True).stdout.strip():
            break
        time.sleep(0.1)
    print(recorded(paths))
elif cmd == "check":  # check FILE TRIALS ATTR ID: every trial once, none pending, a run with ATTR=ID
    path, trials, attr, want = args[0], int(args[1]), args[2], args[3]
    with h5py.File(path, "r") as f:
        t = f["trials"][()]
        ids = t["trial_id"]
        assert len(ids) == trials, f"{len(ids)} rows, want {trials}"
        assert len(np.unique(ids)) == trials, f"duplicated trial ids: {sorted(ids)}"
        assert np.all(t["state"] != 0), f"{int(np.sum(t['state'] == 0))} trials pending"
        runs = [g for g in f["provenance"].values()
                if text(g.attrs.get(attr, "")) == want
                and "#SBATCH" in text(g.attrs.get("job_script", ""))]
        assert runs, f"no run with {attr}={want} and the batch script in /provenance"
        print(f"{len(ids)} unique trial ids, none pending, {len(runs)} run(s) with {attr}={want}"
              " and the batch script")
elif cmd == "runs":  # runs FILE ATTR ID: how many runs in /provenance carry ATTR=ID
    with h5py.File(args[0], "r") as f:
        print(sum(text(g.attrs.get(args[1], "")) == args[2] for g in f["provenance"].values()))
PYEOF
h5() { "$PY" "$work/h5tool.py" "$@"; }
submitted() {  # submitted FILE WHICH: the job id that jobs/submit printed for "array" or "merge"
  sed -n "s/^submit: $2 job \([0-9][0-9]*\).*/\1/p" "$1"
}
wait_jobs() {  # wait_jobs SECONDS ID...: until no listed job is pending or running
  local limit=$((SECONDS + $1)); shift
  local ids; ids=$(IFS=,; echo "$*")
  while [ -n "$(squeue -h -j "$ids" -o %i 2> /dev/null)" ]; do
    [ $SECONDS -lt $limit ] || return 1
    sleep 1
  done
}
job_states() {  # the states of a job (every element of an array), sorted and unique
  scontrol show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | sed 's/JobState=//' | paste -sd' '
}
show_logs() { tail -n 30 "$@" 2> /dev/null | sed 's/^/    /'; }
# check_complete FILE WHAT ATTR ID: every trial of the study exactly once and none pending (nnscape
# status and h5py), and a run in /provenance carrying the Slurm id ATTR=ID and the batch script.
check_complete() {
  local file=$1 what=$2
  if [ ! -f "$file" ]; then fail "$what: no $file"; return; fi
  if "$NNSCAPE" status --json "$file" > status.json 2> status.err &&
     summary=$("$PY" -c '
import json, sys
s = json.load(open("status.json"))
assert s["trials"] == int(sys.argv[1]) and s["pending"] == 0 and s["done"] + s["failed"] == s["trials"], s
print("%d trials, %d done, %d failed, 0 pending" % (s["trials"], s["done"], s["failed"]))' \
             "$trials" 2>&1); then
    pass "$what: nnscape status: $summary"
  else
    fail "$what: nnscape status: ${summary:-} $(cat status.json status.err)"
  fi
  if h5 check "$file" "$trials" "$3" "$4" > h5check.txt 2>&1; then
    pass "$what: h5py: $(cat h5check.txt)"
  else
    fail "$what: h5py: $(tail -n 3 h5check.txt)"
  fi
}

# The test counts its failures and must reach the summary and the clean-up: no errexit from here.
set +e
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# A private copy: the runs of this test must all see the same spec.
cp "$study" "$work/study.yaml"
study=$work/study.yaml
trials=$("$NNSCAPE" plan --json "$study" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["trials"])')
echo "slurm_test: study $study, $trials trials"

# 3. Submit-time errors: nothing is queued, the message names the problem.
expect_refused() {  # expect_refused "phrase" submit-command...
  local phrase=$1; shift
  if "$@" > out.txt 2>&1; then
    fail "submit accepted '$*', expected an error with '$phrase'"
  elif grep -qi -- "$phrase" out.txt; then
    pass "submit refuses: $(grep -i -- "$phrase" out.txt | head -n 1)"
  else
    fail "submit '$*': message lacks '$phrase': $(cat out.txt)"
  fi
}
queued_before=$(squeue -h | wc -l)
expect_refused "no such study file" "$src/jobs/submit" "$work/missing.yaml" --out "$work/err"
{ cat "$study"; echo "no_such_key: 1"; } > bad.yaml
expect_refused "not valid" "$src/jobs/submit" bad.yaml --out "$work/err"
touch "$work/afile"
expect_refused "cannot create the output directory" "$src/jobs/submit" "$study" --out "$work/afile/out"
cp -r "$src/jobs" "$work/jobs_broken"
echo 'if then fi' >> "$work/jobs_broken/shard.sbatch"
expect_refused "does not parse" "$work/jobs_broken/submit" "$study" --out "$work/err"
expect_refused "shards must be" "$src/jobs/submit" "$study" --shards 0 --out "$work/err"
"$src/jobs/submit" "$study" --shards 2 --out "$work/dry" --dry-run > dry.txt 2>&1 &&
  grep -q 'would submit' dry.txt && pass "submit --dry-run checks and prints the sbatch commands" ||
  fail "submit --dry-run: $(cat dry.txt)"
[ "$(squeue -h | wc -l)" = "$queued_before" ] && pass "no job queued by the refused and dry-run submissions" ||
  fail "refused submissions queued jobs: $(squeue)"

# 4. Array + merge chain: 3 shards of 2 ranks each (srun --mpi=pmix here), then the merge job.
t0=$SECONDS
if "$src/jobs/submit" "$study" --shards 3 --ranks 2 --out "$work/a" > submit_a.txt 2>&1; then
  array_a=$(submitted submit_a.txt array); merge_a=$(submitted submit_a.txt merge)
  pass "submit: array job $array_a, merge job $merge_a"
else
  fail "submit failed: $(cat submit_a.txt)"
fi
if [ -n "${merge_a:-}" ]; then
  if wait_jobs 240 "$array_a" "$merge_a"; then
    states=$(job_states "$array_a")/$(job_states "$merge_a")
    [ "$states" = COMPLETED/COMPLETED ] && pass "array and merge jobs COMPLETED ($((SECONDS - t0)) s)" ||
      { fail "job states array/merge: $states"; show_logs "$work"/a/logs/*.out; }
  else
    fail "array + merge not done after 240 s: $(squeue)"; show_logs "$work"/a/logs/*.out
  fi
  check_complete "$work/a/all.h5" "array + merge" SLURM_ARRAY_JOB_ID "$array_a"
  if [ -f "$src/analysis/report.py" ]; then
    [ -s "$work/a/report/index.html" ] && pass "merge job wrote the report (report/index.html)" ||
      fail "merge job wrote no report: $(tail -n 5 "$work"/a/logs/merge-*.out)"
  fi
  launcher=$(sed -n 's/^shard\.sbatch: job .* on [^:]*: \(.*\) \/.*nnscape run .*/\1/p' "$work"/a/logs/shard-0-*.out)
  [ -n "$launcher" ] && pass "launcher in the array: $launcher" || fail "shard log lacks the launch line"
fi

# 5. Cancelled mid-way and submitted again: 2 shards of 1 rank, one at a time (so the second has
# not started when the first is cancelled), launched by mpirun inside the allocation. scancel once
# the first trial is recorded, then the same command again.
if [ -f "$work/a/all.h5" ]; then
  t0=$SECONDS
  submit_b=("$src/jobs/submit" "$study" --shards 2 --ranks 1 --max-running 1 --out "$work/b")
  export NNSCAPE_LAUNCHER=mpirun
  if "${submit_b[@]}" > submit_b1.txt 2>&1; then
    array_b=$(submitted submit_b1.txt array); merge_b=$(submitted submit_b1.txt merge)
    h5 wait 1 120 "$array_b" "$work"/b/shard-{0,1}-of-2.h5 > /dev/null
    scancel "$array_b" "$merge_b"
    wait_jobs 60 "$array_b" "$merge_b" || fail "cancelled jobs still listed after 60 s: $(squeue)"
    partial=$(h5 count "$work"/b/shard-{0,1}-of-2.h5)
    states=$(job_states "$array_b")/$(job_states "$merge_b")
    if [ "$partial" -ge 1 ] && [ "$partial" -lt "$trials" ] && [[ $states == *CANCELLED* ]]; then
      pass "scancel mid-way: $partial of $trials trials recorded, jobs $states"
    else
      fail "scancel was not mid-way: $partial of $trials trials recorded, jobs $states"
    fi
    grep -q ': mpirun .*nnscape run' "$work"/b/logs/shard-0-*.out && pass "launcher in the second array: mpirun" ||
      fail "NNSCAPE_LAUNCHER=mpirun not used: $(head -n 3 "$work"/b/logs/shard-0-*.out)"
    if "${submit_b[@]}" > submit_b2.txt 2>&1; then
      array_b2=$(submitted submit_b2.txt array); merge_b2=$(submitted submit_b2.txt merge)
      if wait_jobs 240 "$array_b2" "$merge_b2"; then
        states=$(job_states "$array_b2")/$(job_states "$merge_b2")
        [ "$states" = COMPLETED/COMPLETED ] &&
          pass "resubmitted array $array_b2 and merge $merge_b2 COMPLETED ($((SECONDS - t0)) s in all)" ||
          { fail "resubmitted job states: $states"; show_logs "$work"/b/logs/*.out; }
      else
        fail "resubmission not done after 240 s: $(squeue)"; show_logs "$work"/b/logs/*.out
      fi
      check_complete "$work/b/all.h5" "cancel + resubmit" SLURM_ARRAY_JOB_ID "$array_b2"
      [ -f "$work/b/all.h5" ] && n=$(h5 runs "$work/b/all.h5" SLURM_ARRAY_JOB_ID "$array_b") &&
        [ "$n" -ge 1 ] && pass "the cancelled array's run is kept in the provenance ($n run)" ||
        fail "no run of the cancelled array $array_b in the merged provenance"
      "$PY" "$src/tests/compare_results.py" "$work/a/all.h5" "$work/b/all.h5" > cmp.txt 2>&1 &&
        pass "cancel + resubmit equals the uninterrupted array on every deterministic field" ||
        fail "cancel + resubmit differs from the uninterrupted array: $(cat cmp.txt)"
    else
      fail "second submission refused: $(cat submit_b2.txt)"
    fi
  else
    fail "submit failed: $(cat submit_b1.txt)"
  fi
  unset NNSCAPE_LAUNCHER
fi

# 6. Time limit / preemption of the single-job script: SIGUSR1 to the batch shell only, as
# --signal=B:USR1@<s> sends it; twice. First once the run has recorded a trial: it finishes the
# trials in flight and exits 75, and the job must requeue itself. Then as soon as the requeued job
# launches the run, while it starts up: srun drops a signal that comes before its tasks exist and
# a rank may get it before nnscape handles it, so the script repeats the signal and counts a rank
# killed by it as stopped too; the job must requeue itself again, or finish the study if the run
# got through first. Trials take milliseconds here, so this study has 3 times the replicates, and
# an uninterrupted run outside Slurm is the reference. Slurm holds a requeued job for about two
# minutes (BeginTime); the test cuts that to 3 s (its scheduler looks every 2 s).
requeued() {  # requeued JOB N: wait for the N-th requeue (0: the job ended), then let it start
  local limit=$((SECONDS + 60))
  until scontrol -o show job "$1" | grep -q "JobState=PENDING.*Restarts=$2" ||
        [ -z "$(squeue -h -j "$1" -o %i)" ] || [ $SECONDS -ge $limit ]; do
    sleep 0.25
  done
  # Not "now": slurmd refuses a job credential issued in the same second as the revoked one.
  scontrol update JobId="$1" StartTime=now+3 2> /dev/null
  scontrol -o show job "$1" | grep -q "Restarts=$2" && grep -q "requeueing job $1" "$work"/c/job-*.out
}
if [ -f "$work/a/all.h5" ]; then
  t0=$SECONDS
  mkdir -p "$work/c"
  awk '/^ *replicates: *[0-9]+ *$/ { sub(/[0-9]+/, 3 * $2) } 1' "$study" > "$work/c/study.yaml"
  trials_c=$("$NNSCAPE" plan --json "$work/c/study.yaml" | "$PY" -c 'import json, sys; print(json.load(sys.stdin)["trials"])')
  "${NNSCAPE_MPIEXEC:-mpiexec}" -n 2 "$NNSCAPE" run "$work/c/study.yaml" -o "$work/c/reference.h5" \
    --progress-interval 1000 > /dev/null 2> ref.err || fail "reference run failed: $(tail -n 3 ref.err)"
  if job_c=$(sbatch --parsable --ntasks=1 --job-name=nnscape-requeue --output="$work/c/job-%j.out" \
               "$src/jobs/study.sbatch" "$work/c/study.yaml" "$work/c/all.h5" 2> sbatch_c.txt); then
    partial=$(h5 wait 1 120 "$job_c" "$work/c/all.h5")
    scancel --batch --signal=USR1 "$job_c"
    if requeued "$job_c" 1; then
      pass "SIGUSR1 after $partial of $trials_c trials: the run stopped with 75, job $job_c requeued itself"
    else
      fail "SIGUSR1 (after $partial of $trials_c trials) did not requeue job $job_c: $(cat "$work"/c/job-*.out)"
    fi
    limit=$((SECONDS + 60))
    until grep -q "job $job_c (restart 1)" "$work"/c/job-*.out || [ $SECONDS -ge $limit ]; do sleep 0.02; done
    scancel --batch --signal=USR1 "$job_c"
    if requeued "$job_c" 2; then
      pass "SIGUSR1 as the requeued run starts: requeued again ($(grep -c 'killed by the signal during its start-up' "$work"/c/job-*.out) run(s) killed while starting up, $(h5 count "$work/c/all.h5") of $trials_c trials recorded)"
    elif [ "$(h5 count "$work/c/all.h5")" = "$trials_c" ]; then
      pass "SIGUSR1 as the requeued run starts: the run got through first and finished the study"
    else
      fail "SIGUSR1 as the requeued run started: job $job_c neither requeued nor finished: $(cat "$work"/c/job-*.out)"
    fi
    if wait_jobs 120 "$job_c"; then
      restarts=$(scontrol show job "$job_c" | sed -n 's/.*Restarts=\([0-9]*\).*/\1/p')
      runs=$(h5 runs "$work/c/all.h5" SLURM_JOB_ID "$job_c")
      [ "$(job_states "$job_c")" = COMPLETED ] && [ "${restarts:-0}" -ge 1 ] && [ "${runs:-0}" -ge 2 ] &&
        pass "requeued job resumed its file and COMPLETED (restarts $restarts, $runs runs recorded, $((SECONDS - t0)) s)" ||
        { fail "requeued job: state $(job_states "$job_c"), restarts $restarts, runs $runs"; show_logs "$work"/c/job-*.out; }
    else
      fail "requeued job not done after 120 s: $(squeue)"; show_logs "$work"/c/job-*.out
    fi
    trials=$trials_c check_complete "$work/c/all.h5" "USR1 + requeue" SLURM_JOB_ID "$job_c"
    "$PY" "$src/tests/compare_results.py" "$work/c/reference.h5" "$work/c/all.h5" > cmp.txt 2>&1 &&
      pass "requeued job equals an uninterrupted run on every deterministic field" ||
      fail "requeued job differs from an uninterrupted run: $(cat cmp.txt)"
  else
    fail "sbatch jobs/study.sbatch failed: $(cat sbatch_c.txt)"
  fi
fi

echo "slurm_test: $(elapsed) in all"
finish
