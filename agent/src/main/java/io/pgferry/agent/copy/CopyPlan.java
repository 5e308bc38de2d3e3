package io.pgferry.agent.copy;

import io.pgferry.agent.migration.TableRef;
import io.pgferry.agent.problem.ApiException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The tables of the scope as the source's catalogs describe them inside the copy's snapshot: for each, its columns
 * (generated ones are computed by the target), whether binary COPY is safe for all of them, and the pieces to read
 * in parallel, biggest first, so that one big table does not end the copy alone.
 */
record CopyPlan(List<CopyUnit> units, List<CopyPiece> pieces, List<String> notes, long bytes) {
    /** No piece smaller than this is split off: a COPY's fixed cost is a few milliseconds. */
    static final long MIN_SPLIT_BYTES = 64L * 1024 * 1024;
    static final long MAX_SPLIT_BYTES = 1024L * 1024 * 1024;
    /**
     * Up to this many CPUs on the target no table is split by default. Two ranges of one table written side by side
     * each take a target backend and its CPU; on two, the WAL writer, the agent's relay and often the source too leave
     * none for the second, and the ranges interleave in the target's heap, so the index builds that follow lose the
     * order a copy in heap order keeps (a serial key then sorts as already sorted). Measured on 2 CPUs, pgbench scale
     * 30 with four indexes: the copy took 4.2-4.4 s whole against 4.8-5.1 s in ranges, the target 6.1 s of CPU
     * against 7.1-7.6 s.
     */
    static final int SPLIT_MIN_CPUS = 3;
    /** Types of PostgreSQL itself have OIDs below this (FirstNormalObjectId): the same OID in every cluster. */
    private static final int FIRST_USER_OID = 16384;

    /**
     * The relations that hold each root's rows: the table itself, or the leaf partitions of a partitioned one; with
     * their size in blocks and in bytes (heap and TOAST: a table of few pages may hold large values out of line).
     * The partitioned tables below a root come too: they hold no rows, but keys and indexes the root's need.
     * Two branches rather than one join on "the leaf or else the table", which the planner cannot use an index for.
     */
    private static final String RELATIONS = """
            WITH r AS (
              SELECT r.ord, c.oid, c.relkind
              FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS r(nsp, rel, ord)
              JOIN pg_namespace n ON n.nspname = r.nsp
              JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN ('r', 'p'))
            SELECT r.ord, c2.relkind::text, n2.nspname, c2.relname, pg_relation_size(c2.oid),
                   pg_relation_size(c2.oid) + coalesce(pg_relation_size(nullif(c2.reltoastrelid, 0)), 0),
                   current_setting('block_size')::int
            FROM r JOIN pg_class c2 ON c2.oid = r.oid JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
            WHERE r.relkind = 'r'
            UNION ALL
            SELECT r.ord, c2.relkind::text, n2.nspname, c2.relname, pg_relation_size(c2.oid),
                   pg_relation_size(c2.oid) + coalesce(pg_relation_size(nullif(c2.reltoastrelid, 0)), 0),
                   current_setting('block_size')::int
            FROM r CROSS JOIN LATERAL pg_partition_tree(r.oid) t
            JOIN pg_class c2 ON c2.oid = t.relid JOIN pg_namespace n2 ON n2.oid = c2.relnamespace
            WHERE r.relkind = 'p' AND (t.isleaf OR t.level > 0)
            UNION ALL
            SELECT r.ord, 'p', NULL, NULL, 0, 0, 0 FROM r WHERE r.relkind = 'p'
            ORDER BY 1, 3, 4""";
    /**
     * Columns COPY moves, in order; binary-safe when the type is PostgreSQL's own (same OID and wire format on both
     * sides; an array of such a type too) and has binary I/O. Extension and user types (enums, composites, domains,
     * their arrays) carry OIDs in their binary form or may differ in version: those tables go as text.
     */
    private static final String COLUMNS = """
            SELECT r.ord, a.attname, a.atttypid::int8 < %d AND t.typsend::oid <> 0 AND t.typreceive::oid <> 0
            FROM unnest(?::text[], ?::text[]) WITH ORDINALITY AS r(nsp, rel, ord)
            JOIN pg_namespace n ON n.nspname = r.nsp
            JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN ('r', 'p')
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
            JOIN pg_type t ON t.oid = a.atttypid
            ORDER BY 1, a.attnum""".formatted(FIRST_USER_OID);

    /**
     * @param pieceBytes the largest piece, null for the default: the data over 4 pieces a job, 64 MiB to 1 GiB, and
     *                   no split at all on a target of fewer than {@link #SPLIT_MIN_CPUS} CPUs
     * @param targetCpus the CPUs of the target's host (the agent runs beside it)
     * @param binaryAllowed false forces text for every table (the databases' encodings differ: binary text values
     *                      are not converted)
     * @throws ApiException 422 {@code tables_missing_on_source} when a table of the archive is gone
     */
    static CopyPlan read(Connection c, List<TableRef> roots, int jobs, Long pieceBytes, int targetCpus,
                         boolean binaryAllowed) throws SQLException {
        int n = roots.size();
        List<List<String>> columns = new ArrayList<>(n);
        boolean[] builtin = new boolean[n];
        for (int i = 0; i < n; i++) {
            columns.add(new ArrayList<>());
            builtin[i] = true;
        }
        boolean[] found = new boolean[n];
        try (PreparedStatement st = c.prepareStatement(COLUMNS)) {
            bind(c, st, roots);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    int i = rs.getInt(1) - 1;
                    columns.get(i).add(rs.getString(2));
                    builtin[i] &= rs.getBoolean(3);
                }
            }
        }
        List<CopyUnit> units = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            units.add(new CopyUnit(roots.get(i), columns.get(i), builtin[i], binaryAllowed && builtin[i]));
        }
        record Relation(int unit, TableRef relation, long heapBytes, long bytes, int blockSize) {
        }
        List<Relation> relations = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        try (PreparedStatement st = c.prepareStatement(RELATIONS)) {
            bind(c, st, roots);
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    int i = rs.getInt(1) - 1;
                    found[i] = true;
                    if (rs.getString(3) == null) {
                        continue; // the partitioned table itself: found, holds no rows of its own
                    }
                    TableRef relation = new TableRef(rs.getString(3), rs.getString(4));
                    switch (rs.getString(2)) {
                        case "r" -> relations.add(new Relation(i, relation, rs.getLong(5), rs.getLong(6),
                                rs.getInt(7)));
                        case "f" -> notes.add("foreign table " + relation.quoted() + " (a partition of "
                                + roots.get(i).quoted() + ") is not copied: its rows live on another server");
                        // a partitioned table inside the tree (or one without partitions): nothing to read, but its
                        // keys and indexes are part of the root's (INDEX ATTACH)
                        default -> units.get(i).partitioned.add(relation);
                    }
                }
            }
        }
        List<String> missing = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!found[i]) {
                missing.add(roots.get(i).quoted());
            }
        }
        if (!missing.isEmpty()) {
            throw ApiException.unprocessable("tables_missing_on_source", "tables of the schema archive are no longer "
                    + "in the source database: " + String.join(", ", missing) + "; make the schema archive again "
                    + "(the scope changed) and rerun", missing);
        }
        long total = relations.stream().mapToLong(Relation::bytes).sum();
        long sized = Math.max(MIN_SPLIT_BYTES, Math.min(MAX_SPLIT_BYTES, total / Math.max(1, jobs * 4L)));
        boolean whole = pieceBytes == null && targetCpus < SPLIT_MIN_CPUS;
        long split = pieceBytes != null ? pieceBytes : whole ? Long.MAX_VALUE / 4 : sized;
        if (whole && jobs > 1 && relations.stream().anyMatch(r -> r.heapBytes() > 2 * sized)) {
            notes.add("large tables copied whole, not in ranges side by side: the target has " + targetCpus
                    + " CPU(s), too few for two writers of one table (piece_bytes splits them anyway)");
        }
        List<CopyPiece> pieces = new ArrayList<>();
        for (Relation r : relations) {
            CopyUnit unit = units.get(r.unit());
            long blocks = r.heapBytes() / r.blockSize();
            int parts = r.heapBytes() > 2 * split ? (int) Math.min(blocks, (r.heapBytes() + split - 1) / split) : 1;
            if (parts <= 1) {
                CopyPiece p = new CopyPiece(unit, r.relation(), r.bytes(), null, null);
                unit.add(p);
                pieces.add(p);
                continue;
            }
            for (int k = 0; k < parts; k++) {
                long from = blocks * k / parts;
                Long to = k == parts - 1 ? null : blocks * (k + 1) / parts;
                long bytes = r.bytes() / parts + (k == 0 ? r.bytes() % parts : 0);
                CopyPiece p = new CopyPiece(unit, r.relation(), bytes, from, to);
                unit.add(p);
                pieces.add(p);
            }
        }
        // Biggest first: the long pieces start at once and the small ones fill the gaps at the end.
        pieces.sort(Comparator.comparingLong(CopyPiece::bytes).reversed());
        return new CopyPlan(units, pieces, notes, total);
    }

    private static void bind(Connection c, PreparedStatement st, List<TableRef> roots) throws SQLException {
        st.setArray(1, c.createArrayOf("text", roots.stream().map(TableRef::schema).toArray()));
        st.setArray(2, c.createArrayOf("text", roots.stream().map(TableRef::name).toArray()));
    }
}
