import { type Db, isDuplicateKey, type Role, withTransaction } from "@shopstream/runtime";
import type { UserStore } from "../domain/ports.js";
import type { UserRecord } from "../domain/user.js";

interface UserRow {
  id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  password_version: number;
}

const COLUMNS = "id, email, name, role, password_hash, password_version";

const toRecord = (row: UserRow): UserRecord => ({
  id: row.id,
  email: row.email,
  name: row.name,
  role: row.role,
  passwordHash: row.password_hash,
  passwordVersion: Number(row.password_version),
});

export function createUserRepository(db: Db): UserStore {
  const findOne = async (where: string, value: string) => {
    const rows: UserRow[] = await db.query(`SELECT ${COLUMNS} FROM users WHERE ${where} = ?`, [value]);
    return rows[0] ? toRecord(rows[0]) : undefined;
  };

  return {
    findByEmail: (email) => findOne("email", email),
    findById: (id) => findOne("id", id),

    async insert(user) {
      try {
        await db.query("INSERT INTO users (id, email, name, role, password_hash) VALUES (?, ?, ?, ?, ?)", [
          user.id,
          user.email,
          user.name,
          user.role,
          user.passwordHash,
        ]);
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    },

    async updatePasswordHash(id, passwordHash) {
      await db.query("UPDATE users SET password_hash = ? WHERE id = ?", [passwordHash, id]);
    },

    changePassword: (id, passwordHash) =>
      // One transaction: the version read back is the one this change wrote (the row stays locked).
      withTransaction(db, async (conn) => {
        await conn.query(
          "UPDATE users SET password_hash = ?, password_version = password_version + 1 WHERE id = ?",
          [passwordHash, id],
        );
        const rows: { password_version: number }[] = await conn.query(
          "SELECT password_version FROM users WHERE id = ?",
          [id],
        );
        if (!rows[0]) throw new Error("the account vanished while its password was changed");
        return Number(rows[0].password_version);
      }),

    async upsertAdmin(admin) {
      // One statement on the unique e-mail: of replicas starting together exactly one inserts.
      await db.query(
        `INSERT INTO users (id, email, name, role, password_hash) VALUES (?, ?, ?, 'admin', ?)
         ON DUPLICATE KEY UPDATE role = 'admin'`,
        [admin.id, admin.email, admin.name, admin.passwordHash],
      );
      const user = await findOne("email", admin.email);
      if (!user) throw new Error("the admin account vanished right after it was written");
      // affectedRows cannot tell an insert from an unchanged row (the connector counts found
      // rows); the id can: ours only if this statement inserted it.
      return { user, created: user.id === admin.id };
    },
  };
}
