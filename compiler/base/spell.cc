#include "base/spell.h"

#include <algorithm>
#include <cctype>
#include <vector>

namespace natc::base {
namespace {

// Edits between a and b, case aside, a swap of two neighbours counting as
// one ('wna' is one from 'wan'): the optimal string alignment distance.
size_t edit_distance(std::string_view a, std::string_view b) {
  auto eq = [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
  };
  size_t w = b.size() + 1;
  std::vector<size_t> d((a.size() + 1) * w);
  auto at = [&](size_t i, size_t j) -> size_t& { return d[i * w + j]; };
  for (size_t i = 0; i <= a.size(); ++i) at(i, 0) = i;
  for (size_t j = 0; j <= b.size(); ++j) at(0, j) = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      at(i, j) = std::min({at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + (eq(a[i - 1], b[j - 1]) ? 0 : 1)});
      if (i > 1 && j > 1 && eq(a[i - 1], b[j - 2]) && eq(a[i - 2], b[j - 1]))
        at(i, j) = std::min(at(i, j), at(i - 2, j - 2) + 1);
    }
  return at(a.size(), b.size());
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
