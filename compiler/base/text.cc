#include "base/text.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace natc::base {
namespace {

// The length of a well-formed UTF-8 sequence at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (!n || i + n > s.size() || (n == 2 && c < 0xc2)) return 0;
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return 0;
  return n;
}

uint32_t code_point(std::string_view s, size_t i, size_t n) {
  auto b = [&](size_t k) { return uint32_t(static_cast<unsigned char>(s[i + k])); };
  if (n == 1) return b(0);
  if (n == 2) return (b(0) & 0x1f) << 6 | (b(1) & 0x3f);
  if (n == 3) return (b(0) & 0x0f) << 12 | (b(1) & 0x3f) << 6 | (b(2) & 0x3f);
  return (b(0) & 0x07) << 18 | (b(1) & 0x3f) << 12 | (b(2) & 0x3f) << 6 | (b(3) & 0x3f);
}

// Marks that reorder or hide text: bidi embeddings, overrides and
// isolates, the direction marks, zero-width characters, the BOM.
bool invisible(uint32_t cp) {
  return (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e || cp == 0x200f ||
         cp == 0x061c || (cp >= 0x200b && cp <= 0x200d) || cp == 0x2060 || cp == 0xfeff || (cp >= 0x80 && cp < 0xa0);
}

std::string escaped(std::string_view text, bool keep_layout) {
  std::string out;
  out.reserve(text.size());
  char buf[16];
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8_length(text, i);
    if (!n) {
      snprintf(buf, sizeof buf, "\\x%02x", static_cast<unsigned char>(text[i]));
      out += buf, ++i;
      continue;
    }
    uint32_t cp = code_point(text, i, n);
    bool layout = keep_layout && (cp == '\n' || cp == '\t');
    if ((cp < 0x20 || cp == 0x7f) && !layout) {
      snprintf(buf, sizeof buf, "\\x%02x", unsigned(cp));
      out += buf;
    } else if (invisible(cp)) {
      snprintf(buf, sizeof buf, "\\u%04x", unsigned(cp));
      out += buf;
    } else {
      out.append(text.data() + i, n);
    }
    i += n;
  }
  return out;
}

}  // namespace

size_t char_length(std::string_view text, size_t i) { return std::max<size_t>(1, utf8_length(text, i)); }

std::string terminal_safe(std::string_view text) { return escaped(text, true); }
std::string one_line(std::string_view text) { return escaped(text, false); }

std::string clip(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) >> 6) == 2) --cut;  // not inside a character
  return std::string(text.substr(0, cut)) + "…";
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace natc::base
