-- Ingest accounting (issue 6): what the console applied from each sensor, so that a drill (and an operator) can
-- prove the database holds exactly the records the sensor produced, none twice. Both advance in the batch's
-- transaction together with applied_seq. records_digest is the sum mod 2^64 of wire_record_digest() over the
-- applied records (common/wire.h); the sensor's journal keeps the same sum (otwatch-sensor journal-status).
alter table sensors
    add column records_applied bigint not null default 0,
    add column records_digest numeric(20, 0) not null default 0
        check (records_digest >= 0 and records_digest < 18446744073709551616);
