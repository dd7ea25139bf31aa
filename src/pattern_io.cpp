// The file-reading part of the pattern room: build_masks (which reads "file" patterns) and HDF5
// mask files. nnscape_lib, because the core library links no HDF5 (pattern.cpp is the pure part).
#include <cmath>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"
#include "nnscape/pattern.hpp"

namespace nnscape {

namespace {

bool is_h5_name(const std::string& path) {
  const auto ext = std::filesystem::path(path).extension().string();
  return ext == ".h5" || ext == ".hdf5";
}

Mask read_one_mask(hid_t file, const std::string& path, const std::string& name) {
  H5Dataset ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!ds.valid()) throw Error(name + " in HDF5 file '" + path + "' is not a dataset");
  H5Datatype type(NNSCAPE_H5_CALL(H5Dget_type(ds.get())));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error(name + " in '" + path + "' does not hold numbers; a mask is a 0/1 matrix");
  H5Dataspace space(NNSCAPE_H5_CALL(H5Dget_space(ds.get())));
  const int rank = NNSCAPE_H5_CALL(H5Sget_simple_extent_ndims(space.get()));
  if (rank != 2)
    throw Error(name + " in '" + path + "' is " + std::to_string(rank) +
                "-D; a mask is a 2-D 0/1 matrix (rows = outputs, cols = inputs)");
  hsize_t dims[2] = {0, 0};
  NNSCAPE_H5_CALL(H5Sget_simple_extent_dims(space.get(), dims, nullptr));
  if (dims[0] < 1 || dims[1] < 1 || dims[0] > 1u << 20 || dims[1] > 1u << 20)
    throw Error(name + " in '" + path + "' has the unusable shape " + std::to_string(dims[0]) +
                "x" + std::to_string(dims[1]));
  std::vector<double> values(static_cast<std::size_t>(dims[0] * dims[1]));
  NNSCAPE_H5_CALL(
      H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()));
  Mask m{static_cast<int>(dims[0]), static_cast<int>(dims[1]), {}};
  m.bits.reserve(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (values[i] != 0.0 && values[i] != 1.0)
      throw Error(name + " in '" + path + "' has the entry " + std::to_string(values[i]) +
                  " at row " + std::to_string(i / dims[1]) + ", column " +
                  std::to_string(i % dims[1]) + "; entries must be 0 or 1");
    m.bits.push_back(values[i] == 1.0 ? 1 : 0);
  }
  return m;
}

}  // namespace

std::vector<Mask> read_masks_h5(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read mask file '" + path + "': no such file");
  H5ErrorSilencer quiet;
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error("cannot read mask file '" + path + "': not an HDF5 file");
  H5File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid())
    throw Error("cannot open HDF5 file '" + path + "'" + H5Error::describe_last_h5_error());
  std::vector<Mask> masks;
  for (int l = 1;; ++l) {
    const std::string name = "/mask" + std::to_string(l);
    if (H5Lexists(file.get(), name.c_str(), H5P_DEFAULT) <= 0) break;
    masks.push_back(read_one_mask(file.get(), path, name));
  }
  if (masks.empty()) throw Error("HDF5 file '" + path + "' has no dataset /mask1");
  return masks;
}

std::vector<Mask> build_masks(const PatternSpec& spec, const std::vector<int>& widths) {
  if (spec.kind != "file") return generate_masks(spec, widths);
  std::vector<Mask> masks;
  if (spec.files.size() == 1 && is_h5_name(spec.files[0])) {
    masks = read_masks_h5(spec.files[0]);
  } else {
    for (const std::string& f : spec.files) {
      if (is_h5_name(f))
        throw Error("pattern '" + spec.text + "': an HDF5 mask file holds every mask (/mask1, "
                    "/mask2, ...); give it alone, not in a list");
      masks.push_back(read_mask_text(f));
    }
  }
  check_masks(masks, widths, "pattern '" + spec.text + "'");
  return masks;
}

}  // namespace nnscape
