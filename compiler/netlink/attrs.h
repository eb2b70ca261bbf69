// Walking netlink attributes: libmnl's loops are C macros that C++ will
// not compile (they assign void* to typed pointers).
#pragma once

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstdint>
#include <vector>

namespace natc::netlink {

// A received message kept as bytes (a Dump's), as the header libnftnl parses.
inline const nlmsghdr* header(const std::vector<uint8_t>& m) { return reinterpret_cast<const nlmsghdr*>(m.data()); }

template <class F>
void for_each_attr(const nlmsghdr* nlh, size_t offset, F&& f) {
  auto* a = static_cast<const nlattr*>(mnl_nlmsg_get_payload_offset(nlh, offset));
  auto* tail = static_cast<const char*>(mnl_nlmsg_get_payload_tail(nlh));
  for (; mnl_attr_ok(a, int(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) f(a);
}

template <class F>
void for_each_nested(const nlattr* nest, F&& f) {
  auto* a = static_cast<const nlattr*>(mnl_attr_get_payload(nest));
  auto* tail = reinterpret_cast<const char*>(mnl_attr_get_payload(nest)) + mnl_attr_get_payload_len(nest);
  for (; mnl_attr_ok(a, int(tail - reinterpret_cast<const char*>(a))); a = mnl_attr_next(a)) f(a);
}

// Each element nest of a NEWSETELEM/DELSETELEM message, in order.
template <class F>
void for_each_element(const nlmsghdr* nlh, F&& f) {
  for_each_attr(nlh, sizeof(nfgenmsg), [&](const nlattr* list) {
    if (mnl_attr_get_type(list) == NFTA_SET_ELEM_LIST_ELEMENTS) for_each_nested(list, f);
  });
}

}  // namespace natc::netlink
