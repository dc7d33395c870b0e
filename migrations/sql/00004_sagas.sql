-- Saga (workflow) state, kept by the saga runtime (sagas/runtime.go,
-- sagas/store.go): instances, their step history, the events each saga
-- has processed and the durable deadlines instances set. The runtime
-- writes all four in the transaction that handles one event or one
-- deadline, so an event or a deadline takes effect once.

-- +goose Up

-- One row per workflow instance. (saga, id) is the business identity: the
-- saga's name and the instance's business ID (a teacher's ID...);
-- workflow_id is its public UUID (sagas.WorkflowID(saga, id)).
CREATE TABLE saga_instances (
    saga        text        NOT NULL,
    id          text        NOT NULL,
    workflow_id uuid        NOT NULL UNIQUE,
    key         text,                  -- what events find it by while unfinished (NULL: none)
    school_id   text        NOT NULL DEFAULT '', -- '' for platform-wide workflows
    state       text        NOT NULL CHECK (state IN ('running', 'completed', 'failed')),
    step        text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    data        jsonb,                 -- the saga's own state (Instance.Save)
    started_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    finished_at timestamptz,
    last_seq    integer     NOT NULL DEFAULT 0, -- the number of its last step (saga_steps.seq)
    PRIMARY KEY (saga, id),
    CONSTRAINT saga_instances_finished CHECK ((state = 'running') = (finished_at IS NULL))
);

-- At most one unfinished instance of a saga per key.
CREATE UNIQUE INDEX saga_instances_running_key ON saga_instances (saga, key)
    WHERE key IS NOT NULL AND state = 'running';

-- The status API lists a school's workflows (or all), most recently
-- started first.
CREATE INDEX saga_instances_school_started ON saga_instances (school_id, started_at DESC, workflow_id DESC);
CREATE INDEX saga_instances_started ON saga_instances (started_at DESC, workflow_id DESC);

-- Every step of every instance: what it did and why.
CREATE TABLE saga_steps (
    saga        text        NOT NULL,
    instance_id text        NOT NULL,
    seq         integer     NOT NULL,
    step        text        NOT NULL,
    reason      text        NOT NULL,
    at          timestamptz NOT NULL,
    event_id    text        NOT NULL DEFAULT '', -- the triggering event, when one
    trigger     text        NOT NULL DEFAULT '', -- its type, or "deadline:<name>"
    command_id  text        NOT NULL DEFAULT '', -- the command issued, when one
    stream      text        NOT NULL DEFAULT '',
    version     bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (saga, instance_id, seq),
    FOREIGN KEY (saga, instance_id) REFERENCES saga_instances (saga, id) ON DELETE CASCADE
);

-- The events each saga has handled (or ignored): a redelivery finds its
-- row and changes nothing.
CREATE TABLE saga_processed (
    saga         text        NOT NULL,
    event_id     uuid        NOT NULL,
    event_type   text        NOT NULL,
    instance_id  text,                  -- NULL when ignored before finding an instance
    outcome      text        NOT NULL,  -- handled, failed, ignored
    processed_at timestamptz NOT NULL,
    PRIMARY KEY (saga, event_id)
);

-- Durable timers. A pending row (neither fired nor cancelled) fires once
-- when due_at has passed; rescheduling a pending one moves it, and one
-- scheduled again after it fired or was cancelled is a new row, so the
-- history shows every timer an instance set.
CREATE TABLE saga_deadlines (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    saga         text        NOT NULL,
    instance_id  text        NOT NULL,
    name         text        NOT NULL,
    due_at       timestamptz NOT NULL,
    payload      jsonb,
    scheduled_at timestamptz NOT NULL,
    fired_at     timestamptz,
    cancelled_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0, -- failed attempts to fire it
    retry_at     timestamptz,                    -- after a failed attempt: not before
    last_error   text        NOT NULL DEFAULT '',
    FOREIGN KEY (saga, instance_id) REFERENCES saga_instances (saga, id) ON DELETE CASCADE,
    CONSTRAINT saga_deadlines_once CHECK (fired_at IS NULL OR cancelled_at IS NULL)
);

-- One pending timer per instance and name.
CREATE UNIQUE INDEX saga_deadlines_pending_name ON saga_deadlines (saga, instance_id, name)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;

-- What the deadline loop polls: pending timers by due time.
CREATE INDEX saga_deadlines_due ON saga_deadlines (due_at)
    WHERE fired_at IS NULL AND cancelled_at IS NULL;

CREATE INDEX saga_deadlines_instance ON saga_deadlines (saga, instance_id);

-- +goose Down
DROP TABLE saga_deadlines;
DROP TABLE saga_processed;
DROP TABLE saga_steps;
DROP TABLE saga_instances;
