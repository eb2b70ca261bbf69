// Everything natc does to the machine, behind small interfaces: nftables
// and routes (kernel::Kernel), conntrack (conntrack::Table), sysctls
// (sysctl::Store) and the host itself (memory, the lock). The engines in
// plan/, apply/ and status/ see only these; system::open() gives the real
// ones and the unit tests a fake.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "conntrack/flows.h"
#include "kernel/kernel.h"
#include "sysctl/store.h"

namespace natc::system {

// Held while natc changes the kernel: one natc at a time.
class Held {
 public:
  virtual ~Held() = default;
};

class Host {
 public:
  virtual ~Host() = default;
  virtual std::optional<uint64_t> mem_total() = 0;  // bytes (MemTotal)
  // Waits for the lock; throws std::runtime_error naming its holder.
  virtual std::unique_ptr<Held> lock() = 0;
};

struct System {
  kernel::Kernel& kernel;
  conntrack::Table& conntrack;
  sysctl::Store& sysctls;
  Host& host;
};

// A System together with what it is made of: the machine (real.h) or a
// snapshot file (snapshot.h).
class Machine {
 public:
  virtual ~Machine() = default;
  virtual System& get() = 0;
};

}  // namespace natc::system
