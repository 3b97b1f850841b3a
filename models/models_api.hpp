#pragma once
#include <string>

#include "sampled_training.hpp"

// What the shared library libicl_models.so provides, and the one symbol it exports. The program
// never links it: models_library.hpp loads it on first use (dlopen), so that a sweep without
// sampled models never pays for loading libtorch; both sides are built together, so the C++
// types cross unchanged.
namespace icl {

struct ModelsApi {
  // icl::train_sampled, models/trainer.cpp (sampled_training.hpp says what it does).
  SampledOutcome (*train_sampled)(const SampledSetup& setup, CancelCheck cancelled);
  // icl::device_available, models/trainer.cpp.
  bool (*device_available)(const std::string& device, std::string& why);
  int (*cuda_devices)();                                  // icl::cuda_devices
  std::string (*device_name)(const std::string& device);  // icl::device_name
};

}  // namespace icl

// The library's entry point (models/models_api.cpp), looked up by name with dlsym.
extern "C" const icl::ModelsApi* icl_models_api();
inline constexpr const char* kModelsApiSymbol = "icl_models_api";
