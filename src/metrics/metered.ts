import { HashQueueFullError, type HashQueue } from '../auth/password/hash-queue.ts';
import { smsSegments } from '../auth/sms-otp/segments.ts';
import { SmsDeliveryError, type SmsSender } from '../auth/sms-otp/sms-sender.ts';
import type { RateLimit } from '../http/rate-limit.ts';
import type { Metrics, RateLimitName } from './port.ts';

/** The SMS transport, counting every message it accepts (with its segments) and every failure by reason. */
export function meteredSmsSender(sender: SmsSender, metrics: Metrics): SmsSender {
  return {
    name: sender.name,
    async send(message) {
      try {
        await sender.send(message);
      } catch (error) {
        metrics.smsFailed(error instanceof SmsDeliveryError ? error.failure : 'unavailable');
        throw error;
      }
      metrics.smsSent(smsSegments(message.body));
    },
  };
}

/** A per-address rate limit, counting its refusals under `name`. */
export function meteredRateLimit(limit: RateLimit, name: RateLimitName, metrics: Metrics): RateLimit {
  return {
    async take(key) {
      const decision = await limit.take(key);
      if (!decision.allowed) metrics.rateLimited(name);
      return decision;
    },
  };
}

/** The password hashing queue, counting the checks it turns away when it is full. */
export function meteredHashQueue(queue: HashQueue, metrics: Metrics): HashQueue {
  const enter: HashQueue['enter'] = (owner) => {
    try {
      return queue.enter(owner);
    } catch (error) {
      if (error instanceof HashQueueFullError) metrics.shed('password_hashing');
      throw error;
    }
  };
  return {
    load: queue.load,
    busyFor: queue.busyFor,
    enter,
    run: async (hash, owner) => enter(owner).run(hash),
  };
}
