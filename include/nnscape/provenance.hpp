#pragma once
// Where and how a run happened: versions, hosts, ranks, Slurm ids, command line, times.
#include <mpi.h>

#include <string>
#include <utility>
#include <vector>

namespace nnscape {

using Provenance = std::vector<std::pair<std::string, std::string>>;

// Collective over comm (gathers the host names); the same entries on every rank. Slurm entries
// (SLURM_JOB_ID, SLURM_ARRAY_JOB_ID, SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT,
// SLURM_JOB_NODELIST, SLURM_JOB_NAME) appear when set, and the text of the file named by
// NNSCAPE_JOB_SCRIPT (the batch script; up to 32 KiB) as "job_script".
Provenance collect_provenance(MPI_Comm comm, const std::vector<std::string>& command_line);

// "nnscape 0.1.0 (commit abc; PETSc 3.18.5, SLEPc 3.18.2, HDF5 1.10.8)" for --version.
std::string version_string();

// "2026-11-24T05:12:03Z" (UTC, seconds).
std::string utc_now();
std::string host_name();

}  // namespace nnscape
