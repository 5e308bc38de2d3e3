package io.pgferry.agent.largeobjects;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The large_objects step against real clusters (PostgreSQL 14 source, 18 target), each with its own agent: the first
 * sync compares digests and copies everything (content with holes and of several MiB, owners with names that need
 * quoting, ACLs, comments); once both sides hold a mark, a scan finds exactly what was created, changed (content,
 * truncation, owner, ACL, comment) or removed since - and not the target's own copies; the next sync brings the
 * target in line; an import refuses, changing nothing, a stream that stops half-way, roles missing here, and objects
 * it never wrote; check mode lists statements only; the same works backwards into a fenced database (a rollback).
 * The sync is driven here as the Ansible module drives it (module_utils/large_objects.py). Tests build on each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LargeObjectsTest {
    private static final String DB = "app";
    private static final String M = "lobs";
    private static final String OWNER = "Lo \"Owner\" ü";
    /** Per object: owner, ACL without grantors, comment, size, md5 of the content. */
    private static final String STATE = """
            SELECT m.oid, pg_get_userbyid(m.lomowner),
                   (SELECT string_agg(a.item, ',' ORDER BY a.item) FROM (
                      SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(e.grantee) END
                             || ':' || e.privilege_type || ':' || e.is_grantable AS item
                        FROM aclexplode(coalesce(m.lomacl, acldefault('L', m.lomowner))) e) a),
                   obj_description(m.oid, 'pg_largeobject'), length(lo_get(m.oid)), md5(lo_get(m.oid))
              FROM pg_largeobject_metadata m ORDER BY 1""";

    PgCluster src;
    PgCluster dst;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    final Map<String, Long> lo = new LinkedHashMap<>();

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("lo-src-" + run, 14);
        dst = PgCluster.create("lo-dst-" + run, 18);
        dir = Files.createTempDirectory("pgferry-lo");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"));
        for (PgCluster c : List.of(src, dst)) {
            exec(c, "postgres", "CREATE DATABASE " + DB);
            exec(c, DB, "CREATE ROLE " + ident(OWNER) + "; CREATE ROLE reader");
        }
        exec(src, DB, "CREATE ROLE writer");
        lo.put("plain", oid(src, "SELECT lo_from_bytea(0, convert_to('hello, large object', 'UTF8'))"));
        lo.put("empty", oid(src, "SELECT lo_from_bytea(0, '')"));
        long sparse = oid(src, "SELECT lo_from_bytea(0, 'abc')");
        exec(src, DB, "SELECT lo_put(" + sparse + ", 100000, 'xyz')");
        lo.put("sparse", sparse);
        // 5 MB of md5 text: more than a group of the import and many pieces of the export.
        lo.put("big", oid(src, "SELECT lo_from_bytea(0, (SELECT convert_to(string_agg(md5(g::text), ''), 'UTF8') "
                + "FROM generate_series(1, 160000) g))"));
        lo.put("owned", oid(src, "SELECT lo_from_bytea(0, 'owned')"));
        exec(src, DB, "ALTER LARGE OBJECT " + lo.get("owned") + " OWNER TO " + ident(OWNER) + "; "
                + "GRANT SELECT ON LARGE OBJECT " + lo.get("owned") + " TO reader WITH GRANT OPTION; "
                + "GRANT UPDATE ON LARGE OBJECT " + lo.get("owned") + " TO PUBLIC; "
                + "COMMENT ON LARGE OBJECT " + lo.get("owned") + " IS 'it''s \\ commented'");
        lo.put("revoked", oid(src, "SELECT lo_from_bytea(0, 'nobody may')"));
        exec(src, DB, "REVOKE ALL ON LARGE OBJECT " + lo.get("revoked") + " FROM postgres");
        for (int i = 0; i < 40; i++) {
            lo.put("many" + i, oid(src, "SELECT lo_from_bytea(0, convert_to(repeat('m" + i + "', 300), 'UTF8'))"));
        }
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle a : new AgentHandle[] {source, target}) {
            if (a != null) {
                a.close();
            }
        }
        for (PgCluster c : new PgCluster[] {src, dst}) {
            if (c != null && System.getenv("PGFERRY_KEEP_CLUSTERS") == null) {
                c.destroy();
            }
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void checkModeListsTheStatementsAndChangesNothing() throws Exception {
        JsonNode result = sync(M, source, target, true);
        assertTrue(result.get("changed").asBoolean());
        String queries = result.get("queries").toString();
        // Created as their owner, in one statement per owner; the ACL granted as on the source.
        assertTrue(queries.contains("SET ROLE " + ident(OWNER).replace("\"", "\\\"")), queries);
        assertTrue(queries.contains("unnest('{" + lo.get("owned") + "}'::bigint[], <their contents>)"), queries);
        assertTrue(queries.contains("GRANT SELECT ON LARGE OBJECT " + lo.get("owned") + " TO \\\"reader\\\" WITH GRANT "
                + "OPTION"), queries);
        assertEquals("0", one(dst, DB, "SELECT count(*) FROM pg_largeobject_metadata"));
        assertFalse(Files.exists(dir.resolve("target/state/" + M + "/large-objects.json")), "check mode stores nothing");
    }

    @Test
    @Order(2)
    void firstSyncCopiesEverythingWithOwnersAclsAndComments() throws Exception {
        JsonNode result = sync(M, source, target, false);
        assertEquals(lo.size(), result.at("/large_objects/copied").asLong(), result.toString());
        assertEquals(state(src), state(dst));
        assertEquals("it's \\ commented", one(dst, DB, "SELECT obj_description(" + lo.get("owned")
                + ", 'pg_largeobject')"));
        assertEquals("100003", one(dst, DB, "SELECT length(lo_get(" + lo.get("sparse") + "))"));
        // The digests of both sides agree object by object.
        assertEquals(ok(source.get(path() + "?database=" + DB + "&digests=true")).get("digests"),
                ok(target.get(path() + "?database=" + DB + "&digests=true")).get("digests"));
    }

    @Test
    @Order(3)
    void withMarksNothingIsChangedAndTheTargetsOwnCopiesDoNotCount() throws Exception {
        JsonNode s = ok(source.get(path() + "?database=" + DB));
        JsonNode t = ok(target.get(path() + "?database=" + DB));
        assertEquals("xmin", s.get("detection").asText());
        assertTrue(s.has("mark") && t.has("mark"), s + " / " + t);
        assertEquals(0, s.get("changed").size(), s.toString());
        assertEquals(0, t.get("changed").size(), "the import's own writes are not changes: " + t);
        assertFalse(s.has("digests"), "no digests once marked");
        JsonNode again = sync(M, source, target, false);
        assertFalse(again.get("changed").asBoolean(), again.toString());
    }

    @Test
    @Order(4)
    void changesSinceTheMarkAreFoundAndBroughtInLine() throws Exception {
        long created = oid(src, "SELECT lo_from_bytea(0, 'born after the copy')");
        exec(src, DB, "SELECT lo_put(" + lo.get("plain") + ", 7, 'LARGE')");
        exec(src, DB, "SELECT lo_truncate(lo_open(" + lo.get("sparse") + ", 131072), 2)");
        exec(src, DB, "SELECT lo_unlink(" + lo.get("many3") + ")");
        exec(src, DB, "ALTER LARGE OBJECT " + lo.get("many4") + " OWNER TO writer");
        exec(src, DB, "GRANT SELECT ON LARGE OBJECT " + lo.get("many5") + " TO reader");
        exec(src, DB, "COMMENT ON LARGE OBJECT " + lo.get("owned") + " IS NULL");
        exec(src, DB, "COMMENT ON LARGE OBJECT " + lo.get("many6") + " IS 'new comment'");
        JsonNode s = ok(source.get(path() + "?database=" + DB));
        Set<Long> changed = longs(s.get("changed"));
        assertEquals(new TreeSet<>(List.of(created, lo.get("plain"), lo.get("sparse"), lo.get("many4"),
                lo.get("many5"))), new TreeSet<>(changed), "content, truncation, owner, ACL and new objects");
        assertFalse(longs(s.get("oids")).contains(lo.get("many3")), "unlinked");

        Answer roles = importInto(target, export(source, List.of(lo.get("many4")), true), false);
        assertEquals(422, roles.status(), roles.body().toString());
        assertEquals("roles_missing", roles.at("/code").asText());
        assertEquals("writer", roles.at("/objects/0").asText());
        exec(dst, DB, "CREATE ROLE writer");

        JsonNode result = sync(M, source, target, false);
        assertEquals(state(src), state(dst));
        assertEquals(1, result.at("/large_objects/unlinked").asLong(), result.toString());
        assertEquals(0, ok(target.get(path() + "?database=" + DB)).get("changed").size());
    }

    @Test
    @Order(5)
    void anIncompleteStreamChangesNothing() throws Exception {
        exec(src, DB, "SELECT lo_put(" + lo.get("many7") + ", 0, 'changed again')");
        byte[] stream = export(source, List.of(lo.get("many7"), lo.get("big")), true);
        String before = state(dst);
        Answer cut = importInto(target, Arrays.copyOf(stream, stream.length - 200), false);
        assertEquals(422, cut.status(), cut.body().toString());
        assertEquals("stream_incomplete", cut.at("/code").asText());
        Answer garbage = target.send("PUT", path() + "?database=" + DB, "{\"not\": \"a stream\"}".getBytes());
        assertEquals(400, garbage.status());
        assertEquals(before, state(dst));
        sync(M, source, target, false);
        assertEquals(state(src), state(dst));
    }

    @Test
    @Order(6)
    void aDatabaseWithLargeObjectsPgferryNeverWroteIsRefused() throws Exception {
        // Another migration id: this agent never took part in its syncs, yet the target holds objects with those oids.
        byte[] stream = export(source, List.of(lo.get("plain"), lo.get("many3")), true);
        String before = state(dst);
        Answer refused = importInto(target, stream, false, "lobs_other");
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("large_objects_conflict", refused.at("/code").asText());
        assertEquals(before, state(dst));
        Answer adopted = target.send("PUT", "/v1/migrations/lobs_other/large-objects?database=" + DB + "&adopt=true",
                stream);
        assertEquals(200, adopted.status(), adopted.body().toString());
        assertEquals(state(src), state(dst));
    }

    @Test
    @Order(6)
    void aRefusalNamesAHundredConflictsAndCountsTheRest() throws Exception {
        // 130 objects pgferry never wrote on the target; the source lacks them, so its export sends 130 unlinks.
        exec(dst, DB, "SELECT count(lo_from_bytea(g::oid, 'foreign')) FROM generate_series(3000000001, 3000000130) g");
        try {
            List<Long> foreign = LongStream.rangeClosed(3000000001L, 3000000130L).boxed().toList();
            String before = state(dst);
            Answer refused = importInto(target, export(source, foreign, true), false, "lobs_foreign");
            assertEquals(422, refused.status(), refused.body().toString());
            assertEquals("large_objects_conflict", refused.at("/code").asText());
            assertEquals(LoImport.CONFLICTS_KEPT, refused.at("/objects").size(), refused.body().toString());
            assertTrue(refused.at("/detail").asText().contains(" and 110 more;"), refused.body().toString());
            assertEquals(before, state(dst));
        } finally {
            exec(dst, DB, "SELECT count(lo_unlink(g::oid)) FROM generate_series(3000000001, 3000000130) g");
        }
    }

    @Test
    @Order(7)
    void backwardsIntoAFencedDatabaseAsAtARollback() throws Exception {
        exec(src, DB, "ALTER DATABASE " + DB + " SET default_transaction_read_only = on");
        try {
            long onTarget = oid(dst, "SELECT lo_from_bytea(0, 'written after the cutover')");
            exec(dst, DB, "SELECT lo_put(" + lo.get("big") + ", 10, 'changed on the target')");
            JsonNode s = ok(target.get(path() + "?database=" + DB));
            assertTrue(longs(s.get("changed")).containsAll(List.of(onTarget, lo.get("big"))), s.toString());
            sync(M, target, source, false);
            assertEquals(state(dst), state(src));
        } finally {
            try (Connection c = src.connect(DB); Statement st = c.createStatement()) {
                st.execute("SET default_transaction_read_only = off");
                st.execute("ALTER DATABASE " + DB + " RESET default_transaction_read_only");
            }
        }
    }

    @Test
    @Order(8)
    void aLostStateFileFallsBackToDigests() throws Exception {
        Files.delete(dir.resolve("source/state/" + M + "/large-objects.json"));
        exec(dst, DB, "SELECT lo_put(" + lo.get("many8") + ", 0, 'drift')");
        JsonNode s = ok(source.get(path() + "?database=" + DB));
        assertFalse(s.has("mark"));
        assertTrue(s.has("digests"), "without a mark the scan answers digests");
        JsonNode result = sync(M, source, target, false);
        assertEquals(1, result.at("/large_objects/copied").asLong(), "only the one that differs: " + result);
        assertEquals(state(src), state(dst));
    }

    // ------------------------------------------------------------ the sync, as module_utils/large_objects.py does it

    private JsonNode sync(String m, AgentHandle from, AgentHandle to, boolean check) throws Exception {
        String scan = "/v1/migrations/" + m + "/large-objects?database=" + DB;
        JsonNode s0 = ok(from.get(scan + "&digests=false"));
        JsonNode r0 = ok(to.get(scan + "&digests=false"));
        boolean marked = s0.has("mark") && r0.has("mark");
        boolean common = longs(s0.get("oids")).stream().anyMatch(longs(r0.get("oids"))::contains);
        boolean digests = common && !marked;
        JsonNode s = digests ? ok(from.get(scan + "&digests=true")) : s0;
        JsonNode r = digests ? ok(to.get(scan + "&digests=true")) : r0;
        Set<Long> theirs = longs(r.get("oids"));
        Set<Long> copy = new LinkedHashSet<>();
        for (Long oid : longs(s.get("oids"))) {
            String key = oid.toString();
            boolean differs = !theirs.contains(oid) || (marked
                    ? longs(s.get("changed")).contains(oid) || longs(r.get("changed")).contains(oid)
                    || !s.get("comments").path(key).equals(r.get("comments").path(key))
                    : !s.get("digests").path(key).equals(r.get("digests").path(key)));
            if (differs) {
                copy.add(oid);
            }
        }
        List<Long> all = new ArrayList<>(copy);
        Set<Long> ours = longs(s.get("oids"));
        theirs.stream().filter(o -> !ours.contains(o)).forEach(all::add);
        if (all.isEmpty()) {
            if (!check && !marked) {
                ok(from.put("/v1/migrations/" + m + "/large-objects/mark", Map.of("database", DB,
                        "xmin", s.get("next_mark").asText())));
                ok(to.put("/v1/migrations/" + m + "/large-objects/mark", Map.of("database", DB,
                        "xmin", r.get("next_mark").asText())));
            }
            return JsonMapper.MAPPER.createObjectNode().put("changed", false);
        }
        Answer imported = to.send("PUT", "/v1/migrations/" + m + "/large-objects?database=" + DB
                + (check ? "&check=true" : ""), exportFrom(from, m, all, !check));
        JsonNode result = ok(imported);
        if (!check) {
            ok(to.put("/v1/migrations/" + m + "/large-objects/mark", Map.of("database", DB,
                    "xmin", r.get("next_mark").asText(), "xids", List.of(result.at("/large_objects/xid").asText()))));
            ok(from.put("/v1/migrations/" + m + "/large-objects/mark", Map.of("database", DB,
                    "xmin", s.get("next_mark").asText())));
        }
        return result;
    }

    private byte[] export(AgentHandle from, List<Long> oids, boolean data) throws Exception {
        return exportFrom(from, M, oids, data);
    }

    private static byte[] exportFrom(AgentHandle from, String m, List<Long> oids, boolean data) throws Exception {
        Answer a = from.post("/v1/migrations/" + m + "/large-objects/export", Map.of("database", DB, "oids", oids,
                "data", data));
        assertEquals(200, a.status(), a.body() == null ? "" : a.body().toString());
        assertEquals(LoStream.CONTENT_TYPE, a.response().headers().firstValue("Content-Type").orElse(""));
        return a.raw();
    }

    private Answer importInto(AgentHandle to, byte[] stream, boolean check) throws Exception {
        return importInto(to, stream, check, M);
    }

    private Answer importInto(AgentHandle to, byte[] stream, boolean check, String m) throws Exception {
        return to.send("PUT", "/v1/migrations/" + m + "/large-objects?database=" + DB + (check ? "&check=true" : ""),
                stream);
    }

    private static String path() {
        return "/v1/migrations/" + M + "/large-objects";
    }

    private static JsonNode ok(Answer a) {
        if (a.status() >= 300) {
            fail("HTTP " + a.status() + ": " + a.body());
        }
        return a.body();
    }

    private static Set<Long> longs(JsonNode array) {
        Set<Long> out = new LinkedHashSet<>();
        if (array != null) {
            array.forEach(n -> out.add(n.asLong()));
        }
        return out;
    }

    private static String state(PgCluster c) throws Exception {
        StringBuilder out = new StringBuilder();
        try (Connection conn = c.connect(DB); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(STATE)) {
            while (rs.next()) {
                for (int i = 1; i <= 6; i++) {
                    out.append(rs.getString(i)).append(i < 6 ? " | " : "\n");
                }
            }
        }
        assertNotEquals("", out.toString());
        return out.toString();
    }

    private static String ident(String name) {
        return '"' + name.replace("\"", "\"\"") + '"';
    }

    private static long oid(PgCluster c, String sql) throws Exception {
        return Long.parseLong(one(c, DB, sql));
    }

    private static void exec(PgCluster c, String db, String sql) throws Exception {
        try (Connection conn = c.connect(db); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(PgCluster c, String db, String sql) throws Exception {
        try (Connection conn = c.connect(db); Statement st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** The test's own JSON mapper for small answers it makes up. */
    private static final class JsonMapper {
        static final com.fasterxml.jackson.databind.ObjectMapper MAPPER = new com.fasterxml.jackson.databind.ObjectMapper();
    }
}
