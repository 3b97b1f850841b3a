#include "models_library.hpp"

#include <dlfcn.h>

#include <filesystem>
#include <stdexcept>
#include <string>

#include "environment_error.hpp"

namespace icl {
namespace {

const ModelsApi& load() {
  std::error_code ec;
  const std::filesystem::path beside =
      std::filesystem::read_symlink("/proc/self/exe", ec).parent_path() / "libicl_models.so";
  std::string errors;
  for (const std::string& path : {beside.string(), std::string(ICL_MODELS_LIBRARY)}) {
    // RTLD_LOCAL: the library's symbols (its own copy of the core, libtorch's) stay its own.
    if (void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL)) {
      using Entry = decltype(&icl_models_api);
      if (const auto entry = reinterpret_cast<Entry>(::dlsym(handle, kModelsApiSymbol))) return *entry();
      errors += "; " + path + ": no " + kModelsApiSymbol;
    } else {
      errors += std::string("; ") + ::dlerror();
    }
  }
  throw EnvironmentError("cannot load the sampled models' library" + errors);
}

}  // namespace

const ModelsApi& models_library() {
  static const ModelsApi& api = load();  // once, thread-safe
  return api;
}

}  // namespace icl
