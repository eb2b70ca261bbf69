// Sysctls on this machine: /proc/sys (of the network namespace natc runs
// in) and SYSCTL_DIR/90-natc.conf.
#pragma once

#include <string>

#include "sysctl/store.h"

namespace natc::sysctl {

struct Paths {
  std::string proc_sys = "/proc/sys";
  std::string sysctl_dir = "/etc/sysctl.d";
  std::string file() const;
};

class ProcStore : public Store {
 public:
  explicit ProcStore(Paths p) : p_(std::move(p)) {}
  std::optional<std::string> value(const std::string& key) override;
  void write(const std::string& key, const std::string& value) override;
  std::optional<std::string> file() override;
  // A unique temp file, fsync, rename, fsync of the directory.
  void write_file(const std::string& content) override;
  bool remove_file() override;

 private:
  Paths p_;
};

}  // namespace natc::sysctl
