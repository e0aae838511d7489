// http_204_responder: the "physical limit" of an HTTP request/response on this
// machine with the same stack as the service (Boost.Beast, coroutines, keep-alive):
// it reads each request whole (body included) and answers 204 No Content.
//
//   http_204_responder [--port=0] [--threads=2] [--max-seconds=1800]
//
// Prints "port <N>" on stdout once listening on 127.0.0.1.
#include <cstdio>

#include "bench_server.h"

int main(int argc, char** argv) {
  bench::ServerOptions o;
  o.threads = 2;
  for (int i = 1; i < argc; ++i) {
    if (!bench::parse_server_flag(argv[i], o)) {
      std::fprintf(stderr, "usage: %s [--port=N] [--threads=N] [--max-seconds=N]\n", argv[0]);
      return 2;
    }
  }
  auto handler = [](bench::Request&, bench::Response& res) { res.result(bench::http::status::no_content); };
  return bench::run_server(o, handler);
}
