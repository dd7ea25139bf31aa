#pragma once
// Sparsity patterns: one 0/1 mask per weight matrix, from a name or from files. Pure.
//
// Pattern texts (the form studies and `nnscape trial --pattern` use):
//   dense | lower | upper | LU | UL | random:density=0.5,seed=3 | block_diagonal:blocks=2 |
//   banded:width=1 | butterfly | file:w1.txt,w2.txt (0/1 text, one per weight matrix) |
//   file:masks.h5 (datasets /mask1, /mask2, ...)
#include <string>
#include <string_view>
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

// Masks for a network with layer widths {d, hidden..., m}; empty for "dense". Deterministic
// (random masks draw from their own seed, so every trial that names the pattern gets the same
// masks). Throws nnscape::Error when the pattern cannot apply to these widths (LU on two hidden
// layers, butterfly on a size that is not a power of two, a file mask of the wrong shape, ...).
std::vector<Mask> build_masks(const PatternSpec& spec, const std::vector<int>& widths);

// "hidden unit 2 of layer 1 has no inputs", ...: units an empty row or column cuts off.
std::vector<std::string> disconnected_units(const std::vector<Mask>& masks,
                                            const std::vector<int>& widths);

// A 0/1 support matrix, one row per line, entries separated by spaces ('#' starts a comment).
Mask read_mask_text(const std::string& path);

}  // namespace nnscape
