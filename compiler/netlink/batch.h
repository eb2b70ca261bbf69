// A plan's batch as the bytes netlink sends, built apart from sending it
// (nftables keeps mnl.c's batch building apart from mnl_batch_talk too).
// Beside the bytes it records which spec entry each message, and each
// element nest in it, comes from, so that a kernel refusal's (sequence
// number, attribute offset) names the line of the spec.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "kernel/kernel.h"

namespace natc::netlink {

struct BatchBytes {
  struct Nest {
    uint32_t begin, end;  // byte offsets in the message
    std::string entry;
  };
  struct Message {
    uint32_t seq;
    size_t start;             // where it starts in `bytes`
    std::string entry;        // the op's entry
    std::vector<Nest> nests;  // element messages: each element nest's entry
  };
  std::vector<char> bytes;
  std::vector<Message> messages;  // the batch's own begin and end are not listed
  uint32_t next_seq = 0;          // the first sequence number not used

  // The spec entry behind byte `offset` of message `seq`: an element's when
  // the offset falls in its nest, else the message's op's; "" if unknown.
  std::string entry_at(uint32_t seq, uint32_t offset) const;
  // Message `seq` as sent, for reading an ack against it.
  const Message* message(uint32_t seq) const;
};

// BATCH_BEGIN (carrying the genid when set), one or more messages per op,
// BATCH_END; sequence numbers from `first_seq` on. A pure function: the
// same batch and first_seq give the same bytes.
BatchBytes build_batch(const kernel::Batch& b, uint32_t first_seq);

// Renders the bytes as hex lines, one block per message with its type:
// golden payload files, like nftables' tests/py/*.payload.
std::string hexdump(const BatchBytes& bb);

}  // namespace natc::netlink
