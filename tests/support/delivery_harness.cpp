#include "support/delivery_harness.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <sstream>
#include <stdexcept>
#include <thread>

#include <boost/json.hpp>

namespace ms::test {

namespace json = boost::json;

bool poll_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(every);
  }
}

DeliveryStack::DeliveryStack(std::vector<std::string> service_args) {
  redis.start();
  ServiceOptions options;
  options.args = std::move(service_args);
  options.wait_ready = true;
  svc.emplace(redis.url(), std::move(options));
  svc->start();
  api.emplace(svc->client());
}

namespace {

[[noreturn]] void unexpected(const std::string& what, const HttpResponse& r) {
  throw std::runtime_error(what + ": answered " + std::to_string(r.status) + " " + r.body);
}

json::object object_body(const std::string& what, const HttpResponse& r) {
  json::value v;
  try {
    v = r.json();
  } catch (const std::exception& e) {
    unexpected(what + " (body is not JSON: " + e.what() + ")", r);
  }
  if (!v.is_object()) unexpected(what + " (body is not an object)", r);
  return std::move(v.as_object());
}

}  // namespace

json::object create_subscription(HttpClient& api, const json::object& body) {
  auto r = api.post("/v1/subscriptions", json::serialize(body));
  if (r.status != 201) unexpected("POST /v1/subscriptions " + json::serialize(body), r);
  return object_body("POST /v1/subscriptions", r);
}

json::object get_subscription(HttpClient& api, const std::string& id) {
  auto r = api.get("/v1/subscriptions/" + id);
  if (r.status != 200) unexpected("GET /v1/subscriptions/" + id, r);
  return object_body("GET /v1/subscriptions/" + id, r);
}

json::object patch_subscription(HttpClient& api, const std::string& id, const json::object& body) {
  auto r = api.patch("/v1/subscriptions/" + id, json::serialize(body));
  if (r.status != 200) unexpected("PATCH /v1/subscriptions/" + id + " " + json::serialize(body), r);
  return object_body("PATCH /v1/subscriptions/" + id, r);
}

json::object subscription_stats(HttpClient& api, const std::string& id) {
  auto o = get_subscription(api, id);
  auto* st = o.if_contains("stats");
  if (!st || !st->is_object()) throw std::runtime_error("subscription " + id + " has no stats object: " + json::serialize(o));
  return st->as_object();
}

std::int64_t stat_of(HttpClient& api, const std::string& id, const std::string& field) {
  auto st = subscription_stats(api, id);
  auto* v = st.if_contains(field);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

bool wait_stat(HttpClient& api, const std::string& id, const std::string& field, std::int64_t expected,
               std::chrono::milliseconds timeout, std::chrono::milliseconds settle) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (!poll_until([&] { return stat_of(api, id, field) == expected; },
                    std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(50))) {
      return false;
    }
    if (settle.count() == 0) return true;
    std::this_thread::sleep_for(settle);
    if (stat_of(api, id, field) == expected) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
  }
}

json::object publish(HttpClient& api, const std::string& channel, const std::string& body,
                     const HttpHeaders& headers) {
  auto r = api.post("/v1/channels/" + channel + "/messages", body, headers);
  if (r.status != 201) unexpected("publish to " + channel + " " + body, r);
  return object_body("publish", r);
}

std::vector<json::object> publish_batch(HttpClient& api, const json::array& messages) {
  json::object body{{"messages", messages}};
  auto r = api.post("/v1/messages/batch", json::serialize(body));
  if (r.status != 200) unexpected("POST /v1/messages/batch", r);
  auto o = object_body("POST /v1/messages/batch", r);
  std::vector<json::object> out;
  for (const auto& item : o.at("results").as_array()) {
    if (!item.is_object() || item.as_object().contains("error")) unexpected("a batch item failed", r);
    out.push_back(item.as_object());
  }
  if (out.size() != messages.size()) unexpected("batch results do not match the messages", r);
  return out;
}

std::string str_of(const json::value& v, const char* field) {
  const auto* o = v.if_object();
  const auto* f = o ? o->if_contains(field) : nullptr;
  if (!f || !f->is_string()) throw std::runtime_error(std::string("no string field ") + field + " in " + json::serialize(v));
  return std::string(f->as_string());
}

std::int64_t int_of(const json::value& v, const char* field) {
  const auto* o = v.if_object();
  const auto* f = o ? o->if_contains(field) : nullptr;
  if (f && f->is_int64()) return f->as_int64();
  if (f && f->is_uint64()) return static_cast<std::int64_t>(f->as_uint64());
  throw std::runtime_error(std::string("no integer field ") + field + " in " + json::serialize(v));
}

std::optional<std::string> decode_base64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string();
  std::string out(text.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(text.data()),
                          static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t pad = 0;
  if (text.back() == '=') ++pad;
  if (text.size() >= 2 && text[text.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string encode_base64(const std::string& bytes) {
  std::string out((bytes.size() + 2) / 3 * 4 + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string expected_signature(const std::string& secret, const std::string& id, const std::string& timestamp,
                               const std::string& body) {
  const std::string prefix = "whsec_";
  if (secret.rfind(prefix, 0) != 0) return {};
  auto key = decode_base64(secret.substr(prefix.size()));
  if (!key || key->empty()) return {};
  const std::string data = id + "." + timestamp + "." + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  if (!HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), mac, &mac_len)) {
    return {};
  }
  return "v1," + encode_base64(std::string(reinterpret_cast<const char*>(mac), mac_len));
}

bool signature_matches(const std::string& header, const std::string& secret, const std::string& id,
                       const std::string& timestamp, const std::string& body) {
  const std::string want = expected_signature(secret, id, timestamp, body);
  if (want.empty()) return false;
  std::istringstream in(header);
  std::string one;
  while (in >> one) {
    if (one == want) return true;
  }
  return false;
}

std::vector<std::string> group_names(RedisServer& redis, const std::string& channel) {
  auto r = redis.command({"XINFO", "GROUPS", "ms:{" + channel + "}:log"});
  std::vector<std::string> out;
  if (!r.is_array()) return out;
  for (const auto& g : r.elements) {
    for (std::size_t i = 0; i + 1 < g.elements.size(); i += 2) {
      if (g.elements[i].str == "name") out.push_back(g.elements[i + 1].str);
    }
  }
  return out;
}

std::vector<std::string> received_ids(const WebhookReceiver& hook, const std::string& path_prefix) {
  std::vector<std::string> out;
  for (const auto& r : hook.requests()) {
    if (r.target.rfind(path_prefix, 0) == 0) out.push_back(r.header("webhook-id"));
  }
  return out;
}

std::size_t received_count(const WebhookReceiver& hook, const std::string& path_prefix) {
  return received_ids(hook, path_prefix).size();
}

bool wait_for_path_count(const WebhookReceiver& hook, const std::string& path_prefix, std::size_t n,
                         std::chrono::milliseconds timeout) {
  return poll_until([&] { return received_count(hook, path_prefix) >= n; }, timeout);
}

WebhookResponse webhook_response(int status, std::chrono::milliseconds delay,
                                 std::map<std::string, std::string> headers) {
  WebhookResponse r;
  r.status = status;
  r.delay = delay;
  r.headers = std::move(headers);
  return r;
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ms::test
