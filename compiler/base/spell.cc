#include "base/spell.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace natc::base {
namespace {

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      bool same =
          std::tolower(static_cast<unsigned char>(a[i - 1])) == std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest(std::string_view word, std::span<const std::string_view> candidates) {
  // Up to a third of the word may be wrong, and at least one edit is allowed:
  // 'tcp_establised' finds 'tcp_established', 'x' finds nothing.
  size_t best = std::max<size_t>(1, word.size() / 3) + 1;
  std::string_view found;
  for (std::string_view c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best) best = d, found = c;
  }
  return std::string(found);
}

std::string closest(std::string_view word, std::initializer_list<std::string_view> candidates) {
  return closest(word, std::span<const std::string_view>(candidates.begin(), candidates.size()));
}

std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates, std::string otherwise) {
  std::string c = closest(word, candidates);
  return c.empty() ? std::move(otherwise) : "did you mean '" + c + "'?";
}

std::string did_you_mean(std::string_view word, std::initializer_list<std::string_view> candidates,
                         std::string otherwise) {
  return did_you_mean(word, std::span<const std::string_view>(candidates.begin(), candidates.size()),
                      std::move(otherwise));
}

}  // namespace natc::base
