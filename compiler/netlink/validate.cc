#include "netlink/validate.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>

#include <cstring>
#include <optional>
#include <span>
#include <string_view>

namespace natc::netlink {
namespace {

constexpr int kMaxDepth = 16;       // nf_tables nests a handful deep
constexpr size_t kMaxString = 512;  // nf_tables names are at most 256 bytes
constexpr size_t kMaxValue = 64;    // NFT_DATA_VALUE_MAXLEN
constexpr size_t kHead = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));

using Verdict = Checked::Verdict;

// --- bounds ----------------------------------------------------------------

// Attributes in [p, p + len): each whole, nests (NLA_F_NESTED) walked too.
std::string check_attrs(const uint8_t* p, size_t len, int depth) {
  if (depth > kMaxDepth) return "attributes nested too deep";
  for (size_t at = 0; at < len;) {
    if (len - at < sizeof(nlattr)) return "an attribute is cut short";
    const auto* a = reinterpret_cast<const nlattr*>(p + at);
    if (a->nla_len < sizeof(nlattr) || a->nla_len > len - at) return "an attribute's length runs past its message";
    if (a->nla_type & NLA_F_NESTED) {
      std::string why = check_attrs(p + at + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, depth + 1);
      if (!why.empty()) return why;
    }
    at += NLA_ALIGN(a->nla_len);
  }
  return "";
}

// --- kinds -------------------------------------------------------------------

// What nf_tables puts in each attribute (its nla_policy); Nest points at
// the attributes inside, List at what each NFTA_LIST_ELEM holds, Expr is
// an expression (NFTA_EXPR_NAME, NFTA_EXPR_DATA by name).
enum class Kind : uint8_t { U8, U32, U64, Str, Bin, Value, Pad, Nest, List, Expr };
struct Schema;
struct Attr {
  uint16_t type;
  Kind kind;
  const Schema* inner = nullptr;
};
struct Schema {
  std::span<const Attr> attrs;
};

template <size_t N>
constexpr Schema schema(const Attr (&a)[N]) {
  return {std::span<const Attr>(a, N)};
}

constexpr Attr kCounterAttrs[] = {
    {NFTA_COUNTER_BYTES, Kind::U64}, {NFTA_COUNTER_PACKETS, Kind::U64}, {NFTA_COUNTER_PAD, Kind::Pad}};
constexpr Schema kCounter = schema(kCounterAttrs);
constexpr Attr kVerdictAttrs[] = {
    {NFTA_VERDICT_CODE, Kind::U32}, {NFTA_VERDICT_CHAIN, Kind::Str}, {NFTA_VERDICT_CHAIN_ID, Kind::U32}};
constexpr Schema kVerdict = schema(kVerdictAttrs);
constexpr Attr kDataAttrs[] = {{NFTA_DATA_VALUE, Kind::Value}, {NFTA_DATA_VERDICT, Kind::Nest, &kVerdict}};
constexpr Schema kData = schema(kDataAttrs);

struct NamedExpr {
  std::string_view name;
  Schema schema;
};
constexpr Attr kMeta[] = {{NFTA_META_DREG, Kind::U32}, {NFTA_META_KEY, Kind::U32}, {NFTA_META_SREG, Kind::U32}};
constexpr Attr kPayload[] = {{NFTA_PAYLOAD_DREG, Kind::U32},        {NFTA_PAYLOAD_BASE, Kind::U32},
                             {NFTA_PAYLOAD_OFFSET, Kind::U32},      {NFTA_PAYLOAD_LEN, Kind::U32},
                             {NFTA_PAYLOAD_SREG, Kind::U32},        {NFTA_PAYLOAD_CSUM_TYPE, Kind::U32},
                             {NFTA_PAYLOAD_CSUM_OFFSET, Kind::U32}, {NFTA_PAYLOAD_CSUM_FLAGS, Kind::U32}};
constexpr Attr kCmp[] = {{NFTA_CMP_SREG, Kind::U32}, {NFTA_CMP_OP, Kind::U32}, {NFTA_CMP_DATA, Kind::Nest, &kData}};
constexpr Attr kBitwise[] = {{NFTA_BITWISE_SREG, Kind::U32},         {NFTA_BITWISE_DREG, Kind::U32},
                             {NFTA_BITWISE_LEN, Kind::U32},          {NFTA_BITWISE_MASK, Kind::Nest, &kData},
                             {NFTA_BITWISE_XOR, Kind::Nest, &kData}, {NFTA_BITWISE_OP, Kind::U32},
                             {NFTA_BITWISE_DATA, Kind::Nest, &kData}};
constexpr Attr kRange[] = {{NFTA_RANGE_SREG, Kind::U32},
                           {NFTA_RANGE_OP, Kind::U32},
                           {NFTA_RANGE_FROM_DATA, Kind::Nest, &kData},
                           {NFTA_RANGE_TO_DATA, Kind::Nest, &kData}};
constexpr Attr kCt[] = {
    {NFTA_CT_DREG, Kind::U32}, {NFTA_CT_KEY, Kind::U32}, {NFTA_CT_DIRECTION, Kind::U8}, {NFTA_CT_SREG, Kind::U32}};
constexpr Attr kFib[] = {{NFTA_FIB_DREG, Kind::U32}, {NFTA_FIB_RESULT, Kind::U32}, {NFTA_FIB_FLAGS, Kind::U32}};
constexpr Attr kLookup[] = {{NFTA_LOOKUP_SET, Kind::Str},
                            {NFTA_LOOKUP_SREG, Kind::U32},
                            {NFTA_LOOKUP_DREG, Kind::U32},
                            {NFTA_LOOKUP_SET_ID, Kind::U32},
                            {NFTA_LOOKUP_FLAGS, Kind::U32}};
constexpr Attr kImmediate[] = {{NFTA_IMMEDIATE_DREG, Kind::U32}, {NFTA_IMMEDIATE_DATA, Kind::Nest, &kData}};
constexpr Attr kNat[] = {{NFTA_NAT_TYPE, Kind::U32},          {NFTA_NAT_FAMILY, Kind::U32},
                         {NFTA_NAT_REG_ADDR_MIN, Kind::U32},  {NFTA_NAT_REG_ADDR_MAX, Kind::U32},
                         {NFTA_NAT_REG_PROTO_MIN, Kind::U32}, {NFTA_NAT_REG_PROTO_MAX, Kind::U32},
                         {NFTA_NAT_FLAGS, Kind::U32}};
constexpr Attr kMasq[] = {
    {NFTA_MASQ_FLAGS, Kind::U32}, {NFTA_MASQ_REG_PROTO_MIN, Kind::U32}, {NFTA_MASQ_REG_PROTO_MAX, Kind::U32}};
constexpr Attr kRedir[] = {
    {NFTA_REDIR_REG_PROTO_MIN, Kind::U32}, {NFTA_REDIR_REG_PROTO_MAX, Kind::U32}, {NFTA_REDIR_FLAGS, Kind::U32}};
constexpr Attr kReject[] = {{NFTA_REJECT_TYPE, Kind::U32}, {NFTA_REJECT_ICMP_CODE, Kind::U8}};
constexpr Attr kMatch[] = {{NFTA_MATCH_NAME, Kind::Str}, {NFTA_MATCH_REV, Kind::U32}, {NFTA_MATCH_INFO, Kind::Bin}};
constexpr Attr kTarget[] = {{NFTA_TARGET_NAME, Kind::Str}, {NFTA_TARGET_REV, Kind::U32}, {NFTA_TARGET_INFO, Kind::Bin}};
constexpr Attr kByteorder[] = {{NFTA_BYTEORDER_SREG, Kind::U32},
                               {NFTA_BYTEORDER_DREG, Kind::U32},
                               {NFTA_BYTEORDER_OP, Kind::U32},
                               {NFTA_BYTEORDER_LEN, Kind::U32},
                               {NFTA_BYTEORDER_SIZE, Kind::U32}};
constexpr Attr kObjref[] = {{NFTA_OBJREF_IMM_TYPE, Kind::U32},
                            {NFTA_OBJREF_IMM_NAME, Kind::Str},
                            {NFTA_OBJREF_SET_SREG, Kind::U32},
                            {NFTA_OBJREF_SET_NAME, Kind::Str},
                            {NFTA_OBJREF_SET_ID, Kind::U32}};
// The expressions natc writes or reads in other tables (kernel/foreign.cc);
// any other makes its message Foreign, and its data is hidden from libnftnl.
constexpr NamedExpr kExprs[] = {
    {"meta", schema(kMeta)},       {"payload", schema(kPayload)},     {"cmp", schema(kCmp)},
    {"bitwise", schema(kBitwise)}, {"range", schema(kRange)},         {"ct", schema(kCt)},
    {"fib", schema(kFib)},         {"lookup", schema(kLookup)},       {"immediate", schema(kImmediate)},
    {"nat", schema(kNat)},         {"masq", schema(kMasq)},           {"counter", kCounter},
    {"redir", schema(kRedir)},     {"reject", schema(kReject)},       {"match", schema(kMatch)},
    {"target", schema(kTarget)},   {"byteorder", schema(kByteorder)}, {"notrack", Schema{}},
    {"objref", schema(kObjref)},
};

constexpr Attr kExprList[] = {{NFTA_LIST_ELEM, Kind::Expr}};
constexpr Schema kExprs_ = schema(kExprList);
constexpr Attr kFieldAttrs[] = {{NFTA_SET_FIELD_LEN, Kind::U32}};
constexpr Schema kField = schema(kFieldAttrs);
constexpr Attr kConcat[] = {{NFTA_LIST_ELEM, Kind::Nest, &kField}};
constexpr Schema kConcatList = schema(kConcat);
constexpr Attr kDescAttrs[] = {{NFTA_SET_DESC_SIZE, Kind::U32}, {NFTA_SET_DESC_CONCAT, Kind::List, &kConcatList}};
constexpr Schema kDesc = schema(kDescAttrs);
constexpr Attr kDevice[] = {{NFTA_DEVICE_NAME, Kind::Str}};
constexpr Schema kDevices = schema(kDevice);
constexpr Attr kHookAttrs[] = {{NFTA_HOOK_HOOKNUM, Kind::U32},
                               {NFTA_HOOK_PRIORITY, Kind::U32},
                               {NFTA_HOOK_DEV, Kind::Str},
                               {NFTA_HOOK_DEVS, Kind::List, &kDevices}};
constexpr Schema kHook = schema(kHookAttrs);
constexpr Attr kCompatAttrs[] = {{NFTA_RULE_COMPAT_PROTO, Kind::U32}, {NFTA_RULE_COMPAT_FLAGS, Kind::U32}};
constexpr Schema kCompat = schema(kCompatAttrs);
constexpr Attr kElemAttrs[] = {{NFTA_SET_ELEM_KEY, Kind::Nest, &kData},
                               {NFTA_SET_ELEM_DATA, Kind::Nest, &kData},
                               {NFTA_SET_ELEM_FLAGS, Kind::U32},
                               {NFTA_SET_ELEM_TIMEOUT, Kind::U64},
                               {NFTA_SET_ELEM_EXPIRATION, Kind::U64},
                               {NFTA_SET_ELEM_USERDATA, Kind::Bin},
                               {NFTA_SET_ELEM_EXPR, Kind::Expr},
                               {NFTA_SET_ELEM_PAD, Kind::Pad},
                               {NFTA_SET_ELEM_OBJREF, Kind::Str},
                               {NFTA_SET_ELEM_KEY_END, Kind::Nest, &kData},
                               {NFTA_SET_ELEM_EXPRESSIONS, Kind::List, &kExprs_}};
constexpr Schema kElem = schema(kElemAttrs);
constexpr Attr kElemList[] = {{NFTA_LIST_ELEM, Kind::Nest, &kElem}};
constexpr Schema kElems = schema(kElemList);

constexpr Attr kTable[] = {{NFTA_TABLE_NAME, Kind::Str}, {NFTA_TABLE_FLAGS, Kind::U32},
                           {NFTA_TABLE_USE, Kind::U32},  {NFTA_TABLE_HANDLE, Kind::U64},
                           {NFTA_TABLE_PAD, Kind::Pad},  {NFTA_TABLE_USERDATA, Kind::Bin},
                           {NFTA_TABLE_OWNER, Kind::U32}};
constexpr Attr kChain[] = {{NFTA_CHAIN_TABLE, Kind::Str},  {NFTA_CHAIN_HANDLE, Kind::U64},
                           {NFTA_CHAIN_NAME, Kind::Str},   {NFTA_CHAIN_HOOK, Kind::Nest, &kHook},
                           {NFTA_CHAIN_POLICY, Kind::U32}, {NFTA_CHAIN_USE, Kind::U32},
                           {NFTA_CHAIN_TYPE, Kind::Str},   {NFTA_CHAIN_COUNTERS, Kind::Nest, &kCounter},
                           {NFTA_CHAIN_PAD, Kind::Pad},    {NFTA_CHAIN_FLAGS, Kind::U32},
                           {NFTA_CHAIN_ID, Kind::U32},     {NFTA_CHAIN_USERDATA, Kind::Bin}};
constexpr Attr kSet[] = {
    {NFTA_SET_TABLE, Kind::Str},    {NFTA_SET_NAME, Kind::Str},    {NFTA_SET_FLAGS, Kind::U32},
    {NFTA_SET_KEY_TYPE, Kind::U32}, {NFTA_SET_KEY_LEN, Kind::U32}, {NFTA_SET_DATA_TYPE, Kind::U32},
    {NFTA_SET_DATA_LEN, Kind::U32}, {NFTA_SET_POLICY, Kind::U32},  {NFTA_SET_DESC, Kind::Nest, &kDesc},
    {NFTA_SET_ID, Kind::U32},       {NFTA_SET_TIMEOUT, Kind::U64}, {NFTA_SET_GC_INTERVAL, Kind::U32},
    {NFTA_SET_USERDATA, Kind::Bin}, {NFTA_SET_PAD, Kind::Pad},     {NFTA_SET_OBJ_TYPE, Kind::U32},
    {NFTA_SET_HANDLE, Kind::U64},   {NFTA_SET_EXPR, Kind::Expr},   {NFTA_SET_EXPRESSIONS, Kind::List, &kExprs_}};
constexpr Attr kSetElems[] = {{NFTA_SET_ELEM_LIST_TABLE, Kind::Str},
                              {NFTA_SET_ELEM_LIST_SET, Kind::Str},
                              {NFTA_SET_ELEM_LIST_ELEMENTS, Kind::List, &kElems},
                              {NFTA_SET_ELEM_LIST_SET_ID, Kind::U32}};
constexpr Attr kRule[] = {{NFTA_RULE_TABLE, Kind::Str},
                          {NFTA_RULE_CHAIN, Kind::Str},
                          {NFTA_RULE_HANDLE, Kind::U64},
                          {NFTA_RULE_EXPRESSIONS, Kind::List, &kExprs_},
                          {NFTA_RULE_COMPAT, Kind::Nest, &kCompat},
                          {NFTA_RULE_POSITION, Kind::U64},
                          {NFTA_RULE_USERDATA, Kind::Bin},
                          {NFTA_RULE_PAD, Kind::Pad},
                          {NFTA_RULE_ID, Kind::U32},
                          {NFTA_RULE_POSITION_ID, Kind::U32},
                          {NFTA_RULE_CHAIN_ID, Kind::U32}};

constexpr Attr kCtHelper[] = {
    {NFTA_CT_HELPER_NAME, Kind::Str}, {NFTA_CT_HELPER_L3PROTO, Kind::Bin}, {NFTA_CT_HELPER_L4PROTO, Kind::U8}};
constexpr Schema kCtHelperData = schema(kCtHelper);
// An object's data depends on its type: a ct helper's is checked, any
// other's hidden (natc writes no other objects; it only removes them).
constexpr Attr kObj[] = {{NFTA_OBJ_TABLE, Kind::Str}, {NFTA_OBJ_NAME, Kind::Str},    {NFTA_OBJ_TYPE, Kind::U32},
                         {NFTA_OBJ_DATA, Kind::Bin},  {NFTA_OBJ_USE, Kind::U32},     {NFTA_OBJ_HANDLE, Kind::U64},
                         {NFTA_OBJ_PAD, Kind::Pad},   {NFTA_OBJ_USERDATA, Kind::Bin}};
constexpr Attr kHelperObj[] = {{NFTA_OBJ_TABLE, Kind::Str}, {NFTA_OBJ_NAME, Kind::Str},
                               {NFTA_OBJ_TYPE, Kind::U32},  {NFTA_OBJ_DATA, Kind::Nest, &kCtHelperData},
                               {NFTA_OBJ_USE, Kind::U32},   {NFTA_OBJ_HANDLE, Kind::U64},
                               {NFTA_OBJ_PAD, Kind::Pad},   {NFTA_OBJ_USERDATA, Kind::Bin}};

// --- walking a schema --------------------------------------------------------

class Walker {
 public:
  explicit Walker(const uint8_t* base) : base_(base) {}
  Checked run(const uint8_t* p, size_t len, const Schema& s) {
    walk(p, len, s, 0);
    if (out_.verdict == Verdict::Malformed) out_.hidden.clear();
    return out_;
  }

 private:
  void malformed(std::string why) {
    if (out_.verdict != Verdict::Malformed) out_ = {Verdict::Malformed, std::move(why), {}};
  }

  // Attributes in [p, p + len), each whole: check_message walked only the
  // nests that carry NLA_F_NESTED, and nf_tables sends many without it.
  template <class F>
  void each(const uint8_t* p, size_t len, int depth, F&& f) {
    if (std::string why = check_attrs(p, len, depth); !why.empty()) return malformed(why);
    for (size_t at = 0; at < len; at += NLA_ALIGN(reinterpret_cast<const nlattr*>(p + at)->nla_len)) {
      const auto* a = reinterpret_cast<const nlattr*>(p + at);
      f(a, p + at + NLA_HDRLEN, size_t(a->nla_len - NLA_HDRLEN));
    }
  }

  void walk(const uint8_t* p, size_t len, const Schema& s, int depth) {
    each(p, len, depth, [&](const nlattr* a, const uint8_t* v, size_t n) {
      uint16_t type = a->nla_type & NLA_TYPE_MASK;
      for (const Attr& x : s.attrs)
        if (x.type == type) return one(x, v, n, depth);
      // A type natc does not know (a newer kernel's), hidden: libnftnl
      // keeps some in an array sized by the wrong enum's end.
      hide(a);
    });
  }

  void one(const Attr& x, const uint8_t* v, size_t n, int depth) {
    switch (x.kind) {
      case Kind::U8: return n == 1 ? void() : malformed("a one-byte attribute of another size");
      case Kind::U32: return n == 4 ? void() : malformed("a 32-bit attribute of another size");
      case Kind::U64: return n == 8 ? void() : malformed("a 64-bit attribute of another size");
      case Kind::Str:
        if (n == 0 || n > kMaxString || v[n - 1] != 0) malformed("a name that is not a NUL-terminated string");
        return;
      case Kind::Value:
        if (n == 0 || n > kMaxValue) malformed("a data value of more than 64 bytes, or none");
        return;
      case Kind::Bin:
      case Kind::Pad: return;
      case Kind::Nest: return x.inner == &kVerdict ? verdict(v, n, depth + 1) : walk(v, n, *x.inner, depth + 1);
      case Kind::List: return list(v, n, *x.inner, depth + 1);
      case Kind::Expr: return expr(v, n, depth + 1);
    }
  }

  // libnftnl copies a jump's or goto's chain name without asking whether
  // the verdict has one.
  void verdict(const uint8_t* p, size_t len, int depth) {
    walk(p, len, kVerdict, depth);
    if (out_.verdict == Verdict::Malformed) return;
    std::optional<int32_t> code;
    bool chain = false;
    each(p, len, depth, [&](const nlattr* a, const uint8_t* v, size_t n) {
      uint16_t type = a->nla_type & NLA_TYPE_MASK;
      if (type == NFTA_VERDICT_CODE && n == 4) {
        uint32_t c;
        std::memcpy(&c, v, 4);
        code = int32_t(ntohl(c));
      }
      chain = chain || type == NFTA_VERDICT_CHAIN;
    });
    if (code && (*code == NFT_JUMP || *code == NFT_GOTO) && !chain) malformed("a jump or goto without a chain");
  }

  void list(const uint8_t* p, size_t len, const Schema& item, int depth) {
    each(p, len, depth, [&](const nlattr* a, const uint8_t* v, size_t n) {
      if ((a->nla_type & NLA_TYPE_MASK) != NFTA_LIST_ELEM) return malformed("a list item of another type");
      one(item.attrs[0], v, n, depth);
    });
  }

  void expr(const uint8_t* p, size_t len, int depth) {
    std::string_view name;
    const nlattr* data = nullptr;
    each(p, len, depth, [&](const nlattr* a, const uint8_t* v, size_t n) {
      uint16_t type = a->nla_type & NLA_TYPE_MASK;
      if (type == NFTA_EXPR_NAME) {
        if (n == 0 || n > kMaxString || v[n - 1] != 0) return malformed("an expression name that is not a string");
        name = std::string_view(reinterpret_cast<const char*>(v), n - 1);
      } else if (type == NFTA_EXPR_DATA) {
        data = a;
      } else {
        hide(a);
      }
    });
    if (out_.verdict == Verdict::Malformed) return;
    if (name.empty()) return malformed("an expression without a name");
    for (const NamedExpr& e : kExprs)
      if (e.name == name) {
        if (data)
          walk(reinterpret_cast<const uint8_t*>(data) + NLA_HDRLEN, data->nla_len - NLA_HDRLEN, e.schema, depth + 1);
        return;
      }
    out_.verdict = Verdict::Foreign;
    if (data) hide(data);
  }

  void hide(const nlattr* a) { out_.hidden.push_back(size_t(reinterpret_cast<const uint8_t*>(a) - base_)); }

  const uint8_t* base_;
  Checked out_;
};

const Schema* top(uint16_t msg_type) {
  static constexpr Schema table = schema(kTable), chain = schema(kChain), set = schema(kSet), elems = schema(kSetElems),
                          rule = schema(kRule);
  switch (msg_type) {
    case NFT_MSG_NEWTABLE: return &table;
    case NFT_MSG_NEWCHAIN: return &chain;
    case NFT_MSG_NEWSET: return &set;
    case NFT_MSG_NEWSETELEM: return &elems;
    case NFT_MSG_NEWRULE: return &rule;
    default: return nullptr;
  }
}

// A top-level attribute's payload, or nullptr.
const nlattr* find(const std::vector<uint8_t>& m, uint16_t attr) {
  for (size_t at = kHead; at + sizeof(nlattr) <= m.size();) {
    const auto* a = reinterpret_cast<const nlattr*>(m.data() + at);
    if (a->nla_len < sizeof(nlattr) || a->nla_len > m.size() - at) return nullptr;
    if ((a->nla_type & NLA_TYPE_MASK) == attr) return a;
    at += NLA_ALIGN(a->nla_len);
  }
  return nullptr;
}

}  // namespace

std::string check_message(const std::vector<uint8_t>& m, uint16_t msg_type) {
  if (m.size() < kHead) return "a message is cut short";
  nlmsghdr h;
  std::memcpy(&h, m.data(), sizeof h);
  if (h.nlmsg_len != m.size()) return "a message's length field is not its size";
  if (h.nlmsg_type != uint16_t(NFNL_SUBSYS_NFTABLES << 8 | msg_type)) return "a message of another type";
  return check_attrs(m.data() + kHead, m.size() - kHead, 0);
}

Checked check_natc_message(const std::vector<uint8_t>& m, uint16_t msg_type) {
  if (std::string why = check_message(m, msg_type); !why.empty()) return {Verdict::Malformed, why};
  if (msg_type == NFT_MSG_NEWOBJ) {
    static constexpr Schema helper = schema(kHelperObj), other = schema(kObj);
    uint32_t type = 0;
    if (const nlattr* t = find(m, NFTA_OBJ_TYPE); t && t->nla_len == NLA_HDRLEN + 4) {
      std::memcpy(&type, reinterpret_cast<const uint8_t*>(t) + NLA_HDRLEN, 4);
      type = ntohl(type);
    }
    if (type == NFT_OBJECT_CT_HELPER) return Walker(m.data()).run(m.data() + kHead, m.size() - kHead, helper);
    Checked c = Walker(m.data()).run(m.data() + kHead, m.size() - kHead, other);
    if (c.verdict == Verdict::Malformed) return c;
    c.verdict = Verdict::Foreign;
    if (const nlattr* d = find(m, NFTA_OBJ_DATA))
      c.hidden.push_back(size_t(reinterpret_cast<const uint8_t*>(d) - m.data()));
    return c;
  }
  const Schema* s = top(msg_type);
  if (!s) return {Verdict::Malformed, "a message of another type"};
  return Walker(m.data()).run(m.data() + kHead, m.size() - kHead, *s);
}

Readable::Readable(const std::vector<uint8_t>& m, uint16_t msg_type)
    : checked_(check_natc_message(m, msg_type)), m_(&m) {
  if (checked_.hidden.empty()) return;
  copy_ = m;
  for (size_t at : checked_.hidden) {
    nlattr a;
    std::memcpy(&a, copy_.data() + at, sizeof a);
    a.nla_type = uint16_t(a.nla_type & ~NLA_TYPE_MASK);
    std::memcpy(copy_.data() + at, &a, sizeof a);
  }
}

const nlmsghdr* Readable::header() const {
  return reinterpret_cast<const nlmsghdr*>(copy_.empty() ? m_->data() : copy_.data());
}

std::optional<std::string> message_string(const std::vector<uint8_t>& m, uint16_t attr) {
  const nlattr* a = find(m, attr);
  if (!a || a->nla_len <= NLA_HDRLEN) return std::nullopt;
  const char* v = reinterpret_cast<const char*>(a) + NLA_HDRLEN;
  size_t n = a->nla_len - NLA_HDRLEN;
  if (v[n - 1] != '\0') return std::nullopt;
  return std::string(v, n - 1);
}

std::optional<uint64_t> message_u64(const std::vector<uint8_t>& m, uint16_t attr) {
  const nlattr* a = find(m, attr);
  if (!a || a->nla_len != NLA_HDRLEN + 8) return std::nullopt;
  uint64_t v;
  std::memcpy(&v, reinterpret_cast<const char*>(a) + NLA_HDRLEN, 8);
  return be64toh(v);
}

}  // namespace natc::netlink
