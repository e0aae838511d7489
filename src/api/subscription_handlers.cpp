// Subscription routes (API.md "Subscriptions").
#include "api/access.h"
#include "api/errors.h"
#include "api/handlers.h"
#include "base/clock.h"
#include "http/ssrf_guard.h"
#include "messaging/channel_name.h"
#include "publish/channel_reader.h"
#include "subscribe/acknowledgments.h"
#include "subscribe/dead_letter_queue.h"
#include "subscribe/subscription_store.h"

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <charconv>

namespace ms::api {

namespace {

using subscribe::Subscription;

boost::json::object stats_json(const subscribe::SubscriptionStats& st) {
  boost::json::object o{{"delivered", st.delivered},
                        {"attempts", st.attempts},
                        {"failed_attempts", st.failed_attempts},
                        {"filtered", st.filtered},
                        {"in_flight", st.in_flight},
                        {"retrying", st.retrying},
                        {"backlog", st.backlog},
                        {"dead_lettered", st.dead_lettered},
                        {"at_risk", st.at_risk}};
  o["oldest_unacked_age_ms"] = st.oldest_unacked_age_ms ? boost::json::value(*st.oldest_unacked_age_ms) : nullptr;
  o["last_delivery_at"] =
      st.last_delivery_at_ms ? boost::json::value(format_rfc3339_ms(*st.last_delivery_at_ms)) : nullptr;
  if (st.last_error_at_ms) {
    o["last_error"] = boost::json::object{{"at", format_rfc3339_ms(*st.last_error_at_ms)},
                                          {"status", st.last_error_status},
                                          {"message", st.last_error_message}};
  } else {
    o["last_error"] = nullptr;
  }
  return o;
}

// The endpoint's host, when it is an address literal the SSRF guard forbids.
std::string refused_endpoint(const Context& ctx, const std::string& endpoint) {
  auto u = boost::urls::parse_uri(endpoint);
  if (!u || !ctx.ssrf_guard) return {};
  std::string host = u->host_address();
  auto reason = http::SsrfGuard::check_literal_host(host, *ctx.ssrf_guard);
  if (reason.empty()) return {};
  return "endpoint address " + host + " is not allowed (" + reason + "); allow it with --endpoint-allow";
}

// A subscription another key created is, to a subscribe-scoped key, not there.
bool visible(const Context& ctx, const http::Request& req, const Subscription& s) {
  return ctx.access == nullptr || ctx.access->may_see(req, s.owner);
}

http::Response not_found(std::string_view id) { return error_response(404, "subscription " + std::string(id) + " not found"); }

Reply with_stats(Context& ctx, const Subscription& s, int status) {
  auto o = subscribe::to_json(s);
  auto st = co_await ctx.subscriptions->stats(s);
  if (st.value) {
    o["stats"] = stats_json(*st.value);
  } else {
    o["stats"] = nullptr;
  }
  co_return json_response(status, o);
}

}  // namespace

Reply create_subscription(Context& ctx, http::RouteRequest r) {
  auto parsed = subscribe::parse_create(r.req.body);
  if (auto* err = std::get_if<subscribe::FieldError>(&parsed)) {
    co_return error_response(400, err->message, boost::json::object{{"field", err->field}});
  }
  auto sub = std::move(std::get<Subscription>(parsed));
  if (auto why = refused_endpoint(ctx, sub.endpoint); !why.empty()) {
    co_return error_response(400, why, boost::json::object{{"field", "endpoint"}});
  }
  redis::Command count{"HLEN", ctx.subscriptions->keys().subs()};
  auto n = co_await ctx.redis.exec(std::move(count));
  if (!n || n->is_error()) co_return unavailable("cannot create the subscription: Redis is not reachable");
  if (n->integer >= static_cast<std::int64_t>(ctx.config.max_subscriptions)) {
    co_return error_response(409, "subscription limit of " + std::to_string(ctx.config.max_subscriptions) + " reached");
  }
  auto now = co_await ctx.subscriptions->redis_time_ms();
  if (!now.value) co_return unavailable("cannot create the subscription: " + now.error);
  sub.id = subscribe::generate_id();
  if (sub.secret.empty()) sub.secret = subscribe::generate_secret();
  sub.created_at_ms = sub.updated_at_ms = *now.value;
  sub.generation = 1;
  if (ctx.access != nullptr) {
    if (const auto* caller = ctx.access->caller(r.req)) sub.owner = caller->id;
  }
  // Groups first: once the subscription is visible, every matching log already has its group.
  auto chans = co_await ctx.subscriptions->matching_channels(sub);
  if (!chans.value) co_return unavailable("cannot create the subscription: " + chans.error);
  for (auto& ch : *chans.value) {
    auto e = co_await ctx.subscriptions->ensure_group(sub, std::move(ch));
    if (!e.empty()) co_return unavailable("cannot create the subscription: " + e);
  }
  auto copy = sub;
  auto e = co_await ctx.subscriptions->put(std::move(copy));
  if (!e.empty()) co_return unavailable("cannot create the subscription: " + e);
  auto o = subscribe::to_json(sub);
  o["stats"] = stats_json({});
  co_return json_response(201, o);
}

Reply list_subscriptions(Context& ctx, http::RouteRequest r) {
  auto filter = r.req.query_param("channel");
  if (filter && !messaging::is_valid_channel(*filter) && !messaging::is_valid_pattern(*filter)) {
    co_return error_response(400, "channel must be a channel name or pattern", {{"field", "channel"}});
  }
  std::size_t limit = 100;
  if (auto l = r.req.query_param("limit")) {
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit < 1 || limit > 1000) {
      co_return error_response(400, "limit must be an integer from 1 to 1000", {{"field", "limit"}});
    }
  }
  std::string after = r.req.query_param("after").value_or("");
  auto all = co_await ctx.subscriptions->load_all();
  if (!all.value) co_return unavailable("cannot list subscriptions: " + all.error);
  boost::json::array out;
  std::optional<std::string> next;
  for (const auto& s : *all.value) {  // sorted by id
    if (!after.empty() && s.id <= after) continue;
    if (!visible(ctx, r.req, s)) continue;
    if (filter) {
      bool hit = s.channel == *filter || (messaging::is_pattern(s.channel) && !messaging::is_pattern(*filter) &&
                                          messaging::pattern_matches(s.channel, *filter));
      if (!hit) continue;
    }
    if (out.size() == limit) {
      next = out.back().as_object().at("id").as_string().c_str();
      break;
    }
    out.push_back(subscribe::to_json(s));
  }
  boost::json::object body{{"subscriptions", std::move(out)}};
  if (next) body["next"] = *next;
  co_return json_response(200, body);
}

Reply get_subscription(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  co_return co_await with_stats(ctx, **got.value, 200);
}

Reply patch_subscription(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  // Read, change, compare-and-set: a change made meanwhile (another PATCH, or a
  // dispatcher disabling the subscription after a 410) is read again, not lost.
  constexpr int kAttempts = 5;
  for (int attempt = 1; attempt <= kAttempts; ++attempt) {
    auto got = co_await ctx.subscriptions->get_stored(id);
    if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
    if (!*got.value || !visible(ctx, r.req, (*got.value)->sub)) co_return not_found(id);
    const Subscription& before = (*got.value)->sub;
    auto patched = subscribe::apply_patch(before, r.req.body);
    if (auto* err = std::get_if<subscribe::FieldError>(&patched)) {
      co_return error_response(400, err->message, boost::json::object{{"field", err->field}});
    }
    auto sub = std::move(std::get<Subscription>(patched));
    if (sub.endpoint != before.endpoint) {
      if (auto why = refused_endpoint(ctx, sub.endpoint); !why.empty()) {
        co_return error_response(400, why, boost::json::object{{"field", "endpoint"}});
      }
    }
    sub.updated_at_ms = unix_ms_now();
    auto written = co_await ctx.subscriptions->replace(sub, std::move((*got.value)->raw));
    if (!written.value) co_return unavailable("cannot change the subscription: " + written.error);
    if (*written.value) co_return co_await with_stats(ctx, sub, 200);
  }
  co_return error_response(409, "the subscription kept changing while this change was applied; try again");
}

Reply delete_subscription(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  auto e = co_await ctx.subscriptions->remove(std::move(**got.value));
  if (!e.empty()) co_return unavailable("cannot delete the subscription: " + e);
  http::Response res;
  res.status = 204;
  res.content_type.clear();
  co_return res;
}

}  // namespace ms::api

// ---- dead letters and explicit acknowledgments -------------------------------

namespace ms::api {

namespace {

// {"ids": ["...", ...]} (ids optional when allow_empty); nullopt + response on a bad body.
std::optional<std::vector<std::string>> parse_ids(const http::Request& req, bool allow_empty, http::Response& bad,
                                                  boost::json::object* whole = nullptr) {
  boost::json::object empty;
  boost::system::error_code ec;
  auto v = req.body.empty() ? boost::json::value(empty) : boost::json::parse(req.body, ec);
  if (ec || !v.is_object()) {
    bad = error_response(400, "body must be a JSON object");
    return std::nullopt;
  }
  auto& o = v.as_object();
  std::vector<std::string> ids;
  if (auto* arr = o.if_contains("ids")) {
    if (!arr->is_array() || arr->as_array().size() > 1000) {
      bad = error_response(400, "ids must be an array of at most 1000 strings", {{"field", "ids"}});
      return std::nullopt;
    }
    for (const auto& id : arr->as_array()) {
      if (!id.is_string() || id.as_string().empty() || id.as_string().size() > 64) {
        bad = error_response(400, "ids must be an array of message ids", {{"field", "ids"}});
        return std::nullopt;
      }
      ids.emplace_back(id.as_string().c_str());
    }
  } else if (!allow_empty) {
    bad = error_response(400, "ids is required", {{"field", "ids"}});
    return std::nullopt;
  }
  if (whole) *whole = o;
  return ids;
}

}  // namespace

Reply list_dead_letters(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  std::size_t limit = 100;
  if (auto l = r.req.query_param("limit")) {
    auto [end, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || end != l->data() + l->size() || limit < 1 || limit > 1000) {
      co_return error_response(400, "limit must be an integer from 1 to 1000", {{"field", "limit"}});
    }
  }
  std::string after = r.req.query_param("after").value_or("");
  if (!after.empty() && !publish::is_valid_position(after)) {
    co_return error_response(400, "after must be a cursor from a previous page's next", {{"field", "after"}});
  }
  auto page = co_await ctx.dead_letters->list(id, std::move(after), limit);
  if (!page.value) co_return unavailable("cannot read dead letters: " + page.error);
  boost::json::array items;
  for (const auto& d : page.value->items) {
    boost::system::error_code ec;
    auto message = boost::json::parse(d.message, ec);
    boost::json::object o{{"id", d.dlq_id},
                          {"message", ec ? boost::json::value(d.message) : std::move(message)},
                          {"attempts", d.attempts},
                          {"last_error", boost::json::object{{"at", format_rfc3339_ms(d.dead_lettered_at_ms)},
                                                             {"status", d.last_status},
                                                             {"message", d.last_error}}},
                          {"dead_lettered_at", format_rfc3339_ms(d.dead_lettered_at_ms)}};
    items.push_back(std::move(o));
  }
  boost::json::object out{{"dead_letters", std::move(items)}};
  if (page.value->next) out["next"] = *page.value->next;
  co_return json_response(200, out);
}

Reply replay_dead_letters(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  http::Response bad;
  auto ids = parse_ids(r.req, true, bad);
  if (!ids) co_return bad;
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  auto n = co_await ctx.dead_letters->replay(std::move(**got.value), std::move(*ids));
  if (!n.value) co_return unavailable("cannot replay: " + n.error);
  co_return json_response(200, boost::json::object{{"replayed", *n.value}});
}

Reply purge_dead_letters(Context& ctx, http::RouteRequest r) {
  std::string id(r.param("id"));
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  auto n = co_await ctx.dead_letters->purge(id);
  if (!n.value) co_return unavailable("cannot purge: " + n.error);
  co_return json_response(200, boost::json::object{{"purged", *n.value}});
}

namespace {
Reply settle(Context& ctx, http::RouteRequest r, bool positive) {
  std::string id(r.param("id"));
  http::Response bad;
  boost::json::object body;
  auto ids = parse_ids(r.req, false, bad, &body);
  if (!ids) co_return bad;
  std::uint64_t delay_ms = 0;
  if (!positive) {
    if (auto* d = body.if_contains("delay_ms")) {
      if (!d->is_int64() || d->as_int64() < 0 || d->as_int64() > 86400000) {
        co_return error_response(400, "delay_ms must be an integer from 0 to 86400000", {{"field", "delay_ms"}});
      }
      delay_ms = static_cast<std::uint64_t>(d->as_int64());
    }
  }
  auto got = co_await ctx.subscriptions->get(id);
  if (!got.value) co_return unavailable("cannot read the subscription: " + got.error);
  if (!*got.value || !visible(ctx, r.req, **got.value)) co_return not_found(id);
  subscribe::StoreResult<subscribe::AckResult> res;
  if (positive) {
    res = co_await ctx.acks->ack(std::move(**got.value), std::move(*ids));
  } else {
    res = co_await ctx.acks->nack(std::move(**got.value), std::move(*ids), delay_ms);
  }
  if (!res.value) co_return unavailable("cannot record the acknowledgment: " + res.error);
  boost::json::array unknown;
  for (auto& u : res.value->unknown) unknown.push_back(boost::json::value(u));
  co_return json_response(200, boost::json::object{{positive ? "acked" : "nacked", res.value->done},
                                                   {"unknown", std::move(unknown)}});
}
}  // namespace

Reply ack_messages(Context& ctx, http::RouteRequest r) { return settle(ctx, r, true); }
Reply nack_messages(Context& ctx, http::RouteRequest r) { return settle(ctx, r, false); }

}  // namespace ms::api
