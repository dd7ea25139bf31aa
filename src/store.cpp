// The results store (store.hpp): HDF5 schema, record writes, resume scan, merge.
//
// Parallel HDF5 allows only raw-data writes to be independent; creating anything (datasets,
// groups, attributes) is collective. So every dataset a run will ever write is created, sized
// and filled at creation (H5D_ALLOC_TIME_EARLY, contiguous), and a finished trial then writes
// only its own slots. Slot sizes follow from the study alone: θ has P entries, a spectrum P
// (dense) or 2·extremes (matrix-free), a trajectory trajectory_length points.
#include "nnscape/store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <system_error>

#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"
#include "nnscape/network.hpp"

namespace nnscape {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kTrajectoryColumns = 5;  // iteration, loss, grad_norm, param_norm, true_loss

// ---------------------------------------------------------------------------------------------
// The /trials row: a flat table of named columns. Adding a column here adds it to the file.

enum class Kind { f64, i64, u64, i32, i8, str };

struct Column {
  std::string name;
  Kind kind;
  int length = 0;            // strings: bytes including the terminating NUL
  bool description = false;  // known before the trial runs (written at creation)
  std::size_t offset = 0;
};

std::size_t size_of(const Column& c) {
  switch (c.kind) {
    case Kind::f64: return sizeof(double);
    case Kind::i64: return sizeof(std::int64_t);
    case Kind::u64: return sizeof(std::uint64_t);
    case Kind::i32: return sizeof(std::int32_t);
    case Kind::i8: return sizeof(std::int8_t);
    case Kind::str: return static_cast<std::size_t>(c.length);
  }
  return 0;
}

class RowLayout {
 public:
  RowLayout() {
    auto add = [&](std::string name, Kind kind, bool description = false, int length = 0) {
      columns_.push_back({std::move(name), kind, length, description, 0});
    };
    // Description.
    add("trial_id", Kind::i64, true);
    for (int a = 0; a < kNumAxes; ++a)
      add(std::string("axis_") + to_string(static_cast<Axis>(a)), Kind::i32, true);
    add("seed", Kind::u64, true);
    add("data_seed", Kind::u64, true);
    add("P", Kind::i64, true);
    add("N", Kind::i64, true);
    add("closedness", Kind::str, true, 16);
    add("closedness_rule", Kind::str, true, 40);
    add("optimum", Kind::str, true, 24);
    for (const char* v : {"theta", "hessian", "gauss_newton", "trajectory"}) {
      add(std::string(v) + "_offset", Kind::i64, true);
      add(std::string(v) + "_capacity", Kind::i64, true);
      add(std::string(v) + "_count", Kind::i64);
    }
    // State and where it ran (rank, host, finished_at are not deterministic).
    add("state", Kind::i8);
    add("status", Kind::str, false, 24);
    add("error", Kind::str, false, 512);
    add("rank", Kind::i32);
    add("host", Kind::str, false, 64);
    add("finished_at", Kind::f64);
    add("init_seed", Kind::u64);
    // Optimization.
    add("tao_type", Kind::str, false, 24);
    add("reason", Kind::str, false, 40);
    add("reason_code", Kind::i32);
    add("converged", Kind::i8);
    add("diverged", Kind::i8);
    add("nonfinite", Kind::i8);
    add("iterations", Kind::i32);
    add("function_evals", Kind::i32);
    add("gradient_evals", Kind::i32);
    add("hessian_evals", Kind::i32);
    add("loss", Kind::f64);
    add("grad_norm", Kind::f64);
    add("param_norm", Kind::f64);
    add("initial_param_norm", Kind::f64);
    add("norm_growth_rate", Kind::f64);
    add("local_rate", Kind::str, false, 16);
    // Spectra.
    for (const char* s : {"hessian", "gauss_newton"}) {
      const std::string p = std::string(s) + "_";
      add(p + "complete", Kind::i8);
      add(p + "method", Kind::str, false, 32);
      add(p + "n_neg", Kind::i32);
      add(p + "n_zero", Kind::i32);
      add(p + "n_pos", Kind::i32);
      add(p + "lambda_min", Kind::f64);
      add(p + "lambda_max", Kind::f64);
      add(p + "n_undecided", Kind::i32);
      add(p + "threshold", Kind::f64);
      add(p + "scale", Kind::f64);
      add(p + "largest_zero", Kind::f64);
      add(p + "smallest_nonzero", Kind::f64);
      add(p + "certain", Kind::i8);
      add(p + "converged", Kind::i32);
      add(p + "iterations", Kind::i32);
      add(p + "tolerance", Kind::f64);
      add(p + "max_residual", Kind::f64);
    }
    // Redundancy and nullity.
    add("redundancy_applicable", Kind::i8);
    add("redundant", Kind::i8);
    add("redundancy_distance", Kind::f64);
    add("redundancy_nearest", Kind::str, false, 64);
    add("n_dead", Kind::i32);
    add("n_constant", Kind::i32);
    add("n_duplicate", Kind::i32);
    add("n_antipodal", Kind::i32);
    add("predicted_nullity", Kind::i32);
    add("predicted_nullity_h", Kind::i32);
    add("measured_nullity", Kind::i32);
    add("measured_nullity_g", Kind::i32);
    add("nullity_matches", Kind::i8);
    add("product_error", Kind::f64);
    // The verdict's proof (verdict.hpp) and the polishing before it.
    add("certified", Kind::i8);
    add("certificate_method", Kind::str, false, 32);
    add("certificate_reason", Kind::str, false, 160);
    add("certificate_radius", Kind::f64);
    add("certificate_lambda_min_lower", Kind::f64);
    add("certificate_curvature_upper", Kind::f64);
    add("certificate_loss_upper", Kind::f64);
    add("certificate_reduction", Kind::str, false, 64);
    add("certificate_core_width", Kind::i32);
    add("certificate_distance", Kind::f64);
    add("certificate_jacobian_nullity", Kind::i32);
    add("certificate_norm_ratio", Kind::f64);
    add("certificate_runaway_units", Kind::str, false, 64);
    add("polish_steps", Kind::i32);
    add("polish_distance", Kind::f64);
    add("polish_grad_before", Kind::f64);
    // Times (not deterministic).
    for (const char* t : {"data", "init", "train", "spectrum", "analysis", "total"})
      add(std::string("seconds_") + t, Kind::f64);

    std::size_t off = 0;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
      Column& c = columns_[i];
      const std::size_t align = c.kind == Kind::str ? 1 : size_of(c);
      off = (off + align - 1) / align * align;
      c.offset = off;
      off += size_of(c);
      index_[c.name] = i;
    }
    size_ = (off + 7) / 8 * 8;
  }

  std::size_t size() const { return size_; }
  const std::vector<Column>& columns() const { return columns_; }
  const Column& column(const std::string& name) const {
    const auto it = index_.find(name);
    NNSCAPE_CHECK(it != index_.end(), "no /trials column '" + name + "'");
    return columns_[it->second];
  }

  // The in-memory compound type (native types; HDF5 matches file fields by name).
  H5Datatype memory_type() const {
    H5Datatype t(NNSCAPE_H5_CALL(H5Tcreate(H5T_COMPOUND, size_)));
    for (const Column& c : columns_) {
      hid_t base = H5T_NATIVE_DOUBLE;
      H5Datatype str;
      switch (c.kind) {
        case Kind::f64: base = H5T_NATIVE_DOUBLE; break;
        case Kind::i64: base = H5T_NATIVE_INT64; break;
        case Kind::u64: base = H5T_NATIVE_UINT64; break;
        case Kind::i32: base = H5T_NATIVE_INT32; break;
        case Kind::i8: base = H5T_NATIVE_INT8; break;
        case Kind::str:
          str = H5Datatype(NNSCAPE_H5_CALL(H5Tcopy(H5T_C_S1)));
          NNSCAPE_H5_CALL(H5Tset_size(str.get(), static_cast<std::size_t>(c.length)));
          NNSCAPE_H5_CALL(H5Tset_strpad(str.get(), H5T_STR_NULLTERM));
          base = str.get();
          break;
      }
      NNSCAPE_H5_CALL(H5Tinsert(t.get(), c.name.c_str(), c.offset, base));
    }
    return t;
  }

 private:
  std::vector<Column> columns_;
  std::map<std::string, std::size_t> index_;
  std::size_t size_ = 0;
};

const RowLayout& layout() {
  static const RowLayout l;
  return l;
}

// One row's bytes with typed access by column name.
class Row {
 public:
  explicit Row(char* bytes) : p_(bytes) {}
  void set(const std::string& name, double v) { put(layout().column(name), v); }
  void set_int(const std::string& name, std::int64_t v) { put_int(layout().column(name), v); }
  void set_u64(const std::string& name, std::uint64_t v) {
    const Column& c = layout().column(name);
    NNSCAPE_CHECK(c.kind == Kind::u64, "column '" + name + "' is not u64");
    std::memcpy(p_ + c.offset, &v, sizeof v);
  }
  void set_str(const std::string& name, const std::string& v) {
    const Column& c = layout().column(name);
    NNSCAPE_CHECK(c.kind == Kind::str, "column '" + name + "' is not a string");
    std::memset(p_ + c.offset, 0, static_cast<std::size_t>(c.length));
    std::size_t n = std::min(v.size(), static_cast<std::size_t>(c.length - 1));
    // Cut on a UTF-8 character boundary, so a long text never ends in half a character.
    if (n < v.size())
      while (n > 0 && (static_cast<unsigned char>(v[n]) & 0xC0) == 0x80) --n;
    std::memcpy(p_ + c.offset, v.data(), n);
  }
  double get(const std::string& name) const {
    const Column& c = layout().column(name);
    double v = 0;
    std::memcpy(&v, p_ + c.offset, sizeof v);
    return v;
  }
  std::int64_t get_int(const std::string& name) const {
    const Column& c = layout().column(name);
    switch (c.kind) {
      case Kind::i64: { std::int64_t v; std::memcpy(&v, p_ + c.offset, sizeof v); return v; }
      case Kind::u64: { std::uint64_t v; std::memcpy(&v, p_ + c.offset, sizeof v); return static_cast<std::int64_t>(v); }
      case Kind::i32: { std::int32_t v; std::memcpy(&v, p_ + c.offset, sizeof v); return v; }
      case Kind::i8: { std::int8_t v; std::memcpy(&v, p_ + c.offset, sizeof v); return v; }
      default: throw Error("column '" + name + "' is not an integer");
    }
  }
  std::string get_str(const std::string& name) const {
    const Column& c = layout().column(name);
    const char* s = p_ + c.offset;
    return std::string(s, strnlen(s, static_cast<std::size_t>(c.length)));
  }
  // A pending row: NaN, −1 and "" everywhere; the description is set by the caller.
  void clear() {
    for (const Column& c : layout().columns()) {
      switch (c.kind) {
        case Kind::f64: put(c, kNaN); break;
        case Kind::str: std::memset(p_ + c.offset, 0, static_cast<std::size_t>(c.length)); break;
        case Kind::u64: { const std::uint64_t z = 0; std::memcpy(p_ + c.offset, &z, sizeof z); break; }
        default: put_int(c, -1);
      }
    }
    set_int("state", static_cast<int>(TrialState::pending));
  }

 private:
  void put(const Column& c, double v) {
    NNSCAPE_CHECK(c.kind == Kind::f64, "column '" + c.name + "' is not f64");
    std::memcpy(p_ + c.offset, &v, sizeof v);
  }
  void put_int(const Column& c, std::int64_t v) {
    switch (c.kind) {
      case Kind::i64: std::memcpy(p_ + c.offset, &v, sizeof v); break;
      case Kind::i32: { const auto x = static_cast<std::int32_t>(v); std::memcpy(p_ + c.offset, &x, sizeof x); break; }
      case Kind::i8: { const auto x = static_cast<std::int8_t>(v); std::memcpy(p_ + c.offset, &x, sizeof x); break; }
      default: throw Error("column '" + c.name + "' is not a signed integer");
    }
  }
  char* p_;
};

void fill_spectrum(Row& row, const std::string& p, const Spectrum& s) {
  row.set_int(p + "complete", s.complete);
  row.set_str(p + "method", s.method);
  row.set_int(p + "n_neg", s.inertia.n_neg);
  row.set_int(p + "n_zero", s.inertia.n_zero);
  row.set_int(p + "n_pos", s.inertia.n_pos);
  row.set(p + "lambda_min", s.eigenvalues.empty() ? kNaN : s.eigenvalues.front());
  row.set(p + "lambda_max", s.eigenvalues.empty() ? kNaN : s.eigenvalues.back());
  row.set_int(p + "n_undecided", s.inertia.n_undecided);
  row.set(p + "threshold", s.inertia.threshold);
  row.set(p + "scale", s.inertia.scale);
  row.set(p + "largest_zero", s.inertia.largest_zero);
  row.set(p + "smallest_nonzero", s.inertia.smallest_nonzero);
  row.set_int(p + "certain", s.inertia.certain);
  row.set_int(p + "converged", s.converged);
  row.set_int(p + "iterations", s.iterations);
  row.set(p + "tolerance", s.tolerance);
  double worst = s.residuals.empty() ? kNaN : 0.0;
  for (double r : s.residuals) worst = std::max(worst, r);
  row.set(p + "max_residual", worst);
}

void fill_record(Row& row, const TrialRecord& r) {
  row.set_str("status", r.status);
  row.set_str("error", r.error);
  row.set_u64("init_seed", r.init_seed);
  const OptimizeResult& o = r.optimization;
  row.set_str("tao_type", o.tao_type);
  row.set_str("reason", o.reason);
  row.set_int("reason_code", o.reason_code);
  row.set_int("converged", o.converged);
  row.set_int("diverged", o.diverged);
  row.set_int("nonfinite", o.nonfinite);
  row.set_int("iterations", o.iterations);
  row.set_int("function_evals", o.function_evals);
  row.set_int("gradient_evals", o.gradient_evals);
  row.set_int("hessian_evals", o.hessian_evals);
  row.set("loss", o.loss);
  row.set("grad_norm", o.grad_norm);
  row.set("param_norm", o.param_norm);
  row.set("initial_param_norm", o.initial_param_norm);
  row.set("norm_growth_rate", o.norm_growth_rate);
  row.set_str("local_rate", o.local_rate);
  fill_spectrum(row, "hessian_", r.hessian);
  fill_spectrum(row, "gauss_newton_", r.gauss_newton);
  const RedundancyReport& red = r.redundancy;
  row.set_int("redundancy_applicable", red.applicable);
  row.set_int("redundant", red.redundant);
  row.set("redundancy_distance", red.distance);
  row.set_str("redundancy_nearest", red.nearest);
  row.set_int("n_dead", static_cast<std::int64_t>(red.dead.size()));
  row.set_int("n_constant", static_cast<std::int64_t>(red.constant.size()));
  row.set_int("n_duplicate", static_cast<std::int64_t>(red.duplicate.size()));
  row.set_int("n_antipodal", static_cast<std::int64_t>(red.antipodal.size()));
  row.set_int("predicted_nullity", red.predicted_nullity);
  row.set_int("predicted_nullity_h", red.predicted_nullity_h);
  row.set_int("measured_nullity", r.measured_nullity);
  row.set_int("measured_nullity_g", r.measured_nullity_g);
  row.set_int("nullity_matches", r.nullity_matches);
  row.set("product_error", r.product_error);
  const Certificate& c = r.certificate;
  row.set_int("certified", c.certified);
  row.set_str("certificate_method", c.method);
  row.set_str("certificate_reason", c.reason);
  row.set("certificate_radius", c.radius);
  row.set("certificate_lambda_min_lower", c.lambda_min_lower);
  row.set("certificate_curvature_upper", c.curvature_upper);
  row.set("certificate_loss_upper", c.loss_upper);
  row.set_str("certificate_reduction", c.reduction);
  row.set_int("certificate_core_width", c.core_width);
  row.set("certificate_distance", c.distance);
  row.set_int("certificate_jacobian_nullity", c.jacobian_nullity);
  row.set("certificate_norm_ratio", c.norm_ratio);
  row.set_str("certificate_runaway_units", c.runaway_units);
  row.set_int("polish_steps", r.polish.steps);
  row.set("polish_distance", r.polish.distance);
  row.set("polish_grad_before", r.polish.grad_before);
  const PhaseTimes& t = r.seconds;
  row.set("seconds_data", t.data);
  row.set("seconds_init", t.init);
  row.set("seconds_train", t.train);
  row.set("seconds_spectrum", t.spectrum);
  row.set("seconds_analysis", t.analysis);
  row.set("seconds_total", t.data + t.init + t.train + t.spectrum + t.analysis);
}

// ---------------------------------------------------------------------------------------------
// HDF5 helpers.

using H5Group = H5Handle<H5Gclose>;
using H5Attribute = H5Handle<H5Aclose>;

H5Datatype string_type(std::size_t length) {
  H5Datatype t(NNSCAPE_H5_CALL(H5Tcopy(H5T_C_S1)));
  NNSCAPE_H5_CALL(H5Tset_size(t.get(), std::max<std::size_t>(length, 1)));
  NNSCAPE_H5_CALL(H5Tset_strpad(t.get(), H5T_STR_NULLTERM));
  return t;
}

// Collective in parallel files: every rank passes the same value.
void write_string_attr(hid_t obj, const std::string& name, const std::string& value) {
  const H5Datatype t = string_type(value.size() + 1);
  const H5Dataspace space(NNSCAPE_H5_CALL(H5Screate(H5S_SCALAR)));
  const H5Attribute a(NNSCAPE_H5_CALL(
      H5Acreate2(obj, name.c_str(), t.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT)));
  NNSCAPE_H5_CALL(H5Awrite(a.get(), t.get(), value.c_str()));
}

void write_int_attr(hid_t obj, const std::string& name, std::int64_t value) {
  const H5Dataspace space(NNSCAPE_H5_CALL(H5Screate(H5S_SCALAR)));
  const H5Attribute a(NNSCAPE_H5_CALL(
      H5Acreate2(obj, name.c_str(), H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT)));
  NNSCAPE_H5_CALL(H5Awrite(a.get(), H5T_NATIVE_INT64, &value));
}

std::string read_string_attr(hid_t obj, const std::string& name) {
  const H5Attribute a(NNSCAPE_H5_CALL(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  const H5Datatype ft(NNSCAPE_H5_CALL(H5Aget_type(a.get())));
  NNSCAPE_CHECK(H5Tget_class(ft.get()) == H5T_STRING, "attribute '" + name + "' is not a string");
  NNSCAPE_CHECK(H5Tis_variable_str(ft.get()) <= 0, "attribute '" + name + "' is variable-length");
  const std::size_t n = H5Tget_size(ft.get());
  const H5Datatype mt = string_type(n);
  std::string s(n, '\0');
  NNSCAPE_H5_CALL(H5Aread(a.get(), mt.get(), s.data()));
  s.resize(strnlen(s.c_str(), n));
  return s;
}

std::int64_t read_int_attr(hid_t obj, const std::string& name) {
  const H5Attribute a(NNSCAPE_H5_CALL(H5Aopen(obj, name.c_str(), H5P_DEFAULT)));
  std::int64_t v = 0;
  NNSCAPE_H5_CALL(H5Aread(a.get(), H5T_NATIVE_INT64, &v));
  return v;
}

std::vector<std::pair<std::string, std::string>> read_string_attrs(hid_t obj) {
  std::vector<std::string> names;
  NNSCAPE_H5_CALL(H5Aiterate2(
      obj, H5_INDEX_CRT_ORDER, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5A_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names));
  std::vector<std::pair<std::string, std::string>> out;
  for (const std::string& n : names) {
    const H5Attribute a(NNSCAPE_H5_CALL(H5Aopen(obj, n.c_str(), H5P_DEFAULT)));
    const H5Datatype ft(NNSCAPE_H5_CALL(H5Aget_type(a.get())));
    if (H5Tget_class(ft.get()) == H5T_STRING) {
      out.emplace_back(n, read_string_attr(obj, n));
    } else {
      out.emplace_back(n, std::to_string(read_int_attr(obj, n)));
    }
  }
  return out;
}

// A group whose attributes keep their creation order (provenance reads in the order written).
H5Group create_ordered_group(hid_t parent, const std::string& name) {
  const H5PropList gcpl(NNSCAPE_H5_CALL(H5Pcreate(H5P_GROUP_CREATE)));
  NNSCAPE_H5_CALL(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED));
  NNSCAPE_H5_CALL(H5Pset_attr_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED));
  return H5Group(NNSCAPE_H5_CALL(
      H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT)));
}

// Allocated and filled at creation so later independent writes touch raw data only.
H5Dataset create_early(hid_t parent, const std::string& name, hid_t type,
                       const std::vector<hsize_t>& dims, const void* fill) {
  const H5Dataspace space(NNSCAPE_H5_CALL(
      H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr)));
  const H5PropList dcpl(NNSCAPE_H5_CALL(H5Pcreate(H5P_DATASET_CREATE)));
  NNSCAPE_H5_CALL(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS));
  NNSCAPE_H5_CALL(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_EARLY));
  NNSCAPE_H5_CALL(H5Pset_fill_time(dcpl.get(), H5D_FILL_TIME_ALLOC));
  if (fill) NNSCAPE_H5_CALL(H5Pset_fill_value(dcpl.get(), type, fill));
  return H5Dataset(NNSCAPE_H5_CALL(H5Dcreate2(parent, name.c_str(), type, space.get(),
                                              H5P_DEFAULT, dcpl.get(), H5P_DEFAULT)));
}

// The file and memory selections of `count` rows of `row_width` elements at row `first` of a
// 1-D or 2-D dataset.
struct RowSelection {
  H5Dataspace file;
  H5Dataspace memory;
};

RowSelection select_rows(hid_t ds, hsize_t first, hsize_t count, hsize_t row_width) {
  H5Dataspace fspace(NNSCAPE_H5_CALL(H5Dget_space(ds)));
  const int rank = H5Sget_simple_extent_ndims(fspace.get());
  const hsize_t start[2] = {first, 0};
  const hsize_t cnt[2] = {count, row_width};
  NNSCAPE_H5_CALL(H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, start, nullptr, cnt, nullptr));
  return {std::move(fspace), H5Dataspace(NNSCAPE_H5_CALL(H5Screate_simple(rank, cnt, nullptr)))};
}

void write_rows(hid_t ds, hid_t mem_type, hsize_t first, hsize_t count, hsize_t row_width,
                const void* data) {
  if (count == 0) return;
  const RowSelection sel = select_rows(ds, first, count, row_width);
  NNSCAPE_H5_CALL(H5Dwrite(ds, mem_type, sel.memory.get(), sel.file.get(), H5P_DEFAULT, data));
}

void read_rows(hid_t ds, hid_t mem_type, hsize_t first, hsize_t count, hsize_t row_width,
               void* data) {
  if (count == 0) return;
  const RowSelection sel = select_rows(ds, first, count, row_width);
  NNSCAPE_H5_CALL(H5Dread(ds, mem_type, sel.memory.get(), sel.file.get(), H5P_DEFAULT, data));
}

hsize_t extent0(hid_t ds) {
  const H5Dataspace s(NNSCAPE_H5_CALL(H5Dget_space(ds)));
  hsize_t dims[2] = {0, 0};
  NNSCAPE_H5_CALL(H5Sget_simple_extent_dims(s.get(), dims, nullptr));
  return dims[0];
}

std::string read_string_dataset(hid_t file, const std::string& name) {
  const H5Dataset ds(NNSCAPE_H5_CALL(H5Dopen2(file, name.c_str(), H5P_DEFAULT)));
  const H5Datatype ft(NNSCAPE_H5_CALL(H5Dget_type(ds.get())));
  const std::size_t n = H5Tget_size(ft.get());
  const H5Datatype mt = string_type(n);
  std::string s(n, '\0');
  NNSCAPE_H5_CALL(H5Dread(ds.get(), mt.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, s.data()));
  s.resize(strnlen(s.c_str(), n));
  return s;
}

H5PropList mpio_access(MPI_Comm comm) {
  H5PropList fapl(NNSCAPE_H5_CALL(H5Pcreate(H5P_FILE_ACCESS)));
  NNSCAPE_H5_CALL(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL));
  // Metadata reads by one rank and a broadcast, instead of every rank hitting the file system.
  NNSCAPE_H5_CALL(H5Pset_all_coll_metadata_ops(fapl.get(), true));
  NNSCAPE_H5_CALL(H5Pset_coll_metadata_write(fapl.get(), true));
  return fapl;
}

int comm_rank(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

// Capacity of a trial's spectrum slot.
// The trajectory's fifth column: ‖W_L···W_1 − A‖_F/‖A‖_F for linear data, else NaN.
double true_loss(const TrajectoryPoint& p) { return p.true_loss; }

std::int64_t spectrum_capacity(std::int64_t p, const StudySettings& s) {
  return p <= s.dense_limit ? p : std::min<std::int64_t>(p, 2 * std::int64_t{s.extremes});
}

}  // namespace

// -----------------------------------------------------------------------------------------------

struct ResultsStore::Impl {
  MPI_Comm comm = MPI_COMM_NULL;
  H5File file;
  H5Dataset trials, theta, hessian, gauss_newton, trajectory;
  H5Datatype row_type;
  std::vector<char> rows;  // the whole table as read (descriptions), updated by write()
  std::int64_t count = 0;

  Row row(std::int64_t i) { return Row(rows.data() + static_cast<std::size_t>(i) * layout().size()); }

  void open_datasets() {
    auto open = [&](const char* n) {
      return H5Dataset(NNSCAPE_H5_CALL(H5Dopen2(file.get(), n, H5P_DEFAULT)));
    };
    trials = open("/trials");
    theta = open("/values/theta");
    hessian = open("/values/hessian");
    gauss_newton = open("/values/gauss_newton");
    trajectory = open("/values/trajectory");
    row_type = layout().memory_type();
    count = static_cast<std::int64_t>(extent0(trials.get()));
    rows.assign(static_cast<std::size_t>(count) * layout().size(), 0);
    read_rows(trials.get(), row_type.get(), 0, static_cast<hsize_t>(count), 1, rows.data());
  }
};

ResultsStore::ResultsStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ResultsStore::ResultsStore(ResultsStore&&) noexcept = default;
ResultsStore& ResultsStore::operator=(ResultsStore&&) noexcept = default;
ResultsStore::~ResultsStore() = default;

ResultsStore ResultsStore::create(MPI_Comm comm, const std::string& path, const StudySpec& spec,
                                  const Grid& grid, const std::vector<std::int64_t>& trial_ids,
                                  const Shard& shard, const std::vector<PatternVerdict>& verdicts) {
  NNSCAPE_CHECK(verdicts.empty() || verdicts.size() == trial_ids.size(),
                "one pattern verdict per trial");
  const int rank = comm_rank(comm);
  std::error_code ec;
  if (std::filesystem::exists(path, ec)) throw CollectiveError("results file '" + path + "' exists already");
  const std::string tmp = path + ".creating";

  // Descriptions and slots: a pure function of the spec and the trial list.
  const std::size_t width = layout().size();
  const auto n = static_cast<std::int64_t>(trial_ids.size());
  std::vector<char> rows(static_cast<std::size_t>(n) * width, 0);
  std::int64_t theta_total = 0, spec_total = 0, traj_total = 0;
  const StudySettings& set = spec.settings;
  for (std::int64_t i = 0; i < n; ++i) {
    Row row(rows.data() + static_cast<std::size_t>(i) * width);
    row.clear();
    const TrialCoords c = grid.coords(trial_ids[i]);
    const TrialSpec ts = grid.trial_spec(c);
    row.set_int("trial_id", trial_ids[i]);
    for (int a = 0; a < kNumAxes; ++a)
      row.set_int(std::string("axis_") + to_string(static_cast<Axis>(a)), c[a]);
    row.set_u64("seed", ts.seed);
    row.set_u64("data_seed", ts.data_seed.value_or(0));
    const DatasetShape shape = dataset_shape(ts.data);
    Architecture arch;
    arch.widths = layer_widths(shape.d, ts.hidden, shape.m);
    arch.activation = ts.activation;
    arch.masks = ts.masks;
    const std::int64_t p = Network(arch).num_params();
    row.set_int("P", p);
    row.set_int("N", shape.n);
    if (!verdicts.empty()) {
      const PatternVerdict& v = verdicts[static_cast<std::size_t>(i)];
      row.set_str("closedness", v.closedness);
      row.set_str("closedness_rule", v.rule);
      row.set_str("optimum", v.optimum);
    }
    const std::int64_t caps[4] = {set.save_params ? p : 0, spectrum_capacity(p, set),
                                  spectrum_capacity(p, set), set.trajectory_length};
    std::int64_t* totals[4] = {&theta_total, &spec_total, &spec_total, &traj_total};
    const char* names[4] = {"theta", "hessian", "gauss_newton", "trajectory"};
    // hessian and gauss_newton share offsets: two datasets of the same shape.
    for (int k = 0; k < 4; ++k) {
      const std::int64_t off = k == 2 ? row.get_int("hessian_offset") : *totals[k];
      row.set_int(std::string(names[k]) + "_offset", off);
      row.set_int(std::string(names[k]) + "_capacity", caps[k]);
      row.set_int(std::string(names[k]) + "_count", 0);
      if (k != 2) *totals[k] += caps[k];
    }
  }

  {
    const H5PropList fapl = mpio_access(comm);
    H5File file(NNSCAPE_H5_CALL(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get())));
    const hid_t f = file.get();
    {
      H5Group study = create_ordered_group(f, "study");
      write_int_attr(study.get(), "schema_version", kSchemaVersion);
      write_string_attr(study.get(), "spec_hash", spec.hash);
      write_string_attr(study.get(), "name", spec.name);
      write_int_attr(study.get(), "full_size", grid.full_size());
      write_string_attr(study.get(), "shard", shard.label());
      write_int_attr(study.get(), "rows", n);
      write_string_attr(study.get(), "complete", "yes");
      const H5Datatype st = string_type(spec.text.size() + 1);
      const H5Dataspace scalar(NNSCAPE_H5_CALL(H5Screate(H5S_SCALAR)));
      const H5Dataset text(NNSCAPE_H5_CALL(H5Dcreate2(study.get(), "spec", st.get(), scalar.get(),
                                                      H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
      if (rank == 0)
        NNSCAPE_H5_CALL(H5Dwrite(text.get(), st.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT,
                                 spec.text.c_str()));
    }
    {
      const H5Group axes(NNSCAPE_H5_CALL(
          H5Gcreate2(f, "axes", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
      for (int a = 0; a < kNumAxes; ++a) {
        const Axis axis = static_cast<Axis>(a);
        const int size = spec.axis_size(axis);
        std::size_t len = 1;
        for (int i = 0; i < size; ++i) len = std::max(len, spec.value_label(axis, i).size() + 1);
        std::vector<char> buf(static_cast<std::size_t>(size) * len, 0);
        for (int i = 0; i < size; ++i) {
          const std::string v = spec.value_label(axis, i);
          std::memcpy(buf.data() + static_cast<std::size_t>(i) * len, v.data(), v.size());
        }
        const H5Datatype st = string_type(len);
        const H5Dataset ds = create_early(axes.get(), to_string(axis), st.get(),
                                          {static_cast<hsize_t>(size)}, nullptr);
        if (rank == 0)
          write_rows(ds.get(), st.get(), 0, static_cast<hsize_t>(size), 1, buf.data());
      }
    }
    const H5Datatype row_type = layout().memory_type();
    {
      std::vector<char> blank(width, 0);
      Row(blank.data()).clear();
      const H5Dataset trials = create_early(f, "trials", row_type.get(),
                                            {static_cast<hsize_t>(n)}, blank.data());
      if (rank == 0)
        write_rows(trials.get(), row_type.get(), 0, static_cast<hsize_t>(n), 1, rows.data());
    }
    {
      const H5Group values(NNSCAPE_H5_CALL(
          H5Gcreate2(f, "values", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
      const double nan = kNaN;
      create_early(values.get(), "theta", H5T_IEEE_F64LE, {static_cast<hsize_t>(theta_total)}, &nan);
      create_early(values.get(), "hessian", H5T_IEEE_F64LE, {static_cast<hsize_t>(spec_total)}, &nan);
      create_early(values.get(), "gauss_newton", H5T_IEEE_F64LE,
                   {static_cast<hsize_t>(spec_total)}, &nan);
      create_early(values.get(), "trajectory", H5T_IEEE_F64LE,
                   {static_cast<hsize_t>(traj_total), kTrajectoryColumns}, &nan);
    }
    {
      const H5Group prov(NNSCAPE_H5_CALL(
          H5Gcreate2(f, "provenance", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
    }
    NNSCAPE_H5_CALL(H5Fflush(f, H5F_SCOPE_GLOBAL));
    file.close();
  }
  MPI_Barrier(comm);
  int ok = 1;
  std::string why;
  if (rank == 0) {
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      ok = 0;
      why = ec.message();
    }
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, comm);
  if (!ok) throw CollectiveError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  return open(comm, path, spec, shard);
}

ResultsStore ResultsStore::open(MPI_Comm comm, const std::string& path, const StudySpec& spec,
                                const Shard& shard) {
  auto impl = std::make_unique<Impl>();
  impl->comm = comm;
  {
    H5ErrorSilencer quiet;
    if (H5Fis_hdf5(path.c_str()) <= 0)
      throw CollectiveError("'" + path + "' is not an HDF5 file; give a new path or an nnscape results file");
    const H5PropList fapl = mpio_access(comm);
    impl->file = H5File(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()));
    if (!impl->file.valid())
      throw CollectiveError("cannot open '" + path + "' for writing" + H5Error::describe_last_h5_error());
    if (H5Lexists(impl->file.get(), "study", H5P_DEFAULT) <= 0)
      throw CollectiveError("'" + path + "' is not an nnscape results file (no /study group)");
  }
  {
    const H5Group study(NNSCAPE_H5_CALL(H5Gopen2(impl->file.get(), "study", H5P_DEFAULT)));
    const std::int64_t version = read_int_attr(study.get(), "schema_version");
    if (version != kSchemaVersion)
      throw CollectiveError("'" + path + "' has results schema version " + std::to_string(version) +
                  "; this nnscape reads version " + std::to_string(kSchemaVersion));
    const std::string hash = read_string_attr(study.get(), "spec_hash");
    if (hash != spec.hash)
      throw CollectiveError("'" + path + "' was made from another study spec (hash " + hash + ", this spec " +
                  spec.hash + "); resume with the spec it was made from, or write a new file");
    const std::string file_shard = read_string_attr(study.get(), "shard");
    if (file_shard != shard.label())
      throw CollectiveError("'" + path + "' holds shard " + file_shard + ", not shard " + shard.label());
  }
  impl->open_datasets();
  return ResultsStore(std::move(impl));
}

std::int64_t ResultsStore::rows() const { return impl_->count; }
std::int64_t ResultsStore::trial_id(std::int64_t row) const {
  return impl_->row(row).get_int("trial_id");
}
std::int64_t ResultsStore::num_params(std::int64_t row) const {
  return impl_->row(row).get_int("P");
}
TrialState ResultsStore::state(std::int64_t row) const {
  return static_cast<TrialState>(impl_->row(row).get_int("state"));
}

int ResultsStore::begin_run(const Provenance& entries) {
  const H5Group prov(NNSCAPE_H5_CALL(H5Gopen2(impl_->file.get(), "provenance", H5P_DEFAULT)));
  H5G_info_t info;
  NNSCAPE_H5_CALL(H5Gget_info(prov.get(), &info));
  const int run = static_cast<int>(info.nlinks) + 1;
  char name[32];
  std::snprintf(name, sizeof name, "run_%04d", run);
  const H5Group g = create_ordered_group(prov.get(), name);
  for (const auto& [k, v] : entries) write_string_attr(g.get(), k, v);
  NNSCAPE_H5_CALL(H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL));
  return run;
}

void ResultsStore::write(std::int64_t row_index, const TrialRecord& rec, int rank,
                         const std::string& host) {
  NNSCAPE_CHECK(row_index >= 0 && row_index < impl_->count, "row out of range");
  Row row = impl_->row(row_index);
  // Values first, the row (which marks the trial done) last: a run killed in between leaves the
  // row pending and the trial is rerun.
  auto put = [&](hid_t ds, const char* name, const std::vector<double>& v) {
    const std::int64_t cap = row.get_int(std::string(name) + "_capacity");
    const std::int64_t cnt = std::min<std::int64_t>(cap, static_cast<std::int64_t>(v.size()));
    write_rows(ds, H5T_NATIVE_DOUBLE, static_cast<hsize_t>(row.get_int(std::string(name) + "_offset")),
               static_cast<hsize_t>(cnt), 1, v.data());
    row.set_int(std::string(name) + "_count", cnt);
  };
  put(impl_->theta.get(), "theta", rec.optimization.theta);
  put(impl_->hessian.get(), "hessian", rec.hessian.eigenvalues);
  put(impl_->gauss_newton.get(), "gauss_newton", rec.gauss_newton.eigenvalues);
  {
    const auto& traj = rec.optimization.trajectory;
    const std::int64_t cap = row.get_int("trajectory_capacity");
    const std::int64_t cnt = std::min<std::int64_t>(cap, static_cast<std::int64_t>(traj.size()));
    std::vector<double> buf;
    buf.reserve(static_cast<std::size_t>(cnt) * kTrajectoryColumns);
    for (std::int64_t i = 0; i < cnt; ++i) {
      const TrajectoryPoint& p = traj[static_cast<std::size_t>(i)];
      buf.insert(buf.end(), {static_cast<double>(p.iteration), p.loss, p.grad_norm, p.param_norm,
                             true_loss(p)});
    }
    write_rows(impl_->trajectory.get(), H5T_NATIVE_DOUBLE,
               static_cast<hsize_t>(row.get_int("trajectory_offset")), static_cast<hsize_t>(cnt),
               kTrajectoryColumns, buf.data());
    row.set_int("trajectory_count", cnt);
  }
  fill_record(row, rec);
  row.set_int("rank", rank);
  row.set_str("host", host);
  row.set("finished_at", static_cast<double>(std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count()) * 1e-6);
  row.set_int("state", static_cast<int>(rec.status == "error" ? TrialState::failed : TrialState::done));
  write_rows(impl_->trials.get(), impl_->row_type.get(), static_cast<hsize_t>(row_index), 1, 1,
             impl_->rows.data() + static_cast<std::size_t>(row_index) * layout().size());
}

void ResultsStore::end_run_without_provenance() {
  impl_->trials.reset();
  impl_->theta.reset();
  impl_->hessian.reset();
  impl_->gauss_newton.reset();
  impl_->trajectory.reset();
  NNSCAPE_H5_CALL(H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL));
  impl_->file.close();
}

void ResultsStore::end_run(int run, const Provenance& entries) {
  {
    char name[48];
    std::snprintf(name, sizeof name, "provenance/run_%04d", run);
    const H5Group g(NNSCAPE_H5_CALL(H5Gopen2(impl_->file.get(), name, H5P_DEFAULT)));
    for (const auto& [k, v] : entries) write_string_attr(g.get(), k, v);
  }
  end_run_without_provenance();
}

// -----------------------------------------------------------------------------------------------
// Reading without MPI, and merging.

namespace {

struct SerialFile {
  H5File file;
  H5Datatype row_type;
  std::vector<char> rows;
  std::int64_t count = 0;
};

SerialFile open_serial(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw Error("results file '" + path + "': no such file");
  SerialFile s;
  {
    H5ErrorSilencer quiet;
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error("'" + path + "' is not an HDF5 file");
    s.file = H5File(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
    if (!s.file.valid())
      throw Error("cannot open '" + path + "'" + H5Error::describe_last_h5_error());
    if (H5Lexists(s.file.get(), "study", H5P_DEFAULT) <= 0 ||
        H5Lexists(s.file.get(), "trials", H5P_DEFAULT) <= 0)
      throw Error("'" + path + "' is not an nnscape results file (no /study or /trials)");
  }
  const H5Dataset trials(NNSCAPE_H5_CALL(H5Dopen2(s.file.get(), "trials", H5P_DEFAULT)));
  s.row_type = layout().memory_type();
  s.count = static_cast<std::int64_t>(extent0(trials.get()));
  s.rows.assign(static_cast<std::size_t>(s.count) * layout().size(), 0);
  read_rows(trials.get(), s.row_type.get(), 0, static_cast<hsize_t>(s.count), 1, s.rows.data());
  return s;
}

std::vector<Provenance> read_runs(hid_t file) {
  std::vector<Provenance> runs;
  if (H5Lexists(file, "provenance", H5P_DEFAULT) <= 0) return runs;
  const H5Group prov(NNSCAPE_H5_CALL(H5Gopen2(file, "provenance", H5P_DEFAULT)));
  std::vector<std::string> names;
  NNSCAPE_H5_CALL(H5Literate(
      prov.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr,
      [](hid_t, const char* name, const H5L_info_t*, void* out) -> herr_t {
        static_cast<std::vector<std::string>*>(out)->push_back(name);
        return 0;
      },
      &names));
  for (const std::string& n : names) {
    const H5Group g(NNSCAPE_H5_CALL(H5Gopen2(prov.get(), n.c_str(), H5P_DEFAULT)));
    Provenance p = read_string_attrs(g.get());
    p.insert(p.begin(), {"group", n});
    runs.push_back(std::move(p));
  }
  return runs;
}

}  // namespace

StoreSummary read_summary(const std::string& path) {
  SerialFile s = open_serial(path);
  StoreSummary out;
  out.path = path;
  const H5Group study(NNSCAPE_H5_CALL(H5Gopen2(s.file.get(), "study", H5P_DEFAULT)));
  const std::int64_t version = read_int_attr(study.get(), "schema_version");
  if (version != kSchemaVersion)
    throw Error("'" + path + "' has results schema version " + std::to_string(version) +
                "; this nnscape reads version " + std::to_string(kSchemaVersion));
  out.spec_hash = read_string_attr(study.get(), "spec_hash");
  out.shard = read_string_attr(study.get(), "shard");
  out.full_size = read_int_attr(study.get(), "full_size");
  out.spec_text = read_string_dataset(s.file.get(), "/study/spec");
  for (std::int64_t i = 0; i < s.count; ++i) {
    const Row row(s.rows.data() + static_cast<std::size_t>(i) * layout().size());
    out.trial_ids.push_back(row.get_int("trial_id"));
    out.states.push_back(static_cast<TrialState>(row.get_int("state")));
    out.statuses.push_back(row.get_str("status"));
    out.certified.push_back(row.get_int("certified") == 1);
    out.errors.push_back(row.get_str("error"));
    out.finished_at.push_back(row.get("finished_at"));
  }
  out.runs = read_runs(s.file.get());
  return out;
}

void merge_stores(const std::vector<std::string>& inputs, const std::string& output) {
  NNSCAPE_CHECK(!inputs.empty(), "merge: give at least one input file");
  std::vector<SerialFile> in;
  std::vector<StoreSummary> sums;
  for (const std::string& p : inputs) {
    sums.push_back(read_summary(p));
    in.push_back(open_serial(p));
  }
  for (std::size_t k = 1; k < inputs.size(); ++k)
    if (sums[k].spec_hash != sums[0].spec_hash)
      throw Error("merge: '" + inputs[k] + "' comes from another study spec (hash " +
                  sums[k].spec_hash + ") than '" + inputs[0] + "' (hash " + sums[0].spec_hash + ")");

  // Every trial of the grid exactly once, complete.
  std::map<std::int64_t, std::pair<std::size_t, std::int64_t>> where;  // id → (input, row)
  for (std::size_t k = 0; k < inputs.size(); ++k)
    for (std::size_t r = 0; r < sums[k].trial_ids.size(); ++r) {
      const std::int64_t id = sums[k].trial_ids[r];
      const auto [it, fresh] = where.emplace(id, std::make_pair(k, static_cast<std::int64_t>(r)));
      if (!fresh)
        throw Error("merge: trial " + std::to_string(id) + " is in both '" +
                    inputs[it->second.first] + "' and '" + inputs[k] + "'");
      if (sums[k].states[r] == TrialState::pending)
        throw Error("merge: trial " + std::to_string(id) + " is still pending in '" + inputs[k] +
                    "'; finish that run first (run the same command again to resume)");
    }
  const StudySpec spec = parse_study(sums[0].spec_text, inputs[0] + ":/study/spec");
  const Grid grid(spec);
  const std::vector<std::int64_t> ids = grid.trial_ids();
  std::vector<std::int64_t> missing;
  for (std::int64_t id : ids)
    if (!where.count(id)) missing.push_back(id);
  if (!missing.empty()) {
    std::string list;
    for (std::size_t i = 0; i < std::min<std::size_t>(missing.size(), 10); ++i)
      list += (i ? ", " : "") + std::to_string(missing[i]);
    throw Error("merge: " + std::to_string(missing.size()) + " trial(s) of the study are in no input (" +
                list + (missing.size() > 10 ? ", ..." : "") + "); a shard file is missing");
  }
  if (where.size() != ids.size())
    throw Error("merge: the inputs hold trials the study does not have (excluded or out of range)");

  ResultsStore out = ResultsStore::create(MPI_COMM_SELF, output, spec, grid, ids, Shard{});
  ResultsStore::Impl& o = *out.impl_;
  std::vector<double> buf;
  for (std::int64_t r = 0; r < o.count; ++r) {
    const auto [k, src_row] = where.at(ids[static_cast<std::size_t>(r)]);
    const Row src(in[k].rows.data() + static_cast<std::size_t>(src_row) * layout().size());
    Row dst = o.row(r);
    for (const char* v : {"theta", "hessian", "gauss_newton", "trajectory"}) {
      const std::string name = v;
      const hsize_t width = name == "trajectory" ? kTrajectoryColumns : 1;
      const std::int64_t cnt = src.get_int(name + "_count");
      if (cnt <= 0) continue;
      buf.resize(static_cast<std::size_t>(cnt) * width);
      const H5Dataset sds(NNSCAPE_H5_CALL(
          H5Dopen2(in[k].file.get(), ("/values/" + name).c_str(), H5P_DEFAULT)));
      read_rows(sds.get(), H5T_NATIVE_DOUBLE, static_cast<hsize_t>(src.get_int(name + "_offset")),
                static_cast<hsize_t>(cnt), width, buf.data());
      const hid_t dds = name == "theta"     ? o.theta.get()
                        : name == "hessian" ? o.hessian.get()
                        : name == "gauss_newton" ? o.gauss_newton.get()
                                                 : o.trajectory.get();
      write_rows(dds, H5T_NATIVE_DOUBLE, static_cast<hsize_t>(dst.get_int(name + "_offset")),
                 static_cast<hsize_t>(cnt), width, buf.data());
    }
    // Everything but the slots, which are the output's own (the pattern verdict comes along
    // instead of being decided again).
    char* d = o.rows.data() + static_cast<std::size_t>(r) * layout().size();
    const char* s = in[k].rows.data() + static_cast<std::size_t>(src_row) * layout().size();
    for (const Column& c : layout().columns())
      if (!c.name.ends_with("_offset") && !c.name.ends_with("_capacity"))
        std::memcpy(d + c.offset, s + c.offset, size_of(c));
  }
  write_rows(o.trials.get(), o.row_type.get(), 0, static_cast<hsize_t>(o.count), 1, o.rows.data());
  // Provenance: each input's runs, under the input's file name.
  {
    const H5Group prov(NNSCAPE_H5_CALL(H5Gopen2(o.file.get(), "provenance", H5P_DEFAULT)));
    for (std::size_t k = 0; k < inputs.size(); ++k) {
      const std::string stem = std::filesystem::path(inputs[k]).stem().string();
      for (const Provenance& run : sums[k].runs) {
        const std::string group = run.front().second;
        NNSCAPE_H5_CALL(H5Ocopy(in[k].file.get(), ("/provenance/" + group).c_str(), prov.get(),
                                (stem + "_" + group).c_str(), H5P_DEFAULT, H5P_DEFAULT));
      }
    }
  }
  out.end_run_without_provenance();
}

// -----------------------------------------------------------------------------------------------

RunLock::RunLock(const std::string& results_path) : path_(results_path + ".lock") {
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw Error("cannot create lock file '" + path_ + "': " + std::strerror(errno) +
                " (is the output directory writable?)");
  struct flock lk {};
  lk.l_type = F_WRLCK;
  lk.l_whence = SEEK_SET;
  if (fcntl(fd_, F_SETLK, &lk) == 0) {
    const std::string who = std::to_string(::getpid()) + "\n";
    // Only informative (who holds the lock): a failed write changes nothing.
    if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, who.data(), who.size(), 0) < 0) {
    }
    return;
  }
  const int err = errno;
  if (err == EACCES || err == EAGAIN) {
    struct flock q {};
    q.l_type = F_WRLCK;
    q.l_whence = SEEK_SET;
    const bool known = fcntl(fd_, F_GETLK, &q) == 0 && q.l_type != F_UNLCK;
    ::close(fd_);
    fd_ = -1;
    throw Error("another nnscape run is writing '" + results_path + "'" +
                (known ? " (process " + std::to_string(q.l_pid) + " holds " + path_ + ")" : "") +
                "; wait for it to end, or write to another file");
  }
  // File systems without POSIX locks (some NFS mounts): go on unguarded rather than refuse.
  ::close(fd_);
  fd_ = -1;
}

RunLock::~RunLock() {
  if (fd_ < 0) return;
  (void)::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace nnscape
