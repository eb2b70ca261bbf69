// The baseline for the reader benchmark: yaml-cpp alone on the same file.
//   yaml-baseline events FILE   parse with a no-op EventHandler (the floor)
//   yaml-baseline load FILE     YAML::Load, a full node graph
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <cstring>
#include <fstream>
#include <iostream>

namespace {

class Nothing : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override { ++scalars; }
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t, YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
  size_t scalars = 0;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: yaml-baseline events|load FILE\n";
    return 2;
  }
  std::ifstream in(argv[2]);
  if (std::strcmp(argv[1], "load") == 0) {
    YAML::Node n = YAML::Load(in);
    std::cout << n.size() << " top-level keys\n";
  } else {
    YAML::Parser parser(in);
    Nothing h;
    parser.HandleNextDocument(h);
    std::cout << h.scalars << " scalars\n";
  }
  return 0;
}
