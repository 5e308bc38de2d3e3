package io.pgferry.agent.e2e;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgferry.agent.testbed.AgentHandle;
import io.pgferry.agent.testbed.AgentHandle.Answer;
import io.pgferry.agent.testbed.PairTeardown;
import io.pgferry.agent.testbed.PgCluster;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * Row-level security and the proof of the copy, against two real clusters (PostgreSQL 17 source, 18 target) with an
 * agent beside each: tables under RLS whose policies name only the application's roles (one with FORCE ROW LEVEL
 * SECURITY, owned by the application role), in a schema whose name needs quoting. Preflight finds them; the
 * replication role step makes its temporary copy policies, which stay out of the schema archive; the copy is complete
 * and the row counts of both sides agree; the policies go once the copy is proven and later changes still stream;
 * without the fix the copy is short and the counts say so; a row removed on the target behind pgferry's back shows
 * as PostgreSQL 18 conflict counters, with the table, in status and in a ready check that refuses; cleanup removes
 * the policies and orphans lists those left. Tests run in order and build on each other.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class RowSecurityTest {
    private static final String DB = "shop";
    private static final String M = "rls";
    private static final String ROLE = "pgferry_" + M;
    private static final String Q_SCHEMA = "\"Sëc \"\"q\"\"\"";
    private static final String ITEMS = Q_SCHEMA + ".\"It€ms\"";
    private static final String FORCED = Q_SCHEMA + ".\"forced\"";
    private static final String PLAIN = Q_SCHEMA + ".\"plain\"";
    private static final String PASSWORD = "rls 'pw' " + UUID.randomUUID();
    private static final String FIXTURE = """
            CREATE SCHEMA %1$s;
            CREATE TABLE %2$s (id int PRIMARY KEY, price int NOT NULL);
            INSERT INTO %2$s SELECT g, g %% 200 FROM generate_series(1, 500) g;
            ALTER TABLE %2$s ENABLE ROW LEVEL SECURITY;
            CREATE POLICY ro ON %2$s FOR SELECT TO app_ro USING (price < 100);
            CREATE POLICY rw ON %2$s TO app_rw USING (true);
            CREATE TABLE %3$s (id int PRIMARY KEY, note text NOT NULL);
            INSERT INTO %3$s SELECT g, 'mine' FROM generate_series(1, 300) g;
            ALTER TABLE %3$s OWNER TO app_rw;
            ALTER TABLE %3$s ENABLE ROW LEVEL SECURITY;
            ALTER TABLE %3$s FORCE ROW LEVEL SECURITY;
            CREATE POLICY own ON %3$s TO app_rw USING (note = 'mine');
            GRANT USAGE ON SCHEMA %1$s TO app_ro, app_rw;
            CREATE TABLE %4$s (id int PRIMARY KEY);
            INSERT INTO %4$s SELECT generate_series(1, 100);
            """.formatted(Q_SCHEMA, ITEMS, FORCED, PLAIN);

    PgCluster src;
    PgCluster dst;
    AgentHandle source;
    AgentHandle target;
    Path dir;
    MigrationFlow flow;

    @BeforeAll
    void start() throws Exception {
        String run = UUID.randomUUID().toString().substring(0, 8);
        src = PgCluster.create("rls-src-" + run, 17);
        dst = PgCluster.create("rls-dst-" + run, 18);
        dir = Files.createTempDirectory("pgferry-rls");
        source = AgentHandle.start(src, dir.resolve("source"));
        target = AgentHandle.start(dst, dir.resolve("target"));
        // The application's roles exist on both servers (the target's policies name them); moving roles is not
        // this test's business.
        for (PgCluster c : new PgCluster[] {src, dst}) {
            exec(c, "postgres", "CREATE ROLE app_ro; CREATE ROLE app_rw");
        }
        // PostgreSQL names the table of a subscription conflict only in its log: let the agent read the target's.
        exec(dst, "postgres", "ALTER SYSTEM SET logging_collector = on");
        dst.stop();
        dst.start();
        exec(src, "postgres", "CREATE DATABASE " + DB);
        exec(src, DB, FIXTURE);
        flow = new MigrationFlow(M, DB, src, source, target, PASSWORD, Map.of());
    }

    @AfterAll
    void stop() throws Exception {
        PairTeardown.tearDown(PASSWORD, dir, new AgentHandle[] {source, target}, new PgCluster[] {src, dst});
    }

    private static String path(String migration, String step) {
        return "/v1/migrations/" + migration + "/" + step;
    }

    private JsonNode preflight(String rowSecurity) throws Exception {
        Map<String, Object> body = new LinkedHashMap<>(Map.of("side", "source", "database", DB));
        if (rowSecurity != null) {
            body.put("row_security", rowSecurity);
        }
        return MigrationFlow.ok(source.post(path(M, "preflight"), body));
    }

    private static JsonNode finding(JsonNode preflight, String code) {
        for (JsonNode f : preflight.get("findings")) {
            if (f.get("code").asText().equals(code)) {
                return f;
            }
        }
        return null;
    }

    @Test
    @Order(1)
    void preflightNamesEveryTableWhoseRowsTheCopyWouldNotSee() throws Exception {
        JsonNode none = preflight("none");
        assertFalse(none.get("ok").asBoolean(), none.toString());
        JsonNode error = finding(none, "row_security_hides_rows");
        assertEquals("error", error.get("severity").asText());
        assertEquals(List.of(ITEMS + " (row level security, owner postgres)", FORCED
                + " (FORCE ROW LEVEL SECURITY, owner app_rw)"), texts(error.get("objects")), error.toString());
        assertTrue(error.get("fix").asText().contains("row_security to policy"), error.toString());

        JsonNode policy = preflight(null);
        assertTrue(policy.get("ok").asBoolean(), policy.toString());
        JsonNode covered = finding(policy, "row_security_hides_rows");
        assertEquals("warning", covered.get("severity").asText());
        assertEquals(List.of(ITEMS, FORCED), texts(covered.get("objects")));
        JsonNode forced = finding(policy, "row_security_forced");
        assertEquals(List.of(FORCED + " (owner app_rw)"), texts(forced.get("objects")), forced.toString());

        // A superuser agent may grant BYPASSRLS; a restrictive policy is beyond any permissive one.
        assertEquals("warning", finding(preflight("bypassrls"), "row_security_hides_rows").get("severity").asText());
        exec(src, DB, "CREATE POLICY tenant ON " + ITEMS + " AS RESTRICTIVE FOR SELECT USING (price >= 0)");
        JsonNode restricted = finding(preflight(null), "row_security_hides_rows");
        assertEquals("error", restricted.get("severity").asText());
        assertEquals(List.of(ITEMS + " (a restrictive policy applies)"), texts(restricted.get("objects")));
        Answer refused = source.put(path(M, "replication-role"), Map.of("database", DB, "password", PASSWORD));
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("row_security_restrictive", refused.at("/code").asText());
        assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_roles WHERE rolname = '" + ROLE + "'"),
                "a refused step changes nothing");
        exec(src, DB, "DROP POLICY tenant ON " + ITEMS);
        // A policy of the application that shows every row to everyone needs no fix.
        exec(src, DB, "CREATE POLICY everyone ON " + PLAIN + " USING (true); ALTER TABLE " + PLAIN
                + " ENABLE ROW LEVEL SECURITY");
        assertEquals(List.of(ITEMS, FORCED), texts(finding(preflight(null), "row_security_hides_rows")
                .get("objects")));
    }

    @Test
    @Order(2)
    void replicationRoleMakesTheCopyPoliciesOnlyThere() throws Exception {
        Map<String, Object> body = new HashMap<>(Map.of("database", DB, "password", PASSWORD));
        body.put("check", true);
        JsonNode planned = MigrationFlow.ok(source.put(path(M, "replication-role"), body));
        String policy = "CREATE POLICY \"" + ROLE + "\" ON " + ITEMS + " AS PERMISSIVE FOR SELECT TO \"" + ROLE
                + "\" USING (true)";
        assertTrue(texts(planned.get("queries")).contains(policy), planned.toString());
        assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_policy WHERE polname = '" + ROLE + "'"));

        body.remove("check");
        JsonNode made = MigrationFlow.ok(source.put(path(M, "replication-role"), body));
        assertEquals(List.of(policy, "CREATE POLICY \"" + ROLE + "\" ON " + FORCED + " AS PERMISSIVE FOR SELECT TO \""
                + ROLE + "\" USING (true)"), texts(made.get("queries")).subList(texts(made.get("queries")).size() - 2,
                texts(made.get("queries")).size()));
        assertEquals("policy", made.at("/role/row_security").asText());
        assertFalse(made.at("/role/bypassrls").asBoolean());
        assertEquals(2, made.at("/role/copy_policies").size());
        assertFalse(MigrationFlow.ok(source.put(path(M, "replication-role"), body)).get("changed").asBoolean());
        // The role now sees every row: what the copy will read.
        assertEquals("500 300", one(src, DB, "SET ROLE " + ROLE + "; SELECT (SELECT count(*) FROM " + ITEMS + ") || ' ' "
                + "|| (SELECT count(*) FROM " + FORCED + ")"));
        assertEquals(2, MigrationFlow.ok(source.get(path(M, "status") + "?database=" + DB)).at("/role/copy_policies")
                .size());

        // The preflight now finds nothing hidden: the copy reads them through the copy policy.
        JsonNode again = preflight("none");
        assertEquals(null, finding(again, "row_security_hides_rows"), again.toString());
        assertTrue(again.get("notes").toString().contains("through pgferry's temporary copy policy"), again.toString());
    }

    @Test
    @Order(3)
    void theCopyIsCompleteAndItsCountsProveIt() throws Exception {
        flow.run();
        JsonNode manifest = MigrationFlow.ok(source.get(path(M, "schema-archive/manifest")));
        for (JsonNode e : manifest.get("entries")) {
            assertNotEquals(ROLE, e.path("name").asText(), "a copy policy went into the archive: " + e);
        }
        assertEquals("0", one(dst, DB, "SELECT count(*) FROM pg_policy WHERE polname LIKE 'pgferry%'"));
        assertEquals("t", one(dst, DB, "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class "
                + "WHERE oid = '" + FORCED + "'::regclass"));
        assertEquals("500", one(dst, DB, "SELECT count(*) FROM " + ITEMS));
        assertEquals("300", one(dst, DB, "SELECT count(*) FROM " + FORCED));

        Map<String, Long> counts = compare(M);
        assertEquals(500L, counts.get(ITEMS));
        assertEquals(300L, counts.get(FORCED));
    }

    @Test
    @Order(4)
    void onceProvenThePoliciesGoAndChangesStillStream() throws Exception {
        Map<String, Object> body = new HashMap<>(Map.of("database", DB, "password", PASSWORD, "copied", true));
        JsonNode done = MigrationFlow.ok(source.put(path(M, "replication-role"), body));
        assertEquals(2, texts(done.get("queries")).stream().filter(q -> q.startsWith("DROP POLICY")).count(),
                done.toString());
        assertEquals(0, done.at("/role/copy_policies").size());
        assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_policy WHERE polname = '" + ROLE + "'"));
        // Logical decoding is not filtered by row security: hidden rows' changes still arrive.
        exec(src, DB, "INSERT INTO " + ITEMS + " VALUES (1001, 150); UPDATE " + ITEMS + " SET price = 199 WHERE id = 5;"
                + " DELETE FROM " + ITEMS + " WHERE id = 7; DELETE FROM " + FORCED + " WHERE id = 4;"
                + " SET ROLE app_rw; UPDATE " + FORCED + " SET note = 'mine' WHERE id = 3");
        Map<String, Long> counts = compare(M);  // the mark waits until the target has applied everything
        assertEquals(500L, counts.get(ITEMS));
        assertEquals("500 199 299", one(dst, DB, "SELECT (SELECT count(*) FROM " + ITEMS + ") || ' ' || (SELECT price "
                + "FROM " + ITEMS + " WHERE id = 5) || ' ' || (SELECT count(*) FROM " + FORCED + ")"));
    }

    @Test
    @Order(5)
    void withoutTheFixTheCopyIsShortAndTheCountsSaySo() throws Exception {
        exec(src, "postgres", "CREATE DATABASE blind");
        exec(src, "blind", FIXTURE);
        // Its own roles on the shared target: app_rw and app_ro already serve shop there (the roles step refuses that).
        MigrationFlow blind = new MigrationFlow("blind", "blind", "blind", Map.of("app_rw", "blind_rw", "app_ro",
                "blind_ro"), src, source, target, PASSWORD, Map.of());
        blind.role.put("row_security", "none");
        blind.run();
        assertEquals("0", one(dst, "blind", "SELECT count(*) FROM " + ITEMS), "PostgreSQL filtered the copy");
        JsonNode mark = MigrationFlow.ok(source.post(path("blind", "row-counts/snapshot"), Map.of("database", "blind",
                "wait_for_subscriber", true)));
        JsonNode targetCounts = MigrationFlow.ok(target.post(path("blind", "row-counts"), Map.of("database",
                "blind")));
        JsonNode sourceCounts = MigrationFlow.ok(source.post(path("blind", "row-counts"), Map.of("database", "blind",
                "snapshot", mark.get("snapshot").asText())));
        Map<String, Long> s = byTable(sourceCounts);
        Map<String, Long> t = byTable(targetCounts);
        assertEquals(500L, s.get(ITEMS), "the agent counts through row security: " + sourceCounts);
        assertEquals(0L, t.get(ITEMS));
        assertEquals(0L, t.get(FORCED));
        assertEquals(100L, t.get(PLAIN));
        for (JsonNode c : mark.get("changes")) {
            assertTrue(c.get("inserts").asLong() >= 0 && c.get("deletes").asLong() >= 0, c.toString());
        }
        // The held snapshot was released by the count that imported it.
        Answer again = source.post(path("blind", "row-counts"), Map.of("database", "blind", "snapshot",
                mark.get("snapshot").asText()));
        assertEquals(404, again.status(), again.body().toString());
        assertEquals("snapshot_not_found", again.at("/code").asText());
        // Rows inserted since an earlier snapshot, by the inserting transaction's visibility in it: one committed
        // while that snapshot was taken (in progress then), seven after, and an updated row's new version.
        Map<String, Object> items = Map.of("schema", "Sëc \"q\"", "name", "It€ms");
        try (Connection open = src.connect("blind"); Statement st = open.createStatement()) {
            open.setAutoCommit(false);
            st.execute("INSERT INTO " + ITEMS + " VALUES (3000, 1)");
            JsonNode s1 = MigrationFlow.ok(source.post(path("blind", "row-counts/snapshot"), Map.of("database",
                    "blind")));
            open.commit();
            exec(src, "blind", "INSERT INTO " + ITEMS + " SELECT g, 1 FROM generate_series(2001, 2007) g; DELETE FROM "
                    + ITEMS + " WHERE id <= 3; UPDATE " + ITEMS + " SET price = 2 WHERE id = 10");
            JsonNode s2 = MigrationFlow.ok(source.post(path("blind", "row-counts/snapshot"), Map.of("database",
                    "blind")));
            String since = s1.get("visible").asText();
            JsonNode first = MigrationFlow.ok(source.post(path("blind", "row-counts"), Map.of("database", "blind",
                    "tables", List.of(items), "snapshot", s1.get("snapshot").asText(), "since", since, "keys", true,
                    "release", false))).at("/tables/0");
            JsonNode c2 = MigrationFlow.ok(source.post(path("blind", "row-counts"), Map.of("database", "blind",
                    "tables", List.of(items), "snapshot", s2.get("snapshot").asText(), "since", since, "keys", true,
                    "release", false))).at("/tables/0");
            long c1 = first.get("rows").asLong();
            assertEquals(500, c1);
            assertEquals(c1 + 1 + 7 - 3, c2.get("rows").asLong(), c2.toString());
            assertEquals(1 + 7 + 1, c2.get("inserted_since").asLong(), c2.toString());
            assertEquals(List.of(10, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 3000), ids(c2.get("new_keys")));
            // The rows S1 saw deleted, updated (or locked) by transactions it did not see.
            assertEquals(List.of(1, 2, 3, 10), ids(first.get("touched_keys")));
            // Of those, S2 still holds the updated one; S1 held the updated one's key too.
            JsonNode inS2 = MigrationFlow.ok(source.post(path("blind", "row-counts/lookup"), Map.of("database",
                    "blind", "snapshot", s2.get("snapshot").asText(), "tables", List.of(Map.of("schema",
                            items.get("schema"), "name", items.get("name"), "keys", first.get("touched_keys"))))));
            assertEquals(List.of(10), ids(inS2.at("/tables/0/found")));
            JsonNode inS1 = MigrationFlow.ok(source.post(path("blind", "row-counts/lookup"), Map.of("database",
                    "blind", "snapshot", s1.get("snapshot").asText(), "tables", List.of(Map.of("schema",
                            items.get("schema"), "name", items.get("name"), "keys", c2.get("new_keys"))))));
            assertEquals(List.of(10), ids(inS1.at("/tables/0/found")));
            assertEquals(404, source.post(path("blind", "row-counts"), Map.of("database", "blind", "snapshot",
                    s1.get("snapshot").asText())).status(), "released by the lookup");
        }
        MigrationFlow.ok(target.post(path("blind", "cleanup"), Map.of("database", "blind")));
        MigrationFlow.ok(source.post(path("blind", "cleanup"), Map.of("database", "blind")));
    }

    @Test
    @Order(6)
    void aLeftoverRowFilterIsUndone() throws Exception {
        exec(src, "postgres", "CREATE DATABASE filtered");
        exec(src, "filtered", "CREATE TABLE t (id int PRIMARY KEY, v int); INSERT INTO t SELECT g, g FROM "
                + "generate_series(1, 100) g; CREATE PUBLICATION pgferry_filt FOR TABLE t WHERE (id <= 10)");
        MigrationFlow filtered = new MigrationFlow("filt", "filtered", src, source, target, PASSWORD, Map.of());
        filtered.run();
        assertEquals("t", one(src, "filtered", "SELECT bool_and(prqual IS NULL) FROM pg_publication_rel"));
        assertEquals("100", one(dst, "filtered", "SELECT count(*) FROM t"));
        MigrationFlow.ok(target.post(path("filt", "cleanup"), Map.of("database", "filtered")));
        MigrationFlow.ok(source.post(path("filt", "cleanup"), Map.of("database", "filtered")));
    }

    @Test
    @Order(7)
    void aTableCreatedAfterThePublicationIsDrift() throws Exception {
        exec(src, DB, "CREATE TABLE " + Q_SCHEMA + ".late (id int PRIMARY KEY); INSERT INTO " + Q_SCHEMA
                + ".late VALUES (1)");
        Answer drift = source.post(path(M, "ready-check"), Map.of("database", DB, "side", "source"));
        assertEquals(422, drift.status(), drift.body().toString());
        assertEquals("schema_drift", drift.at("/code").asText());
        assertTrue(texts(drift.at("/objects")).contains("table " + Q_SCHEMA + ".late (added)"),
                drift.body().toString());
        exec(src, DB, "DROP TABLE " + Q_SCHEMA + ".late");
        MigrationFlow.ok(source.post(path(M, "ready-check"), Map.of("database", DB, "side", "source")));
    }

    @Test
    @Order(8)
    void aTriggerOnTheTargetDroppingRowsIsCounted() throws Exception {
        exec(dst, DB, "CREATE FUNCTION public.drop_even() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                + "IF NEW.id % 2 = 0 THEN RETURN NULL; END IF; RETURN NEW; END $$; CREATE TRIGGER drop_even BEFORE "
                + "INSERT ON " + PLAIN + " FOR EACH ROW EXECUTE FUNCTION public.drop_even(); ALTER TABLE " + PLAIN
                + " ENABLE ALWAYS TRIGGER drop_even");
        exec(src, DB, "INSERT INTO " + PLAIN + " SELECT generate_series(101, 110)");
        JsonNode mark = MigrationFlow.ok(source.post(path(M, "row-counts/snapshot"), Map.of("database", DB,
                "wait_for_subscriber", true)));
        Map<String, Long> t = byTable(MigrationFlow.ok(target.post(path(M, "row-counts"), Map.of("database", DB))));
        Map<String, Long> s = byTable(MigrationFlow.ok(source.post(path(M, "row-counts"), Map.of("database", DB,
                "snapshot", mark.get("snapshot").asText()))));
        assertEquals(110L, s.get(PLAIN));
        assertEquals(105L, t.get(PLAIN), "the trigger dropped the even rows on the target");
        exec(dst, DB, "DROP TRIGGER drop_even ON " + PLAIN + "; INSERT INTO " + PLAIN
                + " SELECT generate_series(102, 110, 2)");
        compare(M);
    }

    @Test
    @Order(9)
    void aRowRemovedOnTheTargetShowsAsConflictsWithItsTable() throws Exception {
        exec(dst, DB, "DELETE FROM " + ITEMS + " WHERE id IN (10, 11)");
        exec(src, DB, "UPDATE " + ITEMS + " SET price = price + 1 WHERE id = 10; DELETE FROM " + ITEMS
                + " WHERE id = 11");
        flow.awaitCaughtUp();
        JsonNode status = null;
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (Instant.now().isBefore(deadline)) {
            status = MigrationFlow.ok(target.get(path(M, "status") + "?database=" + DB));
            if (status.at("/subscription/conflicts/confl_delete_missing").asLong() > 0
                    && status.at("/subscription/conflicts/confl_update_missing").asLong() > 0) {
                break;
            }
            Thread.sleep(500);
        }
        assertEquals(1, status.at("/subscription/conflicts/confl_update_missing").asLong(), status.toString());
        assertEquals(1, status.at("/subscription/conflicts/confl_delete_missing").asLong(), status.toString());
        assertEquals(List.of(ITEMS + " (delete_missing, update_missing)"),
                texts(status.at("/subscription/conflict_tables")), status.toString());

        Answer refused = target.post(path(M, "ready-check"), Map.of("database", DB, "side", "target"));
        assertEquals(422, refused.status(), refused.body().toString());
        assertEquals("subscription_conflicts", refused.at("/code").asText());
        assertTrue(texts(refused.at("/objects")).contains("confl_update_missing=1"), refused.body().toString());
        assertTrue(refused.at("/detail").asText().contains("It€ms"), refused.body().toString());
    }

    @Test
    @Order(10)
    void theReverseStreamWritesAForcedTableOwnedByARoleSubjectToIt() throws Exception {
        // The forward stream goes first, as in a cutover; then the reverse one, old source subscribing to the target.
        MigrationFlow.ok(target.post(path(M, "stop-replication"), Map.of("database", DB)));
        MigrationFlow.ok(target.put(path(M, "reverse-replication"), Map.of("database", DB, "side", "publisher",
                "password", PASSWORD)));
        JsonNode sub = MigrationFlow.ok(source.put(path(M, "reverse-replication"), Map.of("database", DB, "side",
                "subscriber", "connection", Map.of("host", dst.host(), "port", dst.port(), "dbname", DB, "user", ROLE,
                        "password", PASSWORD))));
        assertTrue(sub.get("queries").toString().contains("run_as_owner = true"), sub.toString());
        exec(dst, DB, "INSERT INTO " + FORCED + " VALUES (5000, 'mine')");
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (!"1".equals(one(src, DB, "SELECT count(*) FROM " + FORCED + " WHERE id = 5000"))
                && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
        }
        assertEquals("1", one(src, DB, "SELECT count(*) FROM " + FORCED + " WHERE id = 5000"),
                "the reverse stream applied into the FORCE table owned by app_rw");
        MigrationFlow.ok(source.post(path(M, "stop-replication"), Map.of("database", DB, "direction", "reverse")));
    }

    @Test
    @Order(11)
    void cleanupRemovesTheCopyPoliciesAndOrphansListsThemUntilThen() throws Exception {
        MigrationFlow.ok(source.put(path(M, "replication-role"), Map.of("database", DB, "password", PASSWORD)));
        JsonNode orphans = MigrationFlow.ok(source.get("/v1/orphans"));
        List<String> policies = new ArrayList<>();
        orphans.get("policies").forEach(p -> policies.add(p.get("database").asText() + " " + p.get("table").asText()
                + " " + p.get("name").asText()));
        assertEquals(List.of(DB + " " + ITEMS + " " + ROLE, DB + " " + FORCED + " " + ROLE), policies);

        JsonNode planned = MigrationFlow.ok(source.post(path(M, "cleanup"), Map.of("database", DB, "check", true)));
        assertTrue(texts(planned.get("queries")).contains("DROP POLICY \"" + ROLE + "\" ON " + ITEMS),
                planned.toString());
        MigrationFlow.ok(target.post(path(M, "cleanup"), Map.of("database", DB)));
        MigrationFlow.ok(source.post(path(M, "cleanup"), Map.of("database", DB)));
        assertEquals("0", one(src, DB, "SELECT count(*) FROM pg_policy WHERE polname LIKE 'pgferry%'"));
        assertEquals(0, MigrationFlow.ok(source.get("/v1/orphans")).get("policies").size());
        assertFalse(MigrationFlow.ok(source.post(path(M, "cleanup"), Map.of("database", DB))).get("changed")
                .asBoolean());
    }

    /** Row counts of both sides, the source's in a snapshot the target has caught up with; asserts they agree. */
    private Map<String, Long> compare(String migration) throws Exception {
        JsonNode mark = MigrationFlow.ok(source.post(path(migration, "row-counts/snapshot"), Map.of("database", DB,
                "wait_for_subscriber", true)));
        JsonNode t = MigrationFlow.ok(target.post(path(migration, "row-counts"), Map.of("database", DB)));
        JsonNode s = MigrationFlow.ok(source.post(path(migration, "row-counts"), Map.of("database", DB, "snapshot",
                mark.get("snapshot").asText())));
        assertEquals(byTable(s), byTable(t), "source " + s + " target " + t);
        return byTable(s);
    }

    private static Map<String, Long> byTable(JsonNode counts) {
        Map<String, Long> out = new LinkedHashMap<>();
        counts.get("tables").forEach(t -> out.put(new io.pgferry.agent.migration.TableRef(t.get("schema").asText(),
                t.get("name").asText()).quoted(), t.get("rows").isNull() ? null : t.get("rows").asLong()));
        return out;
    }

    private static List<Integer> ids(JsonNode keys) {
        List<Integer> out = new ArrayList<>();
        keys.forEach(k -> out.add(k.get("id").asInt()));
        out.sort(null);
        return out;
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    static void exec(PgCluster c, String db, String sql) throws Exception {
        try (Connection conn = c.connect(db); Statement st = conn.createStatement()) {
            st.execute(sql);
        }
    }

    static String one(PgCluster c, String db, String sql) throws Exception {
        try (Connection conn = c.connect(db); Statement st = conn.createStatement()) {
            boolean rows = st.execute(sql);
            while (!rows && st.getUpdateCount() != -1) {
                rows = st.getMoreResults();
            }
            try (ResultSet rs = st.getResultSet()) {
                rs.next();
                return rs.getString(1);
            }
        }
    }
}
