// Dataset room: validate(), the HDF5 reader/writer, parameter-vector readers, the H5 handle.
// Every refusal is checked by the phrase a user would read, since the message is the product.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "nnscape/dataset.hpp"
#include "nnscape/error.hpp"
#include "nnscape/h5.hpp"

namespace nnscape {
namespace {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards (the pid keeps concurrent ctest runs apart).
class DatasetFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("nnscape_dataset_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  void write_text(const std::string& name, const std::string& text) const {
    std::ofstream(path(name)) << text;
  }

  fs::path dir_;
};

Dataset small_dataset() {
  Dataset d;
  d.n = 3;
  d.d = 2;
  d.m = 2;
  d.x = {0.5, -1.0, 2.0, 3.25, -0.125, 1e-300};
  d.y = {1.0, 2.0, 3.0, 4.0, 5.0, 6.0};
  return d;
}

// Writes one dataset of the given file type/shape with raw HDF5 calls, for layouts that
// write_dataset_h5 never produces (1-D /Y, integers, strings, NaN).
void write_raw(hid_t file, const char* name, hid_t file_type, hid_t mem_type,
               std::vector<hsize_t> dims, const void* data) {
  H5Dataspace space(NNSCAPE_H5_CALL(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                                     nullptr)));
  H5Dataset ds(NNSCAPE_H5_CALL(
      H5Dcreate2(file, name, file_type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  NNSCAPE_H5_CALL(H5Dwrite(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
}

H5File create_file(const std::string& path) {
  return H5File(NNSCAPE_H5_CALL(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)));
}

void write_doubles(hid_t file, const char* name, std::vector<hsize_t> dims,
                   const std::vector<double>& v) {
  write_raw(file, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, std::move(dims), v.data());
}

// Expects f() to throw nnscape::Error whose message contains every phrase.
template <class F>
void expect_error(F f, std::initializer_list<std::string> phrases) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected one mentioning '" << *phrases.begin() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    for (const auto& p : phrases) EXPECT_NE(msg.find(p), std::string::npos) << "message: " << msg;
  }
}

// --- validate ---------------------------------------------------------------------------------

TEST(Validate, AcceptsGoodData) { EXPECT_NO_THROW(validate(small_dataset())); }

TEST(Validate, RefusesEmptyAndBadShapes) {
  Dataset d = small_dataset();
  d.n = 0;
  d.x.clear();
  d.y.clear();
  expect_error([&] { validate(d); }, {"0 samples"});

  d = small_dataset();
  d.m = 0;
  expect_error([&] { validate(d); }, {"output dimension 0"});

  d = small_dataset();
  d.x.pop_back();
  expect_error([&] { validate(d); }, {"X holds 5 values", "3 x 2 = 6"});

  d = small_dataset();
  d.y.push_back(1.0);
  expect_error([&] { validate(d); }, {"Y holds 7 values"});
}

TEST(Validate, NamesArrayPositionAndValueOfNonFinite) {
  Dataset d = small_dataset();
  d.x[3] = std::numeric_limits<double>::quiet_NaN();  // row 1, column 1
  expect_error([&] { validate(d); }, {"X", "nan", "row 1, column 1"});

  d = small_dataset();
  d.y[4] = -std::numeric_limits<double>::infinity();  // row 2, column 0
  expect_error([&] { validate(d); }, {"Y", "-inf", "row 2, column 0"});
}

// --- HDF5 round trips -------------------------------------------------------------------------

TEST_F(DatasetFiles, RoundTrip2D) {
  const Dataset d = small_dataset();
  write_dataset_h5(path("d.h5"), d);
  const Dataset r = read_dataset_h5(path("d.h5"));
  EXPECT_EQ(r.n, d.n);
  EXPECT_EQ(r.d, d.d);
  EXPECT_EQ(r.m, d.m);
  EXPECT_EQ(r.x, d.x);  // bit-exact: float64 all the way
  EXPECT_EQ(r.y, d.y);
}

TEST_F(DatasetFiles, OneDimensionalYMeansOneOutput) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {4, 1}, {0.0, 1.0, 2.0, 3.0});
    write_doubles(f.get(), "/Y", {4}, {1.5, 2.5, 3.5, 4.5});
  }
  const Dataset r = read_dataset_h5(path("d.h5"));
  EXPECT_EQ(r.n, 4);
  EXPECT_EQ(r.d, 1);
  EXPECT_EQ(r.m, 1);
  EXPECT_EQ(r.y, (std::vector<double>{1.5, 2.5, 3.5, 4.5}));
}

TEST_F(DatasetFiles, ConvertsIntegerAndFloat32) {
  const std::vector<int> xi = {1, -2, 3, 4};
  const std::vector<float> yf = {0.25f, -0.5f};
  {
    H5File f = create_file(path("d.h5"));
    write_raw(f.get(), "/X", H5T_STD_I32LE, H5T_NATIVE_INT, {2, 2}, xi.data());
    write_raw(f.get(), "/Y", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, {2, 1}, yf.data());
  }
  const Dataset r = read_dataset_h5(path("d.h5"));
  EXPECT_EQ(r.x, (std::vector<double>{1.0, -2.0, 3.0, 4.0}));
  EXPECT_EQ(r.y, (std::vector<double>{0.25, -0.5}));
}

// --- HDF5 refusals ----------------------------------------------------------------------------

TEST_F(DatasetFiles, MissingFile) {
  expect_error([&] { read_dataset_h5(path("nope.h5")); }, {path("nope.h5"), "no such file"});
}

TEST_F(DatasetFiles, NotAnHdf5File) {
  write_text("d.h5", "X,Y\n1,2\n");
  expect_error([&] { read_dataset_h5(path("d.h5")); }, {path("d.h5"), "not an HDF5 file"});
}

TEST_F(DatasetFiles, MissingDataset) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {2, 1}, {0.0, 1.0});
  }
  expect_error([&] { read_dataset_h5(path("d.h5")); }, {path("d.h5"), "no dataset /Y"});
}

TEST_F(DatasetFiles, WrongRank) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {2}, {0.0, 1.0});
    write_doubles(f.get(), "/Y", {2}, {0.0, 1.0});
  }
  expect_error([&] { read_dataset_h5(path("d.h5")); }, {"/X", "(2,)", "expected 2-D"});
}

TEST_F(DatasetFiles, RefusesNonNumeric) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {2, 1}, {0.0, 1.0});
    H5Datatype str(NNSCAPE_H5_CALL(H5Tcopy(H5T_C_S1)));
    NNSCAPE_H5_CALL(H5Tset_size(str.get(), 4));
    const char text[8] = {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'};
    write_raw(f.get(), "/Y", str.get(), str.get(), {2}, text);
  }
  expect_error([&] { read_dataset_h5(path("d.h5")); }, {"/Y", "string", "expected numbers"});
}

TEST_F(DatasetFiles, RowCountsDiffer) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {3, 1}, {0.0, 1.0, 2.0});
    write_doubles(f.get(), "/Y", {2, 1}, {0.0, 1.0});
  }
  expect_error([&] { read_dataset_h5(path("d.h5")); }, {"row counts differ", "3 rows", "has 2"});
}

TEST_F(DatasetFiles, NonFiniteValueNamesFileAndPosition) {
  {
    H5File f = create_file(path("d.h5"));
    write_doubles(f.get(), "/X", {2, 2}, {0.0, 1.0, 2.0, std::nan("")});
    write_doubles(f.get(), "/Y", {2}, {0.0, 1.0});
  }
  expect_error([&] { read_dataset_h5(path("d.h5")); },
               {path("d.h5"), "X has the non-finite value nan", "row 1, column 1"});
}

TEST_F(DatasetFiles, WriteRefusesInvalidData) {
  Dataset d = small_dataset();
  d.y[0] = std::nan("");
  expect_error([&] { write_dataset_h5(path("d.h5"), d); }, {"Y", "nan"});
}

// --- parameter vectors ------------------------------------------------------------------------

TEST_F(DatasetFiles, TextVectorSkipsCommentsAndBlanks) {
  write_text("t.txt", "# theta\n1.5\n\n  -2e-3  \n+4\r\n   # indented comment\n0\n");
  EXPECT_EQ(read_vector_text(path("t.txt")), (std::vector<double>{1.5, -2e-3, 4.0, 0.0}));
}

TEST_F(DatasetFiles, TextVectorErrorsNameTheLine) {
  write_text("a.txt", "1\n2\nabc\n");
  expect_error([&] { read_vector_text(path("a.txt")); }, {path("a.txt"), "line 3", "'abc'"});
  write_text("b.txt", "1\n\n1.0 2.0\n");
  expect_error([&] { read_vector_text(path("b.txt")); }, {"line 3", "one number per line"});
  write_text("c.txt", "# c\nnan\n");
  expect_error([&] { read_vector_text(path("c.txt")); }, {"line 2", "not finite"});
  write_text("d.txt", "1.5x\n");
  expect_error([&] { read_vector_text(path("d.txt")); }, {"line 1", "not a number"});
  expect_error([&] { read_vector_text(path("missing.txt")); }, {"missing.txt", "no such file"});
}

TEST_F(DatasetFiles, HdfVector) {
  {
    H5File f = create_file(path("p.h5"));
    write_doubles(f.get(), "/theta", {3}, {1.0, 2.0, 3.0});
    write_doubles(f.get(), "/matrix", {1, 3}, {1.0, 2.0, 3.0});
    write_doubles(f.get(), "/bad", {2}, {1.0, INFINITY});
  }
  EXPECT_EQ(read_vector_h5(path("p.h5"), "/theta"), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(read_vector_h5(path("p.h5"), "theta"), (std::vector<double>{1.0, 2.0, 3.0}));
  expect_error([&] { read_vector_h5(path("p.h5"), "/nope"); }, {"no dataset /nope"});
  expect_error([&] { read_vector_h5(path("p.h5"), "/group/nope"); }, {"no dataset /group/nope"});
  expect_error([&] { read_vector_h5(path("p.h5"), "/matrix"); }, {"(1, 3)", "must be 1-D"});
  expect_error([&] { read_vector_h5(path("p.h5"), "/bad"); }, {"inf", "index 1"});
}

// --- H5 handle --------------------------------------------------------------------------------

TEST_F(DatasetFiles, HandleIsMoveOnlyAndCloses) {
  static_assert(!std::is_copy_constructible_v<H5File>);
  static_assert(std::is_nothrow_move_constructible_v<H5File>);
  H5File a = create_file(path("h.h5"));
  const hid_t raw = a.get();
  ASSERT_GT(H5Iis_valid(raw), 0);
  H5File b(std::move(a));
  EXPECT_FALSE(a.valid());  // NOLINT(bugprone-use-after-move): the moved-from state is the test
  EXPECT_EQ(b.get(), raw);
  b.reset();
  H5ErrorSilencer quiet;
  EXPECT_LE(H5Iis_valid(raw), 0);
}

TEST_F(DatasetFiles, CheckMacroThrowsLibraryError) {
  H5ErrorSilencer quiet;
  EXPECT_THROW(NNSCAPE_H5_CALL(H5Fopen(path("nope.h5").c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)),
               LibraryError);
}

}  // namespace
}  // namespace nnscape
