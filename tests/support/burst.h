// A burst of publishes that survives faults, and a tally of what a webhook got,
// for the fault tests (reliability_crash_test.cpp, cluster_service_test.cpp).
//
//   BurstPublisher pub;
//   std::jthread t([&] { pub.run({&svc_a, &svc_b}, {"a", "b"}, 20, 50, 20ms, 30s); });
//   ... kill something, bring it back ...
//   t.join();
//   auto published = pub.snapshot();            // every id that got a 2xx
//   ASSERT_TRUE(all_received(hook, published, 15s));
//   Tally::of(hook, published).print("name", published.size());
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "support/service_process.h"
#include "support/webhook_receiver.h"

namespace ms::test {

// What the receiver got, against what was published.
struct Tally {
  std::size_t requests = 0;
  std::size_t distinct = 0;
  std::size_t duplicated_ids = 0;    // ids received more than once
  std::size_t extra_deliveries = 0;  // requests beyond the first per id
  std::vector<std::string> lost;     // published, never received

  static Tally of(const WebhookReceiver& hook, const std::set<std::string>& published);
  // One "[ figures  ]" line: published, requests, distinct, duplicates, lost.
  void print(const char* test, std::size_t published) const;
};

// Polls until every id of `published` reached the receiver; false on timeout.
bool all_received(const WebhookReceiver& hook, const std::set<std::string>& published,
                  std::chrono::milliseconds timeout);

// Publishes `batches` × `size` messages (POST /v1/messages/batch) from the calling
// thread, retrying every item until it gets a 2xx: an idempotency key per item
// makes a retry of a publish that was in fact stored return the first result.
// Batches go to the services in turn (a batch whose call fails goes to the next
// service), item i to channels[i % channels.size()].
// Confirmed ids go into `confirmed`.
class BurstPublisher {
 public:
  std::atomic<int> batches_done{0};
  std::atomic<int> failed_calls{0};  // non-200 answers or network errors
  std::atomic<int> failed_items{0};  // items answered with an error
  std::atomic<int> status_503{0};
  std::atomic<bool> gave_up{false};  // the budget ran out with items unconfirmed
  std::atomic<bool> stop{false};     // set by the test: run() returns after the current batch

  void run(std::vector<const ServiceProcess*> services, std::vector<std::string> channels, int batches, int size,
           std::chrono::milliseconds pause, std::chrono::milliseconds budget);

  std::set<std::string> snapshot();
  std::set<std::string> snapshot(const std::string& channel);  // the ids confirmed on that channel
  std::string first_error();

 private:
  void note(const std::string& e);
  std::mutex mu_;
  std::set<std::string> confirmed_;
  std::map<std::string, std::set<std::string>> by_channel_;
  std::string first_error_;
};

}  // namespace ms::test
