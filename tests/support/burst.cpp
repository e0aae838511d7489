#include "support/burst.h"

#include <cstdio>
#include <map>
#include <optional>
#include <thread>

#include <boost/json.hpp>

#include "support/delivery_harness.h"

namespace ms::test {

using namespace std::chrono_literals;
namespace json = boost::json;

Tally Tally::of(const WebhookReceiver& hook, const std::set<std::string>& published) {
  Tally t;
  std::map<std::string, int> times;
  for (const auto& id : received_ids(hook)) ++times[id];
  for (const auto& [id, n] : times) {
    t.requests += static_cast<std::size_t>(n);
    if (n > 1) {
      ++t.duplicated_ids;
      t.extra_deliveries += static_cast<std::size_t>(n - 1);
    }
  }
  t.distinct = times.size();
  for (const auto& id : published) {
    if (!times.contains(id)) t.lost.push_back(id);
  }
  return t;
}

void Tally::print(const char* test, std::size_t published) const {
  std::printf(
      "[ figures  ] %s: published %zu, requests %zu, distinct %zu, duplicated ids %zu (%zu extra deliveries), lost %zu\n",
      test, published, requests, distinct, duplicated_ids, extra_deliveries, lost.size());
  std::fflush(stdout);
}

bool all_received(const WebhookReceiver& hook, const std::set<std::string>& published,
                  std::chrono::milliseconds timeout) {
  return poll_until([&] { return Tally::of(hook, published).lost.empty(); }, timeout, 50ms);
}

void BurstPublisher::run(std::vector<const ServiceProcess*> services, std::vector<std::string> channels, int batches,
                         int size, std::chrono::milliseconds pause, std::chrono::milliseconds budget) {
  HttpClientOptions co;
  co.timeout = 3s;
  std::vector<std::optional<HttpClient>> apis;
  for (const auto* svc : services) apis.emplace_back(svc->client(co));
  const auto deadline = std::chrono::steady_clock::now() + budget;
  for (int b = 0; b < batches && !stop; ++b) {
    std::size_t which = static_cast<std::size_t>(b) % services.size();
    std::vector<int> todo;
    for (int i = 0; i < size; ++i) todo.push_back(i);
    while (!todo.empty()) {
      if (std::chrono::steady_clock::now() > deadline) {
        gave_up = true;
        return;
      }
      json::array msgs;
      for (int i : todo) {
        msgs.push_back(json::object{{"channel", channels[static_cast<std::size_t>(i) % channels.size()]},
                                    {"data", {{"b", b}, {"i", i}}},
                                    {"idempotency_key", "b" + std::to_string(b) + "-i" + std::to_string(i)}});
      }
      std::vector<int> again;
      try {
        auto r = apis[which]->post("/v1/messages/batch", json::serialize(json::object{{"messages", msgs}}));
        if (r.status != 200) {
          ++failed_calls;
          if (r.status == 503) ++status_503;
          note(std::to_string(r.status) + " " + r.body);
          again = todo;
        } else {
          const json::value body = r.json();
          const auto& results = body.at("results").as_array();
          for (std::size_t k = 0; k < todo.size(); ++k) {
            const json::value item = k < results.size() ? results[k] : json::value(nullptr);
            if (item.is_object() && item.as_object().contains("id") && !item.as_object().contains("error")) {
              std::lock_guard lock(mu_);
              const std::string id(item.at("id").as_string());
              confirmed_.insert(id);
              by_channel_[channels[static_cast<std::size_t>(todo[k]) % channels.size()]].insert(id);
            } else {
              ++failed_items;
              note("item: " + json::serialize(item));
              again.push_back(todo[k]);
            }
          }
        }
      } catch (const std::exception& e) {
        // That instance may be gone: the retry goes to the next one.
        ++failed_calls;
        note(std::string("exception: ") + e.what());
        again = todo;
        apis[which].emplace(services[which]->client(co));
        which = (which + 1) % services.size();
      }
      todo = std::move(again);
      if (!todo.empty()) std::this_thread::sleep_for(50ms);
    }
    ++batches_done;
    std::this_thread::sleep_for(pause);
  }
}

std::set<std::string> BurstPublisher::snapshot() {
  std::lock_guard lock(mu_);
  return confirmed_;
}

std::set<std::string> BurstPublisher::snapshot(const std::string& channel) {
  std::lock_guard lock(mu_);
  auto it = by_channel_.find(channel);
  return it == by_channel_.end() ? std::set<std::string>{} : it->second;
}

std::string BurstPublisher::first_error() {
  std::lock_guard lock(mu_);
  return first_error_;
}

void BurstPublisher::note(const std::string& e) {
  std::lock_guard lock(mu_);
  if (first_error_.empty()) first_error_ = e;
}

}  // namespace ms::test
