import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestListener } from 'node:http';
import type { Logger } from '../log.ts';
import type { MetricsSource } from './cluster-metrics.ts';

/**
 * The metrics listener's request handler: `GET /metrics` in Prometheus's text format, nothing else.
 * With a token, only a request carrying `Authorization: Bearer <token>` is answered (401 otherwise).
 * It is served on its own port (METRICS_PORT), never by the public listener: by the IdP process, or
 * with several workers by their primary, for all of them (cluster-metrics.ts).
 */
export function metricsEndpoint(registry: MetricsSource, token: string | undefined, logger: Logger): RequestListener {
  // Compared as digests, so the comparison takes the same time whatever the length of the guess.
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  return (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (expected && !timingSafeEqual(digest(req.headers.authorization ?? ''), expected)) {
      res.writeHead(401, { 'content-type': 'text/plain; charset=utf-8', 'www-authenticate': 'Bearer realm="metrics"' }).end('unauthorized\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : text),
      (error: unknown) => {
        logger.error('metrics could not be collected', { error });
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('metrics could not be collected\n');
      },
    );
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
