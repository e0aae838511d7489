// A synchronous HTTP/1.1 client for tests: one keep-alive connection, reopened
// when the server closed it. Optional HTTPS with verification against a CA file.
//
//   HttpClient api("127.0.0.1", service.port());
//   auto r = api.post("/v1/channels/orders/events", R"({"data":{}})");
//   EXPECT_EQ(r.status, 202);
//   EXPECT_EQ(r.json().at("id").as_string(), ...);
//
// Beast lives in http_client.cpp only. Not thread-safe: one client per thread.
// Network failures and timeouts throw std::system_error / std::runtime_error.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace ms::test {

// Request headers in order; a repeated name is sent twice. An empty value
// removes a header the client would add itself (Host, User-Agent, Content-Type).
using HttpHeaders = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // lower-case names; repeats joined with ", "
  std::string body;

  std::string header(const std::string& name) const;  // any-case name; empty if absent
  bool has_header(const std::string& name) const;
  boost::json::value json() const;  // parses body; throws on invalid JSON
};

struct HttpClientOptions {
  bool tls = false;     // HTTPS; implied by a non-empty ca_file
  std::string ca_file;  // PEM to verify the server against; empty with tls: system CAs
  std::chrono::milliseconds timeout = std::chrono::seconds(10);  // per connect/handshake/write/read
};

class HttpClient {
 public:
  using Response = HttpResponse;

  HttpClient(std::string host, std::uint16_t port, HttpClientOptions options = {});
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // A non-empty body without a Content-Type header is sent as application/json.
  // Retries once on a fresh connection if a reused one turns out closed.
  Response request(const std::string& method, const std::string& target, const std::string& body = "",
                   const HttpHeaders& headers = {});
  Response get(const std::string& target, const HttpHeaders& headers = {});
  Response post(const std::string& target, const std::string& body = "", const HttpHeaders& headers = {});
  Response put(const std::string& target, const std::string& body = "", const HttpHeaders& headers = {});
  Response patch(const std::string& target, const std::string& body = "", const HttpHeaders& headers = {});
  Response del(const std::string& target, const HttpHeaders& headers = {});

  void close();                             // drop the connection; the next request reconnects
  std::uint64_t connections_opened() const;  // how many connections this client has made
  std::uint16_t port() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `bytes` on a fresh connection to 127.0.0.1:port and returns everything
// read until the server closes or `timeout` passes (for malformed-HTTP tests).
std::string raw_request(std::uint16_t port, const std::string& bytes,
                        std::chrono::milliseconds timeout = std::chrono::seconds(3));

}  // namespace ms::test
