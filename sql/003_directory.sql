-- Directory (Active Directory over LDAP) logins: the domains the console may ask, and how AD groups map to a
-- role and to access groups. A directory user's users row is written at each successful login (source 'ad').

-- One AD domain. `uris` are tried in order (failover). The service account (bind_dn/bind_password) is optional
-- and stored here in clear text: the database must be protected like the console's state directory. It is
-- never returned by the API.
create table ldap_domains (
    id            bigserial primary key,
    name          text not null unique check (name ~ '^[a-z0-9][a-z0-9.-]{0,252}$'),  -- DNS name, lowercase
    netbios       text not null unique check (netbios ~ '^[A-Z0-9][A-Z0-9_-]{0,14}$'),
    upn_suffix    text not null check (length(upn_suffix) between 1 and 253),
    uris          text[] not null check (cardinality(uris) between 1 and 8),
    start_tls     boolean not null default false,
    ca_pem        text not null check (length(ca_pem) between 1 and 65536),
    base_dn       text not null check (length(base_dn) between 1 and 1024),
    bind_dn       text,
    bind_password text,
    timeout_ms    integer not null default 5000 check (timeout_ms between 100 and 60000),
    enabled       boolean not null default true,
    updated_at    timestamptz not null default now()
);

-- group_dn is stored normalised (lowercase, no spaces around separators) so that the DNs LDAP returns compare
-- by plain equality.
create table ad_group_mappings (
    id         bigserial primary key,
    group_dn   text not null unique check (length(group_dn) between 1 and 1024),
    role       text not null check (role in ('admin', 'analyst', 'read_only')),
    created_at timestamptz not null default now()
);

create table ad_group_mapping_access_groups (
    mapping_id      bigint not null references ad_group_mappings(id) on delete cascade,
    access_group_id bigint not null references access_groups(id) on delete cascade,
    primary key (mapping_id, access_group_id)
);
