// broadcast.hpp
#include "nnscape/broadcast.hpp"

namespace nnscape {

void broadcast(std::string& value, MPI_Comm comm, int root) {
  int n = static_cast<int>(value.size());
  MPI_Bcast(&n, 1, MPI_INT, root, comm);
  value.resize(static_cast<std::size_t>(n));
  MPI_Bcast(value.data(), n, MPI_CHAR, root, comm);
}

}  // namespace nnscape
