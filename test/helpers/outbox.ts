import { readFile } from 'node:fs/promises';
import path from 'node:path';

export type OutboxSms = { to: string; body: string; at: string };

/** The messages to `phone` in the outbox file the IdP in `dir` writes (one JSON line per message), oldest first. */
export async function smsTo(dir: string, phone: string): Promise<OutboxSms[]> {
  const text = await readFile(path.join(dir, 'sms-outbox.jsonl'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as OutboxSms).filter((m) => m.to === phone);
}

/** Waits briefly for a message to `phone` beyond the first `seen`; returns the newest and the count. */
export async function nextSms(dir: string, phone: string, seen: number): Promise<{ body: string; count: number }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const messages = await smsTo(dir, phone);
    if (messages.length > seen) return { body: messages.at(-1)!.body, count: messages.length };
    if (Date.now() > deadline) throw new Error(`no new SMS to ${phone} in the outbox (seen ${seen})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The code of a verification SMS, whose last line is "@host #123456". */
export function codeOf(body: string): string {
  const code = /^@[^\s#]+ #(\d{6})$/.exec(body.split('\n').at(-1) ?? '')?.[1];
  if (!code) throw new Error(`the last line of the SMS is not "@host #code": ${JSON.stringify(body)}`);
  return code;
}
