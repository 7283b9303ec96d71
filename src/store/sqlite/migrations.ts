/**
 * Versioned schema migrations for the SQLite store. `PRAGMA user_version` holds the
 * applied version; each migration runs in its own transaction. Never edit a released
 * migration: add a new one.
 */

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'knowledge bases, sources, documents, chunks, full-text index',
    sql: `
      CREATE TABLE knowledge_bases (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        primer TEXT,
        created_at TEXT NOT NULL
      );

      CREATE TABLE sources (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        location TEXT NOT NULL,
        title TEXT,
        parent_id INTEGER REFERENCES sources(id) ON DELETE SET NULL,
        options TEXT NOT NULL DEFAULT '{}',
        etag TEXT,
        last_modified TEXT,
        last_synced_at TEXT,
        last_error TEXT,
        refresh_interval_s INTEGER,
        created_at TEXT NOT NULL,
        UNIQUE (kb_id, location)
      );

      CREATE TABLE documents (
        id INTEGER PRIMARY KEY,
        kb_id INTEGER NOT NULL REFERENCES knowledge_bases(id) ON DELETE CASCADE,
        source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT,
        author TEXT,
        published TEXT,
        updated TEXT,
        tags TEXT NOT NULL DEFAULT '[]',
        hash TEXT NOT NULL,
        page_count INTEGER,
        page_labels TEXT,
        problems TEXT,
        chunk_count INTEGER NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        UNIQUE (source_id, key)
      );
      CREATE INDEX documents_kb ON documents (kb_id, published);
      CREATE INDEX documents_author ON documents (kb_id, author COLLATE NOCASE);

      CREATE TABLE document_tags (
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        tag TEXT NOT NULL COLLATE NOCASE,
        PRIMARY KEY (document_id, tag)
      ) WITHOUT ROWID;
      CREATE INDEX document_tags_tag ON document_tags (tag);

      CREATE TABLE chunks (
        id INTEGER PRIMARY KEY,
        document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
        kb_id INTEGER NOT NULL,
        ordinal INTEGER NOT NULL,
        heading_path TEXT NOT NULL,
        anchor TEXT,
        text TEXT NOT NULL,
        page_start INTEGER,
        page_end INTEGER,
        tokens INTEGER NOT NULL,
        has_code INTEGER NOT NULL,
        UNIQUE (document_id, ordinal)
      );
      CREATE INDEX chunks_kb ON chunks (kb_id);

      -- Contentless: the text lives in chunks; the index holds analysed terms only.
      -- Terms are produced by text/analyze (lower-case letters, digits, dots in versions).
      CREATE VIRTUAL TABLE chunk_fts USING fts5 (
        title, heading, body, tags,
        content = '', contentless_delete = 1,
        tokenize = "unicode61 remove_diacritics 0 tokenchars '.'"
      );
      CREATE VIRTUAL TABLE chunk_terms USING fts5vocab (chunk_fts, 'row');

      -- Deleting a chunk (directly or by cascade) removes its index row in the same transaction.
      CREATE TRIGGER chunks_delete_index AFTER DELETE ON chunks BEGIN
        DELETE FROM chunk_fts WHERE rowid = old.id;
      END;
    `,
  },
  {
    version: 2,
    description: 'per-occurrence view of the full-text index, for in-memory ranking',
    sql: `
      -- One row per term occurrence (term, chunk id, column, offset); read by term.
      CREATE VIRTUAL TABLE chunk_instances USING fts5vocab (chunk_fts, 'instance');
    `,
  },
  {
    version: 3,
    description: 'background jobs with leases, API keys',
    sql: `
      -- Jobs are claimed with a lease (lease_owner, lease_until); a running job whose lease
      -- ran out is claimed again, so work survives a crash or restart.
      CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        payload TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        run_at TEXT NOT NULL,
        lease_owner TEXT,
        lease_until TEXT,
        progress_done INTEGER NOT NULL DEFAULT 0,
        progress_total INTEGER NOT NULL DEFAULT 0,
        progress_label TEXT,
        result TEXT,
        error TEXT,
        dedupe_key TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX jobs_due ON jobs (state, run_at);
      -- At most one active job per dedupe key (one sync per source at a time).
      CREATE UNIQUE INDEX jobs_active_key ON jobs (dedupe_key)
        WHERE dedupe_key IS NOT NULL AND state IN ('queued', 'running');

      -- Only the SHA-256 of a key is stored; the key is shown once, when created.
      CREATE TABLE api_keys (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at TEXT NOT NULL,
        revoked_at TEXT
      );
    `,
  },
  {
    version: 4,
    description: 'chunk vectors and the embedding model of each knowledge base',
    sql: `
      -- The model whose vectors a knowledge base uses; state 'embedding' while a job fills them in.
      ALTER TABLE knowledge_bases ADD COLUMN embed_model TEXT;
      ALTER TABLE knowledge_bases ADD COLUMN embed_dimension INTEGER;
      ALTER TABLE knowledge_bases ADD COLUMN embed_state TEXT;

      -- One vector per chunk: little-endian float32, unit length (sqlite-vec's vector format).
      -- A plain table rather than a vec0 index, so deleting chunks cascades without the
      -- extension loaded, and vectors of one model can be replaced while another's remain.
      CREATE TABLE chunk_vectors (
        chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,
        kb_id INTEGER NOT NULL,
        model TEXT NOT NULL,
        vector BLOB NOT NULL
      );
      CREATE INDEX chunk_vectors_kb ON chunk_vectors (kb_id, model);
    `,
  },
  {
    version: 5,
    description: 'compact posting lists, written in bulk (sqlite/posting-lists.ts)',
    sql: `
      -- A term's posting list as two blobs: chunk ids, and per-field counts.
      -- Impacts: a ranker's value per posting (float32), for the state's impact_key.
      CREATE TABLE posting_lists (
        term TEXT PRIMARY KEY,
        ids BLOB NOT NULL,
        tf BLOB NOT NULL,
        impacts BLOB
      );
      -- What the lists cover: the chunks with id <= covered (chunks of them) when written.
      -- No row: no usable lists.
      CREATE TABLE posting_lists_state (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        format INTEGER NOT NULL,
        covered INTEGER NOT NULL,
        chunks INTEGER NOT NULL,
        impact_key TEXT
      );
      -- SQLite gives a new row the highest id plus one, so a covered id can be written again
      -- only after a deletion left every id below it: the lists are forgotten then. On
      -- deletes only (appending costs nothing: a trigger on insert cost 15-20% of the
      -- store's write CPU). Imports write given ids, into empty stores only.
      CREATE TRIGGER chunks_delete_posting_lists AFTER DELETE ON chunks
      WHEN coalesce((SELECT max(id) FROM chunks), 0) < (SELECT covered FROM posting_lists_state WHERE id = 1)
      BEGIN
        DELETE FROM posting_lists_state;
      END;
    `,
  },
  {
    version: 6,
    description: "a summary stored with each compact list's impacts",
    sql: `
      -- A few float64 numbers about the list and its impacts (StoredImpacts.summaryOf), valid
      -- with the impacts only.
      ALTER TABLE posting_lists ADD COLUMN summary BLOB;
    `,
  },
  {
    version: 7,
    description: 'the chunk table of the chunks the compact lists cover, stored with them',
    sql: `
      -- Store.chunkTable's arrays for the covered chunks (./posting-lists.ts), written with
      -- the lists and valid with them: one blob read instead of a row per chunk.
      ALTER TABLE posting_lists_state ADD COLUMN chunk_table BLOB;
    `,
  },
];

export const LATEST_VERSION = MIGRATIONS.reduce((v, m) => Math.max(v, m.version), 0);
