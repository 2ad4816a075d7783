/// The shared library's tables, versioned: `vjsearch_schema` holds the version, and opening a library applies the
/// migrations it lacks, in one transaction, under an advisory lock (so that hosts opening at once wait in turn).
///
/// Version 1:
/// - `library`: one row, the model every vector was made with and their dimension;
/// - `videos`, `video_paths` (a video's paths under named roots, so that hosts mounting a share in different
///   places agree), `segments` (times and the vector as little-endian f32);
/// - `changes`: one row per insert, relink, remove or reindex, numbered from one sequence, for query nodes'
///   replicas to follow;
/// - `work_items` and `workers`: the ingestion queue, claimed with leases that workers' heartbeats extend.
enum Schema {
    /// Statements per version: `migrations[v]` takes a database from version v to v + 1.
    static let migrations: [[String]] = [
        [
            """
            CREATE TABLE library (
                singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
                id uuid NOT NULL DEFAULT gen_random_uuid(),
                model_id text NOT NULL,
                model_name text,
                domain text,
                dimension integer NOT NULL CHECK (dimension > 0),
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE TABLE roots (name text PRIMARY KEY CHECK (name <> ''))",
            """
            CREATE TABLE videos (
                id bigserial PRIMARY KEY,
                size bigint NOT NULL CHECK (size >= 0),
                hash bigint NOT NULL,
                duration double precision NOT NULL CHECK (duration >= 0),
                model_id text NOT NULL,
                UNIQUE (size, hash))
            """,
            """
            CREATE TABLE video_paths (
                video bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
                root text NOT NULL REFERENCES roots,
                path text NOT NULL,
                size bigint NOT NULL,
                mtime double precision NOT NULL,
                PRIMARY KEY (root, path))
            """,
            "CREATE INDEX video_paths_video ON video_paths (video)",
            """
            CREATE TABLE segments (
                video bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
                ordinal integer NOT NULL CHECK (ordinal >= 0),
                start_seconds double precision NOT NULL,
                end_seconds double precision NOT NULL CHECK (end_seconds >= start_seconds),
                vector bytea NOT NULL,
                PRIMARY KEY (video, ordinal))
            """,
            "CREATE SEQUENCE change_seq",
            """
            CREATE TABLE changes (
                seq bigint PRIMARY KEY DEFAULT nextval('change_seq'),
                kind text NOT NULL CHECK (kind IN ('insert', 'relink', 'remove', 'reindex')),
                video bigint NOT NULL,
                at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE work_items (
                id bigserial PRIMARY KEY,
                root text NOT NULL REFERENCES roots,
                path text NOT NULL,
                size bigint NOT NULL CHECK (size >= 0),
                hash bigint NOT NULL,
                mtime double precision NOT NULL,
                state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'claimed', 'done', 'failed')),
                lease_owner text,
                lease_expires timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                error text,
                enqueued_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (root, path, size, hash))
            """,
            "CREATE INDEX work_items_open ON work_items (id) WHERE state IN ('queued', 'claimed')",
            """
            CREATE TABLE workers (
                name text PRIMARY KEY,
                host text NOT NULL,
                pid integer NOT NULL,
                model_id text NOT NULL,
                item bigint,
                started timestamptz NOT NULL DEFAULT now(),
                heartbeat timestamptz NOT NULL DEFAULT now())
            """,
        ],
    ]

    /// The NOTIFY channel every change is announced on.
    static let changesChannel = "vjsearch_changes"

    /// The advisory lock a change-writing transaction holds from taking its sequence number to its commit, so that
    /// changes become visible in sequence order and a replica reading `seq > n` never skips one committed late.
    static let changesLockKey: Int64 = 0x766A_6368_616E_6765

    /// The version this build writes and reads.
    static var latest: Int { migrations.count }

    /// The advisory lock key that serialises migrations (any constant; "vjsearch" in ASCII, truncated).
    static let lockKey: Int64 = 0x766A_7365_6172_6368
}
