-- Indicator bundles for the sensors' malware engine (issue 5): imported through the console
-- (POST /api/v1/indicator-bundles), validated with the sensors' own parser, and pushed to every sensor as one
-- merged bundle of the enabled ones (server/config_push.c). A bundle imported again under its name replaces it.
create table indicator_bundles (
    id          bigserial primary key,
    name        text not null unique check (length(name) between 1 and 255),
    version     text not null check (length(version) between 1 and 255),
    indicators  jsonb not null check (jsonb_typeof(indicators) = 'array'),
    count       integer not null check (count >= 0),
    enabled     boolean not null default true,
    imported_by text,
    imported_at timestamptz not null default now(),
    updated_at  timestamptz not null default now()
);

-- Every change reaches every sensor: 'a' (all) on the settings channel.
create function otw_indicators_notify() returns trigger
language plpgsql as $$
begin
    perform pg_notify('otw_settings', 'a');
    return null;
end
$$;
create trigger indicator_bundles_notify after insert or update or delete on indicator_bundles
    for each statement execute function otw_indicators_notify();
