// std::visit with one lambda per alternative.
#pragma once

namespace natc::base {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};

}  // namespace natc::base
