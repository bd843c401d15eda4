import type { Role } from "@shopstream/runtime";
import { z } from "zod";

/** A user as stored: the password only as its argon2id hash. */
export interface UserRecord {
  id: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
  /** Bumped by every password change; sessions opened under another version are over. */
  passwordVersion: number;
}

/** A user as the API shows it. */
export interface UserJson {
  id: string;
  email: string;
  name: string;
  role: Role;
}

export const toUserJson = (u: UserRecord): UserJson => ({
  id: u.id,
  email: u.email,
  name: u.name,
  role: u.role,
});

export const PASSWORD_MIN = 10;
export const PASSWORD_MAX = 200;
export const NAME_MAX = 100;
/** The longest address SMTP can deliver to (RFC 5321 path limit). */
export const EMAIL_MAX = 254;

/** One spelling per address: whitespace around it and the case of its letters do not matter. */
export const normalizeEmail = (email: string) => email.trim().toLowerCase();

export const emailSchema = z
  .string()
  .transform(normalizeEmail)
  .pipe(
    z
      .string()
      .max(EMAIL_MAX, `must be at most ${EMAIL_MAX} characters`)
      .pipe(z.email({ message: "must be an e-mail address like name@example.com" })),
  );

/** The password policy of new passwords (and of the admin's): length only, as NIST 800-63B advises. */
export const passwordSchema = z
  .string()
  .min(PASSWORD_MIN, `must be at least ${PASSWORD_MIN} characters`)
  .max(PASSWORD_MAX, `must be at most ${PASSWORD_MAX} characters`);

export const nameSchema = z
  .string()
  .trim()
  .min(1, `must be 1 to ${NAME_MAX} characters`)
  .max(NAME_MAX, `must be 1 to ${NAME_MAX} characters`);
