// A store file's own bytes, checked before libhdf5 is asked to read what they describe.
//
// libhdf5 1.10 trusts some on-disk fields: it allocates as many bytes as a variable-length
// string's descriptor claims before it reads the string, and copies a global heap object of
// the size the heap claims. A crafted store could make it allocate gigabytes or crash. So the
// store reader checks those fields here first, reading the file as plain bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace hemolens::store_raw {

// The file and the widths of its addresses and lengths (from its superblock, through libhdf5).
struct RawFile {
  std::filesystem::path path;
  std::uint64_t bytes = 0;
  std::size_t sizeof_addr = 8, sizeof_size = 8;
};

// Where a dataset's stored bytes are: one extent when contiguous, one per chunk otherwise.
struct Extent {
  std::uint64_t at = 0, size = 0;
};

// The superblock and the root group's object header, checked before libhdf5 opens the file:
// H5Fopen reads the root group's header and allocates its first chunk at the size the header
// claims (2.8 GB for a 50 KB file, found by fuzz_store with seed 12). The root group's string
// attributes are checked as require_header_fits does. A file that is not HDF5 passes, for
// H5Fopen to refuse with its own message.
void require_root_header_fits(const std::filesystem::path& path);

// Every global heap collection in the file (where libhdf5 keeps variable-length strings) is
// well formed: its objects and free space lie inside it.
void require_heaps_well_formed(const RawFile& file);

// Every variable-length string descriptor stored in `extents` (a dataset of strings named
// `name`) claims a length that its global heap object has.
void require_string_descriptors_fit(const RawFile& file, const std::vector<Extent>& extents, const std::string& name);

// The object header at `object_header` (of a dataset or a group, named `object`): a
// variable-length string type, the dataset's or an attribute's, has one-byte characters, and
// every variable-length string attribute's descriptors fit their heap objects. Headers in
// forms hemolens never writes (attributes in dense storage, shared messages) are refused.
void require_header_fits(const RawFile& file, std::uint64_t object_header, const std::string& object);

}  // namespace hemolens::store_raw
