// std::visit with one lambda per alternative.
#pragma once

namespace natc::base {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
// C++20 deduces this by itself; clang 14 still wants the guide.
template <class... F>
Overload(F...) -> Overload<F...>;

}  // namespace natc::base
