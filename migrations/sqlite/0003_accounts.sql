-- Accounts, sessions, login rate limits and password resets (SQLite). Times are Unix
-- milliseconds. Keep in step with migrations/postgres/0003_accounts.sql.

CREATE TABLE users (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    email          TEXT    NOT NULL UNIQUE,   -- lower-cased: unique regardless of case
    display_name   TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,          -- argon2id PHC string
    role           TEXT    NOT NULL,          -- creator | reviewer | director | admin
    status         TEXT    NOT NULL,          -- pending | active | disabled
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
);

-- A login. The cookie holds a random token; only its sha256 is stored.
CREATE TABLE sessions (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256   TEXT    NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token     TEXT    NOT NULL,          -- required on this session's state-changing requests
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins, keyed by "account:<email>" or "ip:<address>", shared by all studio servers.
CREATE TABLE login_attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    limit_key      TEXT    NOT NULL,
    attempted_at   INTEGER NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (limit_key, attempted_at);

-- One-time password reset tokens; only their sha256 is stored. `link` keeps the link for
-- admins to hand over when no mail server is configured, and is cleared once used.
CREATE TABLE password_resets (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    token_sha256   TEXT    NOT NULL UNIQUE,
    user_id        INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    link           TEXT,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    used_at        INTEGER
);

-- Keys the studio servers share (the CSRF cookie signing key), made on first start.
CREATE TABLE studio_secrets (
    name           TEXT    PRIMARY KEY,
    value          TEXT    NOT NULL
);
