// RAII owners for libnftnl objects and iterators, and null-safe reads of
// their strings (a string attribute may be absent from a hostile message).
#pragma once

#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/object.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>

#include <memory>
#include <optional>
#include <string>

namespace natc::netlink {

template <auto Free>
struct Deleter {
  template <class T>
  void operator()(T* p) const {
    Free(p);
  }
};

using TablePtr = std::unique_ptr<nftnl_table, Deleter<nftnl_table_free>>;
using ChainPtr = std::unique_ptr<nftnl_chain, Deleter<nftnl_chain_free>>;
using RulePtr = std::unique_ptr<nftnl_rule, Deleter<nftnl_rule_free>>;
using SetPtr = std::unique_ptr<nftnl_set, Deleter<nftnl_set_free>>;
using ObjPtr = std::unique_ptr<nftnl_obj, Deleter<nftnl_obj_free>>;
using ExprIterPtr = std::unique_ptr<nftnl_expr_iter, Deleter<nftnl_expr_iter_destroy>>;
using ElemIterPtr = std::unique_ptr<nftnl_set_elems_iter, Deleter<nftnl_set_elems_iter_destroy>>;

// A string from libnftnl, or nullopt when the attribute is missing.
inline std::optional<std::string> str(const char* s) {
  if (!s) return std::nullopt;
  return std::string(s);
}

// Calls f(expr) for each expression of a rule.
template <class F>
void for_each_expr(const nftnl_rule* r, F&& f) {
  ExprIterPtr it(nftnl_expr_iter_create(r));
  if (!it) return;
  for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e; e = nftnl_expr_iter_next(it.get())) f(e);
}

// Calls f(element) for each element a set message carries.
template <class F>
void for_each_elem(const nftnl_set* s, F&& f) {
  ElemIterPtr it(nftnl_set_elems_iter_create(s));
  if (!it) return;
  for (nftnl_set_elem* e = nftnl_set_elems_iter_next(it.get()); e; e = nftnl_set_elems_iter_next(it.get())) f(e);
}

}  // namespace natc::netlink
