// The C entry point of libicl_models.so, looked up by the program with dlsym.
#include "sampled_training.hpp"

extern "C" const icl::ModelsApi* icl_models_api() {
  static const icl::ModelsApi api{&icl::train_sampled, &icl::device_available};
  return &api;
}
