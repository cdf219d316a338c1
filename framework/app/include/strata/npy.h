#pragma once
// NumPy .npy files (format versions 1-3, C order, little-endian): the token-id arrays
// other frameworks write (`np.save("ids.npy", ids)`), for `strata logits --tokens`.
#include <filesystem>

#include "strata/tensor.h"

namespace strata {

// Reads an array of dtype int64, int32, float32 or float64 (int -> i64, float32 -> f32,
// float64 -> f64). Throws FileFormatError naming the file and what is wrong with it.
Tensor read_npy(const std::filesystem::path& file);

}  // namespace strata
