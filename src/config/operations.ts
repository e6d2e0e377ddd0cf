import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { parse } from './parse.ts';

/**
 * How the IdP is run: its processes on the machine, the metrics listener, what an SMS segment costs,
 * how often the signing key store is read and how long a new signing key is published before it signs.
 */
export type OperationsSettings = {
  /** The port of the separate metrics listener; undefined: no metrics listener. */
  metricsPort: number | undefined;
  /** When set, the metrics listener answers only `Authorization: Bearer <token>`. */
  metricsToken: string | undefined;
  /** The estimated price of one SMS segment, for the spend metric. */
  smsPricePerSegment: number;
  /** How long a new signing key is published before it signs (used by `npm run keys -- rotate`). */
  signingKeyOverlapHours: number;
  /** How often every IdP process reads the signing key store again. */
  signingKeyCheckSeconds: number;
  /** IdP processes serving the port together (WORKERS, `auto` resolved to the cores); 1 is the IdP alone. */
  workers: number;
  /** WORKERS was `auto`. */
  workersAuto: boolean;
};

/** SIGNING_KEY_OVERLAP_HOURS: how long `npm run keys -- rotate` publishes a new key before it signs. */
export function loadSigningKeyOverlapHours(env: NodeJS.ProcessEnv, problems: string[]): number {
  return parse('SIGNING_KEY_OVERLAP_HOURS', env.SIGNING_KEY_OVERLAP_HOURS ?? '24', z.coerce.number().min(1).max(24 * 90), problems) ?? 24;
}

/** METRICS_PORT, METRICS_TOKEN, SMS_PRICE_PER_SEGMENT, SIGNING_KEY_OVERLAP_HOURS, SIGNING_KEY_CHECK_SECONDS and WORKERS. */
export function loadOperations(env: NodeJS.ProcessEnv, port: number, problems: string[]): OperationsSettings {
  const metricsPort = env.METRICS_PORT ? parse('METRICS_PORT', env.METRICS_PORT, z.coerce.number().int().min(0).max(65535), problems) : undefined;
  // Port 0 picks a free port, for tests: only a real port can clash with the public one.
  if (metricsPort && metricsPort === port) problems.push('METRICS_PORT must differ from PORT: metrics are never served on the public listener');
  const metricsToken = env.METRICS_TOKEN || undefined;
  if (metricsToken !== undefined && metricsToken.length < 32) problems.push('METRICS_TOKEN must be at least 32 characters');
  if (metricsToken !== undefined && metricsPort === undefined) problems.push('METRICS_TOKEN is set but METRICS_PORT is not: metrics are served only on their own port');
  const price = parse('SMS_PRICE_PER_SEGMENT', env.SMS_PRICE_PER_SEGMENT ?? '0.08', z.coerce.number().min(0).max(1000), problems) ?? 0.08;
  const signingKeyCheckSeconds = parse('SIGNING_KEY_CHECK_SECONDS', env.SIGNING_KEY_CHECK_SECONDS ?? '60', z.coerce.number().int().min(1).max(3600), problems) ?? 60;
  const workersAuto = env.WORKERS?.trim() === 'auto';
  const workers = workersAuto
    ? availableParallelism()
    : parse('WORKERS', env.WORKERS ?? '1', z.coerce.number({ error: 'must be a number of processes or "auto"' }).int().min(1).max(256), problems) ?? 1;
  return { metricsPort, metricsToken, smsPricePerSegment: price, signingKeyOverlapHours: loadSigningKeyOverlapHours(env, problems), signingKeyCheckSeconds, workers, workersAuto };
}
