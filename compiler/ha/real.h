// The pair's daemons on this machine: files on disk, keepalived by its pid
// file, conntrackd through its own command line.
#pragma once

#include <memory>

#include "ha/files.h"

namespace natc::ha {

std::unique_ptr<Host> real_host(Paths p);

// Runs argv[0] (found on PATH, /usr/sbin and /sbin) with `argv`, stdin
// from /dev/null; its stdout and stderr together, at most 64 KiB kept.
// Killed after `timeout_ms`. code -1 when it could not be started.
Run run_program(const std::vector<std::string>& argv, int timeout_ms);

}  // namespace natc::ha
