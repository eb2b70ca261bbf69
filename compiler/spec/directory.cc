// Spec directories: natc plan|apply|validate DIR reads every *.yaml, *.yml
// and *.json file in DIR, in name order, as one spec.
#include <algorithm>
#include <map>

#include "spec/cache.h"
#include "spec/yaml_tree.h"

namespace natc::spec {

// Copies nodes of the files' trees into one, merging where two files say
// the same key.
class TreeMerger {
 public:
  TreeMerger(const base::SourceFile& whole, base::Diagnostics& diags) : whole_(whole), d_(diags) {}

  // One file's tree, its positions moved `lines` down (its place in the
  // whole text).
  void add(Tree t, uint32_t lines) {
    for (auto& n : t.nodes_)
      if (n.loc.line) n.loc.line += lines;
    if (t.nodes_[t.root_].kind != Kind::Map) {
      d_.report(base::Code::WrongType, t.nodes_[t.root_].loc,
                "a spec file holds a mapping of sections (version, subnets, port_forwards, ...)");
      return;
    }
    parts_.push_back(std::move(t));
  }

  Tree merged() {
    std::vector<Source> roots;
    for (const Tree& t : parts_) roots.push_back({&t, t.root_});
    if (!roots.empty()) out_.root_ = merge(roots);
    return std::move(out_);
  }

 private:
  struct Source {
    const Tree* t;
    uint32_t node;
    const Tree::Node& n() const { return t->nodes_[node]; }
    std::string_view text() const { return std::string_view(t->arena_).substr(n().text, n().len); }
  };

  uint32_t add_node(const Tree::Node& like) {
    out_.nodes_.push_back(like);
    Tree::Node& n = out_.nodes_.back();
    n.first = n.next = Tree::kNone;
    n.len = 0;
    return uint32_t(out_.nodes_.size() - 1);
  }

  void append(uint32_t parent, uint32_t& last, uint32_t child) {
    if (last == Tree::kNone)
      out_.nodes_[parent].first = child;
    else
      out_.nodes_[last].next = child;
    last = child;
    ++out_.nodes_[parent].len;
  }

  uint32_t copy(const Source& s) {
    uint32_t i = add_node(s.n());
    if (s.n().kind == Kind::Scalar) {
      out_.nodes_[i].text = uint32_t(out_.arena_.size());
      out_.nodes_[i].len = uint32_t(s.text().size());
      out_.arena_ += s.text();
      return i;
    }
    uint32_t last = Tree::kNone;
    for (uint32_t c = s.n().first; c != Tree::kNone; c = s.t->nodes_[c].next) append(i, last, copy({s.t, c}));
    return i;
  }

  std::string where(const Source& s) const {
    auto at = whole_.place(s.n().loc.line);
    return std::string(at.file) + ":" + std::to_string(at.line);
  }

  // The same key in several files: one value.
  uint32_t merge(const std::vector<Source>& from) {
    const Source& first = from[0];
    for (size_t k = 1; k < from.size(); ++k) {
      const Source& s = from[k];
      bool same = s.n().kind == first.n().kind && (s.n().kind != Kind::Scalar || s.text() == first.text());
      if (!same)
        d_.report(base::Code::SpecFilesDisagree, s.n().loc,
                  s.n().kind == first.n().kind ? "'" + std::string(s.text()) + "' here, but '" +
                                                     std::string(first.text()) + "' at " + where(first)
                                               : "this value is of another kind than at " + where(first),
                  "files of a spec directory may repeat a value, not change it");
    }
    if (first.n().kind == Kind::Seq) return concatenate(from);
    if (first.n().kind == Kind::Map) return merge_maps(from);
    return copy(first);
  }

  uint32_t concatenate(const std::vector<Source>& from) {
    uint32_t i = add_node(from[0].n());
    uint32_t last = Tree::kNone;
    for (const Source& s : from)
      if (s.n().kind == Kind::Seq)
        for (uint32_t c = s.n().first; c != Tree::kNone; c = s.t->nodes_[c].next) append(i, last, copy({s.t, c}));
    return i;
  }

  // Keys in the order they first appear. A key twice in one file stays
  // twice, for the reader to report (E1015).
  uint32_t merge_maps(const std::vector<Source>& from) {
    struct Group {
      Source key;
      std::vector<Source> values;
      const Tree* last_file;
    };
    std::vector<Group> groups;
    std::map<std::string_view, size_t> by_key;
    for (const Source& m : from) {
      if (m.n().kind != Kind::Map) continue;
      for (uint32_t k = m.n().first; k != Tree::kNone;) {
        uint32_t v = m.t->nodes_[k].next;
        if (v == Tree::kNone) break;
        Source key{m.t, k}, value{m.t, v};
        auto it = by_key.find(key.text());
        if (key.n().kind == Kind::Scalar && it != by_key.end() && groups[it->second].last_file != m.t) {
          groups[it->second].values.push_back(value);
          groups[it->second].last_file = m.t;
        } else {
          by_key[key.text()] = groups.size();
          groups.push_back({key, {value}, m.t});
        }
        k = m.t->nodes_[v].next;
      }
    }
    uint32_t i = add_node(from[0].n());
    uint32_t last = Tree::kNone;
    for (const Group& g : groups) {
      append(i, last, copy(g.key));
      append(i, last, merge(g.values));
    }
    return i;
  }

  const base::SourceFile& whole_;
  base::Diagnostics& d_;
  std::vector<Tree> parts_;
  Tree out_;
};

Tree Tree::read(const base::SourceFile& file, base::Diagnostics& diags, ParseCache* cache) {
  if (file.is_directory()) return parse_directory(file, diags, cache);
  return file.name().ends_with(".json") ? parse_json(file, diags) : parse(file, diags);
}

Tree Tree::parse_directory(const base::SourceFile& whole, base::Diagnostics& diags, ParseCache* cache) {
  TreeMerger merger(whole, diags);
  const auto& lines = whole.part_lines();
  auto parts = whole.parts();
  bool any = false;
  for (size_t i = 0; i < parts.size(); ++i) {
    uint32_t offset = lines[i].first - 1;
    if (auto t = cache ? cache->get(parts[i]) : std::nullopt) {
      any = true;
      merger.add(std::move(*t), offset);
      continue;
    }
    base::SourceFile file(parts[i].name, parts[i].text);
    base::Diagnostics own;
    Tree t = read(file, own);
    bool empty = t.root_ == kNone && own.all().size() == 1 && own.all()[0].code == base::Code::EmptySpec;
    if (empty) continue;  // a file of comments only: nothing in it
    any = true;
    const std::string& text = parts[i].text;
    auto last = uint32_t(std::count(text.begin(), text.end(), '\n') + (text.ends_with('\n') ? 0 : 1));
    own.clamp({last, uint32_t(file.line(last).size() + 1)});
    diags.merge(own, offset);
    if (t.root_ == kNone) continue;
    if (own.all().empty() && t.nodes_[t.root_].kind == Kind::Map) {
      // Kept as the merger writes trees: aliases written out, every link
      // forward (what the cache checks on reading).
      TreeMerger one(file, own);
      one.add(std::move(t), 0);
      t = one.merged();
      if (cache) cache->put(parts[i], t);
    }
    merger.add(std::move(t), offset);
  }
  if (!any) {
    diags.report(base::Code::EmptySpec, {}, "the spec directory holds no spec (*.yaml, *.yml or *.json files)",
                 "to remove everything natc manages, run 'natc destroy'");
    return {};
  }
  return merger.merged();
}

}  // namespace natc::spec
