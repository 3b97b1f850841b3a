#pragma once
// A thin, typed RAII layer over the HDF5 C API in the style of HighFive. Every C call is checked
// and a failure becomes an icl::H5Error that names the action and the object, so callers never
// see HDF5's error stack (its printing is switched off).
#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace icl {

class H5Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

namespace h5 {

// Throws H5Error("Failed to <action> <object>: <reason>").
[[noreturn]] void fail(std::string_view action, std::string_view object, std::string_view reason);
// As fail(), with HDF5's innermost message for the call that just failed as the reason.
[[noreturn]] void fail_from_stack(std::string_view action, std::string_view object);

// The checked wrapper every C call goes through: HDF5 signals failure by a negative result, or
// by zero where the result is a size.
template <class R>
R check(R result, std::string_view action, std::string_view object) {
  if constexpr (std::is_unsigned_v<R>) {
    if (result == 0) fail_from_stack(action, object);
  } else if (result < 0) {
    fail_from_stack(action, object);
  }
  return result;
}

template <class T>
hid_t native() {
  if constexpr (std::is_same_v<T, std::uint8_t>) return H5T_NATIVE_UINT8;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return H5T_NATIVE_UINT16;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return H5T_NATIVE_UINT32;
  else if constexpr (std::is_same_v<T, std::int32_t>) return H5T_NATIVE_INT32;
  else if constexpr (std::is_same_v<T, std::int64_t>) return H5T_NATIVE_INT64;
  else if constexpr (std::is_same_v<T, std::uint64_t>) return H5T_NATIVE_UINT64;
  else if constexpr (std::is_same_v<T, double>) return H5T_NATIVE_DOUBLE;
  else static_assert(sizeof(T) == 0, "no HDF5 native type mapped for T");
}

// Owns one HDF5 id; move-only, closed in the destructor by the kind's H5?close.
class Handle {
 public:
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  Handle(Handle&& other) noexcept;
  Handle& operator=(Handle&& other) noexcept;
  ~Handle();

  hid_t id() const noexcept { return id_; }
  // Releases the id now; throws H5Error if HDF5 reports a failure (a file's last write-back).
  void close();
  // How error messages name the object, e.g. `the dataset "results" in "out.h5"`.
  const std::string& description() const noexcept { return description_; }

 protected:
  using Close = herr_t (*)(hid_t);
  Handle(hid_t id, Close closer, std::string description) noexcept;

 private:
  void reset() noexcept;

  hid_t id_ = H5I_INVALID_HID;
  Close close_ = nullptr;
  std::string description_;
};

class PropertyList : public Handle {
 public:
  static PropertyList file_access();
  static PropertyList dataset_creation();

  void set_libver_bounds(H5F_libver_t low, H5F_libver_t high);
  void set_chunk(std::span<const hsize_t> chunk_dims);
  void set_fill_value(hid_t type, const void* value);
  // Filters on the chunks: byte shuffle, then deflate (zlib) at `level` (1-9).
  void set_shuffle_deflate(unsigned level);

 private:
  using Handle::Handle;
};

class Dataspace : public Handle {
 public:
  static Dataspace scalar();
  static Dataspace simple(std::span<const hsize_t> dims);

  std::vector<hsize_t> dims() const;
  void select_block(std::span<const hsize_t> start, std::span<const hsize_t> count);

 private:
  friend class Dataset;
  using Handle::Handle;
};

class Datatype : public Handle {
 public:
  // NUL-padded, not NUL-terminated: `size` bytes hold the text exactly.
  static Datatype fixed_string(std::size_t size, H5T_cset_t cset);
  static Datatype compound(std::size_t size);

  // An enumeration over the integer type `base`; its names are inserted with value 0, 1, ...
  static Datatype enumeration(hid_t base);

  void insert(const std::string& member, std::size_t offset, hid_t member_type);
  void insert_name(const std::string& name, std::uint64_t value);  // an enumeration's
  // A copy without padding or unused bytes: how a compound is best stored.
  Datatype packed() const;
  std::size_t size() const;
  bool is_fixed_string() const;
  // A compound's member of that name; throws H5Error when there is none.
  Datatype member(const std::string& name) const;
  bool is_enumeration() const;
  // An enumeration's names, by value; throws H5Error unless the values are 0, 1, ..., n - 1.
  std::vector<std::string> names() const;

 private:
  friend class Attribute;
  friend class Dataset;
  using Handle::Handle;
};

class Attribute : public Handle {
 public:
  Datatype type() const;
  void write(hid_t mem_type, const void* data);
  void read(hid_t mem_type, void* data) const;

 private:
  friend class Location;
  using Handle::Handle;
};

class Dataset : public Handle {
 public:
  Dataspace space() const;
  Datatype type() const;  // as stored
  std::vector<hsize_t> dims() const;
  // The block [start, start + count) of the dataset from or into a packed buffer of mem_type
  // elements; throws H5Error when the block leaves the dataset's extent.
  void write_block(std::span<const hsize_t> start, std::span<const hsize_t> count, hid_t mem_type,
                   const void* data);
  void read_block(std::span<const hsize_t> start, std::span<const hsize_t> count, hid_t mem_type,
                  void* data) const;

 private:
  friend class Location;
  using Handle::Handle;
  Dataspace select(std::span<const hsize_t> start, std::span<const hsize_t> count,
                   std::string_view action) const;
};

class Group;

// What files and groups share: children and attributes.
class Location : public Handle {
 public:
  Group create_group(const std::string& name);
  Group open_group(const std::string& name) const;
  Dataset create_dataset(const std::string& name, hid_t type, const Dataspace& space,
                         const PropertyList& creation);
  Dataset open_dataset(const std::string& name) const;
  // Whether a link (a dataset or group) of that name is a child here.
  bool has_link(const std::string& name) const;
  // Removes the link (the object goes with its last link; its space is not reclaimed).
  void remove_link(const std::string& name);

  bool has_attribute(const std::string& name) const;
  Attribute open_attribute(const std::string& name) const;
  // Replaces an existing attribute, whose type or size may differ.
  void set_attribute(const std::string& name, std::string_view text);
  template <class T>
    requires std::is_arithmetic_v<T>
  void set_attribute(const std::string& name, T value) {
    new_attribute(name, native<T>(), Dataspace::scalar()).write(native<T>(), &value);
  }
  std::string string_attribute(const std::string& name) const;
  template <class T>
  T attribute(const std::string& name) const {
    T value{};
    open_attribute(name).read(native<T>(), &value);
    return value;
  }

 protected:
  Location(hid_t id, Close closer, std::string description, std::string file, std::string path);

 private:
  std::string child_path(const std::string& name) const;
  std::string child_description(std::string_view kind, const std::string& name) const;
  Attribute new_attribute(const std::string& name, hid_t type, const Dataspace& space);

  std::string file_;  // path of the file on disk
  std::string path_;  // path of this location inside the file; empty for the root
};

class Group : public Location {
 private:
  friend class Location;
  using Location::Location;
};

class File : public Location {
 public:
  static File create(const std::string& path, const PropertyList& access);
  static File open(const std::string& path, unsigned flags, const PropertyList& access);

  void flush();

 private:
  using Location::Location;
};

}  // namespace h5
}  // namespace icl
