// A YAML document as a flat array of nodes, built from yaml-cpp's event API.
//
// YAML::Load builds a node graph that costs ~50 bytes of heap per source
// byte; this tree stores each node in 24 bytes and all scalar text in one
// arena, so reading a 100k-forward spec stays close to the parser's own cost.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/diag.h"
#include "base/source.h"

namespace natc::spec {

class ParseCache;

enum class Kind : uint8_t { Null, Scalar, Seq, Map };

class Tree {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  struct Node {
    Kind kind;
    bool plain;  // scalar written without quotes
    base::Loc loc;
    uint32_t text = 0;       // scalar: offset into the arena
    uint32_t len = 0;        // scalar: byte length; seq/map: number of children
    uint32_t first = kNone;  // seq/map: first child (maps alternate key, value)
    uint32_t next = kNone;   // next sibling
  };

  // Parses `file`; syntax errors, non-UTF-8 text and an empty document are
  // reported and leave root() == kNone.
  static Tree parse(const base::SourceFile& file, base::Diagnostics& diags);
  // The same from a JSON spec (json_tree.cc): the same tree, positions of
  // every value included.
  static Tree parse_json(const base::SourceFile& file, base::Diagnostics& diags);

  // A spec directory's files, each parsed alone and moved to its lines in
  // `whole`, merged into one tree (directory.cc): mappings merge key by
  // key, lists concatenate, a value set in two files must be the same.
  // With `cache`, a file whose stamp matches its cache entry is not parsed
  // again, and a file that parsed cleanly is kept there (spec/cache.h).
  static Tree parse_directory(const base::SourceFile& whole, base::Diagnostics& diags, ParseCache* cache = nullptr);
  // Whichever of the three `file` is: a spec directory, a file named
  // *.json, or YAML.
  static Tree read(const base::SourceFile& file, base::Diagnostics& diags, ParseCache* cache = nullptr);

  uint32_t root() const { return root_; }
  const Node& node(uint32_t i) const { return nodes_[i]; }
  std::string_view scalar(uint32_t i) const { return std::string_view(arena_).substr(nodes_[i].text, nodes_[i].len); }
  size_t size() const { return nodes_.size(); }

 private:
  friend class TreeBuilder;
  friend class JsonBuilder;
  friend class TreeMerger;
  friend class TreeCodec;
  std::vector<Node> nodes_;
  std::string arena_;
  uint32_t root_ = kNone;
};

// The document as JSON text (json_tree.cc): what a .json spec of the same
// content holds. Plain scalars that are whole numbers or true/false become
// JSON numbers and booleans, every other scalar a string; aliases are
// written out.
std::string to_json(const Tree& t);

// E1003, worded once for YAML and JSON: an empty spec is not a request to
// remove everything.
void report_empty_spec(base::Diagnostics& diags);

// Position of the first byte that is not UTF-8, or {0,0} when all are.
base::Loc find_invalid_utf8(std::string_view text);

}  // namespace natc::spec
