import test from 'ava';
import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAdmission } from '../../src/http/admission.ts';

const request = (headers: Record<string, string> = {}) => Object.assign(new EventEmitter(), { headers }) as unknown as IncomingMessage;
const response = () => new EventEmitter() as unknown as ServerResponse;

test('a request is worked on from when its body has been read until its response closes; each address has a share of its own', (t) => {
  const admission = createAdmission({ eventLoopDelayMs: 1_000_000, maxInFlight: 2, maxInFlightPerAddress: 2 });
  t.teardown(() => admission.close());

  const uploads = [request({ 'content-length': '2000' }), request({ 'transfer-encoding': 'chunked' })];
  const uploadResponses = [response(), response()];
  uploads.forEach((req, i) => t.is(admission.admit(req, uploadResponses[i]!, '192.0.2.1'), undefined));
  t.like(admission.load(), { inFlight: 0, waiting: 2 }, 'bodies still arriving cost nothing towards shedding');
  const over = admission.admit(request(), response(), '192.0.2.1');
  t.is(over?.status, 429, 'past its share the address is refused');
  t.is(over?.retryAfter, 5);
  t.like(admission.load(), { inFlight: 0, waiting: 2 }, 'and the refusal counts nowhere');

  uploads[0]!.emit('end');
  t.like(admission.load(), { inFlight: 1, waiting: 1 }, 'a body read, the request is worked on');
  const [b, c] = [response(), response()];
  t.is(admission.admit(request(), b, '198.51.100.2'), undefined);
  t.is(admission.admit(request({ 'content-length': '0' }), c, '198.51.100.3'), undefined);
  t.like(admission.load(), { inFlight: 3, waiting: 1 });
  t.true(admission.busy(), 'three being worked on, more than two: new sign-ins wait');

  c.emit('close');
  t.false(admission.busy());
  uploadResponses[0]!.emit('close');
  t.is(admission.admit(request(), response(), '192.0.2.1'), undefined, 'the address has room again');
  uploadResponses[1]!.emit('close');
  uploads[1]!.emit('end');
  t.like(admission.load(), { inFlight: 2, waiting: 0 }, 'a body finishing after its response counts for nothing');
});
