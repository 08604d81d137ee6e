// Boost.Asio and Boost.Beast in separate compilation mode: their implementation is
// compiled once, here, instead of in every file that includes them (the build box has
// two cores).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
