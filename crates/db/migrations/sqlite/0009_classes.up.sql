-- Class cases (类案), owned by the classes room: items about the same problem grouped so
-- that the committee supervises them as one. The clustering machine proposes classes;
-- staff confirm, rename, merge, split and dissolve them, and a confirmed class gets one
-- lead unit, one deadline and one reply that reaches every member.
--
-- status: proposed (machine-made, rebuilt freely) | confirmed (a staff decision; the
-- machine may add members but never removes any) | dissolved (merged away or given up).
-- reply_state: none | supervised (lead unit assigned) | replied.
CREATE TABLE classes (
    id INTEGER PRIMARY KEY,
    district_id BIGINT NOT NULL REFERENCES regions(id),
    region_path TEXT NOT NULL,
    label TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed',
    merged_into BIGINT REFERENCES classes(id),
    lead_unit_id BIGINT REFERENCES units(id),
    deadline_at BIGINT,
    supervised_at BIGINT,
    reply_state TEXT NOT NULL DEFAULT 'none',
    reply_text TEXT NOT NULL DEFAULT '',
    replied_at BIGINT,
    confirmed_by BIGINT,
    confirmed_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX classes_district ON classes (district_id, status);
CREATE INDEX classes_lead_unit ON classes (lead_unit_id);

-- One row per classified item. item_kind is 'opinion' now ('suggestion' later). class_id
-- is NULL when staff took the item out of its class. pinned = 1 when staff placed the item
-- (merge, split, removal, dissolution): the machine never moves a pinned item. Place and
-- time are copied from the item so that lists, scope checks and growth need no join into
-- another room's tables. same_asks is the item's "me too" (同问) count, 0 until intake
-- counts them. rep_rank 1..3 marks the machine's representative items (0: none).
CREATE TABLE class_members (
    id INTEGER PRIMARY KEY,
    item_kind TEXT NOT NULL,
    item_id BIGINT NOT NULL,
    class_id BIGINT REFERENCES classes(id),
    district_id BIGINT NOT NULL,
    region_path TEXT NOT NULL,
    township_id BIGINT,
    grid_id BIGINT,
    item_at BIGINT NOT NULL,
    added_at BIGINT NOT NULL,
    added_by BIGINT NOT NULL DEFAULT 0,
    pinned BIGINT NOT NULL DEFAULT 0,
    rep_rank BIGINT NOT NULL DEFAULT 0,
    same_asks BIGINT NOT NULL DEFAULT 0,
    UNIQUE (item_kind, item_id)
);
CREATE INDEX class_members_class ON class_members (class_id, item_at);
CREATE INDEX class_members_district ON class_members (district_id, item_kind);

-- The clustering worker's state: the lease that lets one instance work at a time
-- ('lease': holder and until_at), the last item id it assigned per kind
-- ('watermark:opinion': num) and a counter bumped by every batch rebuild ('generation'),
-- which tells a worker that its in-memory model is out of date.
CREATE TABLE class_state (
    name TEXT PRIMARY KEY,
    num BIGINT NOT NULL DEFAULT 0,
    holder TEXT NOT NULL DEFAULT '',
    until_at BIGINT NOT NULL DEFAULT 0
);
INSERT INTO class_state (name) VALUES ('lease'), ('watermark:opinion'), ('generation');
