// libFuzzer target: any bytes as a feature store file, through the store reader (HDF5 opens
// files by name, so each input is written to a file of its own first). It must give a store
// or a std::runtime_error naming the file, never crash or allocate what the file only claims.
#include <hdf5.h>    // for H5garbage_collect

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "hemolens/store.hpp"
#include "input_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::filesystem::path input = write_input_file(data, size, "store.h5");
  try {
    const hemolens::StoreData s = hemolens::read_store(input);
    // What every consumer relies on once the reader has accepted a store.
    if (s.features.size() != s.rows * s.cols || s.images.size() != s.rows) __builtin_trap();
    for (const auto& row : s.images)
      if (row.label < -1 || row.label >= int(s.classes.size())) __builtin_trap();
  } catch (const std::runtime_error&) {
    // refused with a message: what the target expects of bad input
  }
  // libhdf5 keeps freed blocks on its own free lists; across thousands of inputs they would
  // reach libFuzzer's memory limit although nothing leaks.
  H5garbage_collect();
  return 0;
}
