package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.catalog.Subscriptions;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PairTeardown;
import io.pgferry.agent.testbed.PgCluster;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The cutover steps of docs/design.md against two real clusters (PostgreSQL 16 source, 18 target), each with its
 * own agent, after a real migration: ready check (schema drift), fence (and a rerun that finds it), catch-up,
 * sequences, verify, stop replication, reverse replication into the fenced old source, unfence, orphans and
 * cleanup down to zero pgferry objects on both sides. Tests run in order and build on each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CutoverStepsTest {
    private static final String DB = "app";
    private static final String M = "cut";
    private static final String PASSWORD = "repl 'cut' pw " + UUID.randomUUID();

    PgCluster src;
    PgCluster dst;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    MigrationFlow flow;
    String fenceLsn;

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("cut-src-" + run, 16);
        dst = PgCluster.create("cut-dst-" + run, 18);
        dir = Files.createTempDirectory("pgferry-cutover");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"));
        exec(src, "postgres", "CREATE DATABASE " + DB);
        exec(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
        exec(src, DB, """
                CREATE TABLE included.notes (id serial PRIMARY KEY, body text NOT NULL);
                INSERT INTO included.notes (body) SELECT 'note ' || g FROM generate_series(1, 300) g;
                CREATE SEQUENCE included.standalone INCREMENT 5;
                SELECT setval('included.standalone', 42);
                CREATE SEQUENCE included.fresh;
                CREATE SEQUENCE excluded.elsewhere;
                SELECT setval('excluded.elsewhere', 99);""");
        flow = new MigrationFlow(M, DB, src, source, target, PASSWORD, Map.of("exclude_schemas", List.of("excluded")));
        flow.run();
        flow.awaitCaughtUp();
    }

    @AfterAll
    void stop() throws Exception {
        PairTeardown.tearDown(PASSWORD, dir, new AgentHandle[] {source, target}, new PgCluster[] {src, dst});
    }

    private String path(String step) {
        return "/v1/migrations/" + M + "/" + step;
    }

    @Test
    @Order(1)
    void readyCheckPassesThenRefusesSchemaDriftListingTheObject() throws Exception {
        JsonNode ready = MigrationFlow.ok(source.post(path("ready-check"), Map.of("database", DB, "side", "source")));
        assertTrue(ready.get("ready").asBoolean());
        List<Map<String, String>> sequences = new ArrayList<>();
        ready.get("sequences").forEach(s -> sequences.add(Map.of("schema", s.get("schema").asText(),
                "name", s.get("name").asText())));
        assertEquals(5, sequences.size(), "customers, orders, notes, standalone, fresh: " + sequences);
        MigrationFlow.ok(target.post(path("ready-check"), Map.of("database", DB, "side", "target",
                "sequences", sequences)));

        exec(src, DB, "ALTER TABLE included.orders ADD COLUMN note text");
        Answer drift = source.post(path("ready-check"), Map.of("database", DB, "side", "source"));
        assertEquals(422, drift.status(), drift.body().toString());
        assertEquals("schema_drift", drift.at("/code").asText());
        assertEquals("column included.orders.note (added)", drift.at("/objects/0").asText(), drift.body()
                .toString());
        exec(src, DB, "ALTER TABLE included.orders DROP COLUMN note");
        MigrationFlow.ok(source.post(path("ready-check"), Map.of("database", DB, "side", "source")));

        Answer missing = target.post(path("ready-check"), Map.of("database", DB, "side", "target",
                "sequences", List.of(Map.of("schema", "included", "name", "nope"))));
        assertEquals(422, missing.status());
        assertEquals("sequences_missing", missing.at("/code").asText());
    }

    @Test
    @Order(2)
    void subscriberConfirmsPromptlyBeforeThePauseAndRelaxesWhenUndone() throws Exception {
        String setting = "SELECT subsynccommit FROM pg_subscription WHERE subname = 'pgferry_" + M + "'";
        assertEquals("off", one(dst, DB, setting), "created with PostgreSQL's default");
        JsonNode planned = MigrationFlow.ok(target.put(path("catch-up"), Map.of("database", DB, "check", true)));
        assertEquals(List.of("ALTER SUBSCRIPTION \"pgferry_" + M + "\" SET (synchronous_commit = 'on')"),
                names(planned.get("queries")));
        assertEquals("off", one(dst, DB, setting), "check mode changes nothing");

        JsonNode prompt = MigrationFlow.ok(target.put(path("catch-up"), Map.of("database", DB)));
        assertTrue(prompt.get("changed").asBoolean());
        assertEquals("on", prompt.at("/subscriber/synchronous_commit").asText());
        assertEquals("on", one(dst, DB, setting));
        assertFalse(MigrationFlow.ok(target.put(path("catch-up"), Map.of("database", DB))).get("changed")
                .asBoolean(), "a rerun finds it done");

        JsonNode relaxed = MigrationFlow.ok(target.delete(path("catch-up") + "?database=" + DB));
        assertTrue(relaxed.get("changed").asBoolean());
        assertEquals("off", one(dst, DB, setting));
        MigrationFlow.ok(target.put(path("catch-up"), Map.of("database", DB)));
        // A cutover undone after its pause stopped the apply (the answer lost): the stream goes on, enabled again.
        MigrationFlow.ok(target.post(path("stop-replication"), Map.of("database", DB, "drop", false)));
        JsonNode undone = MigrationFlow.ok(target.delete(path("catch-up") + "?database=" + DB));
        assertEquals(List.of("ALTER SUBSCRIPTION \"pgferry_" + M + "\" SET (synchronous_commit = 'off')",
                "ALTER SUBSCRIPTION \"pgferry_" + M + "\" ENABLE"), names(undone.get("queries")));
        assertEquals("true off", one(dst, DB, "SELECT subenabled || ' ' || subsynccommit FROM pg_subscription"));
        MigrationFlow.ok(target.put(path("catch-up"), Map.of("database", DB)));

        Answer noReverse = target.put(path("catch-up"), Map.of("database", DB, "direction", "reverse"));
        assertEquals(404, noReverse.status(), noReverse.body().toString());
        assertEquals("subscription_not_found", noReverse.at("/code").asText());
    }

    @Test
    @Order(3)
    void fenceStopsWritesEndsOldSessionsAndARerunSeesIt() throws Exception {
        exec(src, DB, "INSERT INTO included.notes (body) VALUES ('before the fence')");
        try (Connection before = src.connect(DB); Connection midTransaction = src.connect(DB)) {
            midTransaction.setAutoCommit(false);
            exec(midTransaction, "INSERT INTO included.notes (body) VALUES ('rolled back by the fence')");
            JsonNode fenced = MigrationFlow.ok(source.put(path("fence"), Map.of("database", DB)));
            assertTrue(fenced.get("changed").asBoolean());
            assertTrue(fenced.at("/fence/fenced").asBoolean());
            assertTrue(fenced.at("/fence/terminated").size() >= 2, "the older sessions are ended: " + fenced);
            assertEquals(1, fenced.at("/fence/interrupted").asInt(), "one was inside a transaction: " + fenced);
            assertTrue(fenced.at("/fence/sequences").isMissingNode(), "sequences only when asked for: " + fenced);
            fenceLsn = fenced.at("/fence/lsn").asText();
            SQLException gone = assertThrows(SQLException.class, () -> exec(before, "SELECT 1"));
            assertTrue(gone.getSQLState().startsWith("57") || gone.getSQLState().startsWith("08"),
                    gone.getSQLState());
        }
        SQLException readOnly = assertThrows(SQLException.class,
                () -> exec(src, DB, "INSERT INTO included.notes (body) VALUES ('after the fence')"));
        assertEquals("25006", readOnly.getSQLState());

        // The catalog is the record: without the agent's file, a rerun still finds the fence and changes nothing.
        try (Stream<Path> files = Files.walk(dir.resolve("source/state/" + M))) {
            files.filter(p -> p.getFileName().toString().startsWith("fence-")).forEach(p -> p.toFile().delete());
        }
        JsonNode again = MigrationFlow.ok(source.put(path("fence"), Map.of("database", DB, "sequences", true)));
        assertTrue(again.get("queries").toString().indexOf("ALTER DATABASE") < 0, again.toString());
        assertTrue(again.at("/fence/fenced").asBoolean());
        // Asked for, the sequences come with the fence, as the sequences step reads them (the cutover's one call).
        JsonNode sequences = MigrationFlow.ok(source.get(path("sequences") + "?database=" + DB)).get("sequences");
        assertEquals(5, sequences.size(), sequences.toString());
        assertEquals(sequences, again.at("/fence/sequences"), again.toString());
        assertTrue(MigrationFlow.ok(source.get(path("fence") + "?database=" + DB)).get("fenced").asBoolean());
    }

    @Test
    @Order(4)
    void catchUpWaitsUntilTheTargetHasEverythingBeforeTheFence() throws Exception {
        JsonNode caught = MigrationFlow.ok(source.post(path("catch-up"), Map.of("database", DB, "lsn", fenceLsn,
                "timeout_seconds", 30)));
        assertEquals("pgferry_" + M, caught.at("/catch_up/slot").asText());
        assertEquals("1", one(dst, DB, "SELECT count(*) FROM included.notes WHERE body = 'before the fence'"));
        Answer noSlot = source.post(path("catch-up"), Map.of("database", DB, "direction", "reverse",
                "timeout_seconds", 1));
        assertEquals(404, noSlot.status());
        assertEquals("slot_not_found", noSlot.at("/code").asText());
    }

    @Test
    @Order(5)
    void sequencesCopyOwnedIdentityAndStandaloneNeverBackwards() throws Exception {
        JsonNode read = MigrationFlow.ok(source.get(path("sequences") + "?database=" + DB));
        Map<String, JsonNode> bySeq = new HashMap<>();
        read.get("sequences").forEach(s -> bySeq.put(s.get("name").asText(), s));
        assertEquals(5, bySeq.size(), "excluded.elsewhere is out of scope: " + read);
        assertEquals(42, bySeq.get("standalone").get("last_value").asLong());
        assertFalse(bySeq.get("fresh").get("is_called").asBoolean());
        assertTrue(bySeq.get("notes_id_seq").get("owned_by").asText().endsWith(".\"id\""));

        Map<String, Object> body = Map.of("database", DB, "sequences", read.get("sequences"));
        JsonNode applied = MigrationFlow.ok(target.put(path("sequences"), body));
        assertTrue(applied.get("changed").asBoolean());
        assertFalse(MigrationFlow.ok(target.put(path("sequences"), body)).get("changed").asBoolean(), "idempotent");
        for (String seq : List.of("customers_id_seq", "orders_id_seq", "notes_id_seq", "standalone", "fresh")) {
            assertEquals(one(src, DB, "SELECT last_value || ' ' || is_called FROM included." + seq),
                    one(dst, DB, "SELECT last_value || ' ' || is_called FROM included." + seq), seq);
        }
        // A target ahead stays ahead; a gap moves the others further.
        exec(dst, DB, "SELECT setval('included.standalone', 1000)");
        JsonNode gapped = MigrationFlow.ok(target.put(path("sequences"), Map.of("database", DB, "sequences",
                read.get("sequences"), "gap", 100)));
        assertEquals("1000", one(dst, DB, "SELECT last_value FROM included.standalone"), gapped.toString());
        long notes = Long.parseLong(one(src, DB, "SELECT last_value FROM included.notes_id_seq"));
        assertEquals(notes + 1 + 100, Long.parseLong(one(dst, DB, "SELECT nextval('included.notes_id_seq')")));
    }

    @Test
    @Order(6)
    void verifyFindsEqualTablesThenTheOneThatDiffers() throws Exception {
        Map<String, String> equal = compare(Map.of("database", DB));
        assertEquals(3, equal.size(), equal.toString());
        assertTrue(equal.values().stream().allMatch("equal"::equals), equal.toString());

        // As the cutover's pause does: the apply stops, the subscription and its slot stay; a write the fenced
        // source still takes (a superuser's, read-write on purpose) is not applied.
        JsonNode stopped = MigrationFlow.ok(target.post(path("stop-replication"), Map.of("database", DB,
                "drop", false)));
        assertEquals(List.of("ALTER SUBSCRIPTION \"pgferry_" + M + "\" DISABLE"),
                names(stopped.get("queries")), stopped.toString());
        assertEquals("f", one(dst, DB, "SELECT subenabled FROM pg_subscription"));
        assertFalse(MigrationFlow.ok(target.post(path("stop-replication"), Map.of("database", DB, "drop", false)))
                .get("changed").asBoolean(), "a stopped apply stays stopped");
        exec(src, DB, "BEGIN READ WRITE; INSERT INTO included.notes (body) VALUES ('after the stop'); COMMIT");
        Thread.sleep(1500);
        assertEquals("0", one(dst, DB, "SELECT count(*) FROM included.notes WHERE body = 'after the stop'"));
        exec(src, DB, "BEGIN READ WRITE; DELETE FROM included.notes WHERE body = 'after the stop'; COMMIT");
        assertEquals("1", one(src, DB, "SELECT count(*) FROM pg_replication_slots"), "the slot stays until the drop");

        MigrationFlow.ok(target.post(path("stop-replication"), Map.of("database", DB)));
        exec(dst, DB, "UPDATE included.notes SET body = body || '!' WHERE id = 7");
        Map<String, String> one = compare(Map.of("database", DB));
        assertEquals("differs", one.get("included.notes"), one.toString());
        assertEquals("equal", one.get("included.orders"));
        exec(dst, DB, "UPDATE included.notes SET body = left(body, -1) WHERE id = 7");

        // A held snapshot: a write made after it is not seen by a verify that imports it, which then releases it.
        JsonNode held = MigrationFlow.ok(target.post(path("verify/snapshot"), Map.of("database", DB)));
        String snapshot = held.get("snapshot").asText();
        exec(dst, DB, "UPDATE included.notes SET body = body || '?' WHERE id = 7");
        assertEquals("differs", compare(Map.of("database", DB)).get("included.notes"));
        JsonNode sAt = MigrationFlow.ok(source.post(path("verify"), Map.of("database", DB)));
        JsonNode tAt = MigrationFlow.ok(target.post(path("verify"), Map.of("database", DB, "snapshot", snapshot)));
        assertEquals(sAt.get("tables"), tAt.get("tables"), "the target as of its snapshot equals the source");
        assertFalse(MigrationFlow.ok(target.delete(path("verify/snapshot") + "?database=" + DB)).get("changed")
                .asBoolean(), "verify released the snapshot");
        exec(dst, DB, "UPDATE included.notes SET body = left(body, -1) WHERE id = 7");

        // Sampling: one key range drawn on the source, the same range checked on the target.
        JsonNode s = MigrationFlow.ok(source.post(path("verify"), Map.of("database", DB, "sample_rows", 100)));
        List<JsonNode> ranges = new ArrayList<>();
        s.get("tables").forEach(t -> {
            if (t.hasNonNull("range")) {
                ranges.add(t.get("range"));
            }
        });
        assertEquals(3, ranges.size(), s.toString());
        JsonNode t = MigrationFlow.ok(target.post(path("verify"), Map.of("database", DB, "ranges", ranges)));
        for (int i = 0; i < 3; i++) {
            assertTrue(s.at("/tables/" + i + "/rows").asLong() <= 100);
            assertEquals(s.at("/tables/" + i + "/checksum"), t.at("/tables/" + i + "/checksum"));
        }
    }

    @Test
    @Order(7)
    void stopReplicationDroppedSubscriptionAndSlot() throws Exception {
        assertEquals("0", one(dst, DB, "SELECT count(*) FROM pg_subscription"));
        assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_replication_slots"));
        JsonNode again = MigrationFlow.ok(target.post(path("stop-replication"), Map.of("database", DB)));
        assertFalse(again.get("changed").asBoolean());
    }

    @Test
    @Order(8)
    void reverseReplicationKeepsTheFencedOldSourceCurrent() throws Exception {
        MigrationFlow.ok(target.put(path("reverse-replication"), Map.of("database", DB, "side", "publisher",
                "password", PASSWORD)));
        Map<String, Object> connection = Map.of("host", dst.host(), "port", dst.port(), "dbname", DB,
                "user", "pgferry_" + M, "password", PASSWORD);
        // The new primary behind a link that drops packets (the connect is accepted, then never answered): the call
        // answers within its bound, makes nothing, and holds the migration no longer.
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Map<String, Object> unanswered = new HashMap<>(connection);
            unanswered.put("host", "127.0.0.1");
            unanswered.put("port", silent.getLocalPort());
            long started = System.nanoTime();
            Answer refused = source.put(path("reverse-replication"), Map.of("database", DB, "side", "subscriber",
                    "connection", unanswered));
            long seconds = (System.nanoTime() - started) / 1_000_000_000L;
            assertEquals(502, refused.status(), refused.body().toString());
            assertEquals("publisher_unreachable", refused.at("/code").asText());
            assertFalse(refused.body().toString().contains(PASSWORD), "no secret in the answer");
            assertTrue(seconds < Subscriptions.PUBLISHER_TIMEOUT.toSeconds() + 10, seconds + " s");
            assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_subscription"));
        }
        JsonNode sub = MigrationFlow.ok(source.put(path("reverse-replication"), Map.of("database", DB,
                "side", "subscriber", "connection", connection)));
        assertEquals("none", sub.get("origin").asText());
        assertFalse(MigrationFlow.ok(source.put(path("reverse-replication"), Map.of("database", DB,
                "side", "subscriber", "connection", connection))).get("changed").asBoolean());
        // A cutover undone while the source could not reach the target leaves the reverse subscription disabled, its
        // slot there kept; the next cutover's subscriber step makes both again instead of enabling it.
        try (Connection c = src.connect(DB)) {
            exec(c, "SET default_transaction_read_only = off");
            exec(c, "ALTER SUBSCRIPTION \"pgferry_" + M + "_reverse\" DISABLE");
        }
        // in a real undo, what the forward stream applied meanwhile: the old slot would send it back
        exec(dst, DB, "INSERT INTO included.notes (body) VALUES ('applied while the reverse stream was off')");
        JsonNode again = MigrationFlow.ok(source.put(path("reverse-replication"), Map.of("database", DB,
                "side", "subscriber", "connection", connection)));
        List<String> queries = names(again.get("queries"));
        assertEquals("DROP SUBSCRIPTION \"pgferry_" + M + "_reverse\"", queries.get(0), queries.toString());
        assertTrue(queries.get(1).startsWith("CREATE SUBSCRIPTION"), queries.toString());
        assertEquals("t", one(src, DB, "SELECT subenabled FROM pg_subscription WHERE subname = 'pgferry_" + M
                + "_reverse'"));

        exec(dst, DB, "INSERT INTO included.notes (body) VALUES ('written on the new primary')");
        JsonNode caught = MigrationFlow.ok(target.post(path("catch-up"), Map.of("database", DB, "direction",
                "reverse", "timeout_seconds", 30)));
        assertEquals("1", one(src, DB, "SELECT count(*) FROM included.notes WHERE body = 'written on the new "
                + "primary'"), "applied into the fenced database: " + caught);
        assertEquals("0", one(src, DB, "SELECT count(*) FROM included.notes WHERE body = 'applied while the reverse "
                + "stream was off'"), "the new slot starts after it");
        exec(dst, DB, "DELETE FROM included.notes WHERE body = 'applied while the reverse stream was off'");
        MigrationFlow.ok(target.post(path("catch-up"), Map.of("database", DB, "direction", "reverse",
                "timeout_seconds", 30)));
        assertTrue(MigrationFlow.ok(source.get(path("fence") + "?database=" + DB)).get("fenced").asBoolean());
        Map<String, String> equal = compare(Map.of("database", DB));
        assertTrue(equal.values().stream().allMatch("equal"::equals), equal.toString());
    }

    @Test
    @Order(9)
    void unfenceMakesTheSourceWritableAgain() throws Exception {
        JsonNode lifted = MigrationFlow.ok(source.delete(path("fence") + "?database=" + DB));
        assertTrue(lifted.get("changed").asBoolean());
        exec(src, DB, "INSERT INTO excluded.audit (message) VALUES ('writable again')");
        assertFalse(MigrationFlow.ok(source.delete(path("fence") + "?database=" + DB)).get("changed").asBoolean());
    }

    @Test
    @Order(10)
    void orphansThenCleanupLeavesNothingOnEitherSide() throws Exception {
        exec(src, DB, "SELECT pg_create_logical_replication_slot('pgferry_abandoned', 'pgoutput')");
        JsonNode report = MigrationFlow.ok(source.get("/v1/orphans"));
        assertEquals(1, report.get("orphans").asInt(), report.toString());
        assertEquals("pgferry_abandoned", report.at("/slots/0/name").asText());
        assertEquals("pgferry_" + M + "_reverse", report.at("/subscriptions/0/name").asText());
        assertEquals(List.of("pgferry_" + M), names(report.get("roles")));
        JsonNode onTarget = MigrationFlow.ok(target.get("/v1/orphans"));
        assertEquals(0, onTarget.get("orphans").asInt(), "the reverse slot is in use: " + onTarget);
        exec(src, DB, "SELECT pg_drop_replication_slot('pgferry_abandoned')");

        MigrationFlow.ok(source.put(path("fence"), Map.of("database", DB)));  // a fence left by a failed run
        for (AgentHandle side : List.of(source, target)) {
            JsonNode done = MigrationFlow.ok(side.post(path("cleanup"), Map.of("database", DB)));
            assertTrue(done.get("changed").asBoolean(), done.toString());
            assertEquals(0, done.get("remaining").size(), done.toString());
        }
        for (PgCluster c : List.of(src, dst)) {
            assertEquals("0 0 0 0 0", one(c, DB, """
                    SELECT (SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgferry%') || ' ' ||
                           (SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgferry%') || ' ' ||
                           (SELECT count(*) FROM pg_subscription WHERE subname LIKE 'pgferry%') || ' ' ||
                           (SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%') || ' ' ||
                           (SELECT count(*) FROM pg_db_role_setting WHERE setrole = 0
                              AND setdatabase = (SELECT oid FROM pg_database WHERE datname = 'app'))"""), c.name());
        }
        exec(src, DB, "INSERT INTO excluded.audit (message) VALUES ('no fence left')");
        assertFalse(Files.exists(dir.resolve("source/state/" + M)), "the state files are gone");
        for (AgentHandle side : List.of(source, target)) {
            assertFalse(MigrationFlow.ok(side.post(path("cleanup"), Map.of("database", DB))).get("changed")
                    .asBoolean(), "a rerun changes nothing");
            JsonNode r = MigrationFlow.ok(side.get("/v1/orphans"));
            assertEquals(0, r.get("slots").size() + r.get("publications").size() + r.get("subscriptions").size()
                    + r.get("roles").size() + r.get("fenced").size(), r.toString());
        }
    }

    /** Verify on both sides; per table "equal" or "differs". */
    private Map<String, String> compare(Map<String, Object> body) throws Exception {
        JsonNode s = MigrationFlow.ok(source.post(path("verify"), body));
        JsonNode t = MigrationFlow.ok(target.post(path("verify"), body));
        Map<String, String> out = new LinkedHashMap<>();
        for (int i = 0; i < s.get("tables").size(); i++) {
            JsonNode a = s.get("tables").get(i);
            JsonNode b = t.get("tables").get(i);
            assertEquals(a.get("name"), b.get("name"));
            assertNotEquals("missing", b.get("checksum").asText());
            boolean same = a.get("rows").equals(b.get("rows")) && a.get("checksum").equals(b.get("checksum"));
            out.put(a.get("schema").asText() + "." + a.get("name").asText(), same ? "equal" : "differs");
            if (!same) {
                System.err.println("verify differs: " + a + " vs " + b);
            }
        }
        return out;
    }

    private static List<String> names(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static void exec(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db)) {
            exec(c, sql);
        }
    }

    private static void exec(Connection c, String sql) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
