import { DuplicateError, type Clock, type Member, type MemberChanges, type Members } from '../port.ts';
import type { Database } from './connect.ts';
import { fromDb, toDb } from './db-text.ts';

export type MemberRow = Row;

type Row = {
  id: string; number: string; name: string; phone: string; country: string; status: string;
  password_hash: string; device_generation: number; created_at: Date; updated_at: Date;
};

/**
 * What a member read returns, named: a column a later schema step adds changes nothing the
 * statements prepared before it return (`*` would, and the server would refuse them).
 */
export const SELECTED = 'id, number, name, phone, country, status, password_hash, device_generation, created_at, updated_at';

const COLUMNS: Record<Exclude<keyof MemberChanges, 'nextDeviceGeneration'>, string> = {
  name: 'name', phone: 'phone', country: 'country', status: 'status', passwordHash: 'password_hash',
};

/** Members on one `members` table; the member number is unique (`members_number_unique`). */
export function postgresMembers(db: Database, clock: Clock): Members {
  const one = async (sql: string, values: unknown[]) => toMember((await db.query<Row>(sql, values)).rows[0]);
  return {
    async create(member) {
      try {
        await db.query(`INSERT INTO members (id, number, name, phone, country, status, password_hash, device_generation, created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`, [
          toDb(member.id), toDb(member.number), toDb(member.name), toDb(member.phone), toDb(member.country), toDb(member.status),
          toDb(member.passwordHash), member.deviceGeneration ?? 0, member.createdAt.toISOString(), member.updatedAt.toISOString(),
        ]);
      } catch (error) {
        if (isUniqueViolation(error, 'members_number_unique')) throw new DuplicateError('number');
        throw error;
      }
      return { ...member, deviceGeneration: member.deviceGeneration ?? 0 };
    },
    findById: (id) => one(`SELECT ${SELECTED} FROM members WHERE id = $1`, [toDb(id)]),
    findByNumber: (number) => one(`SELECT ${SELECTED} FROM members WHERE number = $1`, [toDb(number)]),
    async list({ limit, afterNumber }) {
      if (limit <= 0) return [];
      const { rows } = await db.query<Row>(`SELECT ${SELECTED} FROM members WHERE number > $1 ORDER BY number LIMIT $2`, [toDb(afterNumber ?? ''), limit]);
      return rows.map((row) => toMember(row)!);
    },
    async update(id, { nextDeviceGeneration, ...changes }) {
      const entries = Object.entries(changes).filter(([, value]) => value !== undefined) as [keyof typeof COLUMNS, string][];
      // Column names come from the fixed map above, never from the caller.
      const sets = entries.map(([key], i) => `${COLUMNS[key]} = $${i + 1}`);
      // Against the stored value, in the same statement: two changes at once both count.
      if (nextDeviceGeneration) sets.push('device_generation = device_generation + 1');
      const values = entries.map(([, value]) => toDb(value));
      return one(`UPDATE members SET ${[...sets, `updated_at = $${values.length + 1}`].join(', ')} WHERE id = $${values.length + 2} RETURNING ${SELECTED}`,
        [...values, new Date(clock()).toISOString(), toDb(id)]);
    },
  };
}

/** A member from its row (also read beside a passkey, postgres-passkeys.ts). */
export function toMember(row: Row | undefined): Member | undefined {
  return row && {
    id: fromDb(row.id),
    number: fromDb(row.number),
    name: fromDb(row.name),
    phone: fromDb(row.phone),
    country: fromDb(row.country),
    status: fromDb(row.status) as Member['status'],
    passwordHash: fromDb(row.password_hash),
    deviceGeneration: Number(row.device_generation),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/** True when `error` is PostgreSQL's unique violation (23505) on `constraint`. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const { code, constraint: violated } = error as { code?: unknown; constraint?: unknown };
  return code === '23505' && violated === constraint;
}
