// The parse cache of spec directories (issue 12): each file's tree, kept in
// the state directory under a name from its path, with the file's stamp
// (size, mtime, inode, device). A file whose stamp still matches is not
// parsed again. An entry is checked before it is trusted (format version,
// checksum, the path and stamp it was made for, and a tree that is a tree:
// every index in range, every node reached once), else it is ignored and
// rewritten.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "spec/yaml_tree.h"
#include "state/dir.h"

namespace natc::spec {

// The cache entry's name for a file.
std::string cache_name(std::string_view path);
std::string encode_cached(std::string_view path, const base::SourceFile::Stamp& stamp, const Tree& t);
// nullopt, with `why`, for a damaged entry or one made for another file or
// content.
std::optional<Tree> decode_cached(std::string_view bytes, std::string_view path, const base::SourceFile::Stamp& stamp,
                                  std::string* why);

// The cache as the front end uses it: entries read from the state
// directory, and entries to write held until the whole spec turned out to
// have no errors (bad input changes nothing, not even the cache).
class ParseCache {
 public:
  explicit ParseCache(state::Dir& dir) : dir_(dir) {}
  std::optional<Tree> get(const base::SourceFile::Part& file);
  void put(const base::SourceFile::Part& file, const Tree& t);
  void commit();  // a cache that cannot be written is no cache, and nothing else
  size_t hits = 0, misses = 0;

 private:
  state::Dir& dir_;
  std::vector<std::pair<std::string, std::string>> held_;  // name, bytes
};

}  // namespace natc::spec
