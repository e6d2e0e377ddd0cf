import test from 'ava';
import nock from 'nock';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createOutboxSender } from '../../src/auth/sms-otp/outbox-sender.ts';
import { SmsDeliveryError } from '../../src/auth/sms-otp/sms-sender.ts';
import { createTwilioSender, type TwilioSenderOptions } from '../../src/auth/sms-otp/twilio-sender.ts';
import { createLogger } from '../../src/log.ts';

const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
const AUTH_TOKEN = 'test-auth-token-5f2c';
const FROM = '+15005550006';
const MESSAGING_SERVICE_SID = `MG${'fedcba9876543210'.repeat(2)}`;
const TO = '+819012345678';
const CODE = '482913';
const BODY = `Your JMB verification code is ${CODE}`;
const MESSAGES_PATH = `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`;

/** A reply with an explicit Content-Length: without it nock 14 leaves Twilio's keep-alive request hanging. */
const json = (status: number, value: unknown) => {
  const body = JSON.stringify(value);
  return [status, body, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }] as const;
};
const accepted = json(201, { sid: 'SM0123456789abcdef0123456789abcdef', status: 'queued', to: TO, from: FROM });
const invalidTo = json(400, {
  code: 21211,
  message: `The 'To' number ${TO} is not a valid phone number.`,
  more_info: 'https://www.twilio.com/docs/errors/21211',
  status: 400,
});
const tooMany = json(429, { code: 20429, message: 'Too Many Requests', more_info: 'https://www.twilio.com/docs/errors/20429', status: 429 });
const serverError = json(500, { code: 20500, message: 'Internal Server Error', more_info: 'https://www.twilio.com/docs/errors/20500', status: 500 });

type FormBody = Record<string, string>;

/** One expected POST to the Messages endpoint; every body it receives is pushed to `bodies`. */
const messagesApi = (bodies: FormBody[] = []) => nock('https://api.twilio.com')
  .post(MESSAGES_PATH, (body: FormBody) => {
    bodies.push(body);
    return true;
  })
  .basicAuth({ user: ACCOUNT_SID, pass: AUTH_TOKEN });

function harness(overrides: Partial<TwilioSenderOptions> = {}) {
  const lines: string[] = [];
  const delays: number[] = [];
  const sender = createTwilioSender({
    accountSid: ACCOUNT_SID,
    authToken: AUTH_TOKEN,
    from: FROM,
    logger: createLogger('debug', (line) => lines.push(line)),
    sleep: async (ms) => {
      delays.push(ms);
    },
    ...overrides,
  });
  return { sender, lines, delays };
}

const assertNoSecretsLogged = (t: { false: (value: boolean, message?: string) => void }, lines: string[]) => {
  const log = lines.join('');
  t.false(log.includes(CODE), 'the code never reaches the log');
  t.false(log.includes('verification code'), 'the body never reaches the log');
  t.false(log.includes(TO), 'the full number never reaches the log');
};

test.afterEach.always(() => {
  // Drops delayed replies still queued for requests the sender gave up on, so no timer outlives its test.
  nock.abortPendingRequests();
  nock.cleanAll();
});

test.serial('outbox: each message appends one JSON line with to, body and time, and the log holds neither body nor code', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'jmb-outbox-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'not-yet', 'outbox.jsonl');
  const lines: string[] = [];
  let now = Date.parse('2025-03-01T09:30:00.000Z');
  const sender = createOutboxSender({ file, logger: createLogger('debug', (line) => lines.push(line)), clock: () => now });

  t.is(sender.name, 'outbox');
  await sender.send({ to: TO, body: BODY });
  const first = (await readFile(file, 'utf8')).split('\n');
  t.is(first.length, 2);
  t.is(first[1], '');
  t.deepEqual(JSON.parse(first[0]!), { to: TO, body: BODY, at: '2025-03-01T09:30:00.000Z' });
  t.is((await stat(file)).mode & 0o777, 0o600);

  now += 60_000;
  await sender.send({ to: '+15555550100', body: 'Your JMB verification code is 007331' });
  const written = (await readFile(file, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
  t.deepEqual(written, [
    { to: TO, body: BODY, at: '2025-03-01T09:30:00.000Z' },
    { to: '+15555550100', body: 'Your JMB verification code is 007331', at: '2025-03-01T09:31:00.000Z' },
  ]);

  t.is(lines.length, 2);
  const logged = lines.map((line) => JSON.parse(line));
  t.is(logged[0].msg, 'sms written to outbox');
  t.true(logged[0].to.endsWith('5678'));
  assertNoSecretsLogged(t, lines);
  t.false(lines.join('').includes('007331'));
});

test.serial('twilio: posts To, From and Body with Basic auth and resolves on 201', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).reply(...accepted);
  const { sender, lines, delays } = harness();

  t.is(sender.name, 'twilio');
  await sender.send({ to: TO, body: BODY });

  t.true(scope.isDone());
  t.deepEqual(bodies, [{ To: TO, From: FROM, Body: BODY }]);
  t.deepEqual(delays, []);
  assertNoSecretsLogged(t, lines);
});

test.serial('twilio: sends through a messaging service instead of a number when one is configured', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).reply(...accepted);
  const { sender } = harness({ from: undefined, messagingServiceSid: MESSAGING_SERVICE_SID });

  await sender.send({ to: TO, body: BODY });

  t.true(scope.isDone());
  t.deepEqual(bodies, [{ To: TO, MessagingServiceSid: MESSAGING_SERVICE_SID, Body: BODY }]);
});

test.serial('twilio: an invalid number (400, code 21211) fails as invalid_number after one attempt', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).reply(...invalidTo);
  const { sender, lines, delays } = harness();

  const error = await t.throwsAsync(sender.send({ to: TO, body: BODY }), { instanceOf: SmsDeliveryError });

  t.is(error.failure, 'invalid_number');
  t.true(scope.isDone());
  t.is(bodies.length, 1);
  t.deepEqual(delays, []);
  const failure = lines.map((line) => JSON.parse(line)).find((entry) => entry.msg === 'twilio send failed');
  t.like(failure, { level: 'warn', status: 400, code: 21211, failure: 'invalid_number' });
  assertNoSecretsLogged(t, lines);
});

test.serial('twilio: throttling (429) is retried with growing back-off, then fails as rate_limited after 3 attempts', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).times(3).reply(...tooMany);
  const { sender, lines, delays } = harness();

  const error = await t.throwsAsync(sender.send({ to: TO, body: BODY }), { instanceOf: SmsDeliveryError });

  t.is(error.failure, 'rate_limited');
  t.true(scope.isDone());
  t.is(bodies.length, 3);
  t.is(delays.length, 2);
  t.true(delays[1]! > delays[0]!, `back-off grows: ${delays.join(', ')}`);
  const logged = lines.map((line) => JSON.parse(line));
  t.is(logged.filter((entry) => entry.level === 'warn' && entry.status === 429 && entry.code === 20429).length, 2);
  t.like(logged.at(-1), { level: 'error', msg: 'twilio send failed', status: 429, attempt: 3 });
  assertNoSecretsLogged(t, lines);
});

test.serial('twilio: a server error followed by success resolves on the second attempt', async (t) => {
  const failing = messagesApi().reply(...serverError);
  const succeeding = messagesApi().reply(...accepted);
  const { sender, delays } = harness();

  await sender.send({ to: TO, body: BODY });

  t.true(failing.isDone());
  t.true(succeeding.isDone());
  t.deepEqual(delays, [250]);
});

test.serial('twilio: persistent server errors fail as unavailable after 1 + retries attempts', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).times(3).reply(...serverError);
  const { sender, delays } = harness();

  const error = await t.throwsAsync(sender.send({ to: TO, body: BODY }), { instanceOf: SmsDeliveryError });

  t.is(error.failure, 'unavailable');
  t.true(scope.isDone());
  t.is(bodies.length, 3);
  t.deepEqual(delays, [250, 500]);
});

test.serial('twilio: rejected credentials (401) fail as unavailable without a retry', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).reply(...json(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 }));
  const { sender, lines, delays } = harness();

  const error = await t.throwsAsync(sender.send({ to: TO, body: BODY }), { instanceOf: SmsDeliveryError });

  t.is(error.failure, 'unavailable');
  t.true(scope.isDone());
  t.is(bodies.length, 1);
  t.deepEqual(delays, []);
  t.like(JSON.parse(lines.at(-1)!), { level: 'error', status: 401, code: 20003 });
});

test.serial('twilio: no answer fails as unavailable within the per-attempt timeout, retried', async (t) => {
  const bodies: FormBody[] = [];
  const scope = messagesApi(bodies).times(3).delay(5_000).reply(...accepted);
  const { sender, lines, delays } = harness({ timeoutMs: 200 });

  const started = performance.now();
  const error = await t.throwsAsync(sender.send({ to: TO, body: BODY }), { instanceOf: SmsDeliveryError });
  const elapsed = performance.now() - started;

  t.is(error.failure, 'unavailable');
  t.true(scope.isDone());
  t.is(bodies.length, 3);
  t.deepEqual(delays, [250, 500]);
  // Well under the 5 s the mock waits before it answers, with room for a busy machine's late timers.
  t.true(elapsed < 3 * 200 + 3_000, `gave up after ${Math.round(elapsed)} ms`);
  t.true(elapsed >= 3 * 200 - 50, `waited for each attempt: ${Math.round(elapsed)} ms`);
  t.like(JSON.parse(lines.at(-1)!), { level: 'error', msg: 'twilio send failed', attempt: 3 });
});

test.serial('twilio: an account SID that does not start with AC is refused at creation', (t) => {
  const error = t.throws(() => harness({ accountSid: `SK${'0'.repeat(32)}` }));
  t.regex(error.message, /account SID must start with "AC"/);
  t.false(error.message.includes('0'.repeat(32)), 'the rejected value is not echoed whole');
});

test.serial('twilio: a sender is required, and only one kind of sender', (t) => {
  t.throws(() => harness({ from: undefined }), { message: /sender number or a messaging service SID is required/ });
  t.throws(() => harness({ messagingServiceSid: MESSAGING_SERVICE_SID }), { message: /not both/ });
});
