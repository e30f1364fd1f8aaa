// One libFuzzer binary per target: TCONV_FUZZ_TARGET names the function of fuzz/targets.hpp.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return tconv::fuzz::TCONV_FUZZ_TARGET(data, size);
}
