// "did you mean ...?" suggestions.
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

namespace natc::base {

// The closest candidate to `word` within a small edit distance, or "".
std::string closest(std::string_view word, std::span<const std::string_view> candidates);
std::string closest(std::string_view word, std::initializer_list<std::string_view> candidates);

// "did you mean 'x'?", or `otherwise` when nothing is close.
std::string did_you_mean(std::string_view word, std::span<const std::string_view> candidates,
                         std::string otherwise = "");
std::string did_you_mean(std::string_view word, std::initializer_list<std::string_view> candidates,
                         std::string otherwise = "");

}  // namespace natc::base
