// Provenance of a run (provenance.hpp).
#include "nnscape/provenance.hpp"

#include <hdf5.h>
#include <petscversion.h>
#include <slepcversion.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>

#include "nnscape/broadcast.hpp"
#include "nnscape/cpu_kernels.hpp"

#ifndef NNSCAPE_VERSION
#define NNSCAPE_VERSION "unknown"
#endif
#ifndef NNSCAPE_GIT_COMMIT
#define NNSCAPE_GIT_COMMIT "unknown"
#endif

namespace nnscape {

namespace {

std::string petsc_version() {
  std::ostringstream s;
  s << PETSC_VERSION_MAJOR << '.' << PETSC_VERSION_MINOR << '.' << PETSC_VERSION_SUBMINOR;
  return s.str();
}

std::string slepc_version() {
  std::ostringstream s;
  s << SLEPC_VERSION_MAJOR << '.' << SLEPC_VERSION_MINOR << '.' << SLEPC_VERSION_SUBMINOR;
  return s.str();
}

std::string hdf5_version() {
  std::ostringstream s;
  s << H5_VERS_MAJOR << '.' << H5_VERS_MINOR << '.' << H5_VERS_RELEASE;
  return s.str();
}

}  // namespace

std::string version_string() {
  return std::string("nnscape ") + NNSCAPE_VERSION + " (commit " + NNSCAPE_GIT_COMMIT +
         "; PETSc " + petsc_version() + ", SLEPc " + slepc_version() + ", HDF5 " + hdf5_version() +
         ")";
}

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

// The distinct values of `mine` over the ranks, comma-separated and sorted, the same on every
// rank (HDF5 attributes are collective). Collective over comm.
static std::string distinct_over_ranks(const std::string& mine, MPI_Comm comm) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  char buf[256] = {};
  mine.copy(buf, sizeof buf - 1);
  std::vector<char> all(static_cast<std::size_t>(size) * sizeof buf);
  MPI_Allgather(buf, sizeof buf, MPI_CHAR, all.data(), sizeof buf, MPI_CHAR, comm);
  std::set<std::string> values;
  for (int r = 0; r < size; ++r) values.insert(std::string(all.data() + r * sizeof buf));
  std::string list;
  for (const std::string& x : values) list += (list.empty() ? "" : ",") + x;
  return list;
}

Provenance collect_provenance(MPI_Comm comm, const std::vector<std::string>& command_line) {
  int size = 1;
  MPI_Comm_size(comm, &size);
  const std::string host_list = distinct_over_ranks(host_name(), comm);

  char mpi_version[MPI_MAX_LIBRARY_VERSION_STRING] = {};
  int len = 0;
  MPI_Get_library_version(mpi_version, &len);
  std::string mpi(mpi_version, static_cast<std::size_t>(len));
  mpi = mpi.substr(0, mpi.find_first_of("\r\n,"));

  std::string cmd;
  for (const std::string& a : command_line) cmd += (cmd.empty() ? "" : " ") + a;
  // The start time is rank 0's, so all ranks agree.
  std::string start = utc_now();
  broadcast(start, comm);

  Provenance p{{"nnscape_version", NNSCAPE_VERSION},
               {"git_commit", NNSCAPE_GIT_COMMIT},
               {"petsc_version", petsc_version()},
               {"slepc_version", slepc_version()},
               {"hdf5_version", hdf5_version()},
               {"mpi_version", mpi},
               {"ranks", std::to_string(size)},
               {"hosts", host_list},
               {"command_line", cmd},
               {"start_time", start}};
  // What dispatched on the CPU (cpu_kernels.hpp). Ranks on different nodes may differ; a list
  // with more than one value says the run was not pinned everywhere.
  for (const auto& [key, value] : cpu_kernels_provenance())
    p.emplace_back(key, distinct_over_ranks(value, comm));
  for (const char* v : {"SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID",
                        "SLURM_ARRAY_TASK_COUNT", "SLURM_JOB_NODELIST", "SLURM_JOB_NAME"}) {
    // Rank 0's environment decides, so a variable set on one node only cannot split the ranks.
    const char* value = std::getenv(v);
    int present = value != nullptr;
    MPI_Bcast(&present, 1, MPI_INT, 0, comm);
    if (!present) continue;
    std::string s = value ? value : "";
    broadcast(s, comm);
    p.emplace_back(v, s);
  }
  {
    std::string script;
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    const char* path = std::getenv("NNSCAPE_JOB_SCRIPT");
    if (rank == 0 && path) {
      std::ifstream in(path);
      script.assign(std::istreambuf_iterator<char>(in), {});
      if (script.size() > 32768) script.resize(32768);
    }
    broadcast(script, comm);
    if (!script.empty()) p.emplace_back("job_script", script);
  }
  return p;
}

}  // namespace nnscape
