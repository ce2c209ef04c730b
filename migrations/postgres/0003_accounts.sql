-- Accounts, sessions, login rate limits and password resets (PostgreSQL). Times are Unix
-- milliseconds. Keep in step with migrations/sqlite/0003_accounts.sql.

CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT    NOT NULL UNIQUE,   -- lower-cased: unique regardless of case
    display_name   TEXT    NOT NULL,
    password_hash  TEXT    NOT NULL,          -- argon2id PHC string
    role           TEXT    NOT NULL,          -- creator | reviewer | director | admin
    status         TEXT    NOT NULL,          -- pending | active | disabled
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL
);

-- A login. The cookie holds a random token; only its sha256 is stored.
CREATE TABLE sessions (
    id             BIGSERIAL PRIMARY KEY,
    token_sha256   TEXT    NOT NULL UNIQUE,
    user_id        BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token     TEXT    NOT NULL,          -- required on this session's state-changing requests
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Failed logins, keyed by "account:<email>" or "ip:<address>", shared by all studio servers.
CREATE TABLE login_attempts (
    id             BIGSERIAL PRIMARY KEY,
    limit_key      TEXT    NOT NULL,
    attempted_at   BIGINT  NOT NULL
);
CREATE INDEX login_attempts_key ON login_attempts (limit_key, attempted_at);

-- One-time password reset tokens; only their sha256 is stored. `link` keeps the link for
-- admins to hand over when no mail server is configured, and is cleared once used.
CREATE TABLE password_resets (
    id             BIGSERIAL PRIMARY KEY,
    token_sha256   TEXT    NOT NULL UNIQUE,
    user_id        BIGINT  NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    link           TEXT,
    created_at     BIGINT  NOT NULL,
    expires_at     BIGINT  NOT NULL,
    used_at        BIGINT
);

-- Keys the studio servers share (the CSRF cookie signing key), made on first start.
CREATE TABLE studio_secrets (
    name           TEXT    PRIMARY KEY,
    value          TEXT    NOT NULL
);
