package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.config.AgentConfig;
import io.pgferry.agent.postgres.PgConnector;
import io.pgferry.agent.testbed.AgentFixture;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PgBedTool;
import io.pgferry.agent.testbed.PairTeardown;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The agent's pieces of the migration's lifecycle (docs/design.md, "Lifecycle") on two real clusters, a PostgreSQL 14
 * source and an 18 target, with fixtures/lifecycle.sql's names (spaces, capitals, quotes, unicode): preflight reruns,
 * PostgreSQL's own message in postgres_error, the lifecycle facts through a migration, the scope resolved again at the
 * ready check, replica identities (set by the publication, mirrored by the reverse publisher, put back by cleanup), an
 * abandoned target's copy emptied (never the source's), and a slot invalidated for real by max_slot_wal_keep_size.
 * Tests run in order and build on each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class LifecycleStepsTest {
    private static final String DB = "app";
    private static final String M = "life";
    private static final String PASSWORD = "life 'pw' " + UUID.randomUUID();
    private static final Map<String, Object> SCOPE = Map.of("exclude_schemas", List.of("excluded"));
    private static final Map<String, String> AUDIT = Map.of("schema", "ünïcode ☃", "name", "Quote\"d Audit");
    private static final Map<String, String> COUNTERS_INDEX = Map.of("schema", "Sales Ops", "name", "Counters",
            "index", "Counters Key");
    private static final String IDENTITIES = """
            SELECT string_agg(c.relname || '=' || c.relreplident::text, ',' ORDER BY c.relname)
            FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE n.nspname IN ('ünïcode ☃', 'Sales Ops') AND c.relname IN ('Quote"d Audit', 'Counters')""";

    PgCluster src;
    PgCluster dst;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    MigrationFlow flow;

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("life-src-" + run, 14);
        dst = PgCluster.create("life-dst-" + run, 18);
        dir = Files.createTempDirectory("pgferry-lifecycle");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"));
        exec(src, "postgres", "CREATE DATABASE " + DB);
        exec(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/basic.sql")));
        exec(src, DB, Files.readString(PgBedTool.repoRoot().resolve("fixtures/lifecycle.sql")));
        flow = new MigrationFlow(M, DB, src, source, target, PASSWORD, SCOPE);
    }

    @AfterAll
    void stop() throws Exception {
        PairTeardown.tearDown(PASSWORD, dir, new AgentHandle[] {source, target}, new PgCluster[] {src, dst});
    }

    private String path(String step) {
        return "/v1/migrations/" + M + "/" + step;
    }

    private Map<String, Object> sourcePreflight() {
        Map<String, Object> body = new LinkedHashMap<>(SCOPE);
        body.put("side", "source");
        body.put("database", DB);
        body.put("replica_identity_full", List.of(AUDIT));
        body.put("replica_identity_index", List.of(COUNTERS_INDEX));
        return body;
    }

    /** #9.1: the second run sees the role (USAGE checked per schema): with a name that needs quoting it was a 502. */
    @Test
    @Order(1)
    void preflightAnswersOnEveryRerunWithSchemaNamesThatNeedQuoting() throws Exception {
        JsonNode first = MigrationFlow.ok(source.post(path("preflight"), sourcePreflight()));
        assertFalse(first.at("/facts/replication_role_exists").asBoolean());
        Map<String, Object> role = new LinkedHashMap<>(SCOPE);
        role.put("database", DB);
        role.put("password", PASSWORD);
        MigrationFlow.ok(source.put(path("replication-role"), role));
        Answer again = source.post(path("preflight"), sourcePreflight());
        assertEquals(200, again.status(), again.body().toString());
        assertTrue(again.at("/facts/replication_role_exists").asBoolean());
        assertTrue(again.at("/ok").asBoolean(), again.body().toString());
        assertTrue(codes(again.body()).stream().noneMatch("tables_not_readable"::equals), again.body().toString());
    }

    /** #17.3: the preflight says how much WAL a slot may hold and how much room there is. */
    @Test
    @Order(2)
    void preflightReportsWalRetentionUnboundedThenTheLimit() throws Exception {
        JsonNode unbounded = MigrationFlow.ok(source.post(path("preflight"), sourcePreflight()));
        assertEquals(-1, unbounded.at("/facts/max_slot_wal_keep_size_bytes").asLong(), unbounded.toString());
        assertTrue(unbounded.at("/facts/wal_free_bytes").asLong() > 0, unbounded.toString());
        JsonNode finding = finding(unbounded, "wal_retention_unbounded");
        assertEquals("warning", finding.get("severity").asText());
        assertTrue(finding.get("fix").asText().contains("max_slot_wal_keep_size"), finding.toString());
        exec(src, "postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '64MB'");
        exec(src, "postgres", "SELECT pg_reload_conf()");
        try {
            JsonNode bounded = MigrationFlow.ok(source.post(path("preflight"), sourcePreflight()));
            assertEquals(64L << 20, bounded.at("/facts/max_slot_wal_keep_size_bytes").asLong());
            assertFalse(codes(bounded).contains("wal_retention_unbounded"), bounded.toString());
        } finally {
            exec(src, "postgres", "ALTER SYSTEM RESET max_slot_wal_keep_size");
            exec(src, "postgres", "SELECT pg_reload_conf()");
        }
    }

    /**
     * #9.8: left behind (skip_large_objects), the fix names pg_dump options the source's own pg_dump (14: no
     * --large-objects) accepts.
     */
    @Test
    @Order(3)
    void largeObjectFixNamesAnOptionTheSourcesPgDumpHas() throws Exception {
        long oid = Long.parseLong(one(src, DB, "SELECT lo_from_bytea(0, 'a large object')"));
        try {
            Map<String, Object> body = sourcePreflight();
            body.put("skip_large_objects", true);
            JsonNode answer = MigrationFlow.ok(source.post(path("preflight"), body));
            String fix = finding(answer, "large_objects_present").get("fix").asText();
            Matcher m = Pattern.compile("pg_dump --data-only (--[a-z-]+) \\((-\\w);").matcher(fix);
            assertTrue(m.find(), fix);
            for (String option : List.of(m.group(1), m.group(2))) {
                ProcessBuilder pb = new ProcessBuilder(src.binDir().resolve("pg_dump").toString(), option,
                        "--data-only", "--host", src.host(), "--port", String.valueOf(src.port()), "--username",
                        src.superuser(), "--file", "/dev/null", DB).redirectErrorStream(true);
                pb.environment().put("PGPASSWORD", Files.readString(src.superuserPasswordFile()).strip());
                Process p = pb.start();
                p.getOutputStream().close();
                String out = new String(p.getInputStream().readAllBytes());
                assertTrue(p.waitFor(60, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue(), "pg_dump " + option + " (PostgreSQL " + src.major() + "): " + out);
            }
        } finally {
            exec(src, DB, "SELECT lo_unlink(" + oid + ")");
        }
    }

    /** #9.6: a target preflight told nothing about the role (the source's failed) reports a failed login as a warning. */
    @Test
    @Order(4)
    void failedLoginIsNoErrorWhenTheSourcePreflightSaidNothing() throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(SCOPE);
        body.put("side", "target");
        body.put("database", DB);
        body.put("connection", Map.of("host", src.host(), "port", src.port(), "dbname", DB, "user", "pgferry_" + M,
                "password", "not the password"));
        JsonNode unknown = MigrationFlow.ok(target.post(path("preflight"), body));
        assertEquals("warning", finding(unknown, "source_auth_failed").get("severity").asText(), unknown.toString());
        body.put("replication_role_exists", true);
        JsonNode known = MigrationFlow.ok(target.post(path("preflight"), body));
        assertEquals("error", finding(known, "source_auth_failed").get("severity").asText(), known.toString());
    }

    /** #9.1: a refused statement's 502 carries PostgreSQL's own message (here: the schema it could not find). */
    @Test
    @Order(5)
    void postgresErrorCarriesPostgresOwnMessage() throws Exception {
        Path tokenFile = AgentFixture.secretFile(dir, "token-direct", AgentFixture.newToken());
        Files.createDirectories(dir.resolve("direct"));
        AgentConfig config = AgentFixture.configFor(src, dir.resolve("direct"), tokenFile, AgentFixture.freePort());
        PgConnector connector = new PgConnector(config.postgres());
        try (Connection c = connector.open(DB, Duration.ofSeconds(10), true); Statement st = c.createStatement()) {
            SQLException e = assertThrows(SQLException.class,
                    () -> st.executeQuery("SELECT has_schema_privilege('postgres', '\"Sales Ops\"', 'USAGE')"));
            String detail = connector.translate(e).getMessage();
            assertTrue(detail.contains("SQLSTATE 3F000"), detail);
            assertTrue(detail.contains("schema \"\"Sales Ops\"\" does not exist"), detail);
        }
    }

    /** The facts each side answers, from nothing to streaming; replica identities set before the schema archive. */
    @Test
    @Order(6)
    void lifecycleFactsFollowTheMigration() throws Exception {
        JsonNode before = facts(target);
        assertFalse(before.get("database_exists").asBoolean());
        assertFalse(before.at("/forward/subscription/exists").asBoolean());
        JsonNode sourceBefore = facts(source);
        assertTrue(sourceBefore.get("role").asBoolean(), "made by the first test");
        assertFalse(sourceBefore.at("/forward/publication").asBoolean());
        assertEquals(-1, sourceBefore.at("/wal/max_slot_wal_keep_size_bytes").asLong());

        // The role's order: the publication (with the replica identities asked for) before the schema archive.
        Map<String, Object> pub = new LinkedHashMap<>(SCOPE);
        pub.put("database", DB);
        pub.put("replica_identity_full", List.of(AUDIT));
        pub.put("replica_identity_index", List.of(COUNTERS_INDEX));
        JsonNode published = MigrationFlow.ok(source.put(path("publication"), pub));
        assertTrue(published.get("queries").toString().contains("REPLICA IDENTITY USING INDEX \\\"Counters Key\\\""),
                published.toString());
        assertEquals("Counters=i,Quote\"d Audit=f", one(src, DB, IDENTITIES));
        assertFalse(MigrationFlow.ok(source.put(path("publication"), pub)).get("changed").asBoolean());
        flow.run();
        flow.awaitCaughtUp();
        assertEquals("Counters=i,Quote\"d Audit=f", one(dst, DB, IDENTITIES), "the archive carried them");

        JsonNode s = facts(source);
        assertTrue(s.at("/forward/publication").asBoolean());
        assertTrue(s.at("/forward/slot/exists").asBoolean());
        assertEquals("reserved", s.at("/forward/slot/wal_status").asText(), s.toString());
        assertTrue(s.at("/forward/slot/retained_bytes").asLong() >= 0, s.toString());
        assertTrue(s.at("/state/archive").asBoolean());
        assertEquals(2, s.at("/state/replica_identity_changes").size(), s.toString());
        assertFalse(s.get("fenced").asBoolean());
        JsonNode t = facts(target);
        assertTrue(t.at("/forward/subscription/exists").asBoolean());
        assertEquals(t.at("/forward/subscription/tables").asInt(), t.at("/forward/subscription/ready").asInt());
        assertEquals(6, t.at("/forward/subscription/tables").asInt(), t.toString());
        assertTrue(t.at("/forward/subscription/worker_pid").asInt() > 0, t.toString());
        assertFalse(t.at("/reverse/publication").asBoolean());

        // A mistyped database on cleanup must not take the role or the files of the migration that is streaming.
        for (AgentHandle side : new AgentHandle[] {source, target}) {
            Answer typo = side.post(path("cleanup"), Map.of("database", "ap p"));
            assertEquals(404, typo.status(), typo.body().toString());
            assertTrue(typo.at("/detail").asText().contains("is in database " + DB), typo.body().toString());
        }
        assertTrue(facts(source).get("role").asBoolean(), "nothing was changed");
        assertTrue(facts(source).at("/state/archive").asBoolean(), "nothing was changed");
        assertTrue(facts(target).at("/forward/subscription/exists").asBoolean());
    }

    /** #17.1: the user's scope rule is resolved again; what it selects now but was not copied refuses the cutover. */
    @Test
    @Order(7)
    void readyCheckRefusesWhatTheScopeSelectsNowButDidNotCopy() throws Exception {
        Map<String, Object> rule = new LinkedHashMap<>(SCOPE);
        rule.put("database", DB);
        rule.put("side", "source");
        MigrationFlow.ok(source.post(path("ready-check"), rule));

        // Default scope (every schema but "excluded"): a schema created since is in it.
        exec(src, DB, "CREATE SCHEMA \"Brand New\"; CREATE TABLE \"Brand New\".\"T ü\" (id int PRIMARY KEY); "
                + "INSERT INTO \"Brand New\".\"T ü\" VALUES (1)");
        Answer drift = source.post(path("ready-check"), rule);
        assertEquals(422, drift.status(), drift.body().toString());
        assertEquals("scope_drift", drift.at("/code").asText());
        assertEquals(List.of("schema \"Brand New\"", "table \"Brand New\".\"T ü\""), texts(drift.at("/objects")));
        // The frozen scope alone (no rule in the request) cannot see it: that was the defect.
        MigrationFlow.ok(source.post(path("ready-check"), Map.of("database", DB, "side", "source")));
        exec(src, DB, "DROP SCHEMA \"Brand New\" CASCADE");

        // An explicit include list: a table created in an included schema is in the scope, one elsewhere is not.
        Map<String, Object> listed = new LinkedHashMap<>(Map.of("database", DB, "side", "source",
                "include_schemas", List.of("included", "Sales Ops", "ünïcode ☃")));
        MigrationFlow.ok(source.post(path("ready-check"), listed));
        exec(src, DB, "CREATE TABLE \"Sales Ops\".\"Late Table\" (id int PRIMARY KEY)");
        exec(src, DB, "CREATE TABLE excluded.\"also late\" (id int PRIMARY KEY)");
        Answer late = source.post(path("ready-check"), listed);
        assertEquals(422, late.status(), late.body().toString());
        assertEquals("scope_drift", late.at("/code").asText());
        assertEquals(List.of("table \"Sales Ops\".\"Late Table\""), texts(late.at("/objects")));
        exec(src, DB, "DROP TABLE \"Sales Ops\".\"Late Table\"");
        MigrationFlow.ok(source.post(path("ready-check"), listed));
        MigrationFlow.ok(source.post(path("ready-check"), rule));
        exec(src, DB, "DROP TABLE excluded.\"also late\"");

        Answer target422 = target.post(path("ready-check"), Map.of("database", DB, "side", "target",
                "include_schemas", List.of("included")));
        assertEquals(400, target422.status(), target422.body().toString());
    }

    /**
     * #9.3: the reverse stream publishes the tables on the target; one without identity there would break UPDATE
     * and DELETE on the new primary. The reverse publisher refuses it (nothing made), or sets the source's identity.
     */
    @Test
    @Order(8)
    void reversePublisherMirrorsTheSourcesIdentityOrRefuses() throws Exception {
        JsonNode ready = MigrationFlow.ok(source.post(path("ready-check"), Map.of("database", DB, "side", "source")));
        assertEquals(List.of("Counters=index Counters Key", "Quote\"d Audit=full"), identities(ready));
        // As if the identity had been set on the source after the schema archive: the target lacks it.
        exec(dst, DB, "ALTER TABLE \"ünïcode ☃\".\"Quote\"\"d Audit\" REPLICA IDENTITY DEFAULT");
        String rolesBefore = one(dst, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%'");
        Answer refused = target.put(path("reverse-replication"), Map.of("database", DB, "side", "publisher",
                "password", PASSWORD));
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("table_without_replica_identity", refused.at("/code").asText());
        assertEquals(List.of("\"ünïcode ☃\".\"Quote\"\"d Audit\""), texts(refused.at("/objects")));
        assertEquals("0", one(dst, DB, "SELECT count(*) FROM pg_publication"), "nothing made");
        assertEquals(rolesBefore, one(dst, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname LIKE 'pgferry%'"));

        JsonNode made = MigrationFlow.ok(target.put(path("reverse-replication"), Map.of("database", DB,
                "side", "publisher", "password", PASSWORD, "replica_identities", ready.get("replica_identities"))));
        assertTrue(made.get("changed").asBoolean());
        assertEquals("Counters=i,Quote\"d Audit=f", one(dst, DB, IDENTITIES));
        // The new primary takes UPDATE and DELETE on it while the reverse publication includes it.
        exec(dst, DB, "UPDATE \"ünïcode ☃\".\"Quote\"\"d Audit\" SET hits = hits + 1 WHERE client = 1");
        JsonNode t = facts(target);
        assertTrue(t.at("/reverse/publication").asBoolean());
        assertEquals(1, t.at("/state/replica_identity_changes").size(), t.toString());
        assertEquals("default", t.at("/state/replica_identity_changes/0/original").asText());
        exec(dst, DB, "UPDATE \"ünïcode ☃\".\"Quote\"\"d Audit\" SET hits = hits - 1 WHERE client = 1");
    }

    /** #17.3: a slot that falls further behind than max_slot_wal_keep_size is invalidated; the facts say lost. */
    @Test
    @Order(9)
    void slotInvalidatedByTheWalLimitIsReportedLost() throws Exception {
        exec(dst, DB, "ALTER SUBSCRIPTION pgferry_" + M + " DISABLE");
        awaitInactive();
        exec(src, "postgres", "ALTER SYSTEM SET max_slot_wal_keep_size = '1MB'");
        exec(src, "postgres", "SELECT pg_reload_conf()");
        try {
            for (int i = 0; i < 4; i++) {
                exec(src, DB, "INSERT INTO excluded.audit (message) SELECT md5(g::text) FROM generate_series(1, 20000) g");
                exec(src, DB, "SELECT pg_switch_wal()");
            }
            exec(src, DB, "CHECKPOINT");
            JsonNode s = facts(source);
            assertEquals("lost", s.at("/forward/slot/wal_status").asText(), s.toString());
            assertEquals(1L << 20, s.at("/wal/max_slot_wal_keep_size_bytes").asLong());
        } finally {
            exec(src, "postgres", "ALTER SYSTEM RESET max_slot_wal_keep_size");
            exec(src, "postgres", "SELECT pg_reload_conf()");
        }
    }

    /**
     * #9.7, #17.6: cleanup puts back the replica identities pgferry set, on both sides (the target's came with the
     * schema archive: the source's record says what to put back there); an abandoned target's copy is emptied, and
     * empty_tables on the source is refused before anything changes.
     */
    @Test
    @Order(10)
    void cleanupEmptiesOnlyTheTargetsCopyAndPutsIdentitiesBack() throws Exception {
        Answer onSource = source.post(path("cleanup"), Map.of("database", DB, "empty_tables", true));
        assertEquals(422, onSource.status(), onSource.body().toString());
        assertEquals("not_the_target", onSource.at("/code").asText());
        assertEquals("1", one(src, DB, "SELECT count(*) FROM pg_publication"), "nothing was changed");
        String ledger = one(src, DB, "SELECT count(*) FROM \"Sales Ops\".\"Ledger ü\"");

        JsonNode record = facts(source).at("/state/replica_identity_changes");
        // As the role does after a cutover: the source first, keeping its state (its record) for the target.
        JsonNode sourceDone = MigrationFlow.ok(source.post(path("cleanup"), Map.of("database", DB,
                "keep_state", true)));
        assertEquals(2, sourceDone.get("replica_identity_changes").size(), sourceDone.toString());
        assertEquals("Counters=d,Quote\"d Audit=d", one(src, DB, IDENTITIES));
        assertTrue(facts(source).at("/state/archive").asBoolean(), "kept");
        JsonNode targetDone = MigrationFlow.ok(target.post(path("cleanup"), Map.of("database", DB,
                "empty_tables", true, "restore_replica_identity", record)));
        assertTrue(texts(targetDone.get("tables_emptied")).contains("\"included\".\"customers\""),
                targetDone.toString());
        assertEquals("0", one(dst, DB, "SELECT (SELECT count(*) FROM included.customers) + (SELECT count(*) FROM "
                + "included.orders) + (SELECT count(*) FROM \"Sales Ops\".\"Events\") + (SELECT count(*) FROM "
                + "\"Sales Ops\".\"Counters\") + (SELECT count(*) FROM \"ünïcode ☃\".\"Quote\"\"d Audit\")"));
        assertEquals("Counters=d,Quote\"d Audit=d", one(dst, DB, IDENTITIES));
        assertEquals(ledger, one(src, DB, "SELECT count(*) FROM \"Sales Ops\".\"Ledger ü\""), "the source keeps its rows");
        MigrationFlow.ok(source.post(path("cleanup"), Map.of("database", DB)));
        for (AgentHandle side : new AgentHandle[] {source, target}) {
            JsonNode f = facts(side);
            assertFalse(f.get("role").asBoolean(), f.toString());
            assertFalse(f.at("/forward/publication").asBoolean() || f.at("/reverse/publication").asBoolean());
            assertFalse(f.at("/forward/slot/exists").asBoolean() || f.at("/reverse/slot/exists").asBoolean());
            assertFalse(f.at("/forward/subscription/exists").asBoolean() || f.at("/reverse/subscription/exists")
                    .asBoolean());
            assertFalse(f.at("/state/archive").asBoolean(), f.toString());
            assertEquals(0, f.at("/state/replica_identity_changes").size(), f.toString());
        }
        for (PgCluster c : new PgCluster[] {src, dst}) {
            assertEquals("0", one(c, DB, "SELECT count(*) FROM pg_replication_origin"), c.toString());
        }
    }

    /**
     * #9: cleanup after the database itself was dropped finds nothing to do there and still removes what is
     * server-wide (the role); a rerun changes nothing.
     */
    @Test
    @Order(11)
    void cleanupOfADroppedDatabaseRemovesWhatIsLeftOnTheServer() throws Exception {
        exec(src, "postgres", "CREATE DATABASE \"gone db\"");
        exec(src, "postgres", "DROP DATABASE \"gone db\"");
        exec(src, "postgres", "CREATE ROLE pgferry_life LOGIN");
        JsonNode check = MigrationFlow.ok(source.post(path("cleanup"), Map.of("database", "gone db", "check", true)));
        assertTrue(check.get("changed").asBoolean(), check.toString());
        assertTrue(texts(check.get("queries")).contains("DROP ROLE \"pgferry_life\""), check.toString());
        assertEquals("1", one(src, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgferry_life'"));
        JsonNode done = MigrationFlow.ok(source.post(path("cleanup"), Map.of("database", "gone db")));
        assertTrue(done.get("changed").asBoolean(), done.toString());
        assertEquals("0", one(src, "postgres", "SELECT count(*) FROM pg_roles WHERE rolname = 'pgferry_life'"));
        assertFalse(MigrationFlow.ok(source.post(path("cleanup"), Map.of("database", "gone db")))
                .get("changed").asBoolean());
        assertFalse(MigrationFlow.ok(target.post(path("cleanup"), Map.of("database", "gone db")))
                .get("changed").asBoolean());
    }

    // ------------------------------------------------------------------ helpers

    private JsonNode facts(AgentHandle agent) throws Exception {
        return MigrationFlow.ok(agent.get(path("lifecycle") + "?database=" + DB));
    }

    private void awaitInactive() throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(60));
        while (Instant.now().isBefore(deadline)) {
            if (!facts(source).at("/forward/slot/active").asBoolean()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the slot stayed active after the subscription was disabled");
    }

    private static List<String> identities(JsonNode ready) {
        List<String> out = new ArrayList<>();
        ready.get("replica_identities").forEach(t -> out.add(t.get("name").asText() + "=" + t.get("identity")
                .asText()));
        out.sort(null);
        return out;
    }

    private static List<String> codes(JsonNode answer) {
        return answer.get("findings").findValuesAsText("code");
    }

    private static JsonNode finding(JsonNode answer, String code) {
        for (JsonNode f : answer.get("findings")) {
            if (f.get("code").asText().equals(code)) {
                return f;
            }
        }
        throw new AssertionError("no finding " + code + " in " + answer);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private static void exec(PgCluster cluster, String db, String sql) throws Exception {
        try (Connection c = cluster.connect(db); Statement st = c.createStatement()) {
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
