#include "messaging/error.h"

namespace ms::messaging {
namespace {

class MessagingCategory final : public boost::system::error_category {
 public:
  // A fixed id makes categories compare equal even if the library ends up in several
  // shared objects.
  constexpr MessagingCategory() noexcept : boost::system::error_category(0x6d5f6d7367c47e01ULL) {}

  const char* name() const noexcept override { return "messaging"; }

  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::too_large:
        return "data exceeds the size limit";
      case errc::corrupt:
        return "compressed data is corrupt or truncated";
      case errc::internal:
        return "compression library failure";
      case errc::invalid_envelope:
        return "not a valid message envelope";
    }
    return "unknown messaging error";
  }
};

}  // namespace

const boost::system::error_category& messaging_category() noexcept {
  static const MessagingCategory category;
  return category;
}

boost::system::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), messaging_category()};
}

}  // namespace ms::messaging
