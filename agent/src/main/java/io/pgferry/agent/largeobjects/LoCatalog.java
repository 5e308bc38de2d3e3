package io.pgferry.agent.largeobjects;

import com.fasterxml.jackson.core.type.TypeReference;
import io.pgferry.agent.json.Json;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Reads large objects on one side: which exist, which changed since a {@link Mark}, and each one's owner, ACL,
 * comment and content. Every read runs in the caller's transaction (REPEATABLE READ), so all of it is one
 * consistent state.
 */
final class LoCatalog {
    /** The first piece of each object comes with its metadata; the rest, if any, in pieces of this size. */
    static final int FIRST = 256 * 1024;
    static final int PIECE = 1024 * 1024;
    private static final TypeReference<List<LoHeader.AclItem>> ACL = new TypeReference<>() {
    };
    /**
     * A row's 32-bit xmin as a full xid8, from the epoch of the snapshot's xmax: every visible row was written by a
     * transaction that completed before xmax. Ids 0-2 (bootstrap, frozen) are old by definition.
     */
    private static final String FULL_XID = "(x.nx - ((x.nx %% 4294967296 - %1$s.xmin::text::bigint + 4294967296) "
            + "%% 4294967296))";
    /**
     * Large objects with a page or a metadata row (owner, ACL) written since the mark, not by the side's own
     * import. pg_largeobject has no index on xmin: this reads every page's header once (a sequential scan), never
     * the content. A truncate always rewrites the page holding the new end, so it is seen too; an unlink leaves no
     * row and is found by comparing the sets of oids; a comment lives in pg_description and is compared as a digest.
     */
    private static final String CHANGED = """
            WITH x AS (SELECT pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::bigint AS nx,
                              ?::bigint AS m, ?::bigint[] AS own)
            SELECT p.loid FROM pg_catalog.pg_largeobject p, x
             WHERE p.xmin::text::bigint > 2 AND %1$s >= x.m AND %1$s <> ALL (x.own)
            UNION
            SELECT o.oid FROM pg_catalog.pg_largeobject_metadata o, x
             WHERE o.xmin::text::bigint > 2 AND %2$s >= x.m AND %2$s <> ALL (x.own)
            ORDER BY 1""".formatted(FULL_XID.formatted("p"), FULL_XID.formatted("o"));
    /** Owner, ACL as granted (null: the default), the ACL's effective entries as text, comment, first piece. */
    private static final String OBJECTS = """
            SELECT m.oid::bigint, pg_catalog.pg_get_userbyid(m.lomowner),
                   CASE WHEN m.lomacl IS NULL THEN NULL ELSE coalesce((
                     SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
                              'grantee', CASE WHEN e.grantee = 0 THEN NULL
                                              ELSE pg_catalog.pg_get_userbyid(e.grantee) END,
                              'privilege', e.privilege_type, 'grantable', e.is_grantable)
                            ORDER BY e.grantee, e.privilege_type)::text
                       FROM pg_catalog.aclexplode(m.lomacl) e), '[]') END,
                   CASE WHEN ? THEN (SELECT pg_catalog.string_agg(a.item, ',' ORDER BY a.item)
                      FROM (SELECT CASE WHEN e.grantee = 0 THEN '' ELSE
                                     pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(e.grantee)) END || ':'
                                   || e.privilege_type || ':' || e.is_grantable AS item
                              FROM pg_catalog.aclexplode(coalesce(m.lomacl, pg_catalog.acldefault('L', m.lomowner)))
                                   e) a) END,
                   d.description,
                   CASE WHEN ? THEN pg_catalog.lo_get(m.oid, 0, %d) END
              FROM unnest(?::bigint[]) WITH ORDINALITY AS u(o, n)
              JOIN pg_catalog.pg_largeobject_metadata m ON m.oid = u.o::oid
              LEFT JOIN pg_catalog.pg_description d ON d.objoid = m.oid
                   AND d.classoid = 'pg_catalog.pg_largeobject'::regclass AND d.objsubid = 0
             ORDER BY u.n""".formatted(FIRST + 1);

    /**
     * One large object's metadata and the first piece of its content.
     *
     * @param effectiveAcl the ACL's entries (the default's when none was granted), without grantors, as text; only
     *                     read for a digest
     * @param first null when the content was not asked for; longer than {@link #FIRST} when more follows
     */
    record Found(long oid, String owner, List<LoHeader.AclItem> acl, String effectiveAcl, String comment,
                 byte[] first) {
        boolean hasMore() {
            return first != null && first.length > FIRST;
        }
    }

    interface Sink {
        void accept(Found object) throws IOException, SQLException;
    }

    interface PieceSink {
        void accept(byte[] piece) throws IOException;
    }

    private LoCatalog() {
    }

    static boolean pagesReadable(Connection c) throws SQLException {
        return bool(c, "SELECT pg_catalog.has_table_privilege('pg_catalog.pg_largeobject', 'SELECT')");
    }

    /** The snapshot's xmin (the next mark) and xmax (nothing visible is newer), as xid8. */
    static long[] snapshot(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                "SELECT pg_catalog.pg_snapshot_xmin(s)::text::bigint, pg_catalog.pg_snapshot_xmax(s)::text::bigint "
                        + "FROM pg_catalog.pg_current_snapshot() s")) {
            rs.next();
            return new long[] {rs.getLong(1), rs.getLong(2)};
        }
    }

    static List<Long> oids(Connection c) throws SQLException {
        return longs(c, "SELECT oid::bigint FROM pg_catalog.pg_largeobject_metadata ORDER BY 1");
    }

    static List<Long> changedSince(Connection c, Mark mark) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement(CHANGED)) {
            ps.setLong(1, mark.xminValue());
            ps.setArray(2, c.createArrayOf("bigint", mark.xidValues()));
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getLong(1));
                }
            }
        }
        return out;
    }

    /** md5 of each comment on a large object: a comment's removal leaves no row to carry a newer xmin. */
    static Map<String, String> commentDigests(Connection c) throws SQLException {
        Map<String, String> out = new LinkedHashMap<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("""
                SELECT objoid::bigint, pg_catalog.md5(description) FROM pg_catalog.pg_description
                 WHERE classoid = 'pg_catalog.pg_largeobject'::regclass AND objsubid = 0 ORDER BY 1""")) {
            while (rs.next()) {
                out.put(Long.toString(rs.getLong(1)), rs.getString(2));
            }
        }
        return out;
    }

    /**
     * Each existing object of {@code oids}, in the order given, to the sink; with content, the first piece comes
     * along and {@link #rest} reads the others. Rows are fetched a few at a time, so memory stays bounded by the
     * fetch size times the first piece.
     *
     * @return the oids that do not exist here
     */
    static List<Long> read(Connection c, List<Long> oids, boolean content, boolean digest, Sink sink)
            throws SQLException, IOException {
        Set<Long> missing = new LinkedHashSet<>(oids);
        try (PreparedStatement ps = c.prepareStatement(OBJECTS)) {
            ps.setFetchSize(32);
            ps.setBoolean(1, digest);
            ps.setBoolean(2, content);
            Array array = c.createArrayOf("bigint", oids.toArray());
            ps.setArray(3, array);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long oid = rs.getLong(1);
                    String acl = rs.getString(3);
                    missing.remove(Long.valueOf(oid));
                    sink.accept(new Found(oid, rs.getString(2), acl == null ? null : parse(acl), rs.getString(4),
                            rs.getString(5), rs.getBytes(6)));
                }
            }
        }
        return List.copyOf(missing);
    }

    /** The content after the first piece, piece by piece. */
    static void rest(Connection c, Found object, PieceSink out) throws SQLException, IOException {
        long offset = FIRST + 1;
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_catalog.lo_get(?::oid, ?, ?)")) {
            while (true) {
                ps.setLong(1, object.oid());
                ps.setLong(2, offset);
                ps.setInt(3, PIECE);
                byte[] piece;
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    piece = rs.getBytes(1);
                }
                if (piece.length > 0) {
                    out.accept(piece);
                }
                if (piece.length < PIECE) {
                    return;
                }
                offset += piece.length;
            }
        }
    }

    private static List<LoHeader.AclItem> parse(String json) {
        try {
            return Json.MAPPER.readValue(json, ACL);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<Long> longs(Connection c, String sql) throws SQLException {
        List<Long> out = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getLong(1));
            }
        }
        return out;
    }

    private static boolean bool(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getBoolean(1);
        }
    }
}
