/// The shared library's tables, versioned: `vjsearch_schema` holds the version, and opening a library applies the
/// migrations it lacks, in one transaction, under an advisory lock (so that hosts opening at once wait in turn).
///
/// Version 1 (nothing reads or writes it yet beyond the migration: the catalog operations come next):
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
                model_id text NOT NULL,
                dimension integer NOT NULL CHECK (dimension > 0),
                created_at timestamptz NOT NULL DEFAULT now())
            """,
            "CREATE TABLE roots (name text PRIMARY KEY CHECK (name <> ''))",
            """
            CREATE TABLE videos (
                id bigserial PRIMARY KEY,
                fingerprint bytea NOT NULL UNIQUE,
                size bigint NOT NULL CHECK (size >= 0),
                duration double precision NOT NULL CHECK (duration >= 0),
                model_id text NOT NULL)
            """,
            """
            CREATE TABLE video_paths (
                video bigint NOT NULL REFERENCES videos ON DELETE CASCADE,
                root text NOT NULL REFERENCES roots,
                path text NOT NULL,
                PRIMARY KEY (root, path))
            """,
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
                video bigint,
                at timestamptz NOT NULL DEFAULT now())
            """,
            """
            CREATE TABLE work_items (
                id bigserial PRIMARY KEY,
                root text NOT NULL REFERENCES roots,
                path text NOT NULL,
                fingerprint bytea NOT NULL,
                size bigint NOT NULL CHECK (size >= 0),
                state text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'claimed', 'done', 'failed')),
                lease_owner text,
                lease_expires timestamptz,
                attempts integer NOT NULL DEFAULT 0,
                error text,
                enqueued_at timestamptz NOT NULL DEFAULT now(),
                UNIQUE (root, path, fingerprint))
            """,
            "CREATE INDEX work_items_open ON work_items (enqueued_at) WHERE state IN ('queued', 'claimed')",
            """
            CREATE TABLE workers (
                name text PRIMARY KEY,
                host text NOT NULL,
                pid integer NOT NULL,
                model_id text NOT NULL,
                heartbeat timestamptz NOT NULL DEFAULT now())
            """,
        ],
    ]

    /// The version this build writes and reads.
    static var latest: Int { migrations.count }

    /// The advisory lock key that serialises migrations (any constant; "vjsearch" in ASCII, truncated).
    static let lockKey: Int64 = 0x766A_7365_6172_6368
}
