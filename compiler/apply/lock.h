// Serialises natc processes: one apply, destroy or snapshot at a time.
#pragma once

#include <stdexcept>
#include <string>

namespace natc::apply {

class Lock {
 public:
  // Waits up to `seconds` for the lock; throws std::runtime_error naming the
  // holder's pid when it does not come free.
  Lock(const std::string& path, int seconds);
  ~Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace natc::apply
