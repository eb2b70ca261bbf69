// Without libFuzzer: runs every file named (or every file under a directory
// named) through the target once. A crash is a failed test; the sanitizer
// build turns memory errors into crashes.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/source.h"
#include "targets.h"

int main(int argc, char** argv) {
  namespace fs = std::filesystem;
  size_t runs = 0;
  for (int i = 1; i < argc; ++i) {
    std::vector<fs::path> files;
    if (fs::is_directory(argv[i])) {
      for (const auto& e : fs::recursive_directory_iterator(argv[i]))
        if (e.is_regular_file()) files.push_back(e.path());
    } else {
      files.emplace_back(argv[i]);
    }
    for (const auto& f : files) {
      std::string text;
      if (!natc::base::read_file(f.string(), &text)) {
        fprintf(stderr, "cannot read %s\n", f.c_str());
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(text.data()), text.size());
      ++runs;
    }
  }
  printf("%zu inputs, no crash\n", runs);
  return runs ? 0 : 1;
}
