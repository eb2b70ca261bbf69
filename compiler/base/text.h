// Text from outside (spec values, other tools' comments, file names) on its
// way to a terminal or a JSON document: nothing in it may move the cursor,
// forge a line, turn text around or break the encoding.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <string_view>

namespace natc::base {

// Control characters (but newline and tab), DEL, C1 controls, Unicode's
// direction and invisible formatting marks, and bytes that are not UTF-8,
// written as escapes (\x1b, \u202e): a line stays one line, as printed.
std::string terminal_safe(std::string_view text);
// The same for one value inside a line: newlines and tabs escaped too.
std::string one_line(std::string_view text);
// The bytes of the character at text[i] (1 for a byte that is not UTF-8).
size_t char_length(std::string_view text, size_t i);
// At most `max` bytes of `text` (cut at a character), with "…" when cut.
std::string clip(std::string_view text, size_t max);

// JSON as text; bytes that are not UTF-8 become U+FFFD instead of an
// exception (nlohmann's default).
std::string json_text(const nlohmann::json& j, int indent = 2);

}  // namespace natc::base
