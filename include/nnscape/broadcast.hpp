#pragma once
// Values rank 0 decides that every rank must hold alike (HDF5 attributes are collective, errors
// of collective steps are raised on every rank).
#include <mpi.h>

#include <string>

namespace nnscape {

// Collective over comm: `value` on every rank becomes root's.
void broadcast(std::string& value, MPI_Comm comm, int root = 0);

}  // namespace nnscape
