// Fuzzes what a subscriber sends us: subscription create/patch bodies, and the
// Retry-After values and signatures' secrets that come back from endpoints.
#include "subscribe/delivery_policy.h"
#include "subscribe/signer.h"
#include "subscribe/subscription.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  using namespace ms::subscribe;

  auto created = parse_create(in);
  if (auto* s = std::get_if<Subscription>(&created)) {
    // Whatever is accepted must survive storage exactly and accept an empty patch.
    auto stored = to_stored(*s);
    auto back = from_stored(stored);
    if (!back || to_stored(*back) != stored) std::abort();
    auto patched = apply_patch(*s, in);
    (void)patched;
    auto empty = apply_patch(*s, "{}");
    if (!std::holds_alternative<Subscription>(empty)) std::abort();
  }
  (void)from_stored(in);
  (void)parse_retry_after(in, 1764612000000);
  (void)secret_key(in);
  (void)base64_decode(in);
  return 0;
}
