// Every route handler: one plain function of one signature each.
#pragma once

#include "api/context.h"
#include "http/message.h"
#include "http/router.h"

#include <boost/asio/awaitable.hpp>

namespace ms::api {

using Reply = boost::asio::awaitable<http::Response>;

Reply healthz(Context&, http::RouteRequest);
Reply readyz(Context&, http::RouteRequest);
Reply metrics(Context&, http::RouteRequest);
Reply openapi_json(Context&, http::RouteRequest);  // GET /openapi.json

Reply publish_one(Context&, http::RouteRequest);
Reply publish_batch(Context&, http::RouteRequest);
Reply read_channel(Context&, http::RouteRequest);
Reply list_channels(Context&, http::RouteRequest);
Reply get_channel(Context&, http::RouteRequest);

Reply create_subscription(Context&, http::RouteRequest);
Reply list_subscriptions(Context&, http::RouteRequest);
Reply get_subscription(Context&, http::RouteRequest);
Reply patch_subscription(Context&, http::RouteRequest);
Reply delete_subscription(Context&, http::RouteRequest);
Reply list_dead_letters(Context&, http::RouteRequest);
Reply replay_dead_letters(Context&, http::RouteRequest);
Reply purge_dead_letters(Context&, http::RouteRequest);
Reply ack_messages(Context&, http::RouteRequest);
Reply nack_messages(Context&, http::RouteRequest);

}  // namespace ms::api
