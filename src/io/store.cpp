// The HDF5 feature store (layout in include/hemolens/store.hpp), on the HDF5 C API.
//
// Every HDF5 handle lives in a small RAII wrapper. Low-level helpers throw bare messages
// ("missing dataset /labels"); the public entry points prefix them with "store <file>: ",
// so every error names its file without threading the name through each helper.
#include "hemolens/store.hpp"

#include <hdf5.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

#include "hemolens/atomic_file.hpp"
#include "hemolens/crash_point.hpp"
#include "hemolens/quality.hpp"
#include "store_raw.hpp"

namespace hemolens {
namespace fs = std::filesystem;
namespace {

// ---- handles and errors ----

template <herr_t (*Close)(hid_t)>
class Hid {
 public:
  Hid() = default;
  explicit Hid(hid_t id) : id_(id) {}
  Hid(Hid&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
  Hid& operator=(Hid&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, H5I_INVALID_HID);
    }
    return *this;
  }
  Hid(const Hid&) = delete;
  Hid& operator=(const Hid&) = delete;
  ~Hid() { reset(); }

  hid_t get() const { return id_; }
  // Returns the close status: closing a file is where HDF5 flushes, so it can fail.
  herr_t reset() {
    herr_t status = 0;
    if (id_ >= 0) status = Close(id_);
    id_ = H5I_INVALID_HID;
    return status;
  }

 private:
  hid_t id_ = H5I_INVALID_HID;
};
using FileId = Hid<H5Fclose>;
using DatasetId = Hid<H5Dclose>;
using SpaceId = Hid<H5Sclose>;
using TypeId = Hid<H5Tclose>;
using PlistId = Hid<H5Pclose>;
using AttrId = Hid<H5Aclose>;

hid_t check_id(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error(what);
  return id;
}

void check(herr_t status, const std::string& what) {
  if (status < 0) throw std::runtime_error(what);
}

// HDF5 prints its error stack to stderr by default; our exceptions carry the message instead.
void silence_hdf5_errors() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

template <class Body>
auto naming_file(const fs::path& file, Body&& body) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("store " + file.string() + ": not enough memory to hold it");
  } catch (const std::exception& e) {
    throw std::runtime_error("store " + file.string() + ": " + e.what());
  }
}

TypeId utf8_string_type() {
  TypeId type(check_id(H5Tcopy(H5T_C_S1), "cannot create the string type"));
  check(H5Tset_size(type.get(), H5T_VARIABLE), "cannot create the string type");
  check(H5Tset_cset(type.get(), H5T_CSET_UTF8), "cannot create the string type");
  return type;
}

// Cluster file systems (Lustre, some NFS mounts) refuse flock(), and HDF5 then refuses the
// file. Locking stays on where it works and is skipped where the file system has none.
PlistId file_access_plist() {
  PlistId fapl(check_id(H5Pcreate(H5P_FILE_ACCESS), "cannot create a property list"));
  check(H5Pset_file_locking(fapl.get(), /*use_file_locking=*/1, /*ignore_when_disabled=*/1), "cannot set file locking");
  return fapl;
}

std::vector<const char*> c_strings(const std::vector<std::string>& values) {
  std::vector<const char*> out;
  out.reserve(values.size());
  for (const auto& v : values) out.push_back(v.c_str());
  return out;
}

// ---- writing ----

// Links such as "image/id" create their parent groups on the way.
PlistId intermediate_groups_plist() {
  PlistId lcpl(check_id(H5Pcreate(H5P_LINK_CREATE), "cannot create a property list"));
  check(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot create a property list");
  return lcpl;
}

constexpr hsize_t kMaxChunkRows = 256;
// Half of HDF5's default 1 MiB per-dataset chunk cache: the chunk being filled by small
// appends stays cached and is compressed once, not re-read and re-compressed per append.
constexpr hsize_t kMaxChunkBytes = 512 * 1024;

hsize_t chunk_rows(std::size_t row_bytes) {
  return std::clamp<hsize_t>(kMaxChunkBytes / std::max<std::size_t>(row_bytes, 1), 1, kMaxChunkRows);
}

struct ColumnSpec {
  const char* name;  // path from the root, e.g. "image/id"
  hid_t file_type;   // borrowed
  hid_t mem_type;    // borrowed; copied by the column
  int rank;          // 1, or 2 for [rows, cols]
  std::size_t cols;  // 0 for a 1-D dataset
  std::size_t element_bytes;
  bool compress;
};

// HDF5 callocs a fresh 1 MiB type-conversion buffer for every write that converts (our
// variable-length strings); at that size malloc maps new pages each time and one append
// cost ~10 ms. A buffer under malloc's mmap threshold is recycled instead.
constexpr std::size_t kConversionBufferBytes = 64 * 1024;

PlistId small_conversion_buffer_plist() {
  PlistId dxpl(check_id(H5Pcreate(H5P_DATASET_XFER), "cannot create a property list"));
  check(H5Pset_buffer(dxpl.get(), kConversionBufferBytes, nullptr, nullptr), "cannot set the conversion buffer");
  return dxpl;
}

// Datasets carry no modification times, so the same rows and metadata give the same bytes
// (a store can be compared with cmp, and the fuzzer's seed stores are the same everywhere).
PlistId untimed_dataset_plist() {
  PlistId dcpl(check_id(H5Pcreate(H5P_DATASET_CREATE), "cannot create a property list"));
  check(H5Pset_obj_track_times(dcpl.get(), false), "cannot turn off modification times");
  return dcpl;
}

// A dataset that grows along its first dimension, one append at a time.
class Column {
 public:
  Column() = default;
  Column(hid_t file, hid_t lcpl, const ColumnSpec& spec)
      : name_(std::string("/") + spec.name), cols_(spec.cols), rank_(spec.rank) {
    mem_type_ = TypeId(check_id(H5Tcopy(spec.mem_type), "cannot copy the type of " + name_));
    transfer_ = small_conversion_buffer_plist();
    const hsize_t dims[2] = {0, cols_};
    // HDF5 wants chunk <= maximum extent, and a chunk is at least 1 wide: no columns, no limit.
    const hsize_t max_dims[2] = {H5S_UNLIMITED, cols_ > 0 ? cols_ : H5S_UNLIMITED};
    SpaceId space(check_id(H5Screate_simple(rank_, dims, max_dims), "cannot create the dataspace of " + name_));
    PlistId dcpl = creation_plist(spec);
    dataset_ =
        DatasetId(check_id(H5Dcreate2(file, spec.name, spec.file_type, space.get(), lcpl, dcpl.get(), H5P_DEFAULT),
                           "cannot create " + name_));
  }

  void append(const void* data, std::size_t n) {
    if (n == 0) return;
    const hsize_t new_dims[2] = {rows_ + n, cols_};
    check(H5Dset_extent(dataset_.get(), new_dims), "cannot extend " + name_);
    if (rank_ == 2 && cols_ == 0) {
      rows_ += n;  // rows without columns: the extent is all there is to write
      return;
    }
    SpaceId file_space(check_id(H5Dget_space(dataset_.get()), "cannot get the dataspace of " + name_));
    const hsize_t start[2] = {rows_, 0};
    const hsize_t count[2] = {n, cols_};
    check(H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
          "cannot select rows of " + name_);
    SpaceId mem_space(check_id(H5Screate_simple(rank_, count, nullptr), "cannot create a dataspace for " + name_));
    check(H5Dwrite(dataset_.get(), mem_type_.get(), mem_space.get(), file_space.get(), transfer_.get(), data),
          "cannot write " + name_);
    rows_ += n;
  }

  void append_strings(const std::vector<std::string>& values) { append(c_strings(values).data(), values.size()); }

  void close() { check(dataset_.reset(), "cannot close " + name_); }

 private:
  PlistId creation_plist(const ColumnSpec& spec) const {
    PlistId dcpl = untimed_dataset_plist();
    const hsize_t chunk[2] = {chunk_rows(spec.element_bytes * std::max<std::size_t>(cols_, 1)),
                              std::max<hsize_t>(cols_, 1)};
    check(H5Pset_chunk(dcpl.get(), rank_, chunk), "cannot set the chunks of " + name_);
    if (spec.compress) {
      check(H5Pset_shuffle(dcpl.get()), "cannot set the shuffle filter of " + name_);
      check(H5Pset_deflate(dcpl.get(), 4), "cannot set the deflate filter of " + name_);
    }
    return dcpl;
  }

  std::string name_;
  TypeId mem_type_;
  PlistId transfer_;
  DatasetId dataset_;
  hsize_t cols_ = 0;
  hsize_t rows_ = 0;
  int rank_ = 1;
};

void write_string_list(hid_t file, hid_t lcpl, const char* name, const std::vector<std::string>& values) {
  const std::string where = std::string("/") + name;
  TypeId type = utf8_string_type();
  const hsize_t dims[1] = {values.size()};
  SpaceId space(check_id(H5Screate_simple(1, dims, nullptr), "cannot create the dataspace of " + where));
  DatasetId dataset(check_id(H5Dcreate2(file, name, type.get(), space.get(), lcpl, untimed_dataset_plist().get(), H5P_DEFAULT),
                             "cannot create " + where));
  if (values.empty()) return;
  check(H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, c_strings(values).data()),
        "cannot write " + where);
}

void write_attribute(hid_t object, const char* name, hid_t type, const void* value) {
  SpaceId space(check_id(H5Screate(H5S_SCALAR), std::string("cannot create attribute ") + name));
  AttrId attr(check_id(H5Acreate2(object, name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT),
                       std::string("cannot create attribute ") + name));
  check(H5Awrite(attr.get(), type, value), std::string("cannot write attribute ") + name);
}

void write_attribute(hid_t object, const char* name, const std::string& value) {
  TypeId type = utf8_string_type();
  const char* text = value.c_str();
  write_attribute(object, name, type.get(), &text);
}

void write_attribute(hid_t object, const char* name, std::int32_t value) {
  write_attribute(object, name, H5T_NATIVE_INT32, &value);
}

void write_attribute(hid_t object, const char* name, std::int64_t value) {
  write_attribute(object, name, H5T_NATIVE_INT64, &value);
}

void write_meta(hid_t file, const StoreMeta& meta, std::size_t n_features) {
  write_attribute(file, "schema_version", std::int32_t(meta.schema_version));
  write_attribute(file, "schema_hash", meta.schema_hash);
  write_attribute(file, "engine_version", meta.engine_version);
  write_attribute(file, "backend", meta.backend);
  write_attribute(file, "device", meta.device);
  write_attribute(file, "parameters", meta.parameters_json);
  write_attribute(file, "dataset", meta.dataset);
  write_attribute(file, "created", meta.created.empty() ? utc_now_iso8601() : meta.created);
  write_attribute(file, "shard_index", std::int32_t(meta.shard_index));
  write_attribute(file, "shard_count", std::int32_t(meta.shard_count));
  write_attribute(file, "n_features", std::int32_t(n_features));
}

// ---- reading ----

FileId open_store(const fs::path& path) {
  if (!fs::exists(path)) throw std::runtime_error("no such file");
  if (H5Fis_hdf5(path.c_str()) <= 0) throw std::runtime_error("not an HDF5 file");
  return FileId(check_id(H5Fopen(path.c_str(), H5F_ACC_RDONLY, file_access_plist().get()), "cannot open the file"));
}

store_raw::RawFile raw_file(hid_t file);

// A dataset's header (its datatype, its attributes) is read as plain bytes first: opening the
// dataset has libhdf5 decode its datatype, and a crafted one reads past the header.
DatasetId open_dataset(hid_t file, const std::string& name) {
  H5O_info_t info{};
  check(H5Oget_info_by_name2(file, name.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), "missing dataset " + name);
  store_raw::require_header_fits(raw_file(file), info.addr, name);
  return DatasetId(check_id(H5Dopen2(file, name.c_str(), H5P_DEFAULT), "missing dataset " + name));
}

std::vector<hsize_t> dims_of(hid_t dataset, const std::string& name, int rank) {
  SpaceId space(check_id(H5Dget_space(dataset), "cannot get the dataspace of " + name));
  if (H5Sget_simple_extent_ndims(space.get()) != rank)
    throw std::runtime_error(name + " should have " + std::to_string(rank) + " dimension(s)");
  std::vector<hsize_t> dims(std::size_t(rank), 0);
  check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "cannot get the size of " + name);
  return dims;
}

// Deflate shrinks data at most about 1032:1; unfiltered data takes every byte it holds.
constexpr double kMaxCompressionRatio = 1100;

std::string describe_bytes(double bytes) {
  char text[32];
  std::snprintf(text, sizeof text, bytes >= 1e9 ? "%.1f GB" : bytes >= 1e6 ? "%.1f MB" : "%.0f bytes", bytes >= 1e9 ? bytes / 1e9 : bytes >= 1e6 ? bytes / 1e6 : bytes);
  return text;
}

// A dataset's extent is only a claim: HDF5 reads chunks that were never written as fill
// values, so a file of a few KB can declare a million rows. What a dataset reads must fit in
// what the file stores for it, and every chunk of its extent must be stored, before anything
// is allocated for it. `value_bytes`: the size of one value in memory.
void require_stored(hid_t dataset, const std::string& name, const std::vector<hsize_t>& dims, std::size_t value_bytes) {
  double values = 1;
  for (hsize_t d : dims) values *= double(d);
  if (values == 0) return;
  const double stored = double(H5Dget_storage_size(dataset));
  PlistId dcpl(check_id(H5Dget_create_plist(dataset), "cannot get the layout of " + name));
  const bool filtered = H5Pget_nfilters(dcpl.get()) > 0;
  const auto crafted = [&](const std::string& what) {
    return std::runtime_error(name + " declares " + std::to_string(dims[0]) + " rows (" + describe_bytes(values * double(value_bytes)) +
                              ") but " + what + ": the file is damaged or was not written by hemolens");
  };
  if (values * double(value_bytes) > stored * (filtered ? kMaxCompressionRatio : 1.0))
    throw crafted("stores only " + describe_bytes(stored) + " for it");
  // libhdf5 allocates a chunk's stored size before reading it (a chunk index claiming 4 GB in a
  // 30 KB file took 4 GB; found by fuzz_store): what a dataset stores must fit in the file.
  FileId file(check_id(H5Iget_file_id(dataset), "cannot get the file of " + name));
  hsize_t file_bytes = 0;
  check(H5Fget_filesize(file.get(), &file_bytes), "cannot get the file size");
  if (stored > double(file_bytes))
    throw std::runtime_error(name + " claims to store " + describe_bytes(stored) + " in a file of " + describe_bytes(double(file_bytes)) +
                             " (damaged or crafted file)");
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return;
  std::vector<hsize_t> chunk(dims.size(), 0);
  check(H5Pget_chunk(dcpl.get(), int(chunk.size()), chunk.data()), "cannot get the chunks of " + name);
  double expected = 1;
  for (std::size_t i = 0; i < dims.size(); ++i) expected *= std::ceil(double(dims[i]) / double(std::max<hsize_t>(chunk[i], 1)));
  SpaceId space(check_id(H5Dget_space(dataset), "cannot get the dataspace of " + name));
  hsize_t written = 0;
  check(H5Dget_num_chunks(dataset, space.get(), &written), "cannot count the chunks of " + name);
  if (double(written) < expected)
    throw crafted("only " + std::to_string(written) + " of its " + std::to_string(std::uint64_t(expected)) + " chunks were written");
}

// Numbers are read only in the type hemolens writes them in (little-endian, as in memory), so
// libhdf5 converts nothing: it converts other float and integer layouts in software, and a
// crafted float layout overflowed its buffer there (found by fuzz_store).
void require_stored_as(hid_t stored_type, hid_t mem_type, const std::string& what) {
  if (stored_type < 0 || H5Tequal(stored_type, mem_type) <= 0)
    throw std::runtime_error(what + " is stored in another number type than hemolens writes (damaged or crafted file)");
}

void require_dataset_stored_as(hid_t dataset, hid_t mem_type, const std::string& name) {
  TypeId type(H5Dget_type(dataset));
  require_stored_as(type.get(), mem_type, name);
}

template <class T>
std::vector<T> read_numbers(hid_t file, const std::string& name, hid_t mem_type) {
  DatasetId dataset = open_dataset(file, name);
  require_dataset_stored_as(dataset.get(), mem_type, name);
  const auto dims = dims_of(dataset.get(), name, 1);
  require_stored(dataset.get(), name, dims, sizeof(T));
  std::vector<T> values(dims[0]);
  if (!values.empty())
    check(H5Dread(dataset.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "cannot read " + name);
  return values;
}

void require_variable_string(hid_t type, const std::string& what) {
  if (H5Tget_class(type) != H5T_STRING || H5Tis_variable_str(type) <= 0)
    throw std::runtime_error(what + " is not a variable-length string");
}

// The file as plain bytes, for the checks of store_raw.hpp.
store_raw::RawFile raw_file(hid_t file) {
  store_raw::RawFile raw;
  std::vector<char> name(std::size_t(std::max<ssize_t>(H5Fget_name(file, nullptr, 0), 0)) + 1);
  H5Fget_name(file, name.data(), name.size());
  raw.path = name.data();
  hsize_t bytes = 0;
  check(H5Fget_filesize(file, &bytes), "cannot get the file size");
  raw.bytes = bytes;
  PlistId fcpl(check_id(H5Fget_create_plist(file), "cannot get the file's layout"));
  check(H5Pget_sizes(fcpl.get(), &raw.sizeof_addr, &raw.sizeof_size), "cannot get the file's address size");
  if (raw.sizeof_addr < 2 || raw.sizeof_addr > 8 || raw.sizeof_size < 2 || raw.sizeof_size > 8)
    throw std::runtime_error("the file's addresses or lengths have a width hemolens does not read (damaged or crafted file)");
  return raw;
}

// The file extents of a dataset of strings, whose descriptors store_raw checks before
// libhdf5 reads them.
void require_string_lengths_fit(hid_t file, hid_t dataset, const std::string& name) {
  PlistId dcpl(check_id(H5Dget_create_plist(dataset), "cannot get the layout of " + name));
  std::vector<store_raw::Extent> extents;
  const H5D_layout_t layout = H5Pget_layout(dcpl.get());
  if (layout == H5D_CONTIGUOUS) {
    const haddr_t at = H5Dget_offset(dataset);
    if (at != HADDR_UNDEF) extents.push_back({at, H5Dget_storage_size(dataset)});
  } else if (layout == H5D_CHUNKED && H5Pget_nfilters(dcpl.get()) == 0) {
    SpaceId space(check_id(H5Dget_space(dataset), "cannot get the dataspace of " + name));
    hsize_t chunks = 0;
    check(H5Dget_num_chunks(dataset, space.get(), &chunks), "cannot count the chunks of " + name);
    for (hsize_t i = 0; i < chunks; ++i) {
      hsize_t offset[1] = {0}, size = 0;
      unsigned mask = 0;
      haddr_t at = HADDR_UNDEF;
      check(H5Dget_chunk_info(dataset, space.get(), i, offset, &mask, &at, &size), "cannot locate a chunk of " + name);
      if (at == HADDR_UNDEF) throw std::runtime_error(name + " points past the end of the file");
      extents.push_back({at, size});
    }
  } else {
    throw std::runtime_error(name + " is stored in a way hemolens does not write (compact or compressed strings)");
  }
  store_raw::require_string_descriptors_fit(raw_file(file), extents, name);
}

// Strings HDF5 allocated for a variable-length read, released however the copy ends.
struct VlenStrings {
  std::vector<char*> pointers;
  hid_t type, space;  // borrowed
  // H5Dvlen_reclaim, not H5Treclaim: libhdf5 1.10 declares the latter but does not export it.
  ~VlenStrings() { H5Dvlen_reclaim(type, space, H5P_DEFAULT, pointers.data()); }
};

std::vector<std::string> read_strings(hid_t file, const std::string& name) {
  DatasetId dataset = open_dataset(file, name);
  TypeId file_type(check_id(H5Dget_type(dataset.get()), "cannot get the type of " + name));
  require_variable_string(file_type.get(), name);
  const auto dims = dims_of(dataset.get(), name, 1);
  require_stored(dataset.get(), name, dims, sizeof(char*));
  const std::size_t n = dims[0];
  if (n == 0) return {};
  TypeId mem_type = utf8_string_type();
  SpaceId space(check_id(H5Dget_space(dataset.get()), "cannot get the dataspace of " + name));
  require_string_lengths_fit(file, dataset.get(), name);
  VlenStrings raw{std::vector<char*>(n, nullptr), mem_type.get(), space.get()};
  check(H5Dread(dataset.get(), mem_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, raw.pointers.data()), "cannot read " + name);
  std::vector<std::string> values;
  values.reserve(n);
  for (const char* p : raw.pointers) values.emplace_back(p ? p : "");
  return values;
}

AttrId open_attribute(hid_t file, const char* name) {
  if (H5Aexists(file, name) <= 0) throw std::runtime_error(std::string("missing attribute ") + name);
  return AttrId(check_id(H5Aopen(file, name, H5P_DEFAULT), std::string("cannot open attribute ") + name));
}

std::string read_string_attribute(hid_t file, const char* name) {
  AttrId attr = open_attribute(file, name);
  TypeId file_type(check_id(H5Aget_type(attr.get()), std::string("cannot get the type of attribute ") + name));
  require_variable_string(file_type.get(), std::string("attribute ") + name);
  TypeId mem_type = utf8_string_type();
  char* text = nullptr;
  check(H5Aread(attr.get(), mem_type.get(), &text), std::string("cannot read attribute ") + name);
  std::string value = text ? text : "";
  H5free_memory(text);
  return value;
}

template <class T>
T read_number_attribute(hid_t file, const char* name, hid_t mem_type) {
  AttrId attr = open_attribute(file, name);
  TypeId type(H5Aget_type(attr.get()));
  require_stored_as(type.get(), mem_type, std::string("attribute ") + name);
  T value{};
  check(H5Aread(attr.get(), mem_type, &value), std::string("cannot read attribute ") + name);
  return value;
}

StoreMeta read_meta(hid_t file) {
  StoreMeta meta;
  meta.schema_version = read_number_attribute<std::int32_t>(file, "schema_version", H5T_NATIVE_INT32);
  meta.schema_hash = read_string_attribute(file, "schema_hash");
  meta.engine_version = read_string_attribute(file, "engine_version");
  meta.backend = read_string_attribute(file, "backend");
  meta.device = read_string_attribute(file, "device");
  meta.parameters_json = read_string_attribute(file, "parameters");
  meta.dataset = read_string_attribute(file, "dataset");
  meta.created = read_string_attribute(file, "created");
  meta.shard_index = read_number_attribute<std::int32_t>(file, "shard_index", H5T_NATIVE_INT32);
  meta.shard_count = read_number_attribute<std::int32_t>(file, "shard_count", H5T_NATIVE_INT32);
  if (meta.shard_count < 1 || meta.shard_index < 0 || meta.shard_index >= meta.shard_count)
    throw std::runtime_error("attributes shard_index " + std::to_string(meta.shard_index) + " and shard_count " +
                             std::to_string(meta.shard_count) + " do not describe a shard (0 <= shard_index < shard_count)");
  return meta;
}

void require_length(const std::string& name, std::size_t length, const std::string& reference, std::size_t expected) {
  if (length != expected)
    throw std::runtime_error(name + " has " + std::to_string(length) + " rows, " + reference + " has " +
                             std::to_string(expected));
}

void read_features(hid_t file, StoreData& data) {
  DatasetId dataset = open_dataset(file, "/features");
  require_dataset_stored_as(dataset.get(), H5T_NATIVE_FLOAT, "/features");
  const auto dims = dims_of(dataset.get(), "/features", 2);
  require_stored(dataset.get(), "/features", dims, sizeof(float));
  data.rows = dims[0];
  data.cols = dims[1];
  require_length("/feature_names", data.feature_names.size(), "/features (columns)", data.cols);
  require_length("/feature_groups", data.feature_groups.size(), "/features (columns)", data.cols);
  data.features.resize(data.rows * data.cols);
  if (!data.features.empty())
    check(H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.features.data()),
          "cannot read /features");
}

// Every consumer indexes per-class tables by label: a label outside the classes would read or
// write outside them.
void require_labels_in_range(const std::vector<std::int32_t>& labels, std::size_t classes) {
  for (std::size_t i = 0; i < labels.size(); ++i)
    if (labels[i] < -1 || labels[i] >= std::int64_t(classes))
      throw std::runtime_error("/labels[" + std::to_string(i) + "] is " + std::to_string(labels[i]) + " but /classes has " +
                               std::to_string(classes) + " class(es): a label must be -1 (unlabelled) or 0.." +
                               std::to_string(std::int64_t(classes) - 1));
}

void read_images(hid_t file, StoreData& data) {
  const auto labels = read_numbers<std::int32_t>(file, "/labels", H5T_NATIVE_INT32);
  const auto ids = read_strings(file, "/image/id");
  const auto paths = read_strings(file, "/image/path");
  const auto heights = read_numbers<std::int32_t>(file, "/image/height", H5T_NATIVE_INT32);
  const auto widths = read_numbers<std::int32_t>(file, "/image/width", H5T_NATIVE_INT32);
  const auto flags = read_numbers<std::uint32_t>(file, "/quality/flags", H5T_NATIVE_UINT32);
  require_length("/labels", labels.size(), "/features", data.rows);
  require_length("/image/id", ids.size(), "/features", data.rows);
  require_length("/image/path", paths.size(), "/features", data.rows);
  require_length("/image/height", heights.size(), "/features", data.rows);
  require_length("/image/width", widths.size(), "/features", data.rows);
  require_length("/quality/flags", flags.size(), "/features", data.rows);
  require_labels_in_range(labels, data.classes.size());
  data.images.resize(data.rows);
  for (std::size_t i = 0; i < data.rows; ++i)
    data.images[i] = {ids[i], paths[i], labels[i], heights[i], widths[i], flags[i]};
}

void read_skipped(hid_t file, StoreData& data) {
  const auto paths = read_strings(file, "/skipped/path");
  const auto reasons = read_strings(file, "/skipped/reason");
  require_length("/skipped/reason", reasons.size(), "/skipped/path", paths.size());
  data.skipped.resize(paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) data.skipped[i] = {paths[i], reasons[i]};
}

// The counts in the attributes are for readers that skip the datasets; they must agree.
void check_counts(hid_t file, const StoreData& data) {
  const auto n_images = read_number_attribute<std::int64_t>(file, "n_images", H5T_NATIVE_INT64);
  const auto n_features = read_number_attribute<std::int32_t>(file, "n_features", H5T_NATIVE_INT32);
  require_length("attribute n_images", std::size_t(std::max<std::int64_t>(n_images, 0)), "/features", data.rows);
  require_length("attribute n_features", std::size_t(std::max<std::int32_t>(n_features, 0)), "/features (columns)",
                 data.cols);
}

// ---- merging ----

struct Shard {
  fs::path path;
  StoreData data;
};

std::string both(const Shard& a, const Shard& b) { return a.path.string() + " and " + b.path.string(); }

// What to do when two stores are not shards of one extract.
const char* const kNotShards = ": they are not shards of one extract; to combine independent stores use `hemolens merge --concat`";

void require_same(const Shard& a, const Shard& b, const char* what, bool same, const char* hint = "") {
  if (!same) throw std::runtime_error("merge: " + both(a, b) + " have different " + what + hint);
}

void require_same_value(const Shard& a, const Shard& b, const char* what, const std::string& va,
                        const std::string& vb) {
  if (va != vb)
    throw std::runtime_error("merge: " + both(a, b) + " have different " + what + " (" + va + " vs " + vb + ")");
}

void require_compatible(const Shard& a, const Shard& b) {
  require_same_value(a, b, "schema_version", std::to_string(a.data.meta.schema_version),
                     std::to_string(b.data.meta.schema_version));
  require_same_value(a, b, "schema_hash", a.data.meta.schema_hash, b.data.meta.schema_hash);
  require_same(a, b, "feature names", a.data.feature_names == b.data.feature_names);
  require_same(a, b, "feature groups", a.data.feature_groups == b.data.feature_groups);
  require_same(a, b, "classes", a.data.classes == b.data.classes, kNotShards);
  require_same_value(a, b, "shard_count", std::to_string(a.data.meta.shard_count),
                     std::to_string(b.data.meta.shard_count));
}

// Shards keyed by shard_index; refuses out-of-range and duplicate indices.
std::map<int, const Shard*> index_shards(const std::vector<Shard>& shards) {
  std::map<int, const Shard*> by_index;
  for (const auto& shard : shards) {
    const int index = shard.data.meta.shard_index;
    const int count = shard.data.meta.shard_count;
    if (index < 0 || index >= count)
      throw std::runtime_error("merge: " + shard.path.string() + " has shard_index " + std::to_string(index) +
                               " outside 0.." + std::to_string(count - 1));
    const auto [it, inserted] = by_index.emplace(index, &shard);
    if (!inserted)
      throw std::runtime_error("merge: " + both(*it->second, shard) + " have the same shard_index " +
                               std::to_string(index) + kNotShards);
  }
  return by_index;
}

// The shard count comes from the files: the message names the first missing shards only, so
// that a store claiming two billion shards costs no more than one claiming two.
void require_complete(const std::map<int, const Shard*>& by_index, int count) {
  const std::int64_t missing = std::int64_t(count) - std::int64_t(by_index.size());
  if (missing <= 0) return;
  std::string first;
  int listed = 0;
  for (int i = 0; i < count && listed < 10; ++i)
    if (!by_index.count(i)) first += (listed++ ? ", " : "") + std::to_string(i);
  throw std::runtime_error("merge: missing " + std::to_string(missing) + " of " + std::to_string(count) + " shards (index " + first +
                           (missing > listed ? ", ..." : "") + "; allow_partial merges the shards that are there)");
}

std::string merged_parameters(const std::string& parameters_json, const std::vector<std::string>& sources) {
  nlohmann::json params = nlohmann::json::parse(parameters_json, nullptr, /*allow_exceptions=*/false);
  if (params.is_discarded())
    params = nlohmann::json{{"parameters", parameters_json}};  // keep unparsable text verbatim
  else if (!params.is_object())
    params = nlohmann::json{{"parameters", params}};
  params["merged_from"] = sources;
  return params.dump();
}

StoreMeta merged_meta(const StoreMeta& first, const std::vector<std::string>& sources) {
  StoreMeta meta = first;
  meta.shard_index = 0;
  meta.shard_count = 1;
  meta.created = utc_now_iso8601();
  meta.parameters_json = merged_parameters(first.parameters_json, sources);
  return meta;
}

}  // namespace

// ---- StoreWriter ----

struct StoreWriter::Impl {
  fs::path final_path, temp_path;
  std::size_t cols = 0;
  FileId file;
  Column features, labels, ids, paths, heights, widths, flags, skipped_paths, skipped_reasons;
  std::size_t rows = 0;
  bool committed = false;

  // The temporary file is removed here, not in ~StoreWriter, so that a StoreWriter
  // constructor that throws half-way removes it too.
  ~Impl() {
    if (committed) return;
    close_datasets_quietly();
    file.reset();
    std::error_code ignored;
    fs::remove(temp_path, ignored);
  }

  void create(const std::vector<std::string>& feature_names, const std::vector<std::string>& feature_groups,
              const std::vector<std::string>& classes, const StoreMeta& meta) {
    file = FileId(check_id(H5Fcreate(temp_path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, file_access_plist().get()),
                           "cannot create " + temp_path.string()));
    PlistId lcpl = intermediate_groups_plist();
    create_columns(lcpl.get());
    write_string_list(file.get(), lcpl.get(), "classes", classes);
    write_string_list(file.get(), lcpl.get(), "feature_names", feature_names);
    write_string_list(file.get(), lcpl.get(), "feature_groups", feature_groups);
    write_string_list(file.get(), lcpl.get(), "quality/flag_names", flag_names(~std::uint32_t(0)));
    write_meta(file.get(), meta, cols);
  }

  void create_columns(hid_t lcpl) {
    TypeId text = utf8_string_type();
    const hid_t f = file.get();
    features = Column(f, lcpl, {"features", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, cols, sizeof(float), true});
    labels = Column(f, lcpl, {"labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, 0, sizeof(std::int32_t), true});
    ids = Column(f, lcpl, {"image/id", text.get(), text.get(), 1, 0, sizeof(char*), false});
    paths = Column(f, lcpl, {"image/path", text.get(), text.get(), 1, 0, sizeof(char*), false});
    heights = Column(f, lcpl, {"image/height", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, 0, sizeof(std::int32_t), true});
    widths = Column(f, lcpl, {"image/width", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, 0, sizeof(std::int32_t), true});
    flags = Column(f, lcpl, {"quality/flags", H5T_STD_U32LE, H5T_NATIVE_UINT32, 1, 0, sizeof(std::uint32_t), true});
    skipped_paths = Column(f, lcpl, {"skipped/path", text.get(), text.get(), 1, 0, sizeof(char*), false});
    skipped_reasons = Column(f, lcpl, {"skipped/reason", text.get(), text.get(), 1, 0, sizeof(char*), false});
  }

  void require_open() const {
    if (committed) throw std::runtime_error("the store was already committed");
  }

  void append(const std::vector<StoreRow>& batch, const float* values) {
    require_open();
    if (!values && !batch.empty() && cols > 0) throw std::runtime_error("append() got rows but no features");
    std::vector<std::string> id_list, path_list;
    std::vector<std::int32_t> label_list, height_list, width_list;
    std::vector<std::uint32_t> flag_list;
    for (const auto& row : batch) {
      id_list.push_back(row.id);
      path_list.push_back(row.path);
      label_list.push_back(row.label);
      height_list.push_back(row.height);
      width_list.push_back(row.width);
      flag_list.push_back(row.flags);
    }
    features.append(values, batch.size());
    labels.append(label_list.data(), batch.size());
    ids.append_strings(id_list);
    paths.append_strings(path_list);
    heights.append(height_list.data(), batch.size());
    widths.append(width_list.data(), batch.size());
    flags.append(flag_list.data(), batch.size());
    rows += batch.size();
  }

  void add_skipped(const std::vector<SkippedImage>& skipped) {
    require_open();
    std::vector<std::string> path_list, reason_list;
    for (const auto& s : skipped) {
      path_list.push_back(s.path);
      reason_list.push_back(s.reason);
    }
    skipped_paths.append_strings(path_list);
    skipped_reasons.append_strings(reason_list);
  }

  void commit() {
    require_open();
    write_attribute(file.get(), "n_images", std::int64_t(rows));
    for (Column* column : all_columns()) column->close();
    check(file.reset(), "cannot close " + temp_path.string());
    crash_point("store:" + final_path.filename().string() + ":before-rename");
    fs::rename(temp_path, final_path);
    committed = true;
  }

  std::array<Column*, 9> all_columns() {
    return {&features, &labels, &ids, &paths, &heights, &widths, &flags, &skipped_paths, &skipped_reasons};
  }

  void close_datasets_quietly() noexcept {
    for (Column* column : all_columns()) {
      try {
        column->close();
      } catch (const std::exception&) {
        // The file is being discarded: a failed close changes nothing.
      }
    }
  }
};

StoreWriter::StoreWriter(const fs::path& final_path, const std::vector<std::string>& feature_names,
                         const std::vector<std::string>& feature_groups, const std::vector<std::string>& classes,
                         const StoreMeta& meta)
    : impl_(std::make_unique<Impl>()) {
  silence_hdf5_errors();
  impl_->final_path = final_path;
  remove_stale_temporaries(final_path);
  impl_->temp_path = temporary_path(final_path);
  impl_->cols = feature_names.size();
  naming_file(final_path, [&] {
    if (feature_groups.size() != feature_names.size())
      throw std::runtime_error(std::to_string(feature_names.size()) + " feature names but " +
                               std::to_string(feature_groups.size()) + " feature groups");
    impl_->create(feature_names, feature_groups, classes, meta);
  });
}

StoreWriter::~StoreWriter() = default;

void StoreWriter::append(const std::vector<StoreRow>& rows, const float* features) {
  naming_file(impl_->final_path, [&] { impl_->append(rows, features); });
}

void StoreWriter::add_skipped(const std::vector<SkippedImage>& skipped) {
  naming_file(impl_->final_path, [&] { impl_->add_skipped(skipped); });
}

void StoreWriter::commit() {
  naming_file(impl_->final_path, [&] { impl_->commit(); });
}

// ---- reading and merging ----

StoreData read_store(const fs::path& path) {
  silence_hdf5_errors();
  return naming_file(path, [&] {
    store_raw::require_root_header_fits(path);
    FileId file = open_store(path);
    store_raw::require_heaps_well_formed(raw_file(file.get()));
    StoreData data;
    data.meta = read_meta(file.get());
    data.classes = read_strings(file.get(), "/classes");
    data.feature_names = read_strings(file.get(), "/feature_names");
    data.feature_groups = read_strings(file.get(), "/feature_groups");
    read_features(file.get(), data);
    read_images(file.get(), data);
    read_skipped(file.get(), data);
    check_counts(file.get(), data);
    return data;
  });
}

void merge_stores(const std::vector<fs::path>& shard_paths, const fs::path& out, bool allow_partial) {
  if (shard_paths.empty()) throw std::runtime_error("merge: no shards given");
  std::vector<Shard> shards;
  for (const auto& path : shard_paths) shards.push_back({path, read_store(path)});
  for (const auto& shard : shards) require_compatible(shards.front(), shard);
  const auto by_index = index_shards(shards);
  if (!allow_partial) require_complete(by_index, shards.front().data.meta.shard_count);

  const StoreData& first = by_index.begin()->second->data;
  std::vector<std::string> sources;
  for (const auto& [index, shard] : by_index) sources.push_back(shard->path.filename().string());
  StoreWriter writer(out, first.feature_names, first.feature_groups, first.classes, merged_meta(first.meta, sources));
  for (const auto& [index, shard] : by_index) {
    writer.append(shard->data.images, shard->data.features.data());
    writer.add_skipped(shard->data.skipped);
  }
  writer.commit();
}

std::string utc_now_iso8601() {
  const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[sizeof "2026-11-23T16:40:00Z"];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

}  // namespace hemolens
