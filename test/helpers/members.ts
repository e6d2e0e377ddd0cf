import { randomUUID } from 'node:crypto';
import { hashPassword } from '../../src/members/password.ts';
import type { Member, Store } from '../../src/store/port.ts';

let next = 300000001;

/** Stores a member straight through the store port; returns it with the plain password. */
export async function createMember(store: Store, overrides: Partial<Omit<Member, 'passwordHash'>> & { password?: string } = {}): Promise<Member & { password: string }> {
  const { password = 'correct horse battery staple', ...fields } = overrides;
  const now = new Date();
  const member: Member = {
    id: randomUUID(),
    number: String(next++),
    name: 'Taro Yamada',
    phone: '+819012345678',
    country: 'JP',
    status: 'active',
    passwordHash: await hashPassword(password),
    createdAt: now,
    updatedAt: now,
    ...fields,
    deviceGeneration: fields.deviceGeneration ?? 0,
  };
  await store.members.create(member);
  return { ...member, password };
}
