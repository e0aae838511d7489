#include "subscribe/signer.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace ms::subscribe {
namespace {

// The example of the Standard Webhooks specification (and of its reference libraries).
TEST(Signer, StandardWebhooksReferenceVector) {
  auto key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  ASSERT_TRUE(key);
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ(sign(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, R"({"test": 2432232314})"),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST(Signer, SignatureDependsOnEveryPart) {
  auto key = *secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
  const std::string base = sign(key, "msg_1", 1614265330, "{}");
  EXPECT_EQ(base.rfind("v1,", 0), 0u);
  EXPECT_EQ(base.size(), 3u + 44u);  // base64 of 32 bytes
  EXPECT_EQ(sign(key, "msg_1", 1614265330, "{}"), base);
  EXPECT_NE(sign(key, "msg_2", 1614265330, "{}"), base);
  EXPECT_NE(sign(key, "msg_1", 1614265331, "{}"), base);
  EXPECT_NE(sign(key, "msg_1", 1614265330, "{ }"), base);
  EXPECT_NE(sign(key + "x", "msg_1", 1614265330, "{}"), base);
}

TEST(Signer, EmptyKeyStillSigns) {
  auto a = sign("", "msg_1", 1, "{}");
  EXPECT_EQ(a.size(), 3u + 44u);
  EXPECT_EQ(a, sign("", "msg_1", 1, "{}"));
}

TEST(Signer, SecretKey) {
  EXPECT_EQ(secret_key("whsec_Zm9vYmFy"), "foobar");
  EXPECT_EQ(secret_key("Zm9vYmFy"), "foobar");  // prefix is optional, as in the reference libraries
  EXPECT_FALSE(secret_key("whsec_"));
  EXPECT_FALSE(secret_key(""));
  EXPECT_FALSE(secret_key("whsec_not base64!"));
  EXPECT_FALSE(secret_key("whsec_Zm9vYmF"));  // length not a multiple of 4
}

TEST(Base64, Rfc4648Vectors) {
  const std::pair<std::string, std::string> vectors[] = {
      {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
  };
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(plain), encoded);
    EXPECT_EQ(base64_decode(encoded), plain) << encoded;
  }
}

TEST(Base64, StandardAlphabetWithPadding) {
  EXPECT_EQ(base64_encode("\xfb\xff\xbf"), "+/+/");
  EXPECT_EQ(base64_decode("+/+/"), "\xfb\xff\xbf");
  EXPECT_EQ(base64_encode(std::string("\0\0", 2)), "AAA=");
  EXPECT_EQ(base64_decode("AAA="), std::string("\0\0", 2));
}

TEST(Base64, DecodeIsStrict) {
  for (const char* bad : {
           "Zg",         // missing padding
           "Zg=",        // short padding
           "Zm9",        // length
           "Zm9v\n",     // whitespace
           " Zm9v",      // whitespace
           "Zm-v",       // URL-safe alphabet
           "Zm_v",       // URL-safe alphabet
           "Z===",       // too much padding
           "====",       // only padding
           "Zm=v",       // padding in the middle
           "Zg==Zg==",   // padding before the end
           "Zh==",       // non-zero bits under the padding
           "Zm9=",       // non-zero bits under the padding
           "Zm9v\xc3\xa9",  // non-ASCII
       }) {
    EXPECT_FALSE(base64_decode(bad)) << bad;
  }
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64, BinaryRoundTrip) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  EXPECT_EQ(base64_decode(base64_encode(all)), all);

  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(static_cast<std::size_t>(n), '\0');
    for (auto& b : bytes) b = static_cast<char>(rng());
    auto text = base64_encode(bytes);
    EXPECT_EQ(text.size(), (bytes.size() + 2) / 3 * 4);
    EXPECT_EQ(base64_decode(text), bytes);
  }
}

}  // namespace
}  // namespace ms::subscribe
