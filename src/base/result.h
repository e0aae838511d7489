// Result type for expected failures, shared by every component.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

namespace ms {

using boost::system::error_code;
template <class T>
using Result = boost::system::result<T, error_code>;

}  // namespace ms
