// The image of what natc's last apply left in the kernel: the ruleset
// generation it left, where that number counts (kernel::Kernel::instance)
// and natc's sets with their elements, the bulk of a dump. While the
// kernel's generation is still that one, nothing in the ruleset has
// changed since, so natc reads only its chains and rules and takes the
// sets from the image. Any commit by anyone moves the generation; then,
// or when the image is missing or damaged, natc reads the whole table.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "state/dir.h"

namespace natc::state {

inline constexpr std::string_view kImageFile = "image.bin";

struct Image {
  std::string instance;
  uint32_t genid = 0;
  std::vector<nft::Set> sets;
};

std::string encode_image(std::string_view instance, uint32_t genid, const std::vector<nft::Set>& sets);
// nullopt, with `why`, for anything but an intact image of this format.
std::optional<Image> decode_image(std::string_view bytes, std::string* why);

// Records that natc left `sets` at generation `genid` of this kernel.
// Throws Error.
void write_image(Dir& d, kernel::Kernel& k, uint32_t genid, const std::vector<nft::Set>& sets);

// natc's table as it is now, from the image when nothing changed since it
// was written; nullopt, with `why` (for -v), when the table must be read.
std::optional<kernel::Live> live_from_image(kernel::Kernel& k, Dir& d, std::string* why);
// The same, or else the whole table read; `how` says which ("image", or
// "dump: " and why).
kernel::Live read_live(kernel::Kernel& k, Dir& d, std::string* how);

}  // namespace natc::state
