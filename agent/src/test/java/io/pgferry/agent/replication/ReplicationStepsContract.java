package io.pgferry.agent.replication;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The replication steps across two real clusters, each with its own in-process agent: replication role and
 * publication on the source, database and subscription on the target, then sync status and status on both. The
 * target's schema is made here with pg_dump and psql, independent of the schema steps.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class ReplicationStepsContract {
    private static final String DB = "app";
    private static final String M = "flow";
    private static final Duration WAIT = Duration.ofSeconds(60);

    PgCluster sourceCluster;
    PgCluster targetCluster;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    /** Every password a step was given, to check none ever comes back. */
    final List<String> passwords = new ArrayList<>();

    abstract int sourceMajor();

    abstract int targetMajor();

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        sourceCluster = PgCluster.create("repl-src-" + sourceMajor() + "-" + run, sourceMajor());
        targetCluster = PgCluster.create("repl-dst-" + targetMajor() + "-" + run, targetMajor());
        dir = Files.createTempDirectory("pgferry-repl");
        source = AgentHandle.start(sourceCluster, dir.resolve("source"));
        target = AgentHandle.start(targetCluster, dir.resolve("target"));
        sql(sourceCluster, "postgres", "CREATE DATABASE " + DB);
        sql(sourceCluster, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
    }

    @AfterAll
    void stop() throws Exception {
        for (AgentHandle agent : new AgentHandle[] {source, target}) {
            if (agent == null) {
                continue;
            }
            for (String body : agent.bodies()) {
                for (String password : passwords) {
                    assertFalse(body.contains(password), "a password leaked into a response: " + body);
                }
                assertFalse(body.contains(sourceCluster.superuserPassword()), "the admin password leaked");
            }
            agent.close();
        }
        if (sourceCluster != null) {
            sourceCluster.destroy();
        }
        if (targetCluster != null) {
            targetCluster.destroy();
        }
        if (dir != null) {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    @Order(1)
    void publicationRefusesTablesWithoutReplicaIdentityAndChangesNothing() throws Exception {
        sql(sourceCluster, "postgres", "CREATE DATABASE safety");
        sql(sourceCluster, "safety", """
                CREATE TABLE public.keyed (id int PRIMARY KEY, v text);
                CREATE TABLE public.keyless (a int, b text);
                INSERT INTO public.keyless VALUES (1, 'one');
                CREATE TABLE public.events (id int, at date) PARTITION BY RANGE (at);
                CREATE TABLE public.events_2025 PARTITION OF public.events
                  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
                CREATE SCHEMA scratch;
                CREATE UNLOGGED TABLE scratch.cache (id int PRIMARY KEY);
                CREATE UNLOGGED TABLE scratch."Key less ü" (a int);
                CREATE TABLE scratch.kept (id int PRIMARY KEY);
                """);
        sql(sourceCluster, "postgres", "CREATE DATABASE conflict");
        sql(sourceCluster, "conflict", "CREATE TABLE t (id int PRIMARY KEY); "
                + "CREATE PUBLICATION pgferry_everything FOR ALL TABLES");
        String path = "/v1/migrations/safe/publication";
        Map<String, Object> body = Map.of("database", "safety", "include_schemas", List.of("public"));

        Answer refused = source.put(path, body);
        assertProblem(refused, 422, "table_without_replica_identity");
        String objects = refused.body().get("objects").toString();
        assertTrue(objects.contains("\\\"public\\\".\\\"keyless\\\""), objects);
        assertTrue(objects.contains("\\\"public\\\".\\\"events_2025\\\" (partition of"), objects);
        assertFalse(objects.contains("keyed"), objects);
        assertEquals("0", one(sourceCluster, "safety", "SELECT count(*) FROM pg_publication WHERE pubname "
                + "= 'pgferry_safe'"));
        sql(sourceCluster, "safety", "UPDATE public.keyless SET b = 'still works'");

        assertProblem(source.put(path, Map.of("database", "safety", "include_schemas", List.of("scratch"))), 422,
                "unlogged_tables");
        // Moved empty, unlogged tables are left out of the publication - a key-less one too - and the rest published.
        JsonNode empty = ok(source.put("/v1/migrations/empty/publication", Map.of("database", "safety",
                "include_schemas", List.of("scratch"), "unlogged_tables", "empty")));
        assertEquals("[{\"schema\":\"scratch\",\"name\":\"kept\"}]", empty.at("/publication/tables").toString());
        ok(source.delete("/v1/migrations/empty/publication?database=safety"));
        assertProblem(source.put("/v1/migrations/everything/publication", Map.of("database", "conflict")), 409,
                "publication_conflict");

        Map<String, Object> optIn = new LinkedHashMap<>(body);
        optIn.put("replica_identity_full", List.of(table("public", "keyless"), table("public", "events")));
        JsonNode done = ok(source.put(path, optIn));
        assertTrue(done.get("changed").asBoolean());
        assertTrue(done.get("queries").toString().contains("ALTER TABLE \\\"public\\\".\\\"events_2025\\\" "
                + "REPLICA IDENTITY FULL"), done.toString());
        assertEquals("f", one(sourceCluster, "safety", "SELECT relreplident FROM pg_class WHERE oid = "
                + "'public.keyless'::regclass"));
        assertEquals("f", one(sourceCluster, "safety", "SELECT relreplident FROM pg_class WHERE oid = "
                + "'public.events_2025'::regclass"));
        sql(sourceCluster, "safety", "UPDATE public.keyless SET b = 'published'; DELETE FROM public.keyless");
        assertFalse(ok(source.put(path, optIn)).get("changed").asBoolean(), "rerun changes nothing");

        assertTrue(ok(source.delete(path + "?database=safety")).get("changed").asBoolean());
        assertFalse(ok(source.delete(path + "?database=safety")).get("changed").asBoolean());
        assertProblem(source.delete(path + "?database=nope"), 404, "database_not_found");
    }

    @Test
    @Order(2)
    void checkModeChangesNothing() throws Exception {
        String before = catalogs();
        Map<String, Object> role = scoped("password", password("check"), "check", true);
        JsonNode planned = ok(source.put(step("replication-role"), role));
        assertTrue(planned.get("changed").asBoolean());
        assertTrue(planned.get("check").asBoolean());
        assertTrue(planned.get("queries").get(0).asText().endsWith("PASSWORD '********'"), planned.toString());
        assertTrue(ok(source.put(step("publication"), scoped("check", true))).get("changed").asBoolean());
        assertTrue(ok(target.put(step("database"), database(true))).get("changed").asBoolean());
        assertEquals(before, catalogs(), "check mode changed a catalog");
    }

    @Test
    @Order(3)
    void replicationRoleIsMinimalAndDetectsPasswordChanges() throws Exception {
        Map<String, Object> wide = scoped("password", password("first"));
        wide.put("include_schemas", List.of("included", "excluded"));
        assertTrue(ok(source.put(step("replication-role"), wide)).get("changed").asBoolean());
        assertEquals("t", one(sourceCluster, DB, "SELECT has_table_privilege('pgferry_flow', 'excluded.audit', "
                + "'SELECT')"));

        // Narrower scope: the grants follow, the password stays.
        JsonNode narrowed = ok(source.put(step("replication-role"), scoped("password", password("first"))));
        assertTrue(narrowed.get("changed").asBoolean());
        assertTrue(narrowed.get("queries").toString().contains("REVOKE ALL ON TABLE \\\"excluded\\\".\\\"audit\\\""),
                narrowed.toString());
        assertFalse(narrowed.get("queries").toString().contains("PASSWORD"), narrowed.toString());
        assertEquals("f", one(sourceCluster, DB, "SELECT has_table_privilege('pgferry_flow', 'excluded.audit', "
                + "'SELECT')"));

        JsonNode same = ok(source.put(step("replication-role"), scoped("password", password("first"))));
        assertFalse(same.get("changed").asBoolean(), same.toString());
        assertEquals(0, same.get("queries").size());
        assertEquals("pgferry_flow", same.at("/role/name").asText());

        sql(sourceCluster, DB, "ALTER ROLE pgferry_flow SUPERUSER CREATEDB");
        JsonNode fixed = ok(source.put(step("replication-role"), scoped("password", password("second"))));
        assertEquals(List.of("ALTER ROLE \"pgferry_flow\" WITH NOSUPERUSER NOCREATEDB",
                "ALTER ROLE \"pgferry_flow\" WITH PASSWORD '********'"), texts(fixed.get("queries")));
        assertEquals("f|f|t|t", one(sourceCluster, DB, "SELECT concat_ws('|', rolsuper, rolcreatedb, rolcanlogin, "
                + "rolreplication) FROM pg_roles WHERE rolname = 'pgferry_flow'"));
        assertFalse(ok(source.put(step("replication-role"), scoped("password", password("second"))))
                .get("changed").asBoolean());

        assertProblem(source.put(step("replication-role"), scoped("password", "")), 400, "invalid_request");
        assertProblem(source.put(step("replication-role"), scoped("password", "x\u0000y")), 400, "invalid_request");
    }

    @Test
    @Order(4)
    void subscriptionCopiesAndStreams() throws Exception {
        JsonNode publication = ok(source.put(step("publication"), scoped()));
        assertTrue(publication.get("changed").asBoolean());
        assertEquals(2, publication.at("/publication/tables").size());
        assertFalse(ok(source.put(step("publication"), scoped())).get("changed").asBoolean());

        assertTrue(ok(target.put(step("database"), database(false))).get("changed").asBoolean());
        assertFalse(ok(target.put(step("database"), database(false))).get("changed").asBoolean());
        Map<String, Object> otherEncoding = database(false);
        otherEncoding.put("encoding", "SQL_ASCII");
        assertProblem(target.put(step("database"), otherEncoding), 422, "database_mismatch");
        Map<String, Object> noOwner = database(false);
        noOwner.put("owner", "nobody_here");
        assertProblem(target.put(step("database"), noOwner), 422, "owner_missing");

        copySchema();
        assertProblem(target.get(step("sync-status") + "?database=" + DB), 404, "subscription_not_found");
        JsonNode created = ok(target.put(step("subscription"), subscription(password("second"))));
        assertTrue(created.get("changed").asBoolean());
        assertTrue(created.at("/subscription/conninfo").asText().contains("password=********"));
        assertFalse(ok(target.put(step("subscription"), subscription(password("second")))).get("changed")
                .asBoolean(), "rerun changes nothing");

        // Held (?wait=N), a poll answers as the copy moves - a table ready - not when N seconds have passed: the
        // tables are still initializing right after CREATE SUBSCRIPTION, so an answer at once would show none ready.
        long asked = System.nanoTime();
        JsonNode moved = ok(target.get(step("sync-status") + "?database=" + DB + "&wait=120"));
        assertTrue(moved.get("ready").asInt() >= 1, "a held poll answers once a table is ready: " + moved);
        assertTrue(System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(100), "answered before its wait ran out");
        JsonNode synced = await(() -> {
            JsonNode s = ok(target.get(step("sync-status") + "?database=" + DB + "&wait=5"));
            return s.get("all_ready").asBoolean() ? s : null;
        });
        asked = System.nanoTime();
        ok(target.get(step("sync-status") + "?database=" + DB + "&wait=120"));
        assertTrue(System.nanoTime() - asked < TimeUnit.SECONDS.toNanos(60), "every table ready: answered at once");
        assertEquals(2, synced.get("total").asInt());
        assertEquals(100, synced.get("percent").asInt());
        assertEquals("ready", synced.at("/tables/0/state_name").asText());
        assertSameData();

        sql(sourceCluster, DB, """
                INSERT INTO included.customers (name, email) VALUES ('late', 'late@example.org');
                UPDATE included.orders SET amount = amount + 1 WHERE id % 10 = 0;
                DELETE FROM included.orders WHERE id > 4900;
                """);
        await(() -> data(targetCluster).equals(data(sourceCluster)) ? true : null);

        JsonNode streaming = await(() -> {
            JsonNode s = ok(source.get(step("status") + "?database=" + DB));
            return s.at("/slot/active").asBoolean() && s.at("/slot/lag_bytes").asLong() == 0 ? s : null;
        });
        assertEquals("replicating", streaming.get("phase").asText());
        assertTrue(streaming.at("/role/exists").asBoolean());
        assertEquals(2, streaming.at("/publication/tables").size());
        assertEquals("streaming", ok(target.get(step("status") + "?database=" + DB)).get("phase").asText());
        assertExactlyOneOfEach();
    }

    @Test
    @Order(5)
    void subscriptionFollowsAPasswordChangeThenDrops() throws Exception {
        ok(source.put(step("replication-role"), scoped("password", password("third"))));
        JsonNode moved = ok(target.put(step("subscription"), subscription(password("third"))));
        assertEquals(List.of("ALTER SUBSCRIPTION \"pgferry_flow\" CONNECTION 'host=''127.0.0.1'' port=''"
                + sourceCluster.port() + "'' dbname=''app'' user=''pgferry_flow'' password=******** "
                + "sslmode=''disable'' connect_timeout=''10'''"), texts(moved.get("queries")));
        assertFalse(ok(target.put(step("subscription"), subscription(password("third")))).get("changed")
                .asBoolean());
        sql(sourceCluster, DB, "INSERT INTO included.customers (name) VALUES ('after the new password')");
        await(() -> data(targetCluster).equals(data(sourceCluster)) ? true : null);
        assertExactlyOneOfEach();

        JsonNode dropped = ok(target.delete(step("subscription") + "?database=" + DB));
        assertEquals(List.of("ALTER SUBSCRIPTION \"pgferry_flow\" DISABLE", "DROP SUBSCRIPTION \"pgferry_flow\""),
                texts(dropped.get("queries")));
        assertEquals("0", one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots"));
        assertFalse(ok(target.delete(step("subscription") + "?database=" + DB)).get("changed").asBoolean());
        assertTrue(ok(source.delete(step("publication") + "?database=" + DB)).get("changed").asBoolean());
        assertEquals("schema", ok(target.get(step("status") + "?database=" + DB)).get("phase").asText());
    }

    @Test
    @Order(6)
    void anUnreachableSourceIs502WithTheFix() throws Exception {
        Map<String, Object> nowhere = subscription(password("third"));
        @SuppressWarnings("unchecked")
        Map<String, Object> connection = (Map<String, Object>) nowhere.get("connection");
        connection.put("port", io.pgferry.agent.testbed.AgentFixture.freePort());
        Answer refused = target.put(step("subscription"), nowhere);
        assertProblem(refused, 502, "source_unreachable");
        assertEquals("0", one(targetCluster, DB, "SELECT count(*) FROM pg_subscription"));

        ok(source.put(step("publication"), scoped()));
        Map<String, Object> noCopy = subscription(password("third"));
        noCopy.put("copy_data", false);
        noCopy.put("streaming", true);
        assertTrue(ok(target.put(step("subscription"), noCopy)).get("changed").asBoolean());
        sourceCluster.stop();
        try {
            Answer stuck = target.delete(step("subscription") + "?database=" + DB);
            assertProblem(stuck, 502, "source_unreachable");
            assertTrue(stuck.body().get("detail").asText().contains("SET (slot_name = NONE)"), stuck.body().toString());
        } finally {
            sourceCluster.start();
        }
        assertTrue(ok(target.delete(step("subscription") + "?database=" + DB)).get("changed").asBoolean());
        assertEquals("0", one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots"));
        ok(source.delete(step("publication") + "?database=" + DB));
    }

    // ---------------------------------------------------------------- helpers

    private void assertExactlyOneOfEach() throws Exception {
        assertEquals("1", one(sourceCluster, DB, "SELECT count(*) FROM pg_publication"));
        assertEquals("1", one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots WHERE slot_name = "
                + "'pgferry_flow'"));
        assertEquals("1", one(targetCluster, DB, "SELECT count(*) FROM pg_subscription"));
    }

    private void assertSameData() throws Exception {
        String expected = data(sourceCluster);
        assertTrue(expected.startsWith("1000|"), expected);
        assertEquals(expected, data(targetCluster));
    }

    /** Row counts and an md5 of every row in key order, for both tables. */
    private static String data(PgCluster cluster) throws Exception {
        return one(cluster, DB, """
                SELECT concat_ws('|', (SELECT count(*) FROM included.customers),
                  (SELECT md5(string_agg(c::text, ',' ORDER BY id)) FROM included.customers c),
                  (SELECT count(*) FROM included.orders),
                  (SELECT md5(string_agg(o::text, ',' ORDER BY id)) FROM included.orders o))""");
    }

    /** The catalogs the steps could touch, on both sides, as one comparable string. */
    private String catalogs() throws Exception {
        return String.join("\n",
                one(sourceCluster, DB, "SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles"),
                one(sourceCluster, DB, "SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication"),
                one(sourceCluster, DB, "SELECT string_agg(relname || ':' || relreplident::text || ':' || "
                        + "coalesce(relacl::text, ''), ',' ORDER BY oid) FROM pg_class WHERE relkind IN ('r', 'S')"),
                one(sourceCluster, DB, "SELECT string_agg(nspname || coalesce(nspacl::text, ''), ',' ORDER BY oid) "
                        + "FROM pg_namespace"),
                one(sourceCluster, DB, "SELECT count(*) FROM pg_replication_slots"),
                one(targetCluster, "postgres", "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database"),
                one(targetCluster, "postgres", "SELECT count(*) FROM pg_subscription"));
    }

    /** The target's tables, from the source's schema: what the schema steps would restore. */
    private void copySchema() throws Exception {
        Path dump = dir.resolve("schema.sql");
        Path bin = targetCluster.binDir();
        run(List.of(bin.resolve("pg_dump").toString(), "-h", sourceCluster.socketDir().toString(), "-p",
                Integer.toString(sourceCluster.port()), "-U", "postgres", "-d", DB, "--schema-only", "-n", "included",
                "--no-owner", "--no-privileges", "-f", dump.toString()));
        run(List.of(bin.resolve("psql").toString(), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h",
                targetCluster.socketDir().toString(), "-p", Integer.toString(targetCluster.port()), "-U", "postgres",
                "-d", DB, "-f", dump.toString()));
    }

    private static void run(List<String> cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertTrue(p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0, cmd.get(0) + " failed: " + out);
    }

    private Map<String, Object> database(boolean check) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("database", DB);
        b.put("owner", "app");
        b.put("encoding", "UTF8");
        b.put("lc_collate", "C.UTF-8");
        b.put("lc_ctype", "C.utf8");
        b.put("check", check);
        return b;
    }

    private Map<String, Object> subscription(String password) {
        Map<String, Object> connection = new LinkedHashMap<>();
        connection.put("host", "127.0.0.1");
        connection.put("port", sourceCluster.port());
        connection.put("dbname", DB);
        connection.put("user", "pgferry_flow");
        connection.put("password", password);
        connection.put("sslmode", "disable");
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("database", DB);
        b.put("connection", connection);
        return b;
    }

    private Map<String, Object> scoped(Object... extra) {
        Map<String, Object> b = new LinkedHashMap<>();
        b.put("database", DB);
        b.put("include_schemas", List.of("included"));
        for (int i = 0; i < extra.length; i += 2) {
            b.put((String) extra[i], extra[i + 1]);
        }
        return b;
    }

    /** A password with characters that need quoting in SQL and in a conninfo. */
    private String password(String name) {
        String p = "pw-" + name + "-it's \\ a \"secret\" " + sourceMajor() + targetMajor();
        if (!passwords.contains(p)) {
            passwords.add(p);
        }
        return p;
    }

    private static String step(String name) {
        return "/v1/migrations/" + M + "/" + name;
    }

    private static Map<String, String> table(String schema, String name) {
        return Map.of("schema", schema, "name", name);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static JsonNode ok(Answer a) {
        assertEquals(200, a.status(), () -> a.body() == null ? "no body" : a.body().toString());
        return a.body();
    }

    private static void assertProblem(Answer a, int status, String code) {
        assertEquals(status, a.status(), () -> a.body() == null ? "no body" : a.body().toString());
        assertEquals(code, a.body().get("code").asText(), a.body().toString());
    }

    private static <T> T await(Callable<T> probe) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (true) {
            T value = probe.call();
            if (value != null) {
                return value;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + WAIT.toSeconds() + " s");
            }
            Thread.sleep(200);
        }
    }

    private static void sql(PgCluster cluster, String database, String sql) throws SQLException, java.io.IOException {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }

    private static String one(PgCluster cluster, String database, String sql) throws Exception {
        try (Connection c = cluster.connect(database); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
