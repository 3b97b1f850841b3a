#include "store/hdf5.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <utility>

namespace icl::h5 {
namespace {

// HDF5 prints its whole error stack to stderr on every failure unless told not to; we report
// failures through H5Error instead. Every factory that can make the program's first HDF5 call
// goes through here. First of all, HDF5 is told not to close what is left open at exit: every
// handle here closes itself, and after a write that failed (a full disk, ulimit -f) HDF5's own
// closing at exit crashes in 1.10 (a segmentation fault after the program's message). A file
// left open by an abnormal exit is then as after a kill, which the journal is made for.
void silence_error_printing() {
  [[maybe_unused]] static const bool silenced = [] {
    H5dont_atexit();
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    return true;
  }();
}

// The innermost entry says what actually went wrong (e.g. the OS error of a failed open); the
// outer ones only repeat that the API call failed.
std::string innermost_error() {
  std::string reason;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_UPWARD,
      [](unsigned n, const H5E_error2_t* error, void* out) -> herr_t {
        if (n == 0 && error->desc != nullptr) *static_cast<std::string*>(out) = error->desc;
        return 0;
      },
      &reason);
  // Some descriptions run over several lines (a failed write lists its time, file and sizes).
  std::replace_if(reason.begin(), reason.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  return reason;
}

std::string tuple_text(std::span<const hsize_t> values) {
  std::string text = "(";
  for (std::size_t i = 0; i < values.size(); ++i)
    text += (i == 0 ? "" : ", ") + std::to_string(values[i]);
  return text + ")";
}

}  // namespace

void fail(std::string_view action, std::string_view object, std::string_view reason) {
  std::string message = "Failed to ";
  message.append(action).append(" ").append(object);
  if (!reason.empty()) message.append(": ").append(reason);
  throw H5Error(message);
}

void fail_from_stack(std::string_view action, std::string_view object) {
  fail(action, object, innermost_error());
}

// ---- Handle

Handle::Handle(hid_t id, Close closer, std::string description) noexcept
    : id_(id), close_(closer), description_(std::move(description)) {}

Handle::Handle(Handle&& other) noexcept
    : id_(std::exchange(other.id_, H5I_INVALID_HID)),
      close_(other.close_),
      description_(std::move(other.description_)) {}

Handle& Handle::operator=(Handle&& other) noexcept {
  if (this != &other) {
    reset();
    id_ = std::exchange(other.id_, H5I_INVALID_HID);
    close_ = other.close_;
    description_ = std::move(other.description_);
  }
  return *this;
}

Handle::~Handle() { reset(); }

void Handle::close() {
  if (id_ < 0) return;
  const hid_t id = std::exchange(id_, H5I_INVALID_HID);
  check(close_(id), "close", description_);
}

void Handle::reset() noexcept {
  if (id_ < 0) return;
  // A destructor cannot throw; a failed release is reported, never silent. Owners that must
  // know (the results file) call close() instead.
  if (close_(std::exchange(id_, H5I_INVALID_HID)) < 0)
    std::fprintf(stderr, "icl-sweep: HDF5: failed to close %s: %s\n", description_.c_str(),
                 innermost_error().c_str());
}

// ---- PropertyList

PropertyList PropertyList::file_access() {
  silence_error_printing();
  const std::string description = "a file access property list";
  return {check(H5Pcreate(H5P_FILE_ACCESS), "create", description), H5Pclose, description};
}

PropertyList PropertyList::dataset_creation() {
  silence_error_printing();
  const std::string description = "a dataset creation property list";
  return {check(H5Pcreate(H5P_DATASET_CREATE), "create", description), H5Pclose, description};
}

void PropertyList::set_libver_bounds(H5F_libver_t low, H5F_libver_t high) {
  check(H5Pset_libver_bounds(id(), low, high), "set the format version bounds of", description());
}

void PropertyList::set_chunk(std::span<const hsize_t> chunk_dims) {
  check(H5Pset_chunk(id(), static_cast<int>(chunk_dims.size()), chunk_dims.data()),
        "set the chunk shape " + tuple_text(chunk_dims) + " of", description());
}

void PropertyList::set_fill_value(hid_t type, const void* value) {
  check(H5Pset_fill_value(id(), type, value), "set the fill value of", description());
}

void PropertyList::set_shuffle_deflate(unsigned level) {
  check(H5Pset_shuffle(id()), "set the shuffle filter of", description());
  check(H5Pset_deflate(id(), level), "set the deflate filter of", description());
}

// ---- Dataspace

Dataspace Dataspace::scalar() {
  silence_error_printing();
  const std::string description = "a scalar dataspace";
  return {check(H5Screate(H5S_SCALAR), "create", description), H5Sclose, description};
}

Dataspace Dataspace::simple(std::span<const hsize_t> dims) {
  silence_error_printing();
  const std::string description = "a dataspace of extent " + tuple_text(dims);
  return {check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "create",
                description),
          H5Sclose, description};
}

std::vector<hsize_t> Dataspace::dims() const {
  const int rank = check(H5Sget_simple_extent_ndims(id()), "get the rank of", description());
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  check(H5Sget_simple_extent_dims(id(), dims.data(), nullptr), "get the extent of", description());
  return dims;
}

void Dataspace::select_block(std::span<const hsize_t> start, std::span<const hsize_t> count) {
  check(H5Sselect_hyperslab(id(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr),
        "select the block at " + tuple_text(start) + " of size " + tuple_text(count) + " in",
        description());
}

// ---- Datatype

Datatype Datatype::fixed_string(std::size_t size, H5T_cset_t cset) {
  silence_error_printing();
  const std::string description = "a string datatype of " + std::to_string(size) + " bytes";
  Datatype type(check(H5Tcopy(H5T_C_S1), "create", description), H5Tclose, description);
  check(H5Tset_size(type.id(), size), "set the size of", description);
  check(H5Tset_strpad(type.id(), H5T_STR_NULLPAD), "set the padding of", description);
  check(H5Tset_cset(type.id(), cset), "set the character set of", description);
  return type;
}

Datatype Datatype::compound(std::size_t size) {
  silence_error_printing();
  const std::string description = "a compound datatype of " + std::to_string(size) + " bytes";
  return {check(H5Tcreate(H5T_COMPOUND, size), "create", description), H5Tclose, description};
}

void Datatype::insert(const std::string& member, std::size_t offset, hid_t member_type) {
  check(H5Tinsert(id(), member.c_str(), offset, member_type),
        "insert the member \"" + member + "\" into", description());
}

Datatype Datatype::enumeration(hid_t base) {
  silence_error_printing();
  const std::string description = "an enumeration datatype";
  return {check(H5Tenum_create(base), "create", description), H5Tclose, description};
}

void Datatype::insert_name(const std::string& name, std::uint64_t value) {
  // The value in the enumeration's own integer type (an unsigned type of 1 to 8 bytes).
  const std::size_t bytes = size();
  unsigned char native[8] = {};
  if (bytes > sizeof native || (bytes < 8 && value >> (8 * bytes) != 0))
    fail("insert the name \"" + name + "\" into", description(), "the value does not fit the enumeration's type");
  std::memcpy(native, &value, bytes);  // little-endian, as the native types here
  check(H5Tenum_insert(id(), name.c_str(), native), "insert the name \"" + name + "\" into", description());
}

Datatype Datatype::packed() const {
  const std::string copy_description = "a packed copy of " + description();
  Datatype copy(check(H5Tcopy(id()), "copy", description()), H5Tclose, copy_description);
  check(H5Tpack(copy.id()), "pack", copy_description);
  return copy;
}

Datatype Datatype::member(const std::string& name) const {
  const int index = H5Tget_member_index(id(), name.c_str());
  if (index < 0) fail("find the member \"" + name + "\" of", description(), "there is none");
  const std::string member_description = "the member \"" + name + "\" of " + description();
  return {check(H5Tget_member_type(id(), static_cast<unsigned>(index)), "get", member_description), H5Tclose,
          member_description};
}

bool Datatype::is_enumeration() const {
  return check(H5Tget_class(id()), "get the class of", description()) == H5T_ENUM;
}

std::vector<std::string> Datatype::names() const {
  const int count = check(H5Tget_nmembers(id()), "count the names of", description());
  const std::size_t bytes = size();
  std::vector<std::string> names(static_cast<std::size_t>(count));
  std::vector<char> seen(names.size(), 0);
  for (int i = 0; i < count; ++i) {
    unsigned char native[8] = {};
    if (bytes > sizeof native) fail("read the names of", description(), "its values are wider than 8 bytes");
    check(H5Tget_member_value(id(), static_cast<unsigned>(i), native), "read a value of", description());
    std::uint64_t value = 0;
    std::memcpy(&value, native, bytes);
    char* name = H5Tget_member_name(id(), static_cast<unsigned>(i));
    if (name == nullptr) fail_from_stack("read a name of", description());
    const std::string text(name);
    H5free_memory(name);
    if (value >= names.size() || seen[value])
      fail("read the names of", description(), "its values are not 0 to " + std::to_string(count - 1));
    seen[value] = 1;
    names[value] = text;
  }
  return names;
}

std::size_t Datatype::size() const {
  return check(H5Tget_size(id()), "get the size of", description());
}

bool Datatype::is_fixed_string() const {
  return check(H5Tget_class(id()), "get the class of", description()) == H5T_STRING &&
         check(H5Tis_variable_str(id()), "get the string kind of", description()) == 0;
}

// ---- Attribute

Datatype Attribute::type() const {
  const std::string type_description = "the type of " + description();
  return {check(H5Aget_type(id()), "get", type_description), H5Tclose, type_description};
}

void Attribute::write(hid_t mem_type, const void* data) {
  check(H5Awrite(id(), mem_type, data), "write", description());
}

void Attribute::read(hid_t mem_type, void* data) const {
  check(H5Aread(id(), mem_type, data), "read", description());
}

// ---- Dataset

Dataspace Dataset::space() const {
  const std::string space_description = "the dataspace of " + description();
  return {check(H5Dget_space(id()), "get", space_description), H5Sclose, space_description};
}

std::vector<hsize_t> Dataset::dims() const { return space().dims(); }

Datatype Dataset::type() const {
  const std::string type_description = "the type of " + description();
  return {check(H5Dget_type(id()), "get", type_description), H5Tclose, type_description};
}

// HDF5 would also reject such a block, but only with "selection + offset not within extent".
Dataspace Dataset::select(std::span<const hsize_t> start, std::span<const hsize_t> count,
                          std::string_view action) const {
  Dataspace file_space = space();
  const std::vector<hsize_t> extent = file_space.dims();
  bool inside = start.size() == extent.size() && count.size() == extent.size();
  for (std::size_t i = 0; inside && i < extent.size(); ++i)
    inside = start[i] <= extent[i] && count[i] <= extent[i] - start[i];
  if (!inside)
    fail(action, description(),
         "the block at " + tuple_text(start) + " of size " + tuple_text(count) +
             " lies outside the extent " + tuple_text(extent));
  file_space.select_block(start, count);
  return file_space;
}

void Dataset::write_block(std::span<const hsize_t> start, std::span<const hsize_t> count,
                          hid_t mem_type, const void* data) {
  const Dataspace file_space = select(start, count, "write to");
  const Dataspace mem_space = Dataspace::simple(count);
  check(H5Dwrite(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data), "write to",
        description());
}

void Dataset::read_block(std::span<const hsize_t> start, std::span<const hsize_t> count,
                         hid_t mem_type, void* data) const {
  const Dataspace file_space = select(start, count, "read from");
  const Dataspace mem_space = Dataspace::simple(count);
  check(H5Dread(id(), mem_type, mem_space.id(), file_space.id(), H5P_DEFAULT, data), "read from",
        description());
}

// ---- Location

Location::Location(hid_t id, Close closer, std::string description, std::string file,
                   std::string path)
    : Handle(id, closer, std::move(description)), file_(std::move(file)), path_(std::move(path)) {}

std::string Location::child_path(const std::string& name) const {
  return path_.empty() ? name : path_ + "/" + name;
}

std::string Location::child_description(std::string_view kind, const std::string& name) const {
  std::string text = "the ";
  return text.append(kind).append(" \"" + child_path(name) + "\" in \"" + file_ + "\"");
}

Group Location::create_group(const std::string& name) {
  std::string description = child_description("group", name);
  const hid_t group = check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            "create", description);
  return {group, H5Gclose, std::move(description), file_, child_path(name)};
}

Group Location::open_group(const std::string& name) const {
  std::string description = child_description("group", name);
  const hid_t group = check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "open", description);
  return {group, H5Gclose, std::move(description), file_, child_path(name)};
}

Dataset Location::create_dataset(const std::string& name, hid_t type, const Dataspace& space,
                                 const PropertyList& creation) {
  std::string description = child_description("dataset", name);
  const hid_t dataset = check(
      H5Dcreate2(id(), name.c_str(), type, space.id(), H5P_DEFAULT, creation.id(), H5P_DEFAULT),
      "create", description);
  return {dataset, H5Dclose, std::move(description)};
}

Dataset Location::open_dataset(const std::string& name) const {
  std::string description = child_description("dataset", name);
  const hid_t dataset = check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "open", description);
  return {dataset, H5Dclose, std::move(description)};
}

bool Location::has_link(const std::string& name) const {
  return check(H5Lexists(id(), name.c_str(), H5P_DEFAULT), "look for \"" + name + "\" in", description()) > 0;
}

void Location::remove_link(const std::string& name) {
  check(H5Ldelete(id(), name.c_str(), H5P_DEFAULT), "remove", child_description("link", name));
}

bool Location::has_attribute(const std::string& name) const {
  return check(H5Aexists(id(), name.c_str()), "look for the attribute \"" + name + "\" of",
               description()) > 0;
}

Attribute Location::open_attribute(const std::string& name) const {
  std::string description = "the attribute \"" + name + "\" of " + this->description();
  const hid_t attribute = check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), "open", description);
  return {attribute, H5Aclose, std::move(description)};
}

Attribute Location::new_attribute(const std::string& name, hid_t type, const Dataspace& space) {
  std::string description = "the attribute \"" + name + "\" of " + this->description();
  if (has_attribute(name)) check(H5Adelete(id(), name.c_str()), "delete", description);
  const hid_t attribute = check(
      H5Acreate2(id(), name.c_str(), type, space.id(), H5P_DEFAULT, H5P_DEFAULT), "create",
      description);
  return {attribute, H5Aclose, std::move(description)};
}

void Location::set_attribute(const std::string& name, std::string_view text) {
  // HDF5 has no zero-length strings: an empty text is stored as one NUL, which the NUL padding
  // reads back as empty.
  std::string stored(text);
  stored.resize(std::max<std::size_t>(stored.size(), 1), '\0');
  const Datatype type = Datatype::fixed_string(stored.size(), H5T_CSET_UTF8);
  new_attribute(name, type.id(), Dataspace::scalar()).write(type.id(), stored.data());
}

std::string Location::string_attribute(const std::string& name) const {
  const Attribute attribute = open_attribute(name);
  // Reading through the stored type itself avoids HDF5's refusal to convert between character
  // sets, whichever one the writer chose.
  const Datatype type = attribute.type();
  if (!type.is_fixed_string()) fail("read", attribute.description(), "not a fixed-length string");
  std::string text(type.size(), '\0');
  attribute.read(type.id(), text.data());
  text.erase(text.find_last_not_of('\0') + 1);
  return text;
}

// ---- File

File File::create(const std::string& path, const PropertyList& access) {
  silence_error_printing();
  std::string description = "the file \"" + path + "\"";
  const hid_t file =
      check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, access.id()), "create", description);
  return {file, H5Fclose, std::move(description), path, ""};
}

File File::open(const std::string& path, unsigned flags, const PropertyList& access) {
  silence_error_printing();
  std::string description = "the file \"" + path + "\"";
  const hid_t file = check(H5Fopen(path.c_str(), flags, access.id()), "open", description);
  return {file, H5Fclose, std::move(description), path, ""};
}

void File::flush() { check(H5Fflush(id(), H5F_SCOPE_GLOBAL), "flush", description()); }

}  // namespace icl::h5
