import test from 'ava';
import { verificationMessage } from '../../src/auth/sms-otp/message.ts';
import { smsSegments } from '../../src/auth/sms-otp/segments.ts';

test('plain Latin text travels 160 characters to a segment, 153 once split', (t) => {
  t.is(smsSegments('a'.repeat(160)), 1);
  t.is(smsSegments('a'.repeat(161)), 2);
  t.is(smsSegments('a'.repeat(306)), 2);
  t.is(smsSegments('a'.repeat(307)), 3);
  t.is(smsSegments(verificationMessage('en', '123456', 'id.jmb.example', 5)), 1);
});

test('GSM extension characters count twice', (t) => {
  t.is(smsSegments(`${'a'.repeat(158)}{`), 1);
  t.is(smsSegments(`${'a'.repeat(159)}€`), 2);
});

test('a single character outside the GSM alphabet makes the message UCS-2: 70 to a segment, 67 once split', (t) => {
  t.is(smsSegments('あ'.repeat(70)), 1);
  t.is(smsSegments('あ'.repeat(71)), 2);
  t.is(smsSegments(`${'a'.repeat(100)}✓`), 2);
  // The Japanese code message is billed as two segments.
  t.is(smsSegments(verificationMessage('ja', '123456', 'id.jmb.example', 5)), 2);
});
