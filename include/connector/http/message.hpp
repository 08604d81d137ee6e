#pragma once
// HTTP messages as plain values, so request handling is a free function from request to
// response and business code never sees Beast or Asio types.
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace connector::http {

struct request {
  std::string method;                                        // "GET", "POST", …
  std::string target;                                        // as sent: path and query
  std::string path;                                          // target up to '?'
  std::string query;                                         // after '?', without it
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  std::string remote_address;
  int version = 11;  // 10 or 11

  // The first value of a header (name in lower case), or empty.
  std::string_view header(std::string_view lower_case_name) const;
};

struct response {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  bool close = false;  // ask the connection to close after this response

  static response text(int status, std::string body);
  static response json(int status, std::string body);
  static response xml(int status, std::string body);
};

// Handlers answer through `respond`, exactly once, from any thread: the intake answers
// only after the store's writer thread has committed.
using respond_fn = std::function<void(response)>;
using handler_fn = std::function<void(request&&, respond_fn)>;

// The reason phrase of a status code ("Not Found").
std::string_view reason_phrase(int status);

}  // namespace connector::http
