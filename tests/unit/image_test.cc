// The image of the last apply (state/image.h): it round-trips, refuses any
// damaged byte, and the live state planned from it hashes as a dump of the
// same table does.
#include <doctest/doctest.h>

#include "base/binary.h"
#include "helpers.h"
#include "kernel/live_decode.h"
#include "kernel/preview.h"
#include "nft/build.h"
#include "state/image.h"

using namespace natc;

namespace {

nft::Table table_of(const std::string& name) {
  auto fe = test::front(test::example(name));
  REQUIRE(fe.ok());
  return nft::build(fe.ir);
}

bool same_sets(const std::vector<nft::Set>& a, const std::vector<nft::Set>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const nft::Set &x = a[i], &y = b[i];
    if (x.name != y.name || x.family != y.family || x.key != y.key || x.data != y.data || x.interval != y.interval ||
        x.counter != y.counter || x.role != y.role || x.elements != y.elements)
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("every example's sets round-trip through an image") {
  for (const char* name : test::kExamples) {
    std::string example = name;
    CAPTURE(example);
    nft::Table t = table_of(name);
    std::string bytes = state::encode_image("boot/7", 41, t.sets);
    std::string why;
    auto img = state::decode_image(bytes, &why);
    REQUIRE_MESSAGE(img, why);
    CHECK(img->instance == "boot/7");
    CHECK(img->genid == 41);
    CHECK(same_sets(img->sets, t.sets));
  }
}

TEST_CASE("an image with any byte changed or missing is refused, with a reason") {
  std::string bytes = state::encode_image("boot/7", 41, table_of("gateway").sets);
  std::string why;
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string changed = bytes;
    changed[i] = char(changed[i] ^ 0x20);
    CHECK_FALSE(state::decode_image(changed, &why));
  }
  for (size_t n = 0; n < bytes.size(); n += 7) CHECK_FALSE(state::decode_image(bytes.substr(0, n), &why));
  CHECK_FALSE(state::decode_image(bytes + "x", &why));
  CHECK(why == "checksum mismatch");
  CHECK_FALSE(state::decode_image("natc-image\n\x02", &why));
}

TEST_CASE("an intact checksum over nonsense is refused without reading or allocating past the input") {
  base::BinaryWriter w;
  w.str("boot/7");
  w.u32(1);
  w.u32(0xffffffff);  // four billion sets
  std::string why;
  CHECK_FALSE(state::decode_image(w.file("natc-image\n", 1), &why));
  base::BinaryWriter w2;
  w2.str("boot/7");
  w2.u32(1);
  w2.u32(1);  // one set
  w2.str("s");
  w2.u8(9);  // no such family
  CHECK_FALSE(state::decode_image(w2.file("natc-image\n", 1), &why));
  CHECK(why == "malformed");
}

TEST_CASE("live state from the image and the chains hashes as a whole dump of the same table") {
  for (const char* name : test::kExamples) {
    std::string example = name;
    CAPTURE(example);
    nft::Table t = table_of(name);
    kernel::Dump whole = kernel::dump_of(t, 9);
    kernel::Live from_dump = kernel::decode_live(whole);
    kernel::Dump partial = whole;
    partial.sets.clear();
    partial.elements.clear();
    kernel::Live from_image = kernel::decode_live(partial);
    for (const auto& s : t.sets) from_image.sets.push_back({s, true});
    kernel::finish_hash(from_image);
    CHECK(from_image.hash == from_dump.hash);
    // and the hash sees an element's entry change
    if (!t.sets.empty() && !from_image.sets[0].set.elements.empty()) {
      from_image.sets[0].set.elements[0].entry += "x";
      kernel::finish_hash(from_image);
      CHECK(from_image.hash != from_dump.hash);
    }
  }
}
