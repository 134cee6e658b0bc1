-- Sessions (revocable logins with idle timeout and refresh-token rotation), API tokens for integrations, and
-- account lockout for local users.

create table sessions (
    id                uuid primary key default gen_random_uuid(),
    user_id           bigint not null references users (id) on delete cascade,
    created_at        timestamptz not null default now(),
    last_seen_at      timestamptz not null default now(),
    expires_at        timestamptz not null,               -- absolute cap (session_ttl)
    revoked_at        timestamptz,
    client            text,
    refresh_hash      bytea not null unique,              -- SHA-256 of the current refresh token
    prev_refresh_hash bytea                               -- the one it replaced: presenting it again revokes
);
create index sessions_user on sessions (user_id);
create index sessions_prev_refresh on sessions (prev_refresh_hash);

create table api_tokens (
    id           bigserial primary key,
    name         text not null unique check (length(name) between 1 and 128),
    token_hash   bytea not null unique,                   -- SHA-256 of the token; the token itself is never stored
    role         text not null check (role in ('admin', 'analyst', 'read_only')),
    created_by   text,
    created_at   timestamptz not null default now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

create table api_token_access_groups (
    api_token_id    bigint not null references api_tokens (id) on delete cascade,
    access_group_id bigint not null references access_groups (id) on delete cascade,
    primary key (api_token_id, access_group_id)
);

alter table users add column failed_logins integer not null default 0;
alter table users add column locked_until timestamptz;
