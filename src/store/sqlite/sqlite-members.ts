import { DuplicateError, type Clock, type Member, type MemberChanges, type Members } from '../port.ts';
import type { Prepare, Row } from './counted.ts';
import type { GroupCommit } from './group-commit.ts';

/** A member from its row; with `prefix`, from the columns named so (a member read beside another table's row). */
export function toMember(row: Row | undefined, prefix = ''): Member | undefined {
  return row && {
    id: row[`${prefix}id`] as string,
    number: row[`${prefix}number`] as string,
    name: row[`${prefix}name`] as string,
    phone: row[`${prefix}phone`] as string,
    country: row[`${prefix}country`] as string,
    status: row[`${prefix}status`] as Member['status'],
    passwordHash: row[`${prefix}password_hash`] as string,
    deviceGeneration: Number(row[`${prefix}device_generation`]),
    createdAt: new Date(row[`${prefix}created_at`] as number),
    updatedAt: new Date(row[`${prefix}updated_at`] as number),
  };
}

/** The member columns, as `toMember` reads them with a prefix. */
export const MEMBER_COLUMNS = ['id', 'number', 'name', 'phone', 'country', 'status', 'password_hash', 'device_generation', 'created_at', 'updated_at'] as const;

/** The members section. */
export function sqliteMembers(prepare: Prepare, commits: GroupCommit, clock: Clock): Members {
  const insert = prepare(`
    INSERT INTO members (id, number, name, phone, country, status, password_hash, device_generation, created_at, updated_at)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const byId = prepare('SELECT * FROM members WHERE id = ?');
  const byNumber = prepare('SELECT * FROM members WHERE number = ?');
  const list = prepare('SELECT * FROM members WHERE number > ? ORDER BY number LIMIT ?');
  const columns: Record<Exclude<keyof MemberChanges, 'nextDeviceGeneration'>, string> = {
    name: 'name', phone: 'phone', country: 'country', status: 'status', passwordHash: 'password_hash',
  };

  return {
    async create(member) {
      try {
        await commits.write(() => insert.run(member.id, member.number, member.name, member.phone, member.country, member.status,
          member.passwordHash, member.deviceGeneration ?? 0, member.createdAt.getTime(), member.updatedAt.getTime()));
      } catch (error) {
        if (String((error as Error).message).includes('UNIQUE constraint failed: members.number')) throw new DuplicateError('number');
        throw error;
      }
      return { ...member, deviceGeneration: member.deviceGeneration ?? 0 };
    },
    async findById(id) {
      return toMember(await commits.read(() => byId.get(id)) as Row | undefined);
    },
    async findByNumber(number) {
      return toMember(await commits.read(() => byNumber.get(number)) as Row | undefined);
    },
    async list({ limit, afterNumber }) {
      return (await commits.read(() => list.all(afterNumber ?? '', limit)) as Row[]).map((row) => toMember(row)!);
    },
    async update(id, changes) {
      const { nextDeviceGeneration, ...fields } = changes;
      const entries = Object.entries(fields).filter(([, value]) => value !== undefined) as [keyof typeof columns, string][];
      const sets = entries.map(([key]) => `${columns[key]} = ?`);
      // Added to the stored value in the same statement: simultaneous updates each add their one.
      if (nextDeviceGeneration) sets.push('device_generation = device_generation + 1');
      const update = prepare(`UPDATE members SET ${[...sets, 'updated_at = ?'].join(', ')} WHERE id = ?`);
      const updated = await commits.write(() => update.run(...entries.map(([, value]) => value), clock(), id).changes === 1 ? byId.get(id) : undefined);
      return toMember(updated as Row | undefined);
    },
  };
}
