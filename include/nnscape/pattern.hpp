#pragma once
// Sparsity patterns: one 0/1 mask per weight matrix, from a name or from files. Pure, except
// build_masks and read_masks_h5, which read HDF5 and so live in nnscape_lib (src/pattern_io.cpp),
// as load_dataset does for the dataset room.
//
// Pattern texts (the form studies and `nnscape trial --pattern` use):
//   dense | lower | upper | LU | UL | random:density=0.5,seed=3 | block_diagonal:blocks=2 |
//   banded:width=1 | butterfly | file:w1.txt,w2.txt (0/1 text, one per weight matrix) |
//   file:masks.h5 (datasets /mask1, /mask2, ...)
//
// Kinds (kind names are case-insensitive; keys are not):
//   dense            every entry free; masks are empty (the network's convention for dense).
//   lower, upper     per layer, entry (r, c) free iff c <= r (lower) or c >= r (upper).
//   LU, UL           one hidden layer only: LU = first layer lower, second upper (papers.md: the
//                    product U·L misses the anti-identity); UL the other way round.
//   random           each entry free with probability density (default 0.5), drawn from
//                    RandomStream(seed, Purpose::pattern, layer); seed defaults to 0.
//   block_diagonal   blocks (default 2): unit j of a layer of width N is in block
//                    floor(j·blocks/N), the same rule on both sides of a weight matrix, so a
//                    hidden unit keeps its block through the network; needs blocks <= every width.
//   banded           width (default 1): entry (r, c) free iff |r − c| <= width.
//   butterfly        every width the same power of two n = 2^k; layer l (0-based) links unit r
//                    to c iff r == c or r == c XOR 2^(l mod k): the FFT's factors (n = 1: 1×1).
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nnscape/network.hpp"

namespace nnscape {

struct PatternSpec {
  std::string kind;                                       // "dense", "LU", "random", "file", ...
  std::vector<std::pair<std::string, std::string>> settings;  // key=value, in the order given
  std::vector<std::string> files;                         // kind "file"
  std::string text;                                       // as given, for records
};

// Throws nnscape::Error naming an unknown kind, key or a bad value. Files are not read here.
PatternSpec parse_pattern(std::string_view text);

// Masks for a network with layer widths {d, hidden..., m}; empty for "dense". Reads the files
// of kind "file" (text, or HDF5 when the single file ends in .h5/.hdf5): nnscape_lib only. Deterministic
// (random masks draw from their own seed, so every trial that names the pattern gets the same
// masks). Throws nnscape::Error when the pattern cannot apply to these widths (LU on two hidden
// layers, butterfly on a size that is not a power of two, a file mask of the wrong shape, ...).
std::vector<Mask> build_masks(const PatternSpec& spec, const std::vector<int>& widths);

// "hidden unit 2 of layer 1 has no inputs", ...: units an empty row or column cuts off.
std::vector<std::string> disconnected_units(const std::vector<Mask>& masks,
                                            const std::vector<int>& widths);

// A 0/1 support matrix, one row per line, entries separated by spaces ('#' starts a comment).
// Throws nnscape::Error for a missing file, an entry other than 0/1, ragged rows or no rows.
Mask read_mask_text(const std::string& path);

// Everything build_masks does except reading files: kind "file" throws. Pure (core library).
std::vector<Mask> generate_masks(const PatternSpec& spec, const std::vector<int>& widths);

// Refuses masks that do not fit widths {d, hidden..., m}: the count (one per weight matrix), each
// shape (rows = N_l, cols = N_{l-1}) and every entry (0 or 1). `source` names them in messages.
void check_masks(const std::vector<Mask>& masks, const std::vector<int>& widths,
                 const std::string& source);

// The masks with a dense one per layer spelled out when `masks` is empty (dense), for code that
// needs every support explicit (the closedness checker).
std::vector<Mask> explicit_masks(std::vector<Mask> masks, const std::vector<int>& widths);

// Layer widths {d, hidden..., m} that a chain of masks implies; throws when consecutive masks do
// not chain (cols of mask l+1 != rows of mask l) or there are none.
std::vector<int> mask_widths(const std::vector<Mask>& masks);

// Datasets /mask1 .. /maskL of an HDF5 file (integer or float 0/1, 2-D, out × in), in order;
// stops at the first missing index. nnscape_lib only (src/pattern_io.cpp). Not collective.
std::vector<Mask> read_masks_h5(const std::string& path);

}  // namespace nnscape
