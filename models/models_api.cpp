// The C entry point of libicl_models.so (models_api.hpp), looked up by the program with dlsym.
#include "models_api.hpp"

extern "C" const icl::ModelsApi* icl_models_api() {
  static const icl::ModelsApi api{&icl::train_sampled, &icl::device_available, &icl::cuda_devices,
                                      &icl::device_name};
  return &api;
}
