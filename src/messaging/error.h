// Error codes of the messaging component (category "messaging").
//
// Every expected failure in ms::messaging is reported as an ms::Result carrying one of
// these codes, so callers can branch on the cause (`ec == errc::too_large`) without
// string matching. Nothing in this folder throws for bad input.
#pragma once

#include <boost/system/error_category.hpp>
#include <boost/system/error_code.hpp>

#include <type_traits>

namespace ms::messaging {

enum class errc {
  too_large = 1,     // output (e.g. an inflated body) would exceed the caller's limit
  corrupt,           // compressed data is truncated, corrupt or not gzip/zlib at all
  internal,          // zlib could not be initialised (out of memory)
  invalid_envelope,  // JSON text is not a well-formed envelope
};

const boost::system::error_category& messaging_category() noexcept;

boost::system::error_code make_error_code(errc e) noexcept;

}  // namespace ms::messaging

template <>
struct boost::system::is_error_code_enum<ms::messaging::errc> : std::true_type {};
