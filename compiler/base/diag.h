// Diagnostics: one table of codes, collected per run, rendered as text or JSON.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/source.h"

namespace natc::base {

enum class Severity { Error, Warning };

// Codes are part of the contract: never renumber, only append.
// E1xxx: reading the spec. E2xxx: checks. W3xxx: lints. E4xxx: kernel.
#define NATC_CODES(X)                       \
  X(YamlSyntax, "E1001", Error)             \
  X(NotUtf8, "E1002", Error)                \
  X(EmptySpec, "E1003", Error)              \
  X(BadVersion, "E1004", Error)             \
  X(UnknownKey, "E1005", Error)             \
  X(WrongType, "E1006", Error)              \
  X(MissingKey, "E1007", Error)             \
  X(BadName, "E1008", Error)                \
  X(DuplicateName, "E1009", Error)          \
  X(BadAddress, "E1010", Error)             \
  X(BadCidr, "E1011", Error)                \
  X(BadPort, "E1012", Error)                \
  X(BadRange, "E1013", Error)               \
  X(BadValue, "E1014", Error)               \
  X(DuplicateKey, "E1015", Error)           \
  X(BadInteger, "E1016", Error)             \
  X(BadBool, "E1017", Error)                \
  X(NoForwardAccept, "E2001", Error)        \
  X(DuplicateForward, "E2002", Error)       \
  X(RangeMismatch, "E2003", Error)          \
  X(UnknownPool, "E2004", Error)            \
  X(MixedFamilies, "E2005", Error)          \
  X(BadInterface, "E2006", Error)           \
  X(ConntrackRange, "E2007", Error)         \
  X(UnknownTimeout, "E2008", Error)         \
  X(SubnetClash, "E2009", Error)            \
  X(PoolNotContiguous, "E2010", Error)      \
  X(MasqueradeStatic, "W3001", Warning)     \
  X(TargetOutsideSubnets, "W3002", Warning) \
  X(HairpinSource, "W3003", Warning)        \
  X(ConntrackMemory, "W3004", Warning)      \
  X(PoolCapacity, "W3005", Warning)         \
  X(SubnetOverlap, "W3006", Warning)        \
  X(UnusedPool, "W3007", Warning)           \
  X(ConntrackMemoryLive, "W3008", Warning)  \
  X(BucketsLoad, "W3009", Warning)          \
  X(PoolBusy, "W3010", Warning)             \
  X(ForeignDrop, "W3011", Warning)          \
  X(ForeignDnat, "W3012", Warning)          \
  X(ForeignSnat, "W3013", Warning)          \
  X(InterfaceTypo, "W3014", Warning)        \
  X(InterfaceMissing, "W3015", Warning)     \
  X(KernelRefused, "E4001", Error)          \
  X(StalePlan, "E4002", Error)              \
  X(SysctlRefused, "E4003", Error)          \
  X(BadPlan, "E4004", Error)                \
  X(CapturedListener, "E2011", Error)       \
  X(Lockout, "E4005", Error)                \
  X(PendingConfirmation, "E4006", Error)    \
  X(BadSnapshot, "E4007", Error)            \
  X(StaticClash, "E2012", Error)            \
  X(UnknownHelper, "E2013", Error)          \
  X(StaticAddressMissing, "W3016", Warning) \
  X(HelperMissing, "W3017", Warning)        \
  X(FtpWithoutHelper, "W3018", Warning)     \
  X(SpecFilesDisagree, "E1018", Error)      \
  X(HaVridReused, "E2014", Error)           \
  X(HaVipSubnet, "E2015", Error)            \
  X(HaNodeAddress, "E2016", Error)          \
  X(HaSyncTraffic, "E2017", Error)          \
  X(HaMasquerade, "W3019", Warning)         \
  X(HaSlowAdverts, "W3020", Warning)        \
  X(HaNoStrictTcp, "W3021", Warning)        \
  X(HaDaemon, "W3022", Warning)             \
  X(HaPeer, "W3023", Warning)               \
  X(HaFiles, "E4008", Error)

enum class Code : uint16_t {
#define NATC_ENUM(name, id, sev) name,
  NATC_CODES(NATC_ENUM)
#undef NATC_ENUM
};

std::string_view code_id(Code code);                  // "E1005"
std::optional<Code> code_named(std::string_view id);  // "w3003" or "W3003"; nullopt for none
Severity code_severity(Code code);

struct Diagnostic {
  Code code;
  Loc loc;
  std::string message;
  std::string help;    // "did you mean 'x'?" or a one-line why; may be empty
  uint32_t width = 1;  // columns the caret underlines
};

class Diagnostics {
 public:
  // Past kKeptPerCode of one code, further ones are counted, not kept: a
  // 50,000-entry list with one mistake repeated says so in a few lines.
  static constexpr size_t kKeptPerCode = 20;
  // A message or help longer than this is clipped (a value quoted in full
  // could be the whole of a 100 MB scalar).
  static constexpr size_t kMaxText = 1024;

  void report(Code code, Loc loc, std::string message, std::string help = {}, uint32_t width = 1);
  const std::vector<Diagnostic>& all() const { return list_; }
  size_t errors() const { return errors_; }
  size_t warnings() const { return warnings_; }
  // Reported but not kept, per code.
  const std::map<Code, size_t>& dropped() const { return dropped_; }
  // Orders by position, so output is the file's order whatever the stage.
  void sort();
  // Takes these codes out, kept and counted alike (`--allow W3003`).
  void forget(const std::set<Code>& codes);
  // Adds what `other` reported (the live lints' warnings to the spec's).
  void merge(const Diagnostics& other);
  // The same, positions moved `lines` down (a file of a spec directory).
  void merge(const Diagnostics& other, uint32_t lines);
  // Positions past `last` (a parser's "end of file" on the line after the
  // last) are put at `last`, so that they stay in their own file.
  void clamp(Loc last);

 private:
  std::vector<Diagnostic> list_;
  std::map<Code, size_t> kept_, dropped_;
  size_t errors_ = 0, warnings_ = 0;
};

// `file:line:col: error[E1005]: message`, the source line, a caret, help.
std::string render_text(const Diagnostics& diags, const SourceFile& file);
nlohmann::json render_json(const Diagnostics& diags, const SourceFile& file);
// For a pull-request comment: the counts, then one list item each.
std::string render_markdown(const Diagnostics& diags, const SourceFile& file);
// One line: "2 errors, 1 warning".
std::string summary(const Diagnostics& diags);

}  // namespace natc::base
