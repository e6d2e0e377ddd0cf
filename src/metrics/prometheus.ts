import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Metrics, RouteGroup } from './port.ts';

/** What the registry reads when it is scraped, instead of being told on every request. */
export type MetricSources = {
  /** Sign-ins in progress held in this process's memory, by kind, and how many were pushed out since start. */
  signInsInMemory?: () => readonly { kind: string; held: number; evicted: number }[];
  /** Whether the store can write, as `/readyz` decides. */
  ready: () => Promise<boolean>;
  /** The size of the store's write-ahead log, where it has one. */
  walBytes?: () => number | undefined;
  /** Statements the store has run for the IdP's features since it opened, where it counts them. */
  storeStatements?: () => number | undefined;
  /** Round trips to the store's database server for the IdP's features since it opened, where it has one. */
  storeRoundTrips?: () => number | undefined;
  /** Members with at least one passkey, counted in the store: a scan, so it runs rarely (see refresh). */
  countMembersWithPasskeys: () => Promise<number>;
};

export type PrometheusMetrics = {
  metrics: Metrics;
  registry: Registry;
  /** Counts members with passkeys in the store again, replacing what this instance has tallied since. */
  recountMembersWithPasskeys(): Promise<void>;
};

/** A commit takes well under a millisecond; a flush to disk (SQLITE_SYNCHRONOUS=full) a few. */
const COMMIT_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const STATEMENT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/** Sign-in steps have a 250 ms objective: buckets around it, up to what a member would give up on. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The IdP's metric families in a registry of their own (never prom-client's global one), with the
 * process's default collectors (event-loop delay, heap, resident memory, …). Label values come only
 * from the fixed sets of port.ts.
 */
export function createPrometheusMetrics(sources: MetricSources, options: { smsPricePerSegment: number }): PrometheusMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requests = new Counter({ name: 'jmb_http_requests_total', help: 'Requests answered, by route group and status', labelNames: ['group', 'status'], registers });
  const latency = new Histogram({ name: 'jmb_http_request_duration_seconds', help: 'Time to answer a request, by route group', labelNames: ['group'], buckets: LATENCY_BUCKETS, registers });
  const logins = new Counter({ name: 'jmb_logins_total', help: 'Log-in attempts, by method and outcome (success or the failure code)', labelNames: ['method', 'outcome'], registers });
  const stepUps = new Counter({ name: 'jmb_step_ups_total', help: 'SMS step-ups of sign-ins, by outcome', labelNames: ['outcome'], registers });
  const logouts = new Counter({ name: 'jmb_logouts_total', help: 'Log-outs at the IdP (end of session)', registers });
  const registrations = new Counter({ name: 'jmb_passkey_registrations_total', help: 'Passkey registrations on the account page, by outcome', labelNames: ['outcome'], registers });
  const offers = new Counter({ name: 'jmb_passkey_offer_total', help: 'The passkey offered after a password log-in, by step: offered, accepted, registered, dismissed, skipped', labelNames: ['outcome'], registers });
  const deletions = new Counter({ name: 'jmb_passkey_deletions_total', help: 'Passkeys deleted by members on the account page', registers });
  const smsSent = new Counter({ name: 'jmb_sms_sent_total', help: 'SMS messages (codes and notices) accepted by the transport', registers });
  const smsSegments = new Counter({ name: 'jmb_sms_segments_total', help: 'SMS segments sent: what carriers bill (70 characters in Japanese, 160 in plain Latin text)', registers });
  const smsSpend = new Counter({ name: 'jmb_sms_spend_estimated_total', help: 'Estimated SMS spend: segments sent times SMS_PRICE_PER_SEGMENT, in its currency', registers });
  const smsFailed = new Counter({ name: 'jmb_sms_failed_total', help: 'SMS messages the transport did not accept, by reason', labelNames: ['reason'], registers });
  const smsRefused = new Counter({ name: 'jmb_sms_refused_total', help: 'SMS codes and notices not sent because of a cooldown, budget or lock, by reason', labelNames: ['reason'], registers });
  const rateLimited = new Counter({ name: 'jmb_rate_limited_total', help: 'Requests refused by a per-address or per-member limit, by limit', labelNames: ['limit'], registers });
  const shed = new Counter({ name: 'jmb_shed_total', help: 'Requests refused at once because the IdP was saturated, by stage', labelNames: ['stage'], registers });
  const keyReloads = new Counter({ name: 'jmb_signing_keys_reload_failures_total', help: 'Signing key files that could not be loaded (the IdP kept its keys)', registers });

  const commitTime = new Histogram({ name: 'jmb_store_commit_duration_seconds', help: 'Time from the COMMIT of a shared transaction of the embedded store until its statements were answered (flush included with SQLITE_SYNCHRONOUS=full)', buckets: COMMIT_BUCKETS, registers });
  const commitSize = new Histogram({ name: 'jmb_store_commit_statements', help: 'Statements (request writes, and reads made while it was open) carried by one shared transaction of the embedded store', buckets: STATEMENT_BUCKETS, registers });
  const storeErrors = new Counter({ name: 'jmb_store_errors_total', help: 'Failed commits of the store, and statements that failed for a reason that may pass (disk full, read-only, I/O), by stage', labelNames: ['stage'], registers });
  if (sources.walBytes) {
    const walBytes = sources.walBytes;
    new Gauge({
      name: 'jmb_store_wal_bytes',
      help: 'The size of the embedded store\'s write-ahead log',
      registers,
      collect() {
        this.set(walBytes() ?? 0);
      },
    });
  }

  if (sources.storeStatements) {
    const statements = sources.storeStatements;
    new Counter({
      name: 'jmb_store_statements_total',
      help: 'SQL statements the store ran for the IdP\'s features (reads and writes; transaction control, health checks, pruning and checkpoints not included)',
      registers,
      collect() {
        this.reset();
        this.inc(statements() ?? 0);
      },
    });
  }
  if (sources.storeRoundTrips) {
    const roundTrips = sources.storeRoundTrips;
    new Counter({
      name: 'jmb_store_round_trips_total',
      help: 'Times the store waited for its database server (PostgreSQL) for the IdP\'s features: every statement, and BEGIN and COMMIT of each transaction (health checks and pruning not included)',
      registers,
      collect() {
        this.reset();
        this.inc(roundTrips() ?? 0);
      },
    });
  }

  let membersWithPasskeys = 0;
  new Gauge({
    name: 'jmb_members_with_passkeys',
    help: 'Members with at least one passkey: counted in the store now and then, adjusted by this instance in between',
    registers,
    // Every worker of a machine counts the same store: added together they would count each member again.
    aggregator: 'max',
    collect() {
      this.set(membersWithPasskeys);
    },
  });
  if (sources.signInsInMemory) {
    const inMemory = sources.signInsInMemory;
    new Gauge({
      name: 'jmb_signins_in_progress',
      help: 'Sign-ins in progress (and passkey challenges) held in this process\'s memory, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        for (const { kind, held } of inMemory()) this.set({ kind }, held);
      },
    });
    new Counter({
      name: 'jmb_signins_evicted_total',
      help: 'Sign-ins in progress (and passkey challenges) pushed out of memory by newer ones, by kind',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        for (const { kind, evicted } of inMemory()) this.inc({ kind }, evicted);
      },
    });
  }
  new Gauge({
    name: 'jmb_store_up',
    help: 'Whether the store can write (1) or not (0), as /readyz decides',
    registers,
    // Of several workers, 1 only when every one of them can write.
    aggregator: 'min',
    async collect() {
      this.set((await sources.ready()) ? 1 : 0);
    },
  });

  // Children are looked up once per label set: the request path stays a map lookup and two additions.
  const requestChildren = new Map<string, Counter.Internal>();
  const latencyChildren = new Map<RouteGroup, Histogram.Internal<'group'>>();

  const metrics: Metrics = {
    request(group, status, seconds) {
      const key = `${group} ${status}`;
      let count = requestChildren.get(key);
      if (!count) requestChildren.set(key, (count = requests.labels(group, String(status))));
      count.inc();
      let histogram = latencyChildren.get(group);
      if (!histogram) latencyChildren.set(group, (histogram = latency.labels(group)));
      histogram.observe(seconds);
    },
    login: (method, outcome) => logins.inc({ method, outcome }),
    stepUp: (outcome) => stepUps.inc({ outcome }),
    logout: () => logouts.inc(),
    passkeyRegistration: (outcome) => registrations.inc({ outcome }),
    passkeyDeletion: () => deletions.inc(),
    passkeyOffer: (outcome) => offers.inc({ outcome }),
    passkeysOfMember(before, after) {
      if (before === 0 && after > 0) membersWithPasskeys++;
      if (before > 0 && after === 0) membersWithPasskeys = Math.max(0, membersWithPasskeys - 1);
    },
    smsSent(segments) {
      smsSent.inc();
      smsSegments.inc(segments);
      smsSpend.inc(segments * options.smsPricePerSegment);
    },
    smsFailed: (reason) => smsFailed.inc({ reason }),
    smsRefused: (reason) => smsRefused.inc({ reason }),
    rateLimited: (limit) => rateLimited.inc({ limit }),
    shed: (stage) => shed.inc({ stage }),
    signingKeysReloadFailed: () => keyReloads.inc(),
    storeCommit(seconds, statements) {
      commitTime.observe(seconds);
      commitSize.observe(statements);
    },
    storeFailed: (stage) => storeErrors.inc({ stage }),
  };

  return {
    metrics,
    registry,
    async recountMembersWithPasskeys() {
      membersWithPasskeys = await sources.countMembersWithPasskeys();
    },
  };
}
