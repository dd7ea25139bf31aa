// Reading and writing data sets and parameter vectors: HDF5 (serial C API) and plain text.
//
// Every failure a user can cause (wrong path, wrong file, wrong layout, bad values) becomes one
// nnscape::Error that names the file and the problem. HDF5's own error printing is silenced
// while we probe, because its stack dump would bury that message.
#include <charconv>
#include <climits>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"

namespace nnscape {

namespace {

std::string quoted(const std::string& path) { return "'" + path + "'"; }

// A numeric HDF5 array read as float64, with its shape.
struct Array {
  std::vector<hsize_t> dims;
  std::vector<double> values;
};

std::string shape_string(const std::vector<hsize_t>& dims) {
  std::string s = "(";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + (dims.size() == 1 ? ",)" : ")");
}

const char* class_name(H5T_class_t c) {
  switch (c) {
    case H5T_STRING: return "string";
    case H5T_COMPOUND: return "compound";
    case H5T_ENUM: return "enum";
    case H5T_BITFIELD: return "bitfield";
    case H5T_OPAQUE: return "opaque";
    case H5T_REFERENCE: return "reference";
    case H5T_VLEN: return "variable-length";
    case H5T_ARRAY: return "array";
    case H5T_TIME: return "time";
    default: return "non-numeric";
  }
}

// Distinguishes "no such file" from "not HDF5" because the fixes differ (a typo in the path
// versus passing a text file where an .h5 file is expected).
H5File open_for_reading(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read " + quoted(path) + ": no such file");
  if (std::filesystem::is_directory(path, ec))
    throw Error("cannot read " + quoted(path) + ": it is a directory, not an HDF5 file");
  if (H5Fis_hdf5(path.c_str()) <= 0)
    throw Error("cannot read " + quoted(path) + ": not an HDF5 file");
  H5File file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  if (!file.valid())
    throw Error("cannot open HDF5 file " + quoted(path) + H5Error::describe_last_h5_error());
  return file;
}

// values = false reads the shape only (the header), for dataset_shape.
Array read_numeric(hid_t file, const std::string& path, const std::string& name,
                   bool values = true) {
  // H5Lexists fails (negative) rather than returning 0 when an intermediate group is missing;
  // both mean "not there" to the user.
  if (name.empty() || H5Lexists(file, name.c_str(), H5P_DEFAULT) <= 0)
    throw Error("HDF5 file " + quoted(path) + " has no dataset " + name);
  H5Dataset ds(H5Dopen2(file, name.c_str(), H5P_DEFAULT));
  if (!ds.valid())
    throw Error(name + " in HDF5 file " + quoted(path) + " is not a dataset (a group?)");
  H5Datatype type(NNSCAPE_H5_CALL(H5Dget_type(ds.get())));
  const H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw Error("dataset " + name + " in " + quoted(path) + " holds " + class_name(cls) +
                " values; expected numbers (float or integer)");

  H5Dataspace space(NNSCAPE_H5_CALL(H5Dget_space(ds.get())));
  const int rank = NNSCAPE_H5_CALL(H5Sget_simple_extent_ndims(space.get()));
  Array a;
  a.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0) NNSCAPE_H5_CALL(H5Sget_simple_extent_dims(space.get(), a.dims.data(), nullptr));
  if (!values) return a;
  hsize_t count = 1;
  for (hsize_t dim : a.dims) count *= dim;
  a.values.resize(static_cast<std::size_t>(count));
  // HDF5 converts integer and float32 storage to native double during the read.
  if (count > 0)
    NNSCAPE_H5_CALL(
        H5Dread(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()));
  return a;
}

int to_int(hsize_t v, const std::string& what, const std::string& path) {
  if (v > static_cast<hsize_t>(INT_MAX))
    throw Error(what + " of " + quoted(path) + " is " + std::to_string(v) + ", more than " +
                std::to_string(INT_MAX) + " (not supported)");
  return static_cast<int>(v);
}

std::string format_value(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

void write_matrix(hid_t file, const char* name, const std::vector<double>& values, int rows,
                  int cols) {
  const hsize_t dims[2] = {static_cast<hsize_t>(rows), static_cast<hsize_t>(cols)};
  H5Dataspace space(NNSCAPE_H5_CALL(H5Screate_simple(2, dims, nullptr)));
  H5Dataset ds(NNSCAPE_H5_CALL(H5Dcreate2(file, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT,
                                          H5P_DEFAULT, H5P_DEFAULT)));
  NNSCAPE_H5_CALL(H5Dwrite(ds.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                           values.data()));
}

std::string_view trim(std::string_view s) {
  const char* ws = " \t\r\n\f\v";
  const auto first = s.find_first_not_of(ws);
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(ws);
  return s.substr(first, last - first + 1);
}

// The layout rules of read_dataset_h5 that need only the shapes.
void check_xy_dims(const Array& x, const Array& y, const std::string& path) {
  if (x.dims.size() != 2)
    throw Error("/X in " + quoted(path) + " has shape " + shape_string(x.dims) +
                "; expected 2-D (samples x inputs)");
  if (y.dims.size() != 1 && y.dims.size() != 2)
    throw Error("/Y in " + quoted(path) + " has shape " + shape_string(y.dims) +
                "; expected 2-D (samples x outputs) or 1-D (samples)");
  if (x.dims[0] != y.dims[0])
    throw Error("row counts differ in " + quoted(path) + ": /X has " + std::to_string(x.dims[0]) +
                " rows, /Y has " + std::to_string(y.dims[0]));
}

}  // namespace

Dataset read_dataset_h5(const std::string& path) {
  H5ErrorSilencer quiet;
  H5File file = open_for_reading(path);
  Array x = read_numeric(file.get(), path, "/X");
  Array y = read_numeric(file.get(), path, "/Y");
  check_xy_dims(x, y, path);

  Dataset data;
  data.n = to_int(x.dims[0], "the number of samples", path);
  data.d = to_int(x.dims[1], "the input dimension", path);
  data.m = y.dims.size() == 2 ? to_int(y.dims[1], "the output dimension", path) : 1;
  data.x = std::move(x.values);
  data.y = std::move(y.values);
  try {
    validate(data);
  } catch (const Error& e) {
    throw Error("data file " + quoted(path) + ": " + e.what());
  }
  return data;
}

void write_dataset_h5(const std::string& path, const Dataset& data) {
  validate(data);
  H5ErrorSilencer quiet;
  H5File file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT));
  if (!file.valid())
    throw Error("cannot create HDF5 file " + quoted(path) + H5Error::describe_last_h5_error());
  write_matrix(file.get(), "/X", data.x, data.n, data.d);
  write_matrix(file.get(), "/Y", data.y, data.n, data.m);
  file.close();  // reports a failed flush, which the destructor would swallow
}

std::vector<double> read_vector_h5(const std::string& path, const std::string& dataset) {
  H5ErrorSilencer quiet;
  H5File file = open_for_reading(path);
  Array a = read_numeric(file.get(), path, dataset);
  if (a.dims.size() != 1)
    throw Error("dataset " + dataset + " in " + quoted(path) + " has shape " +
                shape_string(a.dims) + "; a parameter vector must be 1-D");
  for (std::size_t i = 0; i < a.values.size(); ++i)
    if (!std::isfinite(a.values[i]))
      throw Error("dataset " + dataset + " in " + quoted(path) + " has the non-finite value " +
                  format_value(a.values[i]) + " at index " + std::to_string(i) + " (0-based)");
  return std::move(a.values);
}

std::vector<double> read_vector_text(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec))
    throw Error("cannot read " + quoted(path) + ": no such file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read " + quoted(path) + ": cannot open the file");
  std::vector<double> values;
  std::string line;
  for (long lineno = 1; std::getline(in, line); ++lineno) {
    std::string_view s = trim(line);
    if (s.empty() || s.front() == '#') continue;
    const std::string where = quoted(path) + " line " + std::to_string(lineno) + ": ";
    // from_chars rejects a leading '+', which other tools write; accept it.
    std::string_view digits = s;
    if (digits.size() > 1 && digits.front() == '+' && digits[1] != '-') digits.remove_prefix(1);
    double v = 0.0;
    const auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
    if (err != std::errc() || end != digits.data() + digits.size())
      throw Error(where + "'" + std::string(s) + "' is not a number (expected one number per line)");
    if (!std::isfinite(v)) throw Error(where + "the value " + std::string(s) + " is not finite");
    values.push_back(v);
  }
  if (in.bad()) throw Error("cannot read " + quoted(path) + ": read error");
  return values;
}

Dataset load_dataset(const DatasetSpec& spec, std::uint64_t seed) {
  if (spec.kind != "file") return generate_dataset(spec, seed);
  const auto path = spec.settings.find("path");
  if (path == spec.settings.end() || path->second.empty())
    throw Error("data set '" + spec.text + "': file needs a path (file:data.h5)");
  return read_dataset_h5(path->second);
}

DatasetShape dataset_shape(const DatasetSpec& spec) {
  if (spec.kind != "file") return generated_dataset_shape(spec);
  const auto path = spec.settings.find("path");
  if (path == spec.settings.end() || path->second.empty())
    throw Error("data set '" + spec.text + "': file needs a path (file:data.h5)");
  // Only the dataspaces: a study checks every file before any work, and a large data file
  // must not be read once per check.
  H5ErrorSilencer quiet;
  H5File file = open_for_reading(path->second);
  const Array x = read_numeric(file.get(), path->second, "/X", false);
  const Array y = read_numeric(file.get(), path->second, "/Y", false);
  check_xy_dims(x, y, path->second);
  DatasetShape shape;
  shape.n = to_int(x.dims[0], "the number of samples", path->second);
  shape.d = to_int(x.dims[1], "the input dimension", path->second);
  shape.m = y.dims.size() == 2 ? to_int(y.dims[1], "the output dimension", path->second) : 1;
  if (shape.n < 1 || shape.d < 1 || shape.m < 1)
    throw Error("data file '" + path->second + "' has an empty /X or /Y (shape " +
                std::to_string(shape.n) + " x " + std::to_string(shape.d) + ", m = " +
                std::to_string(shape.m) + ")");
  return shape;
}

}  // namespace nnscape
