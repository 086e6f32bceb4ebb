// Checks of a store file's own bytes (see store_raw.hpp for why). The formats are those of
// the HDF5 file format specification, version 1 and 2 object headers; every field read here
// is bounds-checked, since the file is what may be crafted.
#include "store_raw.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <map>
#include <stdexcept>

namespace hemolens::store_raw {
namespace {

std::runtime_error crafted(const std::string& what) { return std::runtime_error(what + " (damaged or crafted file)"); }

std::uint64_t little_endian(const unsigned char* p, std::size_t bytes) {
  std::uint64_t v = 0;
  for (std::size_t i = bytes; i-- > 0;) v = v << 8 | p[i];
  return v;
}

// `size` bytes of the file from `at`, which must lie inside it.
std::vector<unsigned char> read_bytes(std::istream& in, const RawFile& file, std::uint64_t at, std::uint64_t size, const std::string& what) {
  if (at > file.bytes || size > file.bytes - at) throw crafted(what + " lies outside the file");
  std::vector<unsigned char> bytes(static_cast<std::size_t>(size));
  in.clear();
  in.seekg(std::streamoff(at));
  if (!in.read(reinterpret_cast<char*>(bytes.data()), std::streamsize(bytes.size()))) throw std::runtime_error("cannot read " + what);
  return bytes;
}

// A cursor over bytes read from the file: every field taken is checked to lie inside them.
class Cursor {
 public:
  Cursor(const unsigned char* begin, std::size_t size, std::string what) : p_(begin), left_(size), what_(std::move(what)) {}
  std::uint64_t take(std::size_t width) {
    const unsigned char* at = here(width);
    skip(width);
    return little_endian(at, width);
  }
  // The next `n` bytes, which stay where they are.
  const unsigned char* here(std::size_t n) const {
    if (n > left_) throw crafted(what_ + " is cut short");
    return p_;
  }
  void skip(std::size_t n) {
    here(n);
    p_ += n;
    left_ -= n;
  }
  std::size_t left() const { return left_; }

 private:
  const unsigned char* p_;
  std::size_t left_;
  std::string what_;
};

// ---- global heaps ----

using HeapObjects = std::map<std::uint64_t, std::uint64_t>;  // index -> size in bytes

// The objects of the global heap collection at `heap`. libhdf5 copies as many bytes as the
// heap says an object has, into a buffer as long as the string's descriptor says (a heap object
// larger than its heap crashed it in H5HG_read; found by fuzz/fuzz_store), so the collection
// must be well formed first. Collection: "GCOL", version 1, 3 reserved bytes, its size; then
// objects: index (2), references (2), reserved (4), size, data padded to 8 bytes; index 0 is
// the free space, whose size counts its header (a free space of 0 bytes hung libhdf5).
HeapObjects heap_objects(std::istream& in, const RawFile& file, std::uint64_t heap, const std::string& where) {
  const auto bad = [&](const std::string& what) { return crafted(where + ": a string heap " + what); };
  const std::size_t header = 8 + file.sizeof_size, object_header = 8 + file.sizeof_size;
  if (heap > file.bytes || file.bytes - heap < header) throw bad("lies outside the file");
  const auto head = read_bytes(in, file, heap, header, where);
  if (std::memcmp(head.data(), "GCOL", 4) != 0) throw bad("is not where a string points");
  const std::uint64_t size = little_endian(&head[8], file.sizeof_size);
  if (size < header || size > file.bytes - heap) throw bad("claims more bytes than the file holds");
  const auto collection = read_bytes(in, file, heap, size, where);
  HeapObjects objects;
  for (std::size_t at = header; at + object_header <= collection.size();) {
    const std::uint64_t id = little_endian(&collection[at], 2), bytes = little_endian(&collection[at + 8], file.sizeof_size);
    if (id == 0) {  // free space: libhdf5 steps over it by its size, so 0 would loop for ever
      if (bytes == 0 || bytes > collection.size() - at) throw bad("has a malformed free space");
      at += std::size_t(bytes);
      continue;
    }
    if (bytes > collection.size() - at - object_header) throw bad("has an object larger than the heap");
    objects[id] = bytes;
    at += object_header + std::size_t((bytes + 7) / 8 * 8);
  }
  return objects;
}

// Checks `count` string descriptors (a 4-byte length, then the heap's address and the
// object's index) from `raw`: libhdf5 allocates the length a descriptor claims before it
// reads the string (a 32 KB file claiming a 1.8 GB string took 1.8 GB; found by fuzz_store).
void check_descriptors(std::istream& in, const RawFile& file, Cursor raw, std::uint64_t count, const std::string& name,
                       std::map<std::uint64_t, HeapObjects>& heaps) {
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t length = raw.take(4);
    const std::uint64_t heap = raw.take(file.sizeof_addr), index = raw.take(4);
    if (length > file.bytes)
      throw crafted(name + " claims a string of " + std::to_string(length) + " bytes in a file of " + std::to_string(file.bytes));
    if (heap == 0) continue;  // a null string
    // Even for an empty string libhdf5 reads the object by its index, unchecked (an index past
    // the heap's objects crashed it in H5HG_read; found by fuzz_store).
    auto it = heaps.find(heap);
    if (it == heaps.end()) it = heaps.emplace(heap, heap_objects(in, file, heap, name)).first;
    const auto object = it->second.find(index);
    if (object == it->second.end() || object->second != length) throw crafted(name + ": a string does not match its heap object");
  }
}

// ---- object headers ----

constexpr std::uint16_t kDatatypeMessage = 0x0003, kAttributeMessage = 0x000C, kContinuationMessage = 0x0010, kAttributeInfoMessage = 0x0015;
constexpr std::uint8_t kSharedMessage = 0x02;
constexpr std::size_t kMaxChunks = 1024;  // a loop of continuation chunks ends here

struct Message {
  std::uint16_t type = 0;
  std::uint8_t flags = 0;
  std::vector<unsigned char> data;
};

struct Chunk {
  std::uint64_t at = 0, size = 0;
};

// The messages of one chunk of a version 1 (8-byte message headers, data padded to 8) or
// version 2 (4-byte headers, plus 2 when creation order is tracked) object header; the
// continuation messages add their chunks to `pending`.
void chunk_messages(const std::vector<unsigned char>& bytes, int version, bool creation_order, const RawFile& file,
                    std::vector<Message>& out, std::vector<Chunk>& pending) {
  Cursor c(bytes.data(), bytes.size(), "an object header");
  const std::size_t header = version == 1 ? 8 : 4 + (creation_order ? 2 : 0);
  while (c.left() >= header) {
    Message m;
    m.type = std::uint16_t(c.take(version == 1 ? 2 : 1));
    const std::size_t size = c.take(2);
    m.flags = std::uint8_t(c.take(1));
    c.skip(header - (version == 1 ? 5 : 4));
    const unsigned char* data = c.here(size);
    m.data.assign(data, data + size);
    c.skip(size);
    if (m.type == kContinuationMessage) {
      Cursor d(m.data.data(), m.data.size(), "an object header continuation");
      const std::uint64_t at = d.take(file.sizeof_addr), length = d.take(file.sizeof_size);
      pending.push_back({at, length});
    }
    out.push_back(std::move(m));
  }
}

// Every message of the object header at `at`, its continuation chunks included.
std::vector<Message> header_messages(std::istream& in, const RawFile& file, std::uint64_t at, const std::string& object) {
  const auto prefix = read_bytes(in, file, at, std::min<std::uint64_t>(32, file.bytes - std::min(at, file.bytes)), object + "'s header");
  Cursor c(prefix.data(), prefix.size(), object + "'s header");
  int version = 0;
  bool creation_order = false;
  Chunk first;
  if (prefix.size() >= 4 && std::memcmp(prefix.data(), "OHDR", 4) == 0) {
    c.skip(4);
    version = int(c.take(1));
    const std::uint8_t flags = std::uint8_t(c.take(1));
    creation_order = flags & 0x04;
    if (flags & 0x20) c.skip(16);  // access, modification, change and birth times
    if (flags & 0x10) c.skip(4);   // attribute storage phase change values
    const std::size_t width = std::size_t(1) << (flags & 0x03);
    first.size = c.take(width);
    first.at = at + (prefix.size() - c.left());
  } else {
    version = int(c.take(1));
    c.skip(7);  // reserved, number of messages, reference count
    first.size = c.take(4);
    first.at = at + 16;  // the 12-byte prefix is padded to 8
  }
  if (version != 1 && version != 2) throw crafted(object + "'s header has an unknown version " + std::to_string(version));

  std::vector<Message> messages;
  std::vector<Chunk> pending{first};
  for (std::size_t n = 0; !pending.empty(); ++n) {
    if (n == kMaxChunks) throw crafted(object + "'s header has more than " + std::to_string(kMaxChunks) + " chunks");
    Chunk chunk = pending.back();
    pending.pop_back();
    if (version == 2 && n > 0) {  // "OCHK", the messages, a checksum
      if (chunk.size < 8) throw crafted("an object header continuation is too short");
      if (read_bytes(in, file, chunk.at, 4, "an object header continuation") != std::vector<unsigned char>{'O', 'C', 'H', 'K'})
        throw crafted("an object header continuation has no signature");
      chunk = {chunk.at + 4, chunk.size - 8};
    }
    chunk_messages(read_bytes(in, file, chunk.at, chunk.size, "an object header chunk"), version, creation_order, file, messages, pending);
  }
  return messages;
}

// The number of values a dataspace message describes (version 1 or 2; rank 0 is a scalar).
std::uint64_t dataspace_values(Cursor c, const RawFile& file, const std::string& name) {
  const int version = int(c.take(1));
  const std::size_t rank = c.take(1);
  c.skip(1);  // flags
  std::uint64_t values = 1;
  if (version == 1) {
    c.skip(5);
  } else {
    if (c.take(1) == 2) return 0;  // the null dataspace
  }
  for (std::size_t i = 0; i < rank; ++i) {
    const std::uint64_t dim = c.take(file.sizeof_size);
    if (dim != 0 && values > file.bytes / dim) throw crafted(name + " claims more values than the file holds");
    values *= dim;
  }
  return values;
}

// Whether a datatype message describes a variable-length string; if so, its characters must
// be one byte each: libhdf5 allocates a string's length times their size (a crafted size of
// 4 GB took 4 GB for a 15-character attribute; found by fuzz_store).
bool variable_string(Cursor type, const std::string& what) {
  const std::uint64_t class_and_version = type.take(1), class_bits = type.take(1);
  if ((class_and_version & 0x0F) != 9 || (class_bits & 0x0F) != 1) return false;
  type.skip(6);  // the rest of the class bits, the size of a descriptor in memory
  type.skip(4);  // the base type's class and bits
  const std::uint64_t character = type.take(4);
  if (character != 1) throw crafted(what + " is a string of " + std::to_string(character) + "-byte characters");
  return true;
}

// A datatype must be of a class hemolens writes: integers, floats, and variable-length strings
// of one-byte characters. libhdf5 copies the member names of a compound or enum type, and the
// tag of an opaque one, with strdup: from a crafted type it reads past the header (an enum
// found by fuzz_store with seed 11), so other classes are refused before libhdf5 decodes them.
void require_written_class(Cursor type, const std::string& what) {
  const int type_class = int(type.take(1) & 0x0F);
  if (type_class == 9) {
    type.skip(7);  // the class bits and the size of a descriptor in memory
    if ((type.take(1) & 0x0F) == 0) return;  // a sequence of integers: a string's characters
  } else if (type_class == 0 || type_class == 1) {
    return;
  }
  throw crafted(what + " has a datatype of a class hemolens does not write (" + std::to_string(type_class) + ")");
}

// An attribute message: its name, datatype, dataspace and data. A variable-length string's
// data are descriptors, one per value, checked against their heap.
void check_attribute(std::istream& in, const RawFile& file, const Message& m, std::map<std::uint64_t, HeapObjects>& heaps) {
  if (m.flags & kSharedMessage) throw crafted("an attribute is a shared message, which hemolens does not write");
  Cursor c(m.data.data(), m.data.size(), "an attribute message");
  const int version = int(c.take(1));
  if (version < 1 || version > 3) throw crafted("an attribute message has an unknown version " + std::to_string(version));
  if (c.take(1) & 0x03) throw crafted("an attribute has a shared datatype or dataspace, which hemolens does not write");
  const std::size_t name_size = c.take(2), type_size = c.take(2), space_size = c.take(2);
  if (version == 3) c.skip(1);  // the name's character set
  const auto padded = [&](std::size_t n) { return version == 1 ? (n + 7) / 8 * 8 : n; };
  const unsigned char* name_bytes = c.here(name_size);
  // libhdf5 copies the name with strdup: a name with no terminating zero in its own bytes
  // would be read past the message (the same defect as the enum's member names below).
  if (std::memchr(name_bytes, 0, name_size) == nullptr) throw crafted("an attribute's name does not end within its message");
  const std::string name = "attribute " + std::string(reinterpret_cast<const char*>(name_bytes), strnlen(reinterpret_cast<const char*>(name_bytes), name_size));
  c.skip(padded(name_size));
  const Cursor type(c.here(type_size), type_size, name + "'s datatype");
  require_written_class(type, name);
  c.skip(padded(type_size));
  const Cursor space(c.here(space_size), space_size, name + "'s dataspace");
  c.skip(padded(space_size));

  if (!variable_string(type, name)) return;  // fixed-size values lie in the message itself
  const std::uint64_t values = dataspace_values(space, file, name);
  const std::size_t descriptor = 4 + file.sizeof_addr + 4;
  if (values > c.left() / descriptor) throw crafted(name + " claims more values than its message holds");
  check_descriptors(in, file, c, values, name, heaps);
}

// An attribute info message whose fractal heap address is defined keeps the attributes in
// dense storage, outside the object header (libhdf5 does so only when asked for the newest
// format, which hemolens never asks for).
void require_compact_attributes(const Message& m, const RawFile& file, const std::string& object) {
  Cursor c(m.data.data(), m.data.size(), "an attribute info message");
  c.skip(1);  // version
  if (c.take(1) & 0x01) c.skip(2);  // the maximum creation index
  const std::uint64_t heap = c.take(file.sizeof_addr);
  const std::uint64_t undefined = file.sizeof_addr >= 8 ? ~std::uint64_t(0) : (std::uint64_t(1) << (8 * file.sizeof_addr)) - 1;
  if (heap != undefined) throw crafted(object + " keeps its attributes in dense storage, which hemolens does not write");
}

}  // namespace

namespace {

std::uint64_t undefined_address(std::size_t width) { return width >= 8 ? ~std::uint64_t(0) : (std::uint64_t(1) << (8 * width)) - 1; }

}  // namespace

void require_root_header_fits(const std::filesystem::path& path) {
  std::error_code error;
  const std::uint64_t bytes = std::filesystem::file_size(path, error);
  if (error) return;  // opening it will say why
  std::ifstream in(path, std::ios::binary);
  const RawFile probe{path, bytes, 8, 8};
  const auto signature_at = [&](std::uint64_t at) {
    return at + 8 <= bytes && read_bytes(in, probe, at, 8, "the superblock") == std::vector<unsigned char>{0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  };
  if (!signature_at(0)) {
    // libhdf5 also looks after a user block (at 512, 1024, 2048... bytes); hemolens writes none.
    for (std::uint64_t at = 512; at + 8 <= bytes; at *= 2)
      if (signature_at(at)) throw crafted("the file starts with a user block, which hemolens does not write");
    return;  // not an HDF5 file: opening it will say so
  }
  const auto head = read_bytes(in, probe, 0, std::min<std::uint64_t>(bytes, 128), "the superblock");
  Cursor c(head.data(), head.size(), "the superblock");
  c.skip(8);
  const int version = int(c.take(1));
  RawFile file{path, bytes, 8, 8};
  std::uint64_t root = 0, extension = 0, driver = 0, base = 0;
  if (version == 0 || version == 1) {
    c.skip(4);  // free-space, root symbol table and shared header versions, reserved
    file.sizeof_addr = c.take(1);
    file.sizeof_size = c.take(1);
    c.skip(1 + 4 + 4 + (version == 1 ? 4 : 0));  // reserved, group K values, flags, indexed storage K
  } else if (version == 2 || version == 3) {
    file.sizeof_addr = c.take(1);
    file.sizeof_size = c.take(1);
    c.skip(1);  // flags
  } else {
    throw crafted("the superblock has an unknown version " + std::to_string(version));
  }
  if (file.sizeof_addr < 2 || file.sizeof_addr > 8 || file.sizeof_size < 2 || file.sizeof_size > 8)
    throw crafted("the file's addresses or lengths have a width hemolens does not read");
  base = c.take(file.sizeof_addr);
  extension = c.take(file.sizeof_addr);  // versions 0 and 1: the free-space address (unused)
  c.skip(file.sizeof_addr);              // end of file
  if (version < 2) {
    driver = c.take(file.sizeof_addr);
    c.skip(file.sizeof_addr);  // the root entry's link name offset
  }
  root = c.take(file.sizeof_addr);
  const std::uint64_t undefined = undefined_address(file.sizeof_addr);
  if (base != 0) throw crafted("the superblock has a base address, which hemolens does not write");
  if (version < 2 && driver != undefined) throw crafted("the superblock has a driver information block, which hemolens does not write");
  if (version >= 2 && extension != undefined) require_header_fits(file, extension, "the superblock extension");
  require_header_fits(file, root, "the root group");
}

void require_heaps_well_formed(const RawFile& file) {
  // The string attributes' descriptors are checked on their own, but a heap may also be
  // reached otherwise; so every collection is found by its signature ("GCOL", version 1, at
  // least libhdf5's 4 KiB) and checked.
  std::ifstream in(file.path, std::ios::binary), heap_in(file.path, std::ios::binary);
  constexpr std::size_t kBlock = 1 << 20, kOverlap = 16;
  std::vector<char> block(kBlock + kOverlap);
  std::uint64_t base = 0;  // file offset of block[0]
  std::size_t have = 0;
  while (in.read(block.data() + have, std::streamsize(kBlock)) || in.gcount() > 0) {
    have += std::size_t(in.gcount());
    for (std::size_t i = 0; i + 16 <= have; ++i) {
      if (std::memcmp(&block[i], "GCOL\x01\0\0\0", 8) != 0) continue;
      const std::uint64_t size = little_endian(reinterpret_cast<const unsigned char*>(&block[i + 8]), std::min<std::size_t>(file.sizeof_size, 8));
      if (size >= 4096) heap_objects(heap_in, file, base + i, "a string heap at byte " + std::to_string(base + i));
    }
    const std::size_t keep = std::min(have, kOverlap - 1);
    std::memmove(block.data(), block.data() + have - keep, keep);
    base += have - keep;
    have = keep;
  }
}

void require_string_descriptors_fit(const RawFile& file, const std::vector<Extent>& extents, const std::string& name) {
  std::ifstream in(file.path, std::ios::binary);
  std::map<std::uint64_t, HeapObjects> heaps;
  const std::size_t descriptor = 4 + file.sizeof_addr + 4;
  for (const auto& [at, size] : extents) {
    if (at > file.bytes || size > file.bytes - at) throw std::runtime_error(name + " points past the end of the file");
    const auto raw = read_bytes(in, file, at, size, name);
    check_descriptors(in, file, Cursor(raw.data(), raw.size(), name), raw.size() / descriptor, name, heaps);
  }
}

void require_header_fits(const RawFile& file, std::uint64_t object_header, const std::string& object) {
  std::ifstream in(file.path, std::ios::binary);
  std::map<std::uint64_t, HeapObjects> heaps;
  for (const Message& m : header_messages(in, file, object_header, object)) {
    if (m.type == kDatatypeMessage) {
      if (m.flags & kSharedMessage) throw crafted(object + " has a shared datatype, which hemolens does not write");
      const Cursor type(m.data.data(), m.data.size(), object + "'s datatype");
      require_written_class(type, object);
      variable_string(type, object);
    }
    if (m.type == kAttributeInfoMessage) require_compact_attributes(m, file, object);
    if (m.type == kAttributeMessage) check_attribute(in, file, m, heaps);
  }
}

}  // namespace hemolens::store_raw
