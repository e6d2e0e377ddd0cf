import { createServer, type RequestListener, type Server } from 'node:http';
import type { ServerTimeouts } from '../config/protection.ts';

/**
 * The IdP's HTTP server, with its timeouts: every process that serves the IdP (the IdP itself, the
 * demo, the benchmark and the tests) builds it here. Node waits five minutes for a request by
 * default: a client that announces a body and never sends it would hold its connection, and its
 * place among the requests in flight, all that time. Past the headers or the request timeout Node
 * answers `408` and closes the connection.
 */
export function createHttpServer(timeouts: ServerTimeouts, listener?: RequestListener): Server {
  const headersTimeout = timeouts.headersSeconds * 1000;
  return createServer({
    headersTimeout,
    requestTimeout: timeouts.requestSeconds * 1000,
    keepAliveTimeout: timeouts.keepAliveSeconds * 1000,
    // Node looks for requests past their time on this interval (30 s unless told): a tenth of the
    // headers timeout, between a quarter of a second and a second, keeps the timeouts to their word.
    connectionsCheckingInterval: Math.min(1000, Math.max(250, headersTimeout / 10)),
  }, listener);
}
