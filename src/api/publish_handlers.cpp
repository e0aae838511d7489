// Publishing and channel routes (API.md "Messages" and "Channels").
#include "api/errors.h"
#include "api/handlers.h"
#include "base/clock.h"
#include "messaging/channel_name.h"
#include "messaging/error.h"
#include "messaging/gzip.h"
#include "messaging/publish_request.h"
#include "publish/channel_reader.h"
#include "publish/event_publisher.h"
#include "subscribe/subscription_store.h"

#include <boost/json.hpp>

#include <charconv>

namespace ms::api {

namespace {

using publish::PublishOutcome;

bool is_json_content_type(std::optional<std::string_view> ct) {
  if (!ct) return false;
  auto v = *ct;
  auto semi = v.find(';');
  auto media = v.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json" || (lower.rfind("application/", 0) == 0 && lower.size() > 5 &&
                                         lower.compare(lower.size() - 5, 5, "+json") == 0);
}

// The request body as JSON text: content type checked, gzip inflated within the limit.
// Returns a response when the body cannot be used.
std::optional<http::Response> read_json_body(const Context& ctx, const http::Request& req, std::string& body) {
  if (!is_json_content_type(req.header("content-type"))) {
    return error_response(415, "Content-Type must be application/json");
  }
  std::string enc;
  if (auto h = req.header("content-encoding")) {  // content codings are case-insensitive
    for (char c : *h) {
      if (c != ' ' && c != '\t') enc.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!enc.empty() && enc != "identity") {
    if (enc != "gzip" && enc != "x-gzip") {
      return error_response(415, "Content-Encoding must be gzip or identity");
    }
    auto inflated = messaging::gzip_inflate(req.body, ctx.config.max_body_bytes);
    if (!inflated) {
      if (inflated.error() == messaging::errc::too_large) {
        return error_response(413, "inflated request body larger than " + std::to_string(ctx.config.max_body_bytes) +
                                       " bytes");
      }
      return error_response(400, "request body is not valid gzip");
    }
    body = std::move(*inflated);
    return std::nullopt;
  }
  body = req.body;
  return std::nullopt;
}

messaging::Limits limits(const Context& ctx) {
  messaging::Limits l;
  l.max_batch = ctx.config.max_batch_messages;
  return l;
}

boost::json::object result_json(const PublishOutcome& o) {
  boost::json::object r{{"id", o.id},
                        {"channel", o.channel},
                        {"position", o.position},
                        {"published_at", format_rfc3339_ms(o.published_at_ms)}};
  if (o.status == PublishOutcome::Status::duplicate) r["duplicate"] = true;
  return r;
}

boost::json::object validation_details(const messaging::ValidationError& e) {
  boost::json::object d;
  if (!e.field.empty()) d["field"] = e.field;
  return d;
}

boost::json::object item_error(int status, std::string_view message, boost::json::object details = {}) {
  boost::json::object err{{"code", code_for_status(status)}, {"message", message}};
  if (!details.empty()) err["details"] = std::move(details);
  return boost::json::object{{"error", std::move(err)}};
}

// limit=1..1000 (default 100); returns nullopt for a bad value.
std::optional<std::size_t> parse_limit(const http::Request& req) {
  auto v = req.query_param("limit");
  if (!v) return 100;
  std::size_t n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > 1000) return std::nullopt;
  return n;
}

boost::json::object retention_json(const Context& ctx) {
  boost::json::object r{{"max_messages", ctx.config.retention_max_messages}};
  if (ctx.config.retention_max_age_ms > 0) {
    r["max_age_ms"] = ctx.config.retention_max_age_ms;
  } else {
    r["max_age_ms"] = nullptr;
  }
  return r;
}

boost::json::object channel_json(const publish::ChannelInfo& info) {
  boost::json::object o{{"name", info.name},
                        {"length", info.length},
                        {"published_total", info.published_total},
                        {"subscriptions", info.subscription_ids.size()}};
  if (info.last_published_at_ms) {
    o["last_published_at"] = format_rfc3339_ms(*info.last_published_at_ms);
  } else {
    o["last_published_at"] = nullptr;
  }
  return o;
}

}  // namespace

Reply publish_one(Context& ctx, http::RouteRequest r) {
  auto channel = r.param("channel");
  if (!messaging::is_valid_channel(channel)) {
    co_return error_response(400, "invalid channel name: " + messaging::channel_error(channel),
                             boost::json::object{{"field", "channel"}});
  }
  std::string body;
  if (auto bad = read_json_body(ctx, r.req, body)) co_return std::move(*bad);
  auto parsed = messaging::parse_publish_one(body, channel, r.req.header("idempotency-key"), limits(ctx));
  if (auto* err = std::get_if<messaging::ValidationError>(&parsed)) {
    co_return error_response(400, err->message, validation_details(*err));
  }
  std::string traceparent(r.req.header("traceparent").value_or(""));
  std::string tracestate(r.req.header("tracestate").value_or(""));
  auto outcome = co_await ctx.publisher->publish(std::move(std::get<messaging::PublishInput>(parsed)),
                                                 std::move(traceparent), std::move(tracestate));
  switch (outcome.status) {
    case PublishOutcome::Status::created: co_return json_response(201, result_json(outcome));
    case PublishOutcome::Status::duplicate: co_return json_response(200, result_json(outcome));
    case PublishOutcome::Status::unavailable: co_return unavailable("message not stored: " + outcome.error);
    case PublishOutcome::Status::failed: break;
  }
  co_return error_response(500, "message not stored: " + outcome.error);
}

Reply publish_batch(Context& ctx, http::RouteRequest r) {
  std::string body;
  if (auto bad = read_json_body(ctx, r.req, body)) co_return std::move(*bad);
  auto parsed = messaging::parse_publish_batch(body, limits(ctx));
  if (auto* err = std::get_if<messaging::ValidationError>(&parsed)) {
    co_return error_response(400, err->message, validation_details(*err));
  }
  auto& items = std::get<std::vector<messaging::PublishResult>>(parsed);
  std::vector<messaging::PublishInput> valid;
  std::vector<std::size_t> where;  // valid[k] answers items[where[k]]
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto* in = std::get_if<messaging::PublishInput>(&items[i])) {
      valid.push_back(std::move(*in));
      where.push_back(i);
    }
  }
  std::vector<PublishOutcome> outcomes;
  std::string traceparent(r.req.header("traceparent").value_or(""));
  std::string tracestate(r.req.header("tracestate").value_or(""));
  if (!valid.empty()) {
    outcomes = co_await ctx.publisher->publish_batch(std::move(valid), std::move(traceparent), std::move(tracestate));
  }

  bool all_unavailable = !outcomes.empty();
  for (const auto& o : outcomes) all_unavailable = all_unavailable && o.status == PublishOutcome::Status::unavailable;
  if (all_unavailable && outcomes.size() == items.size()) {
    co_return unavailable("no message stored: " + outcomes.front().error);
  }

  boost::json::array results;
  results.resize(items.size());
  std::size_t published = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (auto* err = std::get_if<messaging::ValidationError>(&items[i])) {
      results[i] = item_error(400, err->message, validation_details(*err));
    }
  }
  for (std::size_t k = 0; k < outcomes.size(); ++k) {
    const auto& o = outcomes[k];
    auto& slot = results[where[k]];
    if (o.ok()) {
      slot = result_json(o);
      ++published;
    } else if (o.status == PublishOutcome::Status::unavailable) {
      slot = item_error(503, "message not stored: " + o.error);
    } else {
      slot = item_error(500, "message not stored: " + o.error);
    }
  }
  boost::json::object out{{"results", std::move(results)},
                          {"published", published},
                          {"failed", items.size() - published}};
  co_return json_response(200, out);
}

Reply read_channel(Context& ctx, http::RouteRequest r) {
  auto channel = r.param("channel");
  if (!messaging::is_valid_channel(channel)) {
    co_return error_response(400, "invalid channel name: " + messaging::channel_error(channel),
                             boost::json::object{{"field", "channel"}});
  }
  auto limit = parse_limit(r.req);
  if (!limit) co_return error_response(400, "limit must be an integer from 1 to 1000", {{"field", "limit"}});
  std::string after = r.req.query_param("after").value_or("");
  if (!after.empty() && !publish::is_valid_position(after)) {
    co_return error_response(400, "after must be a position such as 1733076000123-0", {{"field", "after"}});
  }
  std::string name(channel);  // named: no non-trivial temporaries in co_await (g++ 12)
  auto page = co_await ctx.channels->read(std::move(name), std::move(after), *limit);
  if (!page.value) co_return unavailable("cannot read the channel: " + page.error);
  if (!page.value->exists) co_return error_response(404, "channel " + std::string(channel) + " has no messages");
  // The envelopes are already JSON text: assemble the page without re-serialising them.
  std::string out = "{\"messages\":[";
  for (std::size_t i = 0; i < page.value->messages.size(); ++i) {
    if (i) out += ',';
    out += page.value->messages[i];
  }
  out += ']';
  if (page.value->next) out += ",\"next\":" + boost::json::serialize(boost::json::value(*page.value->next));
  out += '}';
  co_return http::Response::json(200, std::move(out));
}

Reply list_channels(Context& ctx, http::RouteRequest r) {
  auto limit = parse_limit(r.req);
  if (!limit) co_return error_response(400, "limit must be an integer from 1 to 1000", {{"field", "limit"}});
  std::string after = r.req.query_param("after").value_or("");
  auto list = co_await ctx.channels->list(std::move(after), *limit);
  if (!list.value) co_return unavailable("cannot list channels: " + list.error);
  auto subs = co_await ctx.subscriptions->load_all();
  if (!subs.value) co_return unavailable("cannot list channels: " + subs.error);
  for (auto& c : list.value->channels) c.subscription_ids = subscribe::subscriptions_matching(*subs.value, c.name);
  boost::json::array chans;
  for (const auto& c : list.value->channels) chans.push_back(channel_json(c));
  boost::json::object out{{"channels", std::move(chans)}};
  if (list.value->next) out["next"] = *list.value->next;
  co_return json_response(200, out);
}

Reply get_channel(Context& ctx, http::RouteRequest r) {
  auto channel = r.param("channel");
  if (!messaging::is_valid_channel(channel)) {
    co_return error_response(400, "invalid channel name: " + messaging::channel_error(channel),
                             boost::json::object{{"field", "channel"}});
  }
  std::string name(channel);
  auto info = co_await ctx.channels->info(std::move(name));
  if (!info.value) co_return unavailable("cannot read the channel: " + info.error);
  auto subs = co_await ctx.subscriptions->load_all();
  if (!subs.value) co_return unavailable("cannot read the channel: " + subs.error);
  info.value->subscription_ids = subscribe::subscriptions_matching(*subs.value, channel);
  if (info.value->name.empty() && !info.value->subscription_ids.empty()) info.value->name = std::string(channel);
  if (info.value->name.empty()) co_return error_response(404, "channel " + std::string(channel) + " not found");
  auto o = channel_json(*info.value);
  o["first_position"] = info.value->first_position ? boost::json::value(*info.value->first_position) : nullptr;
  o["last_position"] = info.value->last_position ? boost::json::value(*info.value->last_position) : nullptr;
  o["retention"] = retention_json(ctx);
  boost::json::array ids;
  for (const auto& id : info.value->subscription_ids) ids.push_back(boost::json::value(id));
  o["subscription_ids"] = std::move(ids);
  co_return json_response(200, o);
}

}  // namespace ms::api
