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
#include "ha/files.h"
#include "kernel/kernel.h"
#include "state/dir.h"
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
  // Whether the kernel has module `name` (loaded, built in, or on disk to
  // be loaded); nullopt when this machine cannot tell.
  virtual std::optional<bool> has_module(const std::string& name) = 0;
  // Waits for the lock; throws std::runtime_error naming its holder.
  virtual std::unique_ptr<Held> lock() = 0;

  // Time, for confirmation windows: milliseconds since the epoch, and a pause.
  virtual int64_t now_ms() = 0;
  virtual void sleep_ms(int ms) = 0;
  // The guard of a confirmation window: a process of its own (detached
  // from the terminal and from this one) that rolls change `n` back when
  // its window ends unconfirmed. Returns its pid.
  virtual int64_t start_guard(uint64_t n) = 0;
  virtual void stop_guard(int64_t pid) = 0;  // it is no longer needed
  // To the system log (the journal), and stderr.
  virtual void log(const std::string& message) = 0;
  virtual int64_t pid() = 0;  // this process's
};

struct System {
  kernel::Kernel& kernel;
  conntrack::Table& conntrack;
  sysctl::Store& sysctls;
  Host& host;
  state::Dir& state;
  ha::Host* ha = nullptr;  // a gateway pair's daemons; none for a snapshot
};

// A System together with what it is made of: the machine (real.h) or a
// snapshot file (snapshot.h).
class Machine {
 public:
  virtual ~Machine() = default;
  virtual System& get() = 0;
};

}  // namespace natc::system
