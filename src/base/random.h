// Random bytes from OpenSSL's CSPRNG, as lower-case hex (trace and span ids).
#pragma once

#include <cstddef>
#include <string>

namespace ms {

std::string random_hex(std::size_t bytes);

}  // namespace ms
