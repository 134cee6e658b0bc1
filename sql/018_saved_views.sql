-- Saved views: a named set of filters, sorting and columns for one page of the web UI (inventory, alerts, map),
-- kept on the console so that it follows its owner to any browser. The owner is the principal's user name (local,
-- directory or `api-token:<name>`). A shared view is listed for every user; it holds query parameters, never
-- data, so whoever opens it still sees only what their own scope allows.
create table saved_views (
    id         bigserial primary key,
    owner      text not null check (length(owner) between 1 and 300),
    page       text not null check (page in ('inventory', 'alerts', 'map')),
    name       text not null check (length(name) between 1 and 100),
    query      jsonb not null check (jsonb_typeof(query) = 'object'),
    shared     boolean not null default false,
    created_at timestamptz not null default now(),
    updated_at timestamptz not null default now(),
    unique (owner, page, name)
);
create index saved_views_shared_idx on saved_views (page) where shared;
