// The fuzz targets' shared entry point: built with libFuzzer (clang,
// -Dlibfuzzer=true) each target is a fuzzer; otherwise driver.cc replays
// files (the seed corpus and regressions/) through it as a test.
#pragma once

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
