// HTTPS webhooks: the service trusts an extra CA given with --webhook-ca-file,
// verifies the peer and its host name (an IP address or a DNS name), and a
// certificate for another name is a failed attempt whose last_error says why.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <string>

#include <boost/json.hpp>

#include "support/child_process.h"
#include "support/delivery_harness.h"
#include "support/webhook_receiver.h"

namespace ms::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// A self-signed certificate for `name` only (CN and SAN), written into dir.
TestCertificate make_certificate_for(const TempDir& dir, const std::string& name) {
  const std::string openssl = find_executable("openssl", "/usr/bin/openssl");
  if (openssl.empty()) throw std::runtime_error("openssl not found");
  TestCertificate cert{dir.file(name + ".pem"), dir.file(name + ".key")};
  RunResult r = run_command({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=" + name,
                             "-addext", "subjectAltName=DNS:" + name, "-days", "2", "-keyout", cert.key_file, "-out",
                             cert.cert_file},
                            60s);
  if (r.exit_code != 0) throw std::runtime_error("openssl req failed: " + r.stderr_text);
  return cert;
}

WebhookReceiverOptions tls_options(const TestCertificate& cert) {
  WebhookReceiverOptions o;
  o.cert_file = cert.cert_file;
  o.key_file = cert.key_file;
  return o;
}

TEST(DeliveryTls, HttpsToAnIpAndToLocalhostWithTheGivenCa) {
  TempDir dir("ms-tls");
  const TestCertificate cert = make_test_certificate(dir.path());  // CN=localhost, IP:127.0.0.1, DNS:localhost
  WebhookReceiver hook(tls_options(cert));
  ASSERT_TRUE(hook.tls());
  DeliveryStack s({"--webhook-ca-file", cert.cert_file});

  const std::string ch = "secure.events";
  const std::string port = std::to_string(hook.port());
  auto by_ip = create_subscription(*s.api, {{"channel", ch}, {"endpoint", "https://127.0.0.1:" + port + "/ip"}});
  auto by_name = create_subscription(*s.api, {{"channel", ch}, {"endpoint", "https://localhost:" + port + "/name"}});
  const auto msg = publish(*s.api, ch, R"({"data":{"secret":"over tls"}})");

  ASSERT_TRUE(wait_for_path_count(hook, "/ip", 1, 5s))
      << json::serialize(subscription_stats(*s.api, str_of(by_ip, "id")));
  ASSERT_TRUE(wait_for_path_count(hook, "/name", 1, 5s))
      << json::serialize(subscription_stats(*s.api, str_of(by_name, "id")));
  for (const auto& r : hook.requests()) {
    EXPECT_EQ(r.header("webhook-id"), str_of(msg, "id"));
    EXPECT_EQ(r.json().at("data"), json::parse(R"({"secret":"over tls"})"));
    const auto& sub = r.target == "/ip" ? by_ip : by_name;
    EXPECT_TRUE(signature_matches(r.header("webhook-signature"), str_of(sub, "secret"), r.header("webhook-id"),
                                  r.header("webhook-timestamp"), r.body));
  }
  EXPECT_TRUE(wait_stat(*s.api, str_of(by_ip, "id"), "delivered", 1, 5s));
  EXPECT_TRUE(wait_stat(*s.api, str_of(by_name, "id"), "delivered", 1, 5s));
  EXPECT_EQ(hook.tls_handshake_failures(), 0u);
}

TEST(DeliveryTls, CertificateForAnotherHostNameIsNotDelivered) {
  TempDir dir("ms-tls");
  const TestCertificate good = make_test_certificate(dir.path());
  const TestCertificate wrong = make_certificate_for(dir, "wrong.test");
  // Both are trusted, so only the host name check can refuse the wrong one.
  const std::string bundle = dir.file("bundle.pem");
  {
    std::ofstream out(bundle);
    out << read_file(good.cert_file) << read_file(wrong.cert_file);
  }
  WebhookReceiver bad(tls_options(wrong));
  WebhookReceiver fine(tls_options(good));
  DeliveryStack s({"--webhook-ca-file", bundle});

  const std::string ch = "secure.events";
  auto sub = create_subscription(*s.api, {{"channel", ch},
                                          {"endpoint", bad.url("/wrong")},
                                          {"retry", {{"max_attempts", 2}, {"initial_backoff_ms", 100}}}});
  const std::string id = str_of(sub, "id");
  create_subscription(*s.api, {{"channel", ch}, {"endpoint", fine.url("/fine")}});
  publish(*s.api, ch, R"({"data":1})");

  ASSERT_TRUE(fine.wait_for_count(1, 5s)) << "the trusted bundle works for the right name";
  ASSERT_TRUE(poll_until([&] { return subscription_stats(*s.api, id).at("last_error").is_object(); }, 5s))
      << json::serialize(subscription_stats(*s.api, id));
  auto st = subscription_stats(*s.api, id);
  SCOPED_TRACE(json::serialize(st));
  const std::string message = lower(std::string(st.at("last_error").at("message").as_string()));
  EXPECT_TRUE(message.find("tls") != std::string::npos || message.find("certificate") != std::string::npos)
      << message;
  EXPECT_EQ(st.at("delivered").to_number<std::int64_t>(), 0);
  EXPECT_GE(st.at("failed_attempts").to_number<std::int64_t>(), 1);
  EXPECT_EQ(bad.count(), 0u) << "no request may be sent to a peer that failed verification";
  EXPECT_GE(bad.tls_handshake_failures(), 1u);
  // After max_attempts it is dead-lettered, still never delivered.
  EXPECT_TRUE(wait_stat(*s.api, id, "dead_lettered", 1, 5s));
  EXPECT_EQ(bad.count(), 0u);
}

}  // namespace
}  // namespace ms::test
