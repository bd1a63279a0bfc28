-- The vehicleinfo schema for PostgreSQL. Table and column names follow the
-- module this library replaces where they fit; the constraints it lacked are
-- added (unique keys, foreign keys, checks, an append-only history).
-- Unknown values are NULL, never 0 or ''.

-- +goose Up
CREATE TABLE oem (
    id   bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name <> '')
);

CREATE TABLE make (
    id     bigserial PRIMARY KEY,
    -- '' is the make of models whose make nobody knows, so that the model
    -- key stays null-safe.
    name   text NOT NULL UNIQUE,
    oem_id bigint REFERENCES oem (id)
);

CREATE TABLE vehicle_model (
    id                   bigserial PRIMARY KEY,
    make_id              bigint NOT NULL REFERENCES make (id),
    model_name           text NOT NULL DEFAULT '',
    type                 text NOT NULL DEFAULT '',
    version              text NOT NULL DEFAULT '',
    vehicle_type         text CHECK (vehicle_type <> ''),
    battery_capacity_kwh double precision CHECK (battery_capacity_kwh > 0),
    warranty_km          integer CHECK (warranty_km > 0),
    warranty_years       integer CHECK (warranty_years > 0),
    image_url            text CHECK (image_url <> ''),
    created_at           timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vehicle_model_key UNIQUE (make_id, model_name, type, version)
);

CREATE TABLE fleet (
    id       bigserial PRIMARY KEY,
    name     text NOT NULL CHECK (name <> ''),
    -- name_key is the name trimmed, with inner spaces collapsed and lower
    -- case: the owner filter compares it.
    name_key text NOT NULL UNIQUE
);

CREATE TABLE region (
    id      bigserial PRIMARY KEY,
    country text NOT NULL UNIQUE CHECK (country <> '')
);

CREATE TABLE runs (
    id          bigserial PRIMARY KEY,
    owner       text NOT NULL DEFAULT '',
    dry_run     boolean NOT NULL DEFAULT false,
    started_at  timestamptz NOT NULL,
    finished_at timestamptz,
    state       text NOT NULL DEFAULT 'running'
                CHECK (state IN ('running', 'ok', 'failed', 'cancelled')),
    report      jsonb
);

-- wanted_fleet is what the company wants: a CSV import or a company service
-- writes it, the ingestion run reads it.
--
-- wanted_fleet and vehicle refer to fleet and region (and vehicle to
-- vehicle_model) by foreign key; the make and connector names are plain
-- columns. Each foreign key costs a lookup per row written, the largest part
-- of a bulk write's cost, so they are kept for the relations that matter.
CREATE TABLE wanted_fleet (
    vin                  text COLLATE "C" PRIMARY KEY CHECK (length(vin) = 17),
    fleet_id             bigint REFERENCES fleet (id),
    make                 text,
    model_name           text,
    type                 text,
    connector            text,
    licence_plate        text,
    region_id            bigint REFERENCES region (id),
    start_date           date,
    end_of_contract_date date,
    want_active          boolean NOT NULL DEFAULT false,
    displayed            boolean NOT NULL DEFAULT false,
    eligible             boolean,
    line                 integer,
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX wanted_fleet_fleet_id ON wanted_fleet (fleet_id);

CREATE TABLE vehicle (
    id                   bigserial PRIMARY KEY,
    vin                  text COLLATE "C" NOT NULL UNIQUE CHECK (length(vin) = 17),
    fleet_id             bigint REFERENCES fleet (id),
    region_id            bigint REFERENCES region (id),
    make                 text,
    model_id             bigint REFERENCES vehicle_model (id),
    connector            text, -- the connector serving its activation
    wanted_connector     text,
    wanted_model         text,
    wanted_type          text,
    licence_plate        text,
    start_date           date,
    end_of_contract_date date,
    want_active          boolean NOT NULL DEFAULT false,
    displayed            boolean NOT NULL DEFAULT false,
    eligible             boolean,
    line                 integer,
    account              text,
    model_name           text,
    version              text,
    type                 text,
    model_year           integer CHECK (model_year > 0),
    powertrain           text,
    battery_capacity_kwh double precision CHECK (battery_capacity_kwh > 0),
    range_km             integer CHECK (range_km > 0),
    warranty_km          integer CHECK (warranty_km > 0),
    warranty_years       integer CHECK (warranty_years > 0),
    image_url            text,
    activation_status    text CHECK (activation_status IN ('unknown', 'pending', 'active',
                             'rejected', 'deactivating', 'inactive', 'ineligible', 'error')),
    raw_status           text,
    status_reason        text,
    status_changed_at    timestamptz,
    described_at         timestamptz,
    last_seen_at         timestamptz,
    missing_since        timestamptz,
    updated_at           timestamptz NOT NULL DEFAULT now(),
    sources              jsonb
) WITH (fillfactor = 70); -- room on each page for HOT updates: every run rewrites each row

CREATE INDEX vehicle_fleet_id ON vehicle (fleet_id);
CREATE INDEX vehicle_model_id ON vehicle (model_id);

CREATE TABLE vehicle_activation_history (
    id          bigserial PRIMARY KEY,
    vehicle_id  bigint NOT NULL REFERENCES vehicle (id),
    oem_id      bigint REFERENCES oem (id),
    from_status text NOT NULL DEFAULT '' CHECK (from_status IN ('', 'unknown', 'pending',
                    'active', 'rejected', 'deactivating', 'inactive', 'ineligible', 'error')),
    to_status   text NOT NULL CHECK (to_status IN ('unknown', 'pending', 'active',
                    'rejected', 'deactivating', 'inactive', 'ineligible', 'error')),
    raw_status  text,
    reason      text,
    observed_at timestamptz NOT NULL,
    run_id      bigint REFERENCES runs (id),
    recorded_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT vehicle_activation_history_key
        UNIQUE (vehicle_id, from_status, to_status, observed_at)
);

-- +goose StatementBegin
CREATE FUNCTION vehicle_activation_history_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'vehicle_activation_history is append-only';
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER vehicle_activation_history_append_only
    BEFORE UPDATE OR DELETE ON vehicle_activation_history
    FOR EACH ROW EXECUTE FUNCTION vehicle_activation_history_append_only();

-- +goose Down
DROP TABLE vehicle_activation_history;
DROP FUNCTION vehicle_activation_history_append_only();
DROP TABLE vehicle;
DROP TABLE wanted_fleet;
DROP TABLE runs;
DROP TABLE region;
DROP TABLE fleet;
DROP TABLE vehicle_model;
DROP TABLE make;
DROP TABLE oem;
