// A non-owning reference to a callable (P0792's function_ref): what the
// template layer hands the compiled executor, so that the caller's lambda is
// compiled, and inlined, in the caller's translation unit.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace parmap::detail {

template <class Sig>
class fn_ref;

template <class R, class... A>
class fn_ref<R(A...)> {
 public:
  fn_ref() noexcept = default;

  // Refers to f, which must outlive every call through this reference.
  template <class F>
    requires(!std::same_as<std::remove_cvref_t<F>, fn_ref>) && std::is_invocable_r_v<R, F&, A...>
  fn_ref(F&& f) noexcept  // NOLINT(google-explicit-constructor): a reference converts implicitly
      : obj_(const_cast<void*>(static_cast<const void*>(std::addressof(f)))),
        call_([](void* obj, A... args) -> R {
          return (*static_cast<std::remove_reference_t<F>*>(obj))(std::forward<A>(args)...);
        }) {}

  R operator()(A... args) const { return call_(obj_, std::forward<A>(args)...); }
  explicit operator bool() const noexcept { return call_ != nullptr; }

 private:
  void* obj_ = nullptr;
  R (*call_)(void*, A...) = nullptr;
};

}  // namespace parmap::detail
