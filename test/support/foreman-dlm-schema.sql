-- A Foreman database as far as foreman_dlm (4.0.0) touches it, written from its migrations in
-- db/migrate (Rails' column types spelled out for PostgreSQL), plus the few columns of Foreman's
-- own `hosts` and `users` those migrations and the models refer to.

-- Foreman's tables (only what foreman_dlm references)
CREATE TABLE hosts (
  id serial PRIMARY KEY,
  name character varying NOT NULL,
  created_at timestamp without time zone,
  updated_at timestamp without time zone
);
CREATE UNIQUE INDEX index_hosts_on_name ON hosts (name);
CREATE TABLE users (
  id serial PRIMARY KEY,
  login character varying NOT NULL
);

-- 20170824084100_add_dlmlock (Migration[4.2]: integer id, timestamps may be NULL). The
-- `unique: true` on `t.string :name` makes no index in Rails: uniqueness is the model's.
CREATE TABLE dlmlocks (
  id serial PRIMARY KEY,
  name character varying NOT NULL,
  type character varying,
  enabled boolean NOT NULL DEFAULT true,
  host_id integer,
  created_at timestamp without time zone,
  updated_at timestamp without time zone
);
CREATE INDEX index_dlmlocks_on_type ON dlmlocks (type);
CREATE INDEX index_dlmlocks_on_enabled ON dlmlocks (enabled);
CREATE INDEX index_dlmlocks_on_host_id ON dlmlocks (host_id);

-- 20180627150003_rename_dlmlock_sti_models
UPDATE dlmlocks SET type = 'ForemanDlm::Dlmlock::Update' WHERE type = 'Dlmlock::Update';

-- 20180704162345_add_dlmlock_events (Migration[5.1]: bigint id, timestamps NOT NULL)
CREATE TABLE dlmlock_events (
  id bigserial PRIMARY KEY,
  dlmlock_id integer NOT NULL,
  event_type character varying,
  host_id integer,
  user_id integer,
  created_at timestamp without time zone NOT NULL,
  updated_at timestamp without time zone NOT NULL
);
CREATE INDEX index_dlmlock_events_on_dlmlock_id ON dlmlock_events (dlmlock_id);
CREATE INDEX index_dlmlock_events_on_event_type ON dlmlock_events (event_type);
CREATE INDEX index_dlmlock_events_on_host_id ON dlmlock_events (host_id);

-- 20180711090022_add_hosts_fk_to_dlmlocks
ALTER TABLE dlmlocks ADD CONSTRAINT fk_rails_dlmlocks_host_id FOREIGN KEY (host_id) REFERENCES hosts (id);

-- 20180711111903_create_dlm_facets
CREATE TABLE dlm_facets (
  id bigserial PRIMARY KEY,
  host_id bigint NOT NULL REFERENCES hosts (id),
  last_checkin_at timestamp without time zone,
  created_at timestamp without time zone NOT NULL,
  updated_at timestamp without time zone NOT NULL
);
CREATE UNIQUE INDEX index_dlm_facets_on_host_id ON dlm_facets (host_id);

-- 20180713113208_update_permissions_for_scoped_models changes Foreman's permissions table
-- only (resource_type Dlmlock → ForemanDlm::Dlmlock); nothing the import reads.
